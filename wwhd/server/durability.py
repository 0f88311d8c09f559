"""Keeping the inmem runtime's thread records in line with the SQLite checkpoints.

The inmem runtime flushes its thread records to `.langgraph_api/` every 10 s, so a crash can lose
the records of threads whose checkpoints are safe in SQLite, and such threads vanish from
`/threads/search`. At start-up the records missing for checkpointed threads are rebuilt from the
newest checkpoint: its metadata carries the thread's own metadata (owner included, so auth
isolation holds) and its channel values are the thread's state. Runs left "running" by a crash are
already requeued by the runtime itself when it loads its records.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from wwhd.server import upstream
from wwhd.server.checkpointer import open_checkpointer

log = logging.getLogger(__name__)

# Checkpoint metadata keys that describe a run, not the thread it belongs to.
RUN_METADATA_KEYS = frozenset(
    {"run_id", "thread_id", "run_attempt", "source", "step", "parents", "writes", "user_id",
     "created_by"}
)


def newest_checkpoints(path: Path) -> dict[str, tuple[str, dict]]:
    """thread id -> (newest root checkpoint id, its metadata), read straight from SQLite."""
    if not path.exists():
        return {}
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if "checkpoints" not in tables:
            return {}
        rows = conn.execute(
            "SELECT thread_id, checkpoint_id, metadata FROM checkpoints AS c "
            "WHERE checkpoint_ns = '' AND checkpoint_id = (SELECT MAX(checkpoint_id) "
            "FROM checkpoints WHERE thread_id = c.thread_id AND checkpoint_ns = '')"
        ).fetchall()
    newest = {}
    for thread_id, checkpoint_id, raw in rows:
        text = raw.decode("utf-8", "ignore") if isinstance(raw, bytes) else (raw or "{}")
        newest[thread_id] = (checkpoint_id, json.loads(text or "{}"))
    return newest


def thread_metadata(checkpoint_metadata: dict) -> dict:
    """The thread's own metadata, recovered from a checkpoint's."""
    return {
        key: value
        for key, value in checkpoint_metadata.items()
        if key not in RUN_METADATA_KEYS and not key.startswith("langgraph_")
    }


async def restore_thread_records(sqlite_path: Path) -> list[str]:
    """Rebuild runtime thread records missing for checkpointed threads; return their ids."""
    if not upstream.inmem_runtime_installed():
        return []  # another runtime keeps thread records durably itself
    newest = await asyncio.to_thread(newest_checkpoints, sqlite_path)
    known = upstream.known_thread_ids()
    missing = [thread_id for thread_id in newest if thread_id not in known]
    if not missing:
        return []
    now = datetime.now(UTC)
    async with open_checkpointer(sqlite_path) as saver:
        for thread_id in missing:
            saved = await saver.aget_tuple(
                {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
            )
            values = upstream.to_api_json(saved.checkpoint["channel_values"]) if saved else None
            upstream.add_thread_record(
                thread_id, thread_metadata(newest[thread_id][1]), values, now
            )
    await asyncio.to_thread(upstream.flush_records)
    log.warning(
        "rebuilt %d thread record(s) lost by an unclean shutdown from their checkpoints",
        len(missing),
    )
    return missing
