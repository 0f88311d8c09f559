"""Dependency checks behind GET /health: checkpointer, vector store and model provider."""

from __future__ import annotations

import sqlite3
from typing import Any

import httpx

from tools.store import EmbeddingMismatch, StoreUnavailable, open_knowledge_base
from wwhd.providers import EXTRACTIVE, chat_provider
from wwhd.settings import Settings

MODEL_PROBE_TIMEOUT_S = 3.0


def check_checkpointer(settings: Settings) -> dict[str, Any]:
    """The SQLite checkpoint file can be opened and read."""
    path = settings.sqlite_path
    if not path.exists():
        return {"status": "error", "path": str(path), "error": "database file does not exist yet"}
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            threads = (
                conn.execute("SELECT COUNT(DISTINCT thread_id) FROM checkpoints").fetchone()[0]
                if "checkpoints" in tables
                else 0
            )
    except sqlite3.Error as exc:
        return {"status": "error", "path": str(path), "error": str(exc)}
    return {"status": "ok", "path": str(path), "threads": threads}


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
            return {**info, "status": "error", "points": 0,
                    "error": "collection does not exist: run `wwhd ingest corpus`"}
        kb.check_compatible()
        points = kb.count()
    except (StoreUnavailable, EmbeddingMismatch) as exc:
        return {**info, "status": "error", "error": str(exc)}
    except Exception as exc:  # any other failure still has to produce a 503, not a 500
        return {**info, "status": "error", "error": f"{type(exc).__name__}: {exc}"}
    if points == 0:
        return {**info, "status": "error", "points": 0,
                "error": "collection is empty: run `wwhd ingest corpus`"}
    return {**info, "status": "ok", "points": points}


def check_model(settings: Settings) -> dict[str, Any]:
    """The chat model server answers (always ok for the extractive default)."""
    provider = chat_provider(settings)
    info: dict[str, Any] = {"provider": provider.kind, "chat_model": provider.chat_model}
    if provider.kind == EXTRACTIVE:
        return {**info, "status": "ok"}
    base_url = (provider.base_url or "https://api.openai.com/v1").rstrip("/")
    info["base_url"] = provider.base_url
    api_key = settings.llm_api_key if provider.base_url else settings.openai_api_key
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.get(f"{base_url}/models", headers=headers, timeout=MODEL_PROBE_TIMEOUT_S)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        return {**info, "status": "error", "error": f"{type(exc).__name__}: {exc}"}
    return {**info, "status": "ok"}


def health_report(settings: Settings) -> tuple[bool, dict[str, Any]]:
    """Whether every dependency is usable, and the report naming any that is not."""
    checks = {
        "checkpointer": check_checkpointer(settings),
        "vector_store": check_vector_store(settings),
        "model": check_model(settings),
    }
    failing = [name for name, check in checks.items() if check["status"] != "ok"]
    report = {"status": "ok" if not failing else "unavailable", "failing": failing, **checks}
    return not failing, report
