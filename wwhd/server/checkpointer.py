"""The server's SQLite checkpointer, declared in langgraph.json (never compiled into a graph).

The stock `AsyncSqliteSaver` lacks three methods the LangGraph server calls: `adelete_for_runs`
(without it `multitask_strategy="rollback"` fails with a 500 and leaves a run stuck), `acopy_thread`
and `aprune` (without it checkpoints grow without bound). They are implemented here in SQL.
One saver per file per process, WAL mode and a busy timeout avoid "database is locked".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from wwhd.core.settings import load_settings

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000


class SqliteCheckpointer(AsyncSqliteSaver):
    """AsyncSqliteSaver plus run deletion, thread copy and pruning."""

    path: Path | None = None

    async def adelete_for_runs(self, run_ids: Iterable[str]) -> None:
        """Delete the checkpoints (and their writes) that the given runs created."""
        ids = [str(run_id) for run_id in run_ids]
        if not ids:
            return
        await self.setup()
        marks = ",".join("?" * len(ids))
        selected = (
            "SELECT thread_id, checkpoint_ns, checkpoint_id FROM checkpoints "
            f"WHERE json_extract(CAST(metadata AS TEXT), '$.run_id') IN ({marks})"
        )
        async with self.lock, self.conn.cursor() as cur:
            await cur.execute(
                "DELETE FROM writes WHERE (thread_id, checkpoint_ns, checkpoint_id) "
                f"IN ({selected})",
                ids,
            )
            await cur.execute(
                "DELETE FROM checkpoints WHERE "
                f"json_extract(CAST(metadata AS TEXT), '$.run_id') IN ({marks})",
                ids,
            )
            await self.conn.commit()

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint and write of one thread to another thread id."""
        await self.setup()
        source, target = str(source_thread_id), str(target_thread_id)
        async with self.lock, self.conn.cursor() as cur:
            await cur.execute(
                "INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, "
                "parent_checkpoint_id, type, checkpoint, metadata) "
                "SELECT ?, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, "
                "CAST(json_set(CAST(metadata AS TEXT), '$.thread_id', ?) AS BLOB) "
                "FROM checkpoints WHERE thread_id = ?",
                (target, target, source),
            )
            await cur.execute(
                "INSERT OR REPLACE INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, "
                "task_path, idx, channel, type, value) "
                "SELECT ?, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, "
                "value FROM writes WHERE thread_id = ?",
                (target, source),
            )
            await self.conn.commit()

    async def aprune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest"
    ) -> None:
        """Drop old checkpoints: keep each namespace's latest (`keep_latest`), or all of them
        (`delete_all`)."""
        if strategy == "delete_all":
            for thread_id in thread_ids:
                await self.adelete_thread(str(thread_id))
            return
        if strategy != "keep_latest":
            raise ValueError(f"unknown prune strategy {strategy!r}")
        await self.setup()
        async with self.lock, self.conn.cursor() as cur:
            for thread_id in map(str, thread_ids):
                # Checkpoint ids are time-ordered (uuid6), so MAX is the newest per namespace.
                await cur.execute(
                    "DELETE FROM writes WHERE thread_id = ? AND checkpoint_id NOT IN ("
                    "SELECT MAX(checkpoint_id) FROM checkpoints WHERE thread_id = ? "
                    "GROUP BY checkpoint_ns)",
                    (thread_id, thread_id),
                )
                await cur.execute(
                    "DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_id NOT IN ("
                    "SELECT MAX(checkpoint_id) FROM checkpoints WHERE thread_id = ? "
                    "GROUP BY checkpoint_ns)",
                    (thread_id, thread_id),
                )
            await self.conn.commit()



@asynccontextmanager
async def open_checkpointer(path: Path) -> AsyncIterator[SqliteCheckpointer]:
    """Open (creating if needed) the SQLite checkpoint file at `path`."""
    # The server's event loop must not block (langgraph dev enforces it): file work in a thread.
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    conn = await aiosqlite.connect(str(path))
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        saver = SqliteCheckpointer(conn)
        saver.path = path
        await saver.setup()
        log.info("checkpoints in %s", path)
        yield saver
    finally:
        await conn.close()


@asynccontextmanager
async def checkpointer() -> AsyncIterator[SqliteCheckpointer]:
    """The factory langgraph.json names: the saver at `SQLITE_PATH`."""
    async with open_checkpointer(load_settings().sqlite_path) as saver:
        yield saver
