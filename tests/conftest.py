"""Shared fixtures: an isolated environment, the ingested corpus, and real servers on loopback.

Tests live in layers, by folder: `unit` (no I/O, seconds: `make test-fast`), `component` (real
SQLite, embedded Qdrant, moto, SeaweedFS), `integration` (a real server over HTTP) and `llm` (a
real local model server). Each folder's tests get its marker and a per-test timeout.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from devtools.processes import ProcessFailed, http_answers, start_process, stop_process
from wwhd.server.launch import free_port

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVER_START_TIMEOUT_S = 180

# Nothing in the tests may reach an outside host or use a real key.
for _name in (
    "OPENAI_API_KEY", "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY", "LANGSMITH_TRACING",
    "LANGCHAIN_TRACING_V2", "QDRANT_URL", "JWT_SECRET", "WWHD_LLM_BASE_URL", "WWHD_CHAT_MODEL",
    "WWHD_JUDGE_BASE_URL", "WWHD_JUDGE_MODEL", "WWHD_SECRETS_ID", "APP_ENV", "SQLITE_PATH",
):
    os.environ.pop(_name, None)
os.environ.update(
    {
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGGRAPH_NO_VERSION_CHECK": "true",
        "LANGSMITH_TEST_TRACKING": "false",
        "LANGSMITH_TRACING": "false",
        "HF_HUB_OFFLINE": "1",
        "WWHD_CORPUS_DIR": str(REPO / "corpus"),
    }
)


LAYER_TIMEOUTS_S = {"unit": 60, "component": 600, "integration": 900, "llm": 1200,
                    "container": 1800, "cluster": 900}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its layer (its folder) and give it that layer's timeout."""
    for item in items:
        layer = Path(item.fspath).parent.name
        if layer in LAYER_TIMEOUTS_S:
            item.add_marker(getattr(pytest.mark, layer))
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(LAYER_TIMEOUTS_S[layer]))


def run_wwhd(*args: str, env: dict[str, str] | None = None, timeout: float = 900) -> str:
    """Run the `wwhd` console script in a subprocess; fail the test with its output if it fails."""
    result = subprocess.run(
        [str(BIN / "wwhd"), *args], cwd=REPO, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=timeout,
    )
    if result.returncode != 0:
        pytest.fail(f"wwhd {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


# The embedded store's folder under WWHD_DATA_DIR (Settings.edge_store_path).
KB_FOLDER = "qdrant-edge"


def _kb_cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "wwhd" / "test-kb"


@pytest.fixture(scope="session")
def ingested_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder holding the whole bundled corpus, ingested once per test session.

    Embedding the corpus takes minutes on two cores, so the last session's collection is kept in
    a user cache and brought up to date by an incremental `wwhd ingest` (which re-embeds only
    what changed, and so is itself exercised on every run). A cache that cannot be synced is
    rebuilt from scratch. Ingested by a subprocess so this process holds no lock on it.
    """
    data = tmp_path_factory.mktemp("kb-template")
    cache = _kb_cache_dir()
    env = {"WWHD_DATA_DIR": str(data)}
    cache.parent.mkdir(parents=True, exist_ok=True)
    # Two test sessions on one machine (two clones, CI beside a developer) share the cache:
    # one at a time reads and replaces it.
    with open(cache.parent / "test-kb.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (cache / KB_FOLDER).is_dir():
            shutil.copytree(cache / KB_FOLDER, data / KB_FOLDER, dirs_exist_ok=True)
            try:
                run_wwhd("ingest", "--quiet", "--strict", env=env)
            except pytest.fail.Exception:
                run_wwhd("ingest", "--quiet", "--strict", "--recreate", env=env)
        else:
            run_wwhd("ingest", "--quiet", "--strict", env=env)
        # Only this store's folder: a checkout of an earlier version keeps its own beside it.
        shutil.rmtree(cache / KB_FOLDER, ignore_errors=True)
        shutil.copytree(data / KB_FOLDER, cache / KB_FOLDER)
    return data


def copy_data_dir(template: Path, target: Path) -> Path:
    """A private copy of an ingested data folder (embedded Qdrant locks its folder)."""
    shutil.copytree(template, target, dirs_exist_ok=True)
    return target


@pytest.fixture(scope="session")
def kb_env(ingested_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point this process at a private copy of the ingested corpus (in-process graph tests)."""
    from wwhd.tools.store import close_all

    data = copy_data_dir(ingested_template, tmp_path_factory.mktemp("kb-inprocess"))
    previous = os.environ.get("WWHD_DATA_DIR")
    os.environ["WWHD_DATA_DIR"] = str(data)
    yield data
    close_all()
    if previous is None:
        os.environ.pop("WWHD_DATA_DIR", None)
    else:
        os.environ["WWHD_DATA_DIR"] = previous


@pytest.fixture
def kb_context(kb_env: Path):
    """A run context whose dependencies are built from the current environment (the ingested
    corpus, and a model if the test configured one): handed in, no global patched."""
    from wwhd.core.settings import load_settings
    from wwhd.graphs.context import Context
    from wwhd.graphs.dependencies import Dependencies

    return Context(dependencies=Dependencies(load_settings()))


@dataclass
class Server:
    """A real LangGraph server started the way `make serve` starts it."""

    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, production: bool = False) -> Server:
        """Start and wait until /ok answers; fail with the server log if it does not."""
        self.port = free_port()
        self.log_path = self.data_dir / f"server-{self.port}.log"
        args = [str(BIN / "wwhd"), "serve", "--port", str(self.port)]
        if production:
            args.append("--production")
        env = {**os.environ, "WWHD_DATA_DIR": str(self.data_dir), **self.env}
        try:
            self.process = start_process(
                args, ready=http_answers(f"{self.url}/ok", lambda status: status == 200),
                timeout=SERVER_START_TIMEOUT_S, log_path=self.log_path, env=env, cwd=REPO,
                what="wwhd serve",
            )
        except ProcessFailed as exc:
            pytest.fail(str(exc))
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server (SIGTERM by default, SIGKILL to simulate a crash)."""
        if self.process is not None:
            stop_process(self.process, sig=sig)

    def restart(self) -> Server:
        self.stop()
        return self.start()

    def log(self, tail: int | None = 6000) -> str:
        """The current server's output (its last `tail` characters; None: all of it)."""
        if not self.log_path or not self.log_path.exists():
            return ""
        text = self.log_path.read_text()
        return text[-tail:] if tail else text


