"""Starting the LangGraph API server the way every environment does.

- development (`make serve`, `wwhd serve`): `langgraph dev`, no browser, no reload, offline;
- production (`wwhd serve --production`, the container): `uvicorn langgraph_api.server:app` with
  the inmem runtime configured through environment variables (see ../shared/design.md);
- cluster mode (`DATABASE_URL` and `REDIS_URL` set, either flag): `uvicorn
  wwhd.server.cluster_app:app`, one Aegra replica on PostgreSQL and Redis.

Both run with the data folder as working directory, because the inmem runtime keeps its thread
records in `./.langgraph_api`; all our own paths are made absolute first.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from importlib import resources
from pathlib import Path

from wwhd.core.errors import ConfigurationError, ServiceUnavailable
from wwhd.core.settings import Settings, load_settings
from wwhd.server import aegra, upstream
from wwhd.server.cluster import cluster_environment
from wwhd.server.cors import cors_config, describe

log = logging.getLogger(__name__)

# uvicorn finishes in-flight requests for this long on SIGTERM (ECS's stopTimeout must exceed it).
GRACEFUL_SHUTDOWN_S = 20
# langgraph-api's own CORS variables, which server_environment's CORS_CONFIG overrides.
UPSTREAM_CORS_VARIABLES = ("CORS_ALLOW_ORIGINS", "CORS_CONFIG")
OFFLINE_ENV = {
    # Without these `langgraph dev` phones home for analytics and version checks.
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGGRAPH_NO_VERSION_CHECK": "true",
}


def server_config() -> dict:
    """langgraph.json as installed with the package (its specs name modules, not files, so
    the server runs from any folder, from a checkout or from a wheel)."""
    return json.loads(resources.files("wwhd").joinpath("langgraph.json").read_text())


def port_is_free(host: str, port: int) -> bool:
    """Whether nothing listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def check_startup(settings: Settings) -> None:
    """Refuse configurations that must not serve (raises ConfigurationError saying why)."""
    upstream.check_supported_versions()
    if settings.cluster_mode:
        aegra.check_supported_version()
        check_cluster_services(settings)
    if settings.is_production and not settings.auth_enabled:
        raise ConfigurationError(
            "APP_ENV=production requires JWT_SECRET or WWHD_JWT_JWKS_URL: without one every "
            "conversation would be readable by anyone who can reach the server. Set JWT_SECRET "
            "(or WWHD_SECRETS_ID to read it from AWS Secrets Manager), or WWHD_JWT_JWKS_URL "
            "with WWHD_JWT_ISSUER and WWHD_JWT_AUDIENCE to accept an identity provider's tokens."
        )


def check_cluster_services(settings: Settings) -> None:
    """Raise ServiceUnavailable, naming it, when PostgreSQL or Redis does not answer: a replica
    without them could serve nothing (Aegra's own start-up error buries that in a traceback)."""
    from wwhd.server.health import check_broker, check_cluster_database  # loads the store code

    for name, variable, check in (
        # A new database has no tables yet: this replica may be the one that creates them.
        ("PostgreSQL", "DATABASE_URL", lambda s: check_cluster_database(s, schema=False)),
        ("Redis", "REDIS_URL", check_broker),
    ):
        result = check(settings)
        if result["status"] != "ok":
            raise ServiceUnavailable(
                f"cluster mode: {result['error']}. Start {name} or fix {variable}, then start "
                "the replica again (or unset DATABASE_URL and REDIS_URL for the single-process "
                "server)"
            )


def server_environment(settings: Settings) -> dict[str, str]:
    """Environment for the server process: absolute paths, offline flags, inmem runtime config."""
    data_dir = settings.data_dir.resolve()
    config = server_config()
    env = {
        **os.environ,
        **OFFLINE_ENV,
        "WWHD_DATA_DIR": str(data_dir),
        "SQLITE_PATH": str(settings.sqlite_path.resolve()),
        "WWHD_CORPUS_DIR": str(settings.corpus_dir.resolve()),
        # The inmem runtime reads these when started by uvicorn rather than `langgraph dev`.
        "LANGGRAPH_RUNTIME_EDITION": "inmem",
        "REDIS_URI": "fake",
        "DATABASE_URI": ":memory:",
        "MIGRATIONS_PATH": "__inmem",
        "LANGSERVE_GRAPHS": json.dumps(config["graphs"]),
        "LANGGRAPH_CHECKPOINTER": json.dumps(config["checkpointer"]),
        "LANGGRAPH_HTTP": json.dumps(config["http"]),
        # langgraph-api prefers CORS_CONFIG to langgraph.json's http.cors (see cors.py).
        "CORS_CONFIG": json.dumps(cors_config(settings, config["http"].get("cors"))),
    }
    if "auth" in config:
        env["LANGGRAPH_AUTH"] = json.dumps(config["auth"])
    return env


def serve(host: str, port: int, production: bool = False) -> None:
    """Replace this process with the server (signals then reach it directly)."""
    settings = load_settings()
    check_startup(settings)
    if port == 0:
        port = free_port(host)
    elif not port_is_free(host, port):
        if settings.cluster_mode:
            # A proxy or load balancer sends traffic to the port it was given: another one
            # would leave this replica unreachable.
            raise ConfigurationError(f"port {port} on {host} is in use: a cluster replica "
                                     "serves only on the port asked for; stop what uses it "
                                     "or choose another PORT")
        wanted, port = port, free_port(host)
        print(f"Port {wanted} is in use; serving on port {port} instead.", file=sys.stderr)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    env = server_environment(settings)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    # The stock /docs page loads its script from a CDN, so it is not advertised here.
    mode = " (cluster replica: Aegra on PostgreSQL + Redis)" if settings.cluster_mode else ""
    print(f"W.W.H.D. server{mode}: {url}  (live: {url}/ok, ready: {url}/health)", flush=True)
    print(f"Studio: https://smith.langchain.com/studio/?baseUrl={url}", flush=True)
    print(f"Browsers may call it from: {describe(json.loads(env['CORS_CONFIG']))}", flush=True)
    for upstream_name in UPSTREAM_CORS_VARIABLES:
        if os.environ.get(upstream_name):
            print(f"{upstream_name} is ignored: wwhd serve sets CORS from WWHD_CORS_ALLOW_ORIGINS "
                  "& co. or langgraph.json's http.cors (see the README).", file=sys.stderr)
    bin_dir = Path(sys.executable).parent
    if settings.cluster_mode:
        env.update(cluster_environment(settings, server_config()))
        argv = [
            str(bin_dir / "uvicorn"), "wwhd.server.cluster_app:app", "--host", host,
            "--port", str(port), "--workers", "1", "--no-access-log",
            "--timeout-graceful-shutdown", str(GRACEFUL_SHUTDOWN_S),
        ]
    elif production:
        argv = [
            str(bin_dir / "uvicorn"), "langgraph_api.server:app", "--host", host,
            "--port", str(port), "--workers", "1", "--no-access-log",
            "--timeout-graceful-shutdown", str(GRACEFUL_SHUTDOWN_S),
        ]
    else:
        # `langgraph dev` resolves some paths against the working folder, not the config's.
        generated = settings.data_dir.resolve() / "langgraph.json"
        generated.write_text(json.dumps(server_config(), indent=2))
        argv = [
            str(bin_dir / "langgraph"), "dev", "--config", str(generated), "--host", host,
            "--port", str(port), "--no-browser", "--no-reload",
            "--n-jobs-per-worker", str(settings.n_jobs_per_worker or 1),
        ]
    os.chdir(settings.data_dir)
    os.execve(argv[0], argv, env)
