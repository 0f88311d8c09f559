"""LangChain's vector-store interface over a knowledge base, for code that expects one.

langchain-qdrant's `QdrantVectorStore` needs a qdrant-client; the embedded store is qdrant-edge,
which has its own API. This adapter gives any `KnowledgeBase` the usual `VectorStore` methods
(`add_texts`, `similarity_search[_with_score]`, `delete`, and `as_retriever()` from the base
class) with the knowledge base's hybrid search behind them. Filters are a dict of metadata
keyword matches, e.g. `{"tradition": "tcm"}`; scores are RRF scores (not similarities in [0, 1]),
so the `similarity_score_threshold` retriever does not apply.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore

from wwhd.tools.knowledge import KnowledgeBase


class KnowledgeBaseVectorStore(VectorStore):
    """A LangChain `VectorStore` backed by a `KnowledgeBase` (`kb.vector_store`)."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    @property
    def embeddings(self) -> Embeddings:
        """The dense embedding model of the knowledge base."""
        return self.kb.dense

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Embed and store texts; ids default to new UUIDs (Qdrant point ids are UUIDs)."""
        texts = list(texts)
        ids = list(ids) if ids is not None else [str(uuid.uuid4()) for _ in texts]
        metadatas = list(metadatas) if metadatas is not None else [{} for _ in texts]
        return self.kb.add_texts(texts, metadatas, ids)

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: dict[str, str] | None = None, **kwargs: Any  # noqa: A002
    ) -> list[tuple[Document, float]]:
        """Hybrid search; `filter` matches metadata keywords (e.g. {"tradition": "tcm"})."""
        hits = self.kb.hybrid_search(query, k, dict(filter or {}))
        return [(Document(page_content=text, metadata=metadata), score)
                for text, metadata, score in hits]

    def similarity_search(
        self, query: str, k: int = 4, filter: dict[str, str] | None = None, **kwargs: Any  # noqa: A002
    ) -> list[Document]:
        """Hybrid search, documents only."""
        return [doc for doc, _ in self.similarity_search_with_score(query, k, filter)]

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Remove points by id."""
        if ids:
            self.kb.delete(ids)
        return True

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict] | None = None,
        **kwargs: Any,
    ) -> KnowledgeBaseVectorStore:
        """Not supported: a knowledge base is opened from the settings, not from texts."""
        raise NotImplementedError(
            "open the knowledge base with wwhd.tools.store.open_knowledge_base(settings) and "
            "use its .vector_store"
        )