@pytest.fixture
def make_server(ingested_template: Path, tmp_path: Path) -> Iterator:
    """Factory for servers on private copies of the ingested corpus; all stopped at the end."""
    started: list[Server] = []

    def make(env: dict[str, str] | None = None, production: bool = False) -> Server:
        data = copy_data_dir(ingested_template, tmp_path / f"server-{len(started)}")
        server = Server(data_dir=data, env=env or {})
        started.append(server)
        return server.start(production=production)

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def shared_server(ingested_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """One server for a whole test module (for tests that do not restart it)."""
    data = copy_data_dir(ingested_template, tmp_path_factory.mktemp("shared-server"))
    server = Server(data_dir=data).start()
    yield server
    server.stop()


@dataclass
class LocalModel:
    """The real llama.cpp server with the pinned Qwen2.5 0.5B GGUF, on a loopback port."""

    port: int
    log_path: Path
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LocalModel:
        from devtools import local_llm

        self.process = local_llm.start_server(self.port, log_path=self.log_path)
        local_llm.wait_ready(self.base_url, timeout=300, process=self.process)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=15)


@pytest.fixture(scope="session")
def local_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalModel]:
    """Provision (cached across clones) and start the local model server for `llm` tests."""
    from devtools import local_llm

    local_llm.ensure_server_venv()
    local_llm.ensure_model()
    model = LocalModel(port=free_port(), log_path=tmp_path_factory.mktemp("llm") / "llm.log")
    yield model.start()
    model.stop()


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real moto server (S3, Secrets Manager, ECS) on a loopback port, for a test module."""
    from aws_loopback import moto_server

    with moto_server(tmp_path_factory.mktemp("moto")) as endpoint:
        yield endpoint


@pytest.fixture
def aws(moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """boto3 pointed at a clean moto with dummy credentials; yields the endpoint."""
    from aws_loopback import aws_environment, reset_moto

    reset_moto(moto)
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in aws_environment(moto, tmp_path).items():
        monkeypatch.setenv(name, value)
    return moto
