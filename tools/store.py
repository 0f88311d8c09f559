"""The Qdrant knowledge base: one collection with a dense and a BM25 sparse vector per chunk.

Embedded Qdrant (on disk under `WWHD_DATA_DIR/qdrant`) when `QDRANT_URL` is unset, a Qdrant server
when it is set. The collection records the dense model and size it was built with, so opening it
with another model is an error that says to re-ingest rather than silently wrong results.
"""

from __future__ import annotations

import atexit
import logging
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from langchain_core.embeddings import Embeddings
from langchain_qdrant import QdrantVectorStore, RetrievalMode, SparseEmbeddings
from qdrant_client import QdrantClient, models

from wwhd.core.errors import EmbeddingMismatch, StoreUnavailable
from wwhd.core.settings import Settings, secret_value
from wwhd.core.types import Source
from wwhd.tools.documents import Chunk

log = logging.getLogger(__name__)

DENSE_VECTOR = "dense"
SPARSE_VECTOR = "sparse"
_POINT_NAMESPACE = uuid.UUID("5b0e6f7c-2f7e-4c53-9d1e-0f1f3b1c7a11")


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


class KnowledgeBase:
    """The collection plus the embeddings that fill and query it."""

    def __init__(
        self,
        client: QdrantClient,
        collection: str,
        dense: Embeddings,
        sparse: SparseEmbeddings,
        dense_model: str,
        dense_size: int,
        location: str,
    ) -> None:
        self.client = client
        self.collection = collection
        self.dense = dense
        self.sparse = sparse
        self.dense_model = dense_model
        self.dense_size = dense_size
        self.location = location
        self._vector_store: QdrantVectorStore | None = None
        # Embedded (local-mode) Qdrant is plain Python over shared dicts: one call at a time.
        self._local_lock = threading.RLock() if location.startswith("embedded:") else None

    # -- collection -------------------------------------------------------------------------

    def exists(self) -> bool:
        """Whether the collection exists."""
        return self._call(lambda: self.client.collection_exists(self.collection))

    def ensure_collection(self, recreate: bool = False) -> None:
        """Create the collection if missing (or if `recreate`), else check it fits the model."""
        if recreate and self.exists():
            self._call(lambda: self.client.delete_collection(self.collection))
            self._vector_store = None
        if not self.exists():
            log.info("creating collection %s at %s", self.collection, self.location)
            self._call(
                lambda: self.client.create_collection(
                    self.collection,
                    vectors_config={
                        DENSE_VECTOR: models.VectorParams(
                            size=self.dense_size, distance=models.Distance.COSINE
                        )
                    },
                    sparse_vectors_config={
                        SPARSE_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)
                    },
                    metadata={
                        "embedding_model": self.dense_model,
                        "embedding_dimensions": self.dense_size,
                    },
                )
            )
            # Payload indexes speed up filters on a Qdrant server; local mode ignores them.
            fields = () if self._local_lock else ("tradition", "category", "doc_id", "uri")
            for field in fields:
                self._call(
                    lambda f=field: self.client.create_payload_index(
                        self.collection, f"metadata.{f}", models.PayloadSchemaType.KEYWORD
                    )
                )
        self.check_compatible()

    def check_compatible(self) -> None:
        """Raise EmbeddingMismatch if the collection was built with another dense model."""
        info = self._call(lambda: self.client.get_collection(self.collection))
        metadata = info.config.metadata or {}
        built_with = metadata.get("embedding_model")
        size = metadata.get("embedding_dimensions")
        if built_with != self.dense_model or size != self.dense_size:
            raise EmbeddingMismatch(
                f"collection {self.collection!r} at {self.location} was built with embedding "
                f"model {built_with!r} ({size} dimensions) but this process uses "
                f"{self.dense_model!r} ({self.dense_size} dimensions). Re-ingest with "
                f"`wwhd ingest --recreate PATH`, or set WWHD_EMBEDDING_MODEL={built_with}."
            )

    def count(self) -> int:
        """Number of chunks in the collection (0 when it does not exist)."""
        if not self.exists():
            return 0
        return self._call(lambda: self.client.count(self.collection, exact=True).count)

    # -- reading ----------------------------------------------------------------------------

    @property
    def vector_store(self) -> QdrantVectorStore:
        """langchain-qdrant's hybrid store over the collection (built on first use)."""
        if self._vector_store is None:
            self.check_compatible()
            self._vector_store = QdrantVectorStore(
                client=self.client,
                collection_name=self.collection,
                embedding=self.dense,
                sparse_embedding=self.sparse,
                retrieval_mode=RetrievalMode.HYBRID,
                vector_name=DENSE_VECTOR,
                sparse_vector_name=SPARSE_VECTOR,
            )
        return self._vector_store

    def search(
        self,
        query: str,
        k: int = 4,
        tradition: str | None = None,
        category: str | None = None,
    ) -> list[Source]:
        """Hybrid (dense + BM25, fused by RRF) search with optional metadata filters."""
        conditions = [
            models.FieldCondition(key=f"metadata.{key}", match=models.MatchValue(value=value))
            for key, value in (("tradition", tradition), ("category", category))
            if value
        ]
        query_filter = models.Filter(must=conditions) if conditions else None
        hits = self._call(
            lambda: self.vector_store.similarity_search_with_score(
                query, k=k, filter=query_filter
            )
        )
        return [
            Source(
                id=doc.metadata["chunk_id"],
                doc_id=doc.metadata["doc_id"],
                title=doc.metadata["title"],
                section=doc.metadata["section"],
                tradition=doc.metadata["tradition"],
                category=doc.metadata["category"],
                score=round(float(score), 4),
                text=_body(doc.page_content, doc.metadata),
                references=list(doc.metadata.get("references") or []),
                reviewed=str(doc.metadata.get("reviewed") or ""),
            )
            for doc, score in hits
        ]

    def stored_chunks(self) -> list[StoredChunk]:
        """Every chunk's id, document, origin and content hash (no vectors)."""
        if not self.exists():
            return []
        found: list[StoredChunk] = []
        offset = None
        while True:
            points, offset = self._call(
                lambda o=offset: self.client.scroll(
                    self.collection, limit=1000, offset=o, with_payload=True,
                    with_vectors=False,
                )
            )
            for point in points:
                meta = (point.payload or {}).get("metadata", {})
                found.append(
                    StoredChunk(
                        point_id=str(point.id),
                        chunk_id=meta.get("chunk_id", ""),
                        doc_id=meta.get("doc_id", ""),
                        uri=meta.get("uri", ""),
                        content_hash=meta.get("content_hash", ""),
                        source_version=meta.get("source_version", ""),
                    )
                )
            if offset is None:
                return found

    # -- writing ----------------------------------------------------------------------------

    def upsert(self, chunks: list[Chunk]) -> None:
        """Embed and write chunks (dense and sparse), replacing points with the same id."""
        if not chunks:
            return
        self._call(
            lambda: self.vector_store.add_texts(
                [c.embedding_text for c in chunks],
                metadatas=[c.metadata() for c in chunks],
                ids=[point_id(c.id) for c in chunks],
                batch_size=64,
            )
        )

    def set_origin(self, point_ids: Iterable[str], uri: str, version: str) -> None:
        """Record where unchanged chunks now come from (path or s3:// URI, and S3 ETag)."""
        ids = list(point_ids)
        if ids:
            self._call(
                lambda: self.client.set_payload(
                    self.collection, payload={"uri": uri, "source_version": version},
                    points=ids, key="metadata",
                )
            )

    def delete(self, point_ids: Iterable[str]) -> None:
        """Remove points by id."""
        ids = list(point_ids)
        if ids:
            self._call(
                lambda: self.client.delete(
                    self.collection, points_selector=models.PointIdsList(points=ids)
                )
            )

    def _call(self, fn):
        try:
            if self._local_lock is None:
                return fn()
            with self._local_lock:
                return fn()
        except (EmbeddingMismatch, StoreUnavailable):
            raise
        except Exception as exc:  # qdrant-client raises many transport error types
            if _is_transport_error(exc):
                raise StoreUnavailable(
                    f"Qdrant at {self.location} is not reachable ({type(exc).__name__}: "
                    f"{exc}). Start it, or unset QDRANT_URL to use the embedded store."
                ) from exc
            refused = _refusal(exc, self.location)
            if refused:
                raise StoreUnavailable(refused) from exc
            raise


