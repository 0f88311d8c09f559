"""The ASGI app of a cluster replica: `uvicorn wwhd.server.cluster_app:app` (what `wwhd serve`
runs when `DATABASE_URL` and `REDIS_URL` are set; see wwhd/server/cluster.py).

Importing this module builds Aegra's app: Aegra's gaps are closed first (wwhd/server/aegra.py
must wrap its functions before `aegra_api.main` binds them), and Aegra's configuration is
written if whoever started uvicorn did not name one in `AEGRA_CONFIG`.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from wwhd.core.settings import process_settings, secret_value
from wwhd.server import aegra
from wwhd.server.cluster import cluster_environment
from wwhd.server.launch import server_config


def build_app() -> FastAPI:
    """Aegra's app serving the package's graphs, with wwhd's custom routes and `/ok`."""
    settings = process_settings()
    for name, value in cluster_environment(settings, server_config()).items():
        os.environ.setdefault(name, value)  # Aegra reads its settings when first imported
    aegra.install(secret_value(settings.database_url) or "")
    from aegra_api.main import app

    @app.get("/ok", include_in_schema=False)
    async def ok() -> dict:
        """Liveness, named as the single-process server names it (Aegra's own is `/live`)."""
        return {"ok": True}

    return app


app = build_app()
