"""Readiness behind GET /health: the checkpointer, the vector store and the chat model.

Liveness is the LangGraph server's own `GET /ok` (the process answers; no dependency is probed):
the container HEALTHCHECK and the ALB use it, so an outage of a dependency never gets the task
replaced. Readiness reports:

- `ok`: everything usable;
- `degraded` (still 200): the chat model does not answer, but answers still work (the extractive
  fallback quotes the knowledge base);
- `unavailable` (503): the checkpointer or the vector store is unusable (in cluster mode the
  checkpointer is PostgreSQL, and Redis, the run broker, counts too).

The model probe is cached for `WWHD_MODEL_PROBE_TTL_S` seconds, so health checks never turn into
one outbound model request each. Details (paths, errors) go to the log, and to callers that
present a valid token (or to everyone when auth is off, as in development).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from wwhd.core.errors import EmbeddingMismatch, StoreUnavailable
from wwhd.core.settings import Settings, secret_value
from wwhd.tools.providers import EXTRACTIVE, chat_provider
from wwhd.tools.store import open_knowledge_base

log = logging.getLogger(__name__)

MODEL_PROBE_TIMEOUT_S = 3.0
OK, DEGRADED, UNAVAILABLE, ERROR = "ok", "degraded", "unavailable", "error"
# Without any of these nothing works (the broker exists in cluster mode only).
ESSENTIAL = frozenset({"checkpointer", "broker", "vector_store"})


def check_checkpointer(settings: Settings) -> dict[str, Any]:
    """The SQLite checkpoint file can be opened and read."""
    path = settings.sqlite_path
    if not path.exists():
        return {"status": ERROR, "path": str(path), "error": "database file does not exist yet"}
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            threads = (
                conn.execute("SELECT COUNT(DISTINCT thread_id) FROM checkpoints").fetchone()[0]
                if "checkpoints" in tables
                else 0
            )
    except sqlite3.Error as exc:
        return {"status": ERROR, "path": str(path), "error": str(exc)}
    return {"status": OK, "path": str(path), "threads": threads}


def check_cluster_database(settings: Settings, schema: bool = True) -> dict[str, Any]:
    """Cluster mode: PostgreSQL (threads, runs and checkpoints) answers a query, and with
    `schema` holds the tables the first replica creates at start-up."""
    import psycopg  # an Aegra dependency: installed wherever cluster mode runs

    query = "SELECT COUNT(*) FROM thread" if schema else "SELECT 0"
    try:
        with psycopg.connect(secret_value(settings.database_url), connect_timeout=2) as conn:
            threads = conn.execute(query).fetchone()[0]
    except psycopg.Error as exc:
        return {"status": ERROR, "error": f"PostgreSQL: {type(exc).__name__}: {exc}"}
    return {"status": OK, "database": "postgresql", **({"threads": threads} if schema else {})}


def check_broker(settings: Settings) -> dict[str, Any]:
    """Cluster mode: Redis (run dispatch and streams) answers a PING."""
    import redis  # an Aegra dependency

    client = redis.Redis.from_url(secret_value(settings.redis_url), socket_timeout=2,
                                  socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        return {"status": ERROR, "error": f"Redis: {type(exc).__name__}: {exc}"}
    finally:
        client.close()
    return {"status": OK, "broker": "redis"}


def check_vector_store(settings: Settings) -> dict[str, Any]:
    """The collection exists, matches the embedding model and holds passages."""
    info: dict[str, Any] = {
        "location": settings.qdrant_location,
        "collection": settings.collection,
    }
    try:
        kb = open_knowledge_base(settings)
        info["embedding_model"] = kb.dense_model
        if not kb.exists():
            return {**info, "status": ERROR, "points": 0,
                    "error": "collection does not exist: run `wwhd ingest corpus`"}
        kb.check_compatible()
        points = kb.count()
    except (StoreUnavailable, EmbeddingMismatch) as exc:
        return {**info, "status": ERROR, "error": str(exc)}
    except Exception as exc:  # any other failure still has to produce a 503, not a 500
        return {**info, "status": ERROR, "error": f"{type(exc).__name__}: {exc}"}
    if points == 0:
        return {**info, "status": ERROR, "points": 0,
                "error": "collection is empty: run `wwhd ingest corpus`"}
    return {**info, "status": OK, "points": points}


def probe_model(settings: Settings) -> dict[str, Any]:
    """Ask the chat model server for its model list once (always ok for the extractive default)."""
    provider = chat_provider(settings)
    info: dict[str, Any] = {"provider": provider.kind, "chat_model": provider.chat_model}
    if provider.kind == EXTRACTIVE:
        return {**info, "status": OK}
    base_url = (provider.base_url or "https://api.openai.com/v1").rstrip("/")
    info["base_url"] = provider.base_url
    key = settings.llm_api_key if provider.base_url else settings.openai_api_key
    api_key = secret_value(key)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.get(f"{base_url}/models", headers=headers, timeout=MODEL_PROBE_TIMEOUT_S)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        return {**info, "status": ERROR, "error": f"{type(exc).__name__}: {exc}"}
    return {**info, "status": OK}


class ModelProbeCache:
    """The latest model probe per configuration, reused for `WWHD_MODEL_PROBE_TTL_S` seconds."""

    def __init__(self, probe: Callable[[Settings], dict[str, Any]] = probe_model) -> None:
        self._probe = probe
        self._entries: dict[tuple, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def check(self, settings: Settings, now: float | None = None) -> dict[str, Any]:
        """The cached probe result if fresh, else a new probe (one at a time)."""
        now = time.monotonic() if now is None else now
        key = (settings.llm_base_url, settings.chat_model, settings.openai_api_key)
        with self._lock:
            cached = self._entries.get(key)
            if cached and now - cached[0] < settings.model_probe_ttl_s:
                return {**cached[1], "cached": True}
            result = self._probe(settings)
            self._entries[key] = (now, result)
            return result


MODEL_PROBES = ModelProbeCache()


def readiness(settings: Settings) -> tuple[int, dict[str, Any]]:
    """The HTTP status and the full report (with details; see `public_view`)."""
    if settings.cluster_mode:
        checks = {"checkpointer": check_cluster_database(settings),
                  "broker": check_broker(settings)}
    else:
        checks = {"checkpointer": check_checkpointer(settings)}
    checks["vector_store"] = check_vector_store(settings)
    checks["model"] = MODEL_PROBES.check(settings)
    failing = [name for name, check in checks.items() if check["status"] != OK]
    _log_changes(failing, checks)
    status, code = overall(checks)
    return code, {"status": status, "failing": failing, **checks}


_last_failing: frozenset[str] = frozenset()


def _log_changes(failing: list[str], checks: dict[str, dict[str, Any]]) -> None:
    # Once per change, not once per probe: monitors poll /health every few seconds.
    global _last_failing
    now = frozenset(failing)
    for name in sorted(now - _last_failing):
        log.warning("readiness: %s is failing: %s", name, checks[name].get("error"))
    for name in sorted(_last_failing - now):
        log.info("readiness: %s has recovered", name)
    _last_failing = now


def overall(checks: dict[str, dict[str, Any]]) -> tuple[str, int]:
    """The service's status and HTTP code from its checks: without the checkpointer, the
    broker or the store nothing works; without the model the extractive fallback still
    answers."""
    failing = {name for name, check in checks.items() if check["status"] != OK}
    if failing & ESSENTIAL:
        return UNAVAILABLE, 503
    return (DEGRADED, 200) if failing else (OK, 200)


def public_view(report: dict[str, Any]) -> dict[str, Any]:
    """The report without paths, locations or error text, for unauthenticated callers."""
    checks = {
        name: {"status": value["status"]}
        for name, value in report.items()
        if isinstance(value, dict) and "status" in value
    }
    return {"status": report["status"], "failing": report["failing"], **checks}
