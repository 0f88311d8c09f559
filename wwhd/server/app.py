"""Custom HTTP routes served beside the LangGraph API (langgraph.json "http.app"), and the
server-side jobs that start with it: thread-record recovery and retention."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from wwhd.core.settings import Settings, process_settings
from wwhd.server import upstream
from wwhd.server.auth import request_identity
from wwhd.server.durability import restore_thread_records
from wwhd.server.health import public_view, readiness
from wwhd.server.middleware import BrowserAccess, StoreSearchDefaults
from wwhd.server.retention import RetentionPolicy, retention_loop
from wwhd.server.ui import ui_router


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Runs after the LangGraph runtime has started (its lifespan is entered first)."""
    settings = process_settings()  # read once; a bad variable stops the start-up, naming it
    upstream.check_supported_versions()
    job = None
    # In cluster mode Aegra keeps thread records in PostgreSQL: neither the inmem runtime's
    # record recovery nor its SQLite retention applies.
    if not settings.cluster_mode:
        await restore_thread_records(settings.sqlite_path)
        policy = RetentionPolicy.from_settings(settings)
        if policy.interval_s > 0:
            job = asyncio.create_task(retention_loop(settings.sqlite_path, policy))
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
app.add_middleware(BrowserAccess)
# The reference chat page (`make ui` builds it); 404 with a hint when it is not built.
# Its routes join the app's own rather than through include_router: langgraph-api wraps each
# custom route in its auth middleware, which needs a route with an `app` (FastAPI's included
# router has none).
app.router.routes.extend(ui_router().routes)


def shows_details(request: Request, settings: Settings) -> bool:
    """Details (paths, errors) only where the API is open anyway or the caller has a token."""
    if not settings.auth_enabled:
        return True
    return request_identity(request.headers, settings) is not None


@app.get("/health")
def health(request: Request) -> JSONResponse:
    """Readiness: 200 `ok` or `degraded` (the chat model is down, answers still work), 503
    `unavailable` when the checkpointer, the broker (cluster mode) or the vector store is
    unusable. Liveness is `/ok`."""
    settings = process_settings()
    code, report = readiness(settings)
    body = report if shows_details(request, settings) else public_view(report)
    return JSONResponse(body, status_code=code)
