"""The one place that touches private internals of the LangGraph server's inmem runtime.

The inmem runtime keeps thread records in a process-global store (`GLOBAL_STORE`) and offers no
public API to list idle threads or re-insert a record lost by a crash. Durability (rebuilding
lost records) and retention (deleting threads by age) need both. Everything else in the project
goes through this module, which is checked against the versions it was written for:
`check_supported_versions()` runs at server start-up and fails with a clear message outside the
range, and tests/unit/test_upstream.py fails when the internals used here change shape.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from importlib import metadata
from typing import Any

from wwhd.core.errors import UnsupportedUpstream

# Inclusive lower, exclusive upper bound: the versions this module's assumptions were read from.
SUPPORTED = {
    "langgraph-api": ((0, 16, 0), (0, 17, 0)),
    "langgraph-runtime-inmem": ((0, 36, 0), (0, 37, 0)),
}
# The thread record fields the runtime reads back (checked by the tests).
THREAD_RECORD_KEYS = frozenset(
    {"thread_id", "created_at", "updated_at", "state_updated_at", "metadata", "status", "config",
     "values"}
)


def _version(distribution: str) -> tuple[int, ...] | None:
    try:
        text = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())


def inmem_runtime_installed() -> bool:
    """Whether the inmem runtime (the one whose internals this module uses) is installed."""
    return _version("langgraph-runtime-inmem") is not None


def check_supported_versions() -> None:
    """Raise UnsupportedUpstream when an installed upstream version is outside SUPPORTED."""
    for distribution, (low, high) in SUPPORTED.items():
        found = _version(distribution)
        if found is None:
            continue  # another runtime (e.g. a cluster engine) keeps its records itself
        if not low <= found < high:
            raise UnsupportedUpstream(
                f"{distribution} {'.'.join(map(str, found))} is installed, but wwhd.server."
                f"upstream was written for >={'.'.join(map(str, low))},<"
                f"{'.'.join(map(str, high))}. Install the versions in requirements.lock, or "
                "check the internals it uses (see tests/unit/test_upstream.py) and widen "
                "SUPPORTED."
            )


def _store() -> Any:
    from langgraph_runtime_inmem.database import GLOBAL_STORE

    return GLOBAL_STORE


def thread_records() -> list[dict]:
    """The runtime's thread records (live objects: do not mutate)."""
    return list(_store().get("threads", []))


def known_thread_ids() -> set[str]:
    """Ids of the threads the runtime knows."""
    return {str(thread["thread_id"]) for thread in thread_records()}


def thread_idle_times(now: datetime) -> list[tuple[str, Any]]:
    """(thread id, time since last update) for every thread that is not running."""
    return [
        (str(thread["thread_id"]), now - thread["updated_at"])
        for thread in thread_records()
        if thread.get("status") != "busy"
    ]


def to_api_json(value: Any) -> Any:
    """A value in the JSON form the runtime keeps and the API returns."""
    from langgraph_api.serde import json_dumpb, json_loads

    return json_loads(json_dumpb(value))


def add_thread_record(thread_id: str, metadata_: dict, values: Any, now: datetime) -> None:
    """Insert a thread record the runtime lost (idle, no config)."""
    record = {
        "thread_id": uuid.UUID(thread_id),
        "created_at": now,
        "updated_at": now,
        "state_updated_at": now,
        "metadata": metadata_,
        "status": "idle",
        "config": {},
        "values": values,
    }
    _store()["threads"].append(record)


def flush_records() -> None:
    """Write the runtime's records to disk now (it otherwise flushes every 10 s)."""
    _store().sync()


@asynccontextmanager
async def runtime_connection() -> AsyncIterator[Any]:
    """A connection to the runtime's store, as its own operations take."""
    from langgraph_runtime_inmem.database import connect

    async with connect() as conn:
        yield conn


async def delete_thread(conn: Any, thread_id: str) -> None:
    """Delete a thread with its runs, crons and checkpoints, as `DELETE /threads/{id}` does."""
    from langgraph_runtime_inmem.ops import Threads

    result = Threads.delete(conn, uuid.UUID(thread_id))
    if inspect.isawaitable(result):
        result = await result
    if hasattr(result, "__aiter__"):
        async for _ in result:  # the runtime returns the deleted id lazily
            pass
