"""What the nodes depend on: the knowledge base, the chat model, the router's classifier and
vocabulary. They reach the nodes through the runtime context (`Context.dependencies`).

Each is built on first use, so importing or compiling a graph opens nothing (the embedded store
locks its folder; the server process must be the one to open it). A run with no dependencies in
its context uses the process's default, built from the settings; a test or an embedding
application passes its own: `graph.invoke(input, context=Context(dependencies=Dependencies(...)))`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

from langchain_core.language_models import BaseChatModel

from wwhd.core.settings import Settings, load_settings
from wwhd.graphs.classifier import QuestionClassifier
from wwhd.graphs.evidence import EvidenceGate
from wwhd.graphs.extractive import LinearScorer, load_quote_scorer
from wwhd.graphs.vocabulary import Vocabulary
from wwhd.tools.embeddings import E5Embeddings, shared_e5
from wwhd.tools.knowledge import KnowledgeBase
from wwhd.tools.providers import EXTRACTIVE, make_chat_model

ChatModelFactory = Callable[[str | None], BaseChatModel | None]


class Dependencies:
    """The objects a run uses, each given or built lazily from the settings."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        knowledge_base: KnowledgeBase | None = None,
        chat_model: ChatModelFactory | None = None,
        classifier: QuestionClassifier | None = None,
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self._settings = settings
        self._knowledge_base = knowledge_base
        self._chat_model_factory = chat_model
        self._classifier = classifier
        self._vocabulary = vocabulary
        self._models: dict[str | None, BaseChatModel | None] = {}
        self._lock = threading.RLock()

    @property
    def settings(self) -> Settings:
        """The settings the lazily built dependencies come from."""
        if self._settings is None:
            self._settings = load_settings()  # immutable: a race builds two equal ones
        return self._settings

    def knowledge_base(self) -> KnowledgeBase:
        """The knowledge base to search (opened on first use)."""
        if self._knowledge_base is None:
            from wwhd.tools.store import open_knowledge_base

            with self._lock:
                if self._knowledge_base is None:
                    self._knowledge_base = open_knowledge_base(self.settings)
        return self._knowledge_base

    def sentence_embeddings(self) -> E5Embeddings:
        """The bundled e5 that scores quotes and evidence (whatever model the store uses: the
        answers model was trained on its similarities)."""
        return shared_e5()

    def quote_scorer(self) -> LinearScorer:
        """The extractive answer's quote ranker (`graphs/model/answers.json`)."""
        return _bundled_quote_scorer()

    def evidence_gate(self) -> EvidenceGate:
        """The gate that decides whether the passages cover a question."""
        return _bundled_evidence_gate()

    def chat_model(self, name: str | None = None) -> BaseChatModel | None:
        """The chat model `name` (empty: the configured default), or None for the extractive
        answer (no model configured, or `name` is "extractive")."""
        if name == EXTRACTIVE:
            return None
        key = name or None
        with self._lock:
            if key not in self._models:
                factory = self._chat_model_factory or functools.partial(
                    make_chat_model, self.settings
                )
                self._models[key] = factory(key)
            return self._models[key]

    def forget_models(self) -> None:
        """Drop the model clients after a failure: their pooled connections may point at a
        server that has since restarted, and fresh clients reconnect cleanly."""
        with self._lock:
            self._models.clear()

    def classifier(self) -> QuestionClassifier:
        """The router's classifier (the bundled one unless given)."""
        if self._classifier is None:
            from wwhd.graphs.classifier import bundled_classifier

            with self._lock:  # runs start in parallel: build one, not one per thread
                if self._classifier is None:
                    self._classifier = bundled_classifier()
        return self._classifier

    def vocabulary(self) -> Vocabulary:
        """The knowledge base's vocabulary of names (the bundled one unless given)."""
        if self._vocabulary is None:
            from wwhd.graphs.vocabulary import bundled_vocabulary

            with self._lock:
                if self._vocabulary is None:
                    self._vocabulary = bundled_vocabulary()
        return self._vocabulary


@functools.lru_cache(maxsize=1)
def _bundled_quote_scorer() -> LinearScorer:
    return load_quote_scorer()


@functools.lru_cache(maxsize=1)
def _bundled_evidence_gate() -> EvidenceGate:
    return EvidenceGate.load()


_default: Dependencies | None = None
_default_lock = threading.Lock()


def default_dependencies() -> Dependencies:
    """The process's dependencies, built from its settings (one per process, even when the
    first runs start in parallel)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Dependencies()
        return _default
