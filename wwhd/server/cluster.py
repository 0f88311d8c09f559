"""Cluster mode: one replica of the same graphs served by Aegra from PostgreSQL and Redis.

`wwhd serve` starts `wwhd.server.cluster_app:app` under uvicorn when `DATABASE_URL` and
`REDIS_URL` are both set (Python 3.12 and aegra-api needed: `make cluster` builds that
environment), with the environment `cluster_environment` returns. Threads,
runs, checkpoints and the store live in PostgreSQL; runs are dispatched and streamed through
Redis, so any replica serves any thread and a run sent to one may execute on another.

What differs from the single-process server, and why:
- Aegra reads `aegra.json`, written here from the package's `langgraph.json` (`aegra_config`):
  graph specs become file paths (Aegra loads graphs only from files), the checkpointer entry is
  dropped (Aegra always uses its own PostgreSQL saver), and custom routes are left to their own
  checks (`/health` and the static `/ui` are open in both modes; the API routes need a token
  whenever auth is on).
- Aegra's gaps (multitask strategies, the `runs/wait` poll, the start-up race) are closed by
  wwhd/server/aegra.py before Aegra's app is imported.
- Liveness is `/ok` here too (Aegra's own is `/live`), so health checks do not change per mode.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from wwhd.core.settings import Settings
from wwhd.server.cors import cors_config

CONFIG_FILE = "aegra.json"


def aegra_config(langgraph_config: dict, settings: Settings) -> dict:
    """Aegra's configuration for the graphs, auth, routes and CORS of `langgraph_config` (the
    package's langgraph.json, whose graph specs name modules of `wwhd.graphs`)."""
    graphs_dir = resources.files("wwhd.graphs")
    graphs = {}
    for graph_id, spec in langgraph_config["graphs"].items():
        module, _, attribute = spec.partition(":")
        package, _, name = module.rpartition(".")
        if package != "wwhd.graphs":
            raise ValueError(f"graph {graph_id!r}: {spec!r} is not a module of wwhd.graphs")
        graphs[graph_id] = f"{graphs_dir.joinpath(name + '.py')}:{attribute}"
    http = dict(langgraph_config.get("http", {}))
    http["enable_custom_route_auth"] = False
    http["cors"] = cors_config(settings, http.get("cors"))
    config = {"graphs": graphs, "http": http}
    if "auth" in langgraph_config:
        config["auth"] = {"path": langgraph_config["auth"]["path"]}
    return config


def write_aegra_config(settings: Settings, langgraph_config: dict) -> Path:
    """Write `aegra.json` into the data folder; its path (what `AEGRA_CONFIG` names)."""
    path = settings.data_dir.resolve() / CONFIG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(aegra_config(langgraph_config, settings), indent=2))
    return path


def cluster_environment(settings: Settings, langgraph_config: dict) -> dict[str, str]:
    """What a replica's process needs besides the single-process server's environment:
    Aegra's configuration file (written into the data folder) and its Redis broker, without
    which runs and streams stay in one replica's memory."""
    return {
        "AEGRA_CONFIG": str(write_aegra_config(settings, langgraph_config)),
        "REDIS_BROKER_ENABLED": "true",
    }