def _body(page_content: str, metadata: dict) -> str:
    """The passage text without the title line that was embedded with it."""
    header = f"{metadata.get('title')} - {metadata.get('section')}\n"
    return page_content[len(header) :] if page_content.startswith(header) else page_content


def _refusal(exc: Exception, location: str) -> str | None:
    """What to say when the Qdrant server answered with an HTTP error, else None."""
    from qdrant_client.http.exceptions import UnexpectedResponse

    if not isinstance(exc, UnexpectedResponse):
        return None
    code = exc.status_code
    if code in (401, 403):
        return (f"Qdrant at {location} refused the request (HTTP {code}): check "
                "WWHD_QDRANT_API_KEY.")
    detail = (exc.content or b"").decode("utf-8", "replace")[:200]
    return (f"Qdrant at {location} answered HTTP {code} ({exc.reason_phrase}): {detail}. "
            "See the Qdrant server's log.")


def _is_transport_error(exc: Exception) -> bool:
    from qdrant_client.http.exceptions import ResponseHandlingException

    try:
        import httpx

        transport = (httpx.TransportError,)
    except ImportError:  # pragma: no cover - httpx is a qdrant-client dependency
        transport = ()
    return isinstance(exc, (ResponseHandlingException, ConnectionError, TimeoutError, *transport))


