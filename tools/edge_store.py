"""The embedded knowledge base: Qdrant's in-process engine (qdrant-edge) on disk.

One edge shard per collection under `WWHD_DATA_DIR/qdrant-edge/<collection>/`, with the same
semantics as the Qdrant server path: a cosine dense vector and a BM25 sparse vector with the IDF
modifier per point, the two searches (one batch) fused by reciprocal rank with k=2 and
qdrant-client's order of ties (`reciprocal_rank_fusion`), keyword payload indexes on the metadata
fields searches filter on. An edge shard has no
collection metadata, so the dense model it was built with is kept in `<collection>.json` beside
the shard.

What the engine does and does not do, measured with qdrant-edge-py 0.9.0:

- It locks its write-ahead log: a second `EdgeShard.load` of the same folder, in this process or
  another, fails ("Can't init WAL: WouldBlock"). This module takes its own lock file when the
  knowledge base is opened (also before the shard exists), so a second process gets a
  `StoreUnavailable` that says what to do.
- Searches release the GIL and may run from several threads at once; `optimize()` holds the GIL
  for its whole run (30 s at 50,000 points), so it is never called here. Without it the shard
  keeps one appendable segment searched exactly (no HNSW): 5 ms at 50,000 x 384, the same
  ranking as an exact search. Deleted points stay as tombstones until a `--recreate` (vacuuming
  is also `optimize()`'s job). Writes and `close()` take a lock that waits for running searches.
- Updates go to the write-ahead log first, so they survive a crash; `flush()` after each write
  keeps the segments current, and `close()` (at exit, via `close_all`) flushes too.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

import qdrant_edge as edge
from langchain_core.embeddings import Embeddings
from langchain_qdrant import SparseEmbeddings

from wwhd.core.errors import StoreUnavailable
from wwhd.tools.knowledge import (
    CONTENT_KEY,
    DENSE_VECTOR,
    INDEXED_FIELDS,
    METADATA_KEY,
    SPARSE_VECTOR,
    Hit,
    KnowledgeBase,
    StoredChunk,
    model_metadata,
    stored_chunk,
)
from wwhd.tools.vectorstore import KnowledgeBaseVectorStore

log = logging.getLogger(__name__)

# Qdrant's (and qdrant-client local mode's) default RRF constant: the old store's ranking.
RRF_K = 2
WRITE_BATCH = 256
SCROLL_PAGE = 1000
T = TypeVar("T")


class _SharedLock:
    """Many readers or one writer: searches run side by side, writes and close run alone."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writing:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            while self._writing or self._readers:
                self._cond.wait()
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class EdgeKnowledgeBase(KnowledgeBase):
    """The knowledge base on an embedded qdrant-edge shard (the default when `QDRANT_URL` is
    unset). Opening it locks the collection's folder until `close()`."""

    def __init__(
        self,
        root: Path,
        collection: str,
        dense: Embeddings,
        sparse: SparseEmbeddings,
        dense_model: str,
        dense_size: int,
        location: str | None = None,
    ) -> None:
        super().__init__(collection, dense, sparse, dense_model, dense_size,
                         location or f"embedded:{root}")
        self.root = root
        self.shard_path = root / collection
        self.metadata_path = root / f"{collection}.json"
        self._lock = _SharedLock()
        self._lock_file = _lock_folder(root / f"{collection}.lock", self.location)
        self._shard: edge.EdgeShard | None = None
        if self.exists():
            try:
                self._shard = self._load()
            except BaseException:
                self._lock_file.close()
                self._lock_file = None
                raise

    # -- collection -------------------------------------------------------------------------

    def exists(self) -> bool:
        """Whether the collection exists (its shard and its model record)."""
        return self.metadata_path.is_file() and (self.shard_path / "edge_config.json").is_file()

    def ensure_collection(self, recreate: bool = False) -> None:
        """Create the collection if missing (or if `recreate`), else check it fits the model."""
        if recreate or not self.exists():
            self.create(self.dense_size, model_metadata(self.dense_model, self.dense_size))
        self.check_compatible()

    def create(self, size: int, metadata: dict[str, Any]) -> None:
        """(Re)create an empty collection of `size`-dimensional dense vectors, recording
        `metadata` (the model it is built with) beside it."""
        with self._lock.write():
            self._close_shard()
            log.info("creating collection %s at %s", self.collection, self.location)
            # A shard without its model record is a creation that did not finish: start over.
            self.metadata_path.unlink(missing_ok=True)
            shutil.rmtree(self.shard_path, ignore_errors=True)
            shard = edge.EdgeShard.create(str(self.shard_path), _config(size))
            for field in INDEXED_FIELDS:
                shard.update(edge.UpdateOperation.create_field_index(
                    f"{METADATA_KEY}.{field}", edge.PayloadSchemaType.Keyword))
            shard.flush()
            _write_json(self.metadata_path, {"collection": self.collection, **metadata})
            self._shard = shard

    def collection_metadata(self) -> dict[str, Any]:
        """The model record beside the shard (empty if there is none)."""
        try:
            return json.loads(self.metadata_path.read_text())
        except (OSError, ValueError):
            return {}

    def count(self) -> int:
        """Number of chunks in the collection (0 when it does not exist)."""
        return self._read(lambda shard: shard.count(edge.CountRequest(exact=True)), 0)

    # -- reading ----------------------------------------------------------------------------

    def hybrid_search(self, query: str, k: int, filters: dict[str, str]) -> list[Hit]:
        """Dense + BM25 prefetches of k each, fused by RRF, both under the same filter."""
        dense = self.dense.embed_query(query)
        sparse = self.sparse.embed_query(query)
        return self.search_vectors(dense, sparse.indices, sparse.values, k, filters)

    def search_vectors(
        self,
        dense: Sequence[float],
        sparse_indices: Sequence[int],
        sparse_values: Sequence[float],
        k: int,
        filters: dict[str, str],
    ) -> list[Hit]:
        """`hybrid_search` with the query already embedded (benchmarks time the store alone)."""
        condition = _filter(filters)
        sparse = edge.SparseVector(list(sparse_indices), list(sparse_values))
        batch = edge.QueryBatchRequest([
            edge.QueryRequest(limit=k, query=edge.Query.Nearest(list(dense), using=DENSE_VECTOR),
                              filter=condition, with_payload=True, with_vector=False),
            edge.QueryRequest(limit=k, query=edge.Query.Nearest(sparse, using=SPARSE_VECTOR),
                              filter=condition, with_payload=True, with_vector=False),
        ])
        ranked = self._read(lambda shard: shard.query_batch(batch), [[], []])
        return [
            ((p.payload or {}).get(CONTENT_KEY, ""), (p.payload or {}).get(METADATA_KEY) or {},
             score)
            for p, score in reciprocal_rank_fusion(ranked, k)
        ]

    @property
    def vector_store(self) -> KnowledgeBaseVectorStore:
        """LangChain's vector-store interface over this store (the qdrant-client engine's
        `vector_store` is langchain-qdrant's; this is its equivalent)."""
        return KnowledgeBaseVectorStore(self)

    def stored_chunks(self) -> list[StoredChunk]:
        """Every chunk's id, document, origin and content hash (no vectors)."""
        return [stored_chunk(str(record.id), record.payload)
                for record in self.scroll(with_vectors=False)]

    def scroll(self, with_vectors: bool = False) -> Iterator[Any]:
        """Every point (payload, and vectors if asked), a page at a time."""
        offset = None
        while True:
            request = edge.ScrollRequest(offset=offset, limit=SCROLL_PAGE, with_payload=True,
                                         with_vector=with_vectors)
            records, offset = self._read(lambda shard, r=request: shard.scroll(r), ([], None))
            yield from records
            if offset is None:
                return

    # -- writing ----------------------------------------------------------------------------

    def add_texts(
        self, texts: Sequence[str], metadatas: Sequence[dict], ids: Sequence[str]
    ) -> list[str]:
        """Embed texts (dense and BM25) and write them with their metadata under `ids`."""
        dense = self.dense.embed_documents(list(texts))
        sparse = self.sparse.embed_documents(list(texts))
        self.write_points(
            ids, dense, [(s.indices, s.values) for s in sparse],
            [{CONTENT_KEY: text, METADATA_KEY: meta} for text, meta in zip(texts, metadatas,
                                                                            strict=True)],
        )
        return list(ids)

    def write_points(
        self,
        ids: Sequence[str],
        dense: Sequence[Sequence[float]],
        sparse: Sequence[tuple[Sequence[int], Sequence[float]]],
        payloads: Sequence[dict[str, Any]],
    ) -> None:
        """Write points whose vectors are already known (ingestion, migration, benchmarks)."""
        points = [
            edge.Point(pid, {DENSE_VECTOR: list(map(float, vector)),
                             SPARSE_VECTOR: edge.SparseVector(list(indices), list(values))},
                       payload)
            for pid, vector, (indices, values), payload in zip(ids, dense, sparse, payloads,
                                                               strict=True)
        ]
        for start in range(0, len(points), WRITE_BATCH):
            batch = points[start : start + WRITE_BATCH]
            self._write(lambda shard, b=batch: shard.update(edge.UpdateOperation.upsert_points(b)))

    def set_origin(self, point_ids: Iterable[str], uri: str, version: str) -> None:
        """Record where unchanged chunks now come from (path or s3:// URI, and S3 ETag)."""
        ids = list(point_ids)
        if ids:
            self._write(lambda shard: shard.update(edge.UpdateOperation.set_payload(
                ids, {"uri": uri, "source_version": version}, key=METADATA_KEY)))

    def delete(self, point_ids: Iterable[str]) -> None:
        """Remove points by id."""
        ids = list(point_ids)
        if ids:
            self._write(lambda shard: shard.update(edge.UpdateOperation.delete_points(ids)))

    def close(self) -> None:
        """Flush and close the shard and release the folder's lock (idempotent)."""
        with self._lock.write():
            self._close_shard()
            if self._lock_file is not None:
                self._lock_file.close()  # closing the file releases its flock
                self._lock_file = None
        super().close()

    # -- engine access ----------------------------------------------------------------------

    def _load(self) -> edge.EdgeShard:
        try:
            return edge.EdgeShard.load(str(self.shard_path))
        except Exception as exc:  # qdrant-edge raises plain Exception with the engine's message
            if "WouldBlock" in str(exc):  # our own lock file makes this unlikely; keep it clear
                raise StoreUnavailable(_busy_message(self.location)) from exc
            raise

    def _read(self, fn: Callable[[edge.EdgeShard], T], missing: T) -> T:
        with self._lock.read():
            if self._shard is None:
                self._check_open()
                return missing
            return fn(self._shard)

    def _write(self, fn: Callable[[edge.EdgeShard], Any]) -> None:
        with self._lock.write():
            if self._shard is None:
                self._check_open()
                raise StoreUnavailable(
                    f"collection {self.collection!r} at {self.location} does not exist: run "
                    "`wwhd ingest` to create it"
                )
            fn(self._shard)
            self._shard.flush()

    def _check_open(self) -> None:
        if self._lock_file is None:
            raise StoreUnavailable(
                f"the knowledge base at {self.location} was closed; open it again with "
                "open_knowledge_base()"
            )

    def _close_shard(self) -> None:
        if self._shard is not None:
            self._shard.close()  # flushes
            self._shard = None


