"""Custom HTTP routes served beside the LangGraph API (langgraph.json "http.app"), and the
server-side jobs that start with it: thread-record recovery and retention."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from wwhd.durability import restore_thread_records
from wwhd.health import health_report
from wwhd.middleware import StoreSearchDefaults
from wwhd.retention import RetentionPolicy, retention_loop
from wwhd.settings import load_settings


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Runs after the LangGraph runtime has started (its lifespan is entered first)."""
    settings = load_settings()
    await restore_thread_records(settings.sqlite_path)
    policy = RetentionPolicy.from_env()
    job = (
        asyncio.create_task(retention_loop(settings.sqlite_path, policy))
        if policy.interval_s > 0
        else None
    )
    try:
        yield
    finally:
        if job is not None:
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await job


app = FastAPI(title="W.W.H.D. custom routes", lifespan=lifespan)
# Middleware of this app wraps every route of the server, the LangGraph API's included.
app.add_middleware(StoreSearchDefaults)


@app.get("/health")
def health() -> JSONResponse:
    """200 when the checkpointer, the vector store and the model are usable; 503 naming any
    that is not."""
    healthy, report = health_report(load_settings())
    return JSONResponse(report, status_code=200 if healthy else 503)
