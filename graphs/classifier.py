"""The learned question classifier: routes, red-flag likelihood and kind, from one message.

Three linear heads over `graphs.features` (logistic regression trained by `wwhd train-router`
from `evals/understanding/data/`): the route head scores tcm / shaolin / general / out_of_scope /
injection / clarify / red_flag; the red-flag head (binary, which separates emergencies from
look-alikes better than the route head's share) gives the red-flag likelihood; the kind head
names the emergency. Inference is a dot product in numpy: the server needs no scikit-learn, and the
artefact (`graphs/model/router.npz` + `router.json`) is plain arrays and JSON, no pickle.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wwhd.graphs.features import NGRAM_DIM, Features, featurize, retrieval_evidence
from wwhd.graphs.vocabulary import DomainMatch, Vocabulary

MODEL_DIR = Path(__file__).resolve().parent / "model"
ROUTE_CLASSES = ("tcm", "shaolin", "general", "out_of_scope", "injection", "clarify", "red_flag")

Embed = Callable[[str], np.ndarray]


class ClassifierUnavailable(RuntimeError):
    """The classifier artefact is missing or does not fit this code; says how to rebuild it."""


@dataclass(frozen=True)
class LinearHead:
    """Multinomial logistic regression weights over dense and hashed-sparse features."""

    classes: tuple[str, ...]
    dense: np.ndarray  # (classes, dense features)
    sparse: np.ndarray  # (classes, NGRAM_DIM)
    bias: np.ndarray  # (classes,)

    def probabilities(self, features: Features) -> dict[str, float]:
        """Softmax over the classes (a sigmoid when there are two)."""
        logits = self.dense @ features.dense + self.bias
        if features.sparse_index.size:
            logits = logits + self.sparse[:, features.sparse_index] @ features.sparse_value
        if len(self.classes) == 2 and logits.shape[0] == 1:
            p = 1.0 / (1.0 + np.exp(-logits[0]))
            return {self.classes[0]: float(1 - p), self.classes[1]: float(p)}
        shifted = np.exp(logits - logits.max())
        return dict(zip(self.classes, map(float, shifted / shifted.sum()), strict=True))


@dataclass(frozen=True)
class Thresholds:
    """Decision thresholds chosen on held-out folds by `wwhd train-router` (see router.json)."""

    red_flag: float  # at or above: the emergency route
    possible_red_flag: float  # at or above (and below red_flag): urgent-care line + normal answer
    injection: float  # at or above: refused as an injection


@dataclass(frozen=True)
class Verdict:
    """The classifier's reading of one message."""

    probabilities: dict[str, float]  # of the route head
    red_flag: float  # likelihood (red-flag head) that it describes an emergency happening now
    kind: str | None  # the most likely emergency kind
    match: DomainMatch

    @property
    def injection(self) -> float:
        """Likelihood that the message tries to override the assistant's instructions."""
        return self.probabilities.get("injection", 0.0)

    def best(self, among: tuple[str, ...]) -> tuple[str, float]:
        """The most likely of some routes, with its share of their probability."""
        subset = {r: self.probabilities.get(r, 0.0) for r in among}
        total = sum(subset.values()) or 1.0
        route = max(subset, key=subset.get)
        return route, subset[route] / total


class QuestionClassifier:
    """Reads a message with the trained heads; `classify` is all the router needs."""

    def __init__(
        self,
        route_head: LinearHead,
        red_head: LinearHead,
        kind_head: LinearHead,
        thresholds: Thresholds,
        vocabulary: Vocabulary,
        passages: np.ndarray,
        passage_is_tcm: np.ndarray,
        embed: Embed,
    ) -> None:
        self.route_head = route_head
        self.red_head = red_head
        self.kind_head = kind_head
        self.thresholds = thresholds
        self.vocabulary = vocabulary
        self.passages = passages
        self.passage_is_tcm = passage_is_tcm
        self.embed = embed

    @classmethod
    def load(cls, embed: Embed, directory: Path = MODEL_DIR) -> QuestionClassifier:
        """The artefact written by `wwhd train-router`."""
        weights_path, meta_path = directory / "router.npz", directory / "router.json"
        if not weights_path.exists() or not meta_path.exists():
            raise ClassifierUnavailable(
                f"No router classifier in {directory}: run `wwhd train-router` to build it."
            )
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("ngram_dim") != NGRAM_DIM:
            raise ClassifierUnavailable(
                f"{meta_path} was trained with {meta.get('ngram_dim')} n-gram buckets, this code "
                f"uses {NGRAM_DIM}: run `wwhd train-router` to rebuild it."
            )
        with np.load(weights_path) as arrays:
            heads = {
                name: LinearHead(
                    classes=tuple(meta[f"{name}_classes"]),
                    dense=arrays[f"{name}_dense"].astype(np.float32),
                    sparse=arrays[f"{name}_sparse"].astype(np.float32),
                    bias=arrays[f"{name}_bias"].astype(np.float32),
                )
                for name in ("route", "red", "kind")
            }
            passages = arrays["passages"].astype(np.float32)
            passage_is_tcm = arrays["passage_is_tcm"].astype(bool)
        return cls(
            heads["route"], heads["red"], heads["kind"], Thresholds(**meta["thresholds"]),
            Vocabulary.load(directory / "vocabulary.json"), passages, passage_is_tcm, embed,
        )

    def features(self, text: str) -> tuple[Features, DomainMatch]:
        """The message as the heads see it."""
        match = self.vocabulary.match(text)
        embedding = self.embed(text)
        evidence = retrieval_evidence(embedding, self.passages, self.passage_is_tcm)
        return featurize(text, embedding, match, evidence), match

    def classify(self, text: str) -> Verdict:
        """Route probabilities and the likeliest emergency kind of one message."""
        features, match = self.features(text)
        kinds = self.kind_head.probabilities(features)
        return Verdict(
            probabilities=self.route_head.probabilities(features),
            red_flag=self.red_head.probabilities(features)["red_flag"],
            kind=max(kinds, key=kinds.get) if kinds else None,
            match=match,
        )


@functools.lru_cache(maxsize=1)
def bundled_classifier() -> QuestionClassifier:
    """The trained classifier, loaded once per process, embedding with the bundled e5."""
    from wwhd.tools.embeddings import shared_e5

    e5 = shared_e5()
    return QuestionClassifier.load(lambda text: np.asarray(e5.embed_query(text), np.float32))