def reciprocal_rank_fusion(ranked: Sequence[Sequence[Any]], limit: int) -> list[tuple[Any, float]]:
    """Fuse ranked lists of points by RRF: score = sum of 1 / (rank + RRF_K), rank from 0.

    Done here rather than with the engine's `Fusion.Rrf` for its order of ties: like
    qdrant-client's (the earlier embedded store), equal scores keep the order in which the
    points were first met, dense list first. The engine breaks ties otherwise, which reordered
    44 of the 134 test questions' passages (2 of them lost a gold passage from the top 5).
    """
    scores: dict[str, float] = {}
    points: dict[str, Any] = {}
    for hits in ranked:
        for rank, point in enumerate(hits):
            key = str(point.id)
            points.setdefault(key, point)
            scores[key] = scores.get(key, 0.0) + 1.0 / (rank + RRF_K)
    order = sorted(scores, key=scores.__getitem__, reverse=True)  # stable: first met first
    return [(points[key], scores[key]) for key in order[:limit]]


def _config(size: int) -> edge.EdgeConfig:
    return edge.EdgeConfig(
        vectors={DENSE_VECTOR: edge.EdgeVectorParams(size=size, distance=edge.Distance.Cosine)},
        sparse_vectors={SPARSE_VECTOR: edge.EdgeSparseVectorParams(modifier=edge.Modifier.Idf)},
    )


def _filter(filters: dict[str, str]) -> edge.Filter | None:
    if not filters:
        return None
    return edge.Filter(must=[
        edge.FieldCondition(key=f"{METADATA_KEY}.{key}", match=edge.MatchValue(value))
        for key, value in filters.items()
    ])


def _busy_message(location: str) -> str:
    return (
        f"the embedded knowledge base at {location} is open in another process (is `make serve` "
        "running?). Stop that process, or run a Qdrant server and set QDRANT_URL so several "
        "processes can share it."
    )


def _lock_folder(path: Path, location: str) -> IO[str]:
    """An exclusive lock on `path` held until the returned file is closed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a")  # noqa: SIM115 - held open for the life of the knowledge base
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise StoreUnavailable(_busy_message(location)) from exc
    return handle


def _write_json(path: Path, data: dict[str, Any]) -> None:
    # Written whole then renamed: a crash leaves the old record or the new one, never half.
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
