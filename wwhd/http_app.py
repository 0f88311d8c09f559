"""Custom HTTP routes served beside the LangGraph API (langgraph.json "http.app")."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from wwhd.health import health_report
from wwhd.settings import load_settings

app = FastAPI(title="W.W.H.D. custom routes")


@app.get("/health")
def health() -> JSONResponse:
    """200 when the checkpointer, the vector store and the model are usable; 503 naming any
    that is not."""
    healthy, report = health_report(load_settings())
    return JSONResponse(report, status_code=200 if healthy else 503)