_clients: dict[tuple, QdrantClient] = {}
_bases: dict[tuple, KnowledgeBase] = {}
_lock = threading.Lock()


def get_client(settings: Settings) -> QdrantClient:
    """One Qdrant client per location per process (embedded mode locks its folder)."""
    key = (settings.qdrant_url, str(settings.qdrant_path.resolve()))
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _open_client(settings)
            _clients[key] = client
        return client


def _open_client(settings: Settings) -> QdrantClient:
    if settings.qdrant_url:
        return QdrantClient(
            url=settings.qdrant_url, api_key=secret_value(settings.qdrant_api_key), timeout=10
        )
    settings.qdrant_path.mkdir(parents=True, exist_ok=True)
    try:
        return QdrantClient(path=str(settings.qdrant_path))
    except RuntimeError as exc:
        if "already accessed" in str(exc):
            raise StoreUnavailable(
                f"the embedded Qdrant at {settings.qdrant_path} is open in another process "
                "(is `make serve` running?). Stop that process, or run a Qdrant server and set "
                "QDRANT_URL so several processes can share it."
            ) from exc
        raise


def open_knowledge_base(settings: Settings) -> KnowledgeBase:
    """The knowledge base for these settings (cached per process)."""
    from wwhd.tools.providers import (
        embedding_dimensions,
        embedding_model_name,
        get_dense_embeddings,
    )

    model = embedding_model_name(settings)
    key = (settings.qdrant_url, str(settings.qdrant_path.resolve()), settings.collection, model)
    with _lock:
        base = _bases.get(key)
    if base is not None:
        return base
    dense = get_dense_embeddings(settings)
    base = KnowledgeBase(
        client=get_client(settings),
        collection=settings.collection,
        dense=dense,
        sparse=_sparse_embeddings(),
        dense_model=model,
        dense_size=embedding_dimensions(dense),
        location=settings.qdrant_location,
    )
    with _lock:
        return _bases.setdefault(key, base)


_sparse: SparseEmbeddings | None = None


def _sparse_embeddings() -> SparseEmbeddings:
    global _sparse
    if _sparse is None:
        from wwhd.tools.embeddings import Bm25SparseEmbeddings

        _sparse = Bm25SparseEmbeddings()
    return _sparse


def close_all() -> None:
    """Close every client this process opened (releases the embedded store's folder lock)."""
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
        _bases.clear()


atexit.register(close_all)
