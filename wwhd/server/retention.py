"""Retention inside the server: old checkpoints pruned, idle threads deleted, the file shrunk.

Every `WWHD_RETENTION_INTERVAL_S` seconds (0 turns it off; settings in `wwhd.core.settings`):
- threads idle for `WWHD_PRUNE_AFTER_S` keep only their newest checkpoint (history shortens,
  state and conversation stay whole, since the newest checkpoint holds every message);
- threads idle for `WWHD_THREAD_TTL_DAYS` days (0: never) are deleted, record and checkpoints;
- the WAL is checkpointed and truncated, and the file vacuumed when a quarter of it is free.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wwhd.core.settings import Settings
from wwhd.server import upstream
from wwhd.server.checkpointer import open_checkpointer

log = logging.getLogger(__name__)

VACUUM_FREE_RATIO = 0.25


@dataclass(frozen=True)
class RetentionPolicy:
    """When to prune and delete."""

    interval_s: float = 3600.0
    prune_after_s: float = 86400.0
    delete_after_days: float = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        """The policy the settings give (defaults: hourly, prune after a day, keep)."""
        return cls(
            interval_s=settings.retention_interval_s,
            prune_after_s=settings.prune_after_s,
            delete_after_days=settings.thread_ttl_days,
        )


@dataclass
class RetentionReport:
    """What one retention pass did."""

    pruned: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    bytes_before: int = 0
    bytes_after: int = 0


def database_bytes(path: Path) -> int:
    """Size of the SQLite file with its WAL and shared-memory files."""
    return sum(
        p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()
    )


def _compact(path: Path) -> None:
    with sqlite3.connect(path, timeout=30) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        if pages and free / pages >= VACUUM_FREE_RATIO:
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


async def run_retention_once(sqlite_path: Path, policy: RetentionPolicy) -> RetentionReport:
    """One pass of pruning, deleting and compacting."""
    report = RetentionReport(bytes_before=await asyncio.to_thread(database_bytes, sqlite_path))
    now = datetime.now(UTC)
    idle = upstream.thread_idle_times(now)
    if policy.delete_after_days > 0:
        limit = timedelta(days=policy.delete_after_days)
        async with upstream.runtime_connection() as conn:
            for thread_id, age in idle:
                if age >= limit:
                    await upstream.delete_thread(conn, thread_id)
                    report.deleted.append(thread_id)
    deleted = set(report.deleted)
    report.pruned = [
        thread_id for thread_id, age in idle
        if thread_id not in deleted and age.total_seconds() >= policy.prune_after_s
    ]
    if report.pruned:
        async with open_checkpointer(sqlite_path) as saver:
            await saver.aprune(report.pruned, strategy="keep_latest")
    await asyncio.to_thread(_compact, sqlite_path)
    report.bytes_after = await asyncio.to_thread(database_bytes, sqlite_path)
    log.info(
        "retention: pruned %d thread(s), deleted %d, database %d -> %d bytes",
        len(report.pruned), len(report.deleted), report.bytes_before, report.bytes_after,
    )
    return report


async def retention_loop(sqlite_path: Path, policy: RetentionPolicy) -> None:
    """Run retention passes forever at the policy's interval (cancel to stop)."""
    while True:
        await asyncio.sleep(policy.interval_s)
        try:
            await run_retention_once(sqlite_path, policy)
        except Exception:  # a failed pass must not stop the next ones, nor the server
            log.exception("retention pass failed; retrying at the next interval")
