"""What every knowledge base shares, whichever engine holds the vectors.

Two engines implement `KnowledgeBase`: the embedded default (`wwhd.tools.edge_store`, Qdrant's
in-process engine qdrant-edge) and a Qdrant server (`wwhd.tools.store`, qdrant-client, when
`QDRANT_URL` is set). Both keep one dense and one BM25 sparse vector per chunk, fuse the two
searches by reciprocal rank, filter on `metadata.<field>` keywords and record the dense model the
collection was built with. The point payload is the same in both (`page_content` plus
`metadata`, langchain-qdrant's layout), so points can move from one to the other unchanged.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_qdrant import SparseEmbeddings

from wwhd.core.errors import EmbeddingMismatch
from wwhd.core.types import Source
from wwhd.tools.documents import Chunk

DENSE_VECTOR = "dense"
SPARSE_VECTOR = "sparse"
CONTENT_KEY = "page_content"
METADATA_KEY = "metadata"
# Payload fields searches may filter on (keyword match on `metadata.<field>`).
FILTER_FIELDS = ("tradition", "category")
# Fields with a keyword payload index: the filters, and what ingestion looks chunks up by.
INDEXED_FIELDS = ("tradition", "category", "doc_id", "uri")
_POINT_NAMESPACE = uuid.UUID("5b0e6f7c-2f7e-4c53-9d1e-0f1f3b1c7a11")

# One search hit: the stored text, its metadata and the fused score.
Hit = tuple[str, dict[str, Any], float]


@dataclass(frozen=True)
class StoredChunk:
    """What the collection holds about one chunk, for incremental re-ingestion."""

    point_id: str
    chunk_id: str
    doc_id: str
    uri: str
    content_hash: str
    source_version: str = ""


def point_id(chunk_id: str) -> str:
    """Qdrant point id (a UUID) derived from the stable chunk id."""
    return str(uuid.uuid5(_POINT_NAMESPACE, chunk_id))


def stored_chunk(point: str, payload: dict[str, Any] | None) -> StoredChunk:
    """A `StoredChunk` from a point's id and payload."""
    meta = (payload or {}).get(METADATA_KEY) or {}
    return StoredChunk(
        point_id=point,
        chunk_id=meta.get("chunk_id", ""),
        doc_id=meta.get("doc_id", ""),
        uri=meta.get("uri", ""),
        content_hash=meta.get("content_hash", ""),
        source_version=meta.get("source_version", ""),
    )


def source_from_hit(page_content: str, metadata: dict[str, Any], score: float) -> Source:
    """A retrieved passage as the graphs and the API return it."""
    return Source(
        id=metadata["chunk_id"],
        doc_id=metadata["doc_id"],
        title=metadata["title"],
        section=metadata["section"],
        tradition=metadata["tradition"],
        category=metadata["category"],
        score=round(float(score), 4),
        text=_body(page_content, metadata),
        references=list(metadata.get("references") or []),
        reviewed=str(metadata.get("reviewed") or ""),
    )


def _body(page_content: str, metadata: dict) -> str:
    """The passage text without the title line that was embedded with it."""
    header = f"{metadata.get('title')} - {metadata.get('section')}\n"
    return page_content[len(header) :] if page_content.startswith(header) else page_content


def model_metadata(model: str, size: int) -> dict[str, Any]:
    """What a collection records about the dense model it was built with."""
    return {"embedding_model": model, "embedding_dimensions": size}


def search_filters(tradition: str | None, category: str | None) -> dict[str, str]:
    """The keyword filters of a search, by metadata field (unset ones left out)."""
    values = (tradition, category)
    return {key: value for key, value in zip(FILTER_FIELDS, values, strict=True) if value}


class KnowledgeBase(ABC):
    """The collection plus the embeddings that fill and query it.

    Subclasses supply the engine (`hybrid_search`, `add_texts` and the collection calls);
    turning hits into `Source`s, chunks into points and model checks into errors is done here,
    once, for both.
    """

    def __init__(
        self,
        collection: str,
        dense: Embeddings,
        sparse: SparseEmbeddings,
        dense_model: str,
        dense_size: int,
        location: str,
    ) -> None:
        self.collection = collection
        self.dense = dense
        self.sparse = sparse
        self.dense_model = dense_model
        self.dense_size = dense_size
        self.location = location
        self.closed = False

    # -- collection -------------------------------------------------------------------------

    @abstractmethod
    def exists(self) -> bool:
        """Whether the collection exists."""

    @abstractmethod
    def ensure_collection(self, recreate: bool = False) -> None:
        """Create the collection if missing (or if `recreate`), else check it fits the model."""

    @abstractmethod
    def collection_metadata(self) -> dict[str, Any]:
        """The model metadata recorded with the collection (empty if none)."""

    def check_compatible(self) -> None:
        """Raise EmbeddingMismatch if the collection was built with another dense model."""
        metadata = self.collection_metadata()
        built_with = metadata.get("embedding_model")
        size = metadata.get("embedding_dimensions")
        if built_with != self.dense_model or size != self.dense_size:
            raise EmbeddingMismatch(
                f"collection {self.collection!r} at {self.location} was built with embedding "
                f"model {built_with!r} ({size} dimensions) but this process uses "
                f"{self.dense_model!r} ({self.dense_size} dimensions). Re-ingest with "
                f"`wwhd ingest --recreate PATH`, or set WWHD_EMBEDDING_MODEL={built_with}."
            )

    @abstractmethod
    def count(self) -> int:
        """Number of chunks in the collection (0 when it does not exist)."""

    # -- reading ----------------------------------------------------------------------------

    @abstractmethod
    def hybrid_search(self, query: str, k: int, filters: dict[str, str]) -> list[Hit]:
        """Dense + BM25 search fused by RRF; `filters` are keyword matches on metadata fields."""

    def search(
        self,
        query: str,
        k: int = 4,
        tradition: str | None = None,
        category: str | None = None,
    ) -> list[Source]:
        """Hybrid (dense + BM25, fused by RRF) search with optional metadata filters."""
        hits = self.hybrid_search(query, k, search_filters(tradition, category))
        return [source_from_hit(text, metadata, score) for text, metadata, score in hits]

    @abstractmethod
    def stored_chunks(self) -> list[StoredChunk]:
        """Every chunk's id, document, origin and content hash (no vectors)."""

    # -- writing ----------------------------------------------------------------------------

    @abstractmethod
    def add_texts(
        self, texts: Sequence[str], metadatas: Sequence[dict], ids: Sequence[str]
    ) -> list[str]:
        """Embed and write texts with their metadata under these point ids (replacing)."""

    def upsert(self, chunks: list[Chunk]) -> None:
        """Embed and write chunks (dense and sparse), replacing points with the same id."""
        if chunks:
            self.add_texts(
                [c.embedding_text for c in chunks],
                [c.metadata() for c in chunks],
                [point_id(c.id) for c in chunks],
            )

    @abstractmethod
    def set_origin(self, point_ids: Iterable[str], uri: str, version: str) -> None:
        """Record where unchanged chunks now come from (path or s3:// URI, and S3 ETag)."""

    @abstractmethod
    def delete(self, point_ids: Iterable[str]) -> None:
        """Remove points by id."""

    def close(self) -> None:
        """Release what the engine holds (files, locks); `open_knowledge_base` then opens a new
        one."""
        self.closed = True
