"""Move a collection from the old embedded store (qdrant-client local mode, `WWHD_DATA_DIR/qdrant`)
into the qdrant-edge one (`WWHD_DATA_DIR/qdrant-edge`).

Points are copied as they are (ids, dense and sparse vectors, payloads, the model the collection
was built with): nothing is embedded again. It runs once, when the new store has no collection
yet (or an empty one) and the old folder holds it; the old folder is left in place, untouched.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from wwhd.core.errors import StoreUnavailable
from wwhd.tools.edge_store import EdgeKnowledgeBase
from wwhd.tools.knowledge import DENSE_VECTOR, SPARSE_VECTOR

log = logging.getLogger(__name__)

PAGE = 512


def has_local_collection(old_path: Path, collection: str) -> bool:
    """Whether an old local-mode folder holds this collection (checked without opening it)."""
    return (old_path / "collection" / collection).is_dir()


def migrate_local_collection(old_path: Path, kb: EdgeKnowledgeBase) -> int:
    """Copy `kb.collection` from the local-mode folder `old_path` into `kb`, replacing what `kb`
    holds. Returns how many points were copied (0 when the old folder has no such collection)."""
    if not has_local_collection(old_path, kb.collection):
        return 0
    from qdrant_client import QdrantClient

    started = time.perf_counter()
    try:
        client = QdrantClient(path=str(old_path))
    except RuntimeError as exc:
        if "already accessed" in str(exc):
            raise StoreUnavailable(
                f"the old embedded Qdrant at {old_path} is open in another process (a server of "
                f"an earlier version?). Stop it and run `wwhd ingest` again: its collection is "
                f"then copied into {kb.location}."
            ) from exc
        raise
    try:
        if not client.collection_exists(kb.collection):
            return 0
        config = client.get_collection(kb.collection).config
        kb.create(config.params.vectors[DENSE_VECTOR].size, dict(config.metadata or {}))
        copied, offset = 0, None
        while True:
            points, offset = client.scroll(kb.collection, limit=PAGE, offset=offset,
                                           with_payload=True, with_vectors=True)
            sparse = [point.vector.get(SPARSE_VECTOR) for point in points]
            kb.write_points(
                [str(point.id) for point in points],
                [point.vector[DENSE_VECTOR] for point in points],
                [(s.indices, s.values) if s is not None else ([], []) for s in sparse],
                [point.payload or {} for point in points],
            )
            copied += len(points)
            if offset is None:
                break
    finally:
        client.close()
    log.info(
        "migrated %d chunks of collection %s from the old embedded Qdrant at %s to %s in %.1f s "
        "(vectors copied, nothing re-embedded); the old folder is no longer used and may be "
        "deleted", copied, kb.collection, old_path, kb.location, time.perf_counter() - started,
    )
    return copied
