"""The knowledge base: which engine holds it, and the Qdrant server engine (qdrant-client).

`open_knowledge_base(settings)` picks: a Qdrant server when `QDRANT_URL` is set
(`QdrantKnowledgeBase`, below), else the embedded qdrant-edge shard under
`WWHD_DATA_DIR/qdrant-edge` (`wwhd.tools.edge_store`). A collection left by the earlier embedded
store (qdrant-client local mode under `WWHD_DATA_DIR/qdrant`) is copied into the new one the first
time it is opened (`wwhd.tools.migrate`). The shared interface and payload layout are in
`wwhd.tools.knowledge`.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_qdrant import QdrantVectorStore, RetrievalMode, SparseEmbeddings
from qdrant_client import QdrantClient, models

from wwhd.core.errors import EmbeddingMismatch, StoreUnavailable
from wwhd.core.settings import Settings, secret_value
from wwhd.tools.knowledge import (
    DENSE_VECTOR,
    INDEXED_FIELDS,
    SPARSE_VECTOR,
    Hit,
    KnowledgeBase,
    StoredChunk,
    model_metadata,
    point_id,
    stored_chunk,
)

log = logging.getLogger(__name__)

__all__ = [
    "EmbeddingMismatch", "KnowledgeBase", "QdrantKnowledgeBase", "StoredChunk", "close_all",
    "open_knowledge_base", "point_id",
]


class QdrantKnowledgeBase(KnowledgeBase):
    """The knowledge base in a Qdrant collection reached through qdrant-client (a Qdrant server,
    or a local-mode folder)."""

    def __init__(
        self,
        client: QdrantClient,
        collection: str,
        dense: Embeddings,
        sparse: SparseEmbeddings,
        dense_model: str,
        dense_size: int,
        location: str,
        local_mode: bool = False,
    ) -> None:
        super().__init__(collection, dense, sparse, dense_model, dense_size, location)
        self.client = client
        self._vector_store: QdrantVectorStore | None = None
        # Local-mode Qdrant is plain Python over shared dicts: one call at a time.
        self._local_lock = threading.RLock() if local_mode else None

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
                    metadata=model_metadata(self.dense_model, self.dense_size),
                )
            )
            # Payload indexes speed up filters on a Qdrant server; local mode ignores them.
            fields = () if self._local_lock else INDEXED_FIELDS
            for field in fields:
                self._call(
                    lambda f=field: self.client.create_payload_index(
                        self.collection, f"metadata.{f}", models.PayloadSchemaType.KEYWORD
                    )
                )
        self.check_compatible()

    def collection_metadata(self) -> dict[str, Any]:
        """The metadata stored with the Qdrant collection."""
        info = self._call(lambda: self.client.get_collection(self.collection))
        return dict(info.config.metadata or {})

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

    def hybrid_search(self, query: str, k: int, filters: dict[str, str]) -> list[Hit]:
        """langchain-qdrant's hybrid search (dense and BM25 prefetches of k, RRF)."""
        conditions = [
            models.FieldCondition(key=f"metadata.{key}", match=models.MatchValue(value=value))
            for key, value in filters.items()
        ]
        query_filter = models.Filter(must=conditions) if conditions else None
        hits = self._call(
            lambda: self.vector_store.similarity_search_with_score(
                query, k=k, filter=query_filter
            )
        )
        return [(doc.page_content, doc.metadata, score) for doc, score in hits]

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
            found.extend(stored_chunk(str(point.id), point.payload) for point in points)
            if offset is None:
                return found

    # -- writing ----------------------------------------------------------------------------

    def add_texts(
        self, texts: Sequence[str], metadatas: Sequence[dict], ids: Sequence[str]
    ) -> list[str]:
        """Embed and write texts through langchain-qdrant (dense and sparse)."""
        return self._call(
            lambda: self.vector_store.add_texts(
                list(texts), metadatas=list(metadatas), ids=list(ids), batch_size=64,
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

    def close(self) -> None:
        """Close a local-mode client (releasing its folder's lock); a server's client is shared
        by every collection on it and closed by `close_all`."""
        if self._local_lock is not None:
            self.client.close()
        super().close()

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
# Reentrant: opening a knowledge base opens its client under the same lock.
_lock = threading.RLock()


def get_client(settings: Settings) -> QdrantClient:
    """One client per Qdrant server (`QDRANT_URL`) per process."""
    if not settings.qdrant_url:
        raise ValueError("get_client is for a Qdrant server: QDRANT_URL is not set")
    key = (settings.qdrant_url,)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = QdrantClient(
                url=settings.qdrant_url, api_key=secret_value(settings.qdrant_api_key),
                timeout=10,
            )
            _clients[key] = client
        return client


def open_knowledge_base(settings: Settings) -> KnowledgeBase:
    """The knowledge base for these settings (cached per process): a Qdrant server when
    `QDRANT_URL` is set, else the embedded qdrant-edge store (which locks its folder)."""
    from wwhd.tools.providers import (
        embedding_dimensions,
        embedding_model_name,
        get_dense_embeddings,
    )

    model = embedding_model_name(settings)
    key = (settings.qdrant_url, str(settings.data_dir.resolve()), settings.collection, model)
    # Held while opening: two threads must not both open (and lock) the embedded store.
    with _lock:
        base = _bases.get(key)
        if base is not None and not base.closed:
            return base
        dense = get_dense_embeddings(settings)
        common: dict[str, Any] = dict(
            collection=settings.collection, dense=dense, sparse=_sparse_embeddings(),
            dense_model=model, dense_size=embedding_dimensions(dense),
            location=settings.qdrant_location,
        )
        if settings.qdrant_url:
            base = QdrantKnowledgeBase(client=get_client(settings), **common)
        else:
            base = _open_embedded(settings, common)
        _bases[key] = base
        return base


def _open_embedded(settings: Settings, common: dict[str, Any]) -> KnowledgeBase:
    from wwhd.tools.edge_store import EdgeKnowledgeBase
    from wwhd.tools.migrate import has_local_collection, migrate_local_collection

    base = EdgeKnowledgeBase(settings.edge_store_path, **common)
    try:
        if has_local_collection(settings.qdrant_path, settings.collection) and (
            not base.exists() or base.count() == 0
        ):
            migrate_local_collection(settings.qdrant_path, base)
    except BaseException:
        base.close()  # release the lock: the error says what to do, then the user retries
        raise
    return base


_sparse: SparseEmbeddings | None = None


def _sparse_embeddings() -> SparseEmbeddings:
    global _sparse
    if _sparse is None:
        from wwhd.tools.embeddings import Bm25SparseEmbeddings

        _sparse = Bm25SparseEmbeddings()
    return _sparse


def close_all() -> None:
    """Close every knowledge base and client this process opened (releases the embedded
    store's folder lock; its shard is flushed)."""
    with _lock:
        for base in _bases.values():
            base.close()
        for client in _clients.values():
            client.close()
        _clients.clear()
        _bases.clear()


atexit.register(close_all)
