"""A local cluster on loopback: PostgreSQL, Redis, replicas of the server in cluster mode, and
nginx in front of them, round-robin (README "More than one task").

    python -m devtools.cluster up [--replicas 2] [--port 8080]   # `make cluster`; Ctrl-C stops
    python -m devtools.cluster provision                          # packages and .venv-cluster only

PostgreSQL, Redis and nginx are Debian's packages, installed with apt-get when missing. The
replicas run from `.venv-cluster` (Python 3.12, `requirements-cluster.lock`: Aegra needs 3.12),
built here when the lock changes. Each replica gets its own copy of an ingested knowledge base,
standing in for a per-task Qdrant sidecar restored from a snapshot (the embedded store locks its
folder). The tests (tests/cluster/) drive the same class.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from devtools.apt import PackagesMissing, apt_install
from devtools.processes import ProcessFailed, http_answers, start_process, stop_process, wait_until
from wwhd.server.launch import free_port

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv-cluster"
LOCK = REPO / "requirements-cluster.lock"
PACKAGES = ["postgresql", "redis-server", "nginx"]
PYTHON_VERSION = "3.12"
DATABASE = "wwhd"
START_TIMEOUT_S = 180
# langgraph-api reads no network; Aegra neither, with these (and no keys are ever passed on).
OFFLINE_ENV = {
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGGRAPH_NO_VERSION_CHECK": "true",
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "HF_HUB_OFFLINE": "1",
    "NO_COLOR": "1",
}
SECRET_VARIABLES = ("OPENAI_API_KEY", "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")


def postgres_bin() -> Path | None:
    """Folder of the newest installed PostgreSQL's programs (Debian keeps them off PATH)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda path: int(path.parent.parent.name) if path.parent.parent.name
                   .isdigit() else 0)
    return found[-1].parent if found else None


def ensure_packages() -> None:
    """PostgreSQL, Redis and nginx, installed if any is missing (PackagesMissing if not)."""
    if postgres_bin() and shutil.which("redis-server") and _nginx():
        return
    apt_install(PACKAGES, why="PostgreSQL, Redis or nginx (the cluster tests run them)")
    if not (postgres_bin() and shutil.which("redis-server") and _nginx()):
        raise PackagesMissing(f"{', '.join(PACKAGES)} were installed but not found")


def _nginx() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                     else None)


def python312() -> str:
    """A Python 3.12 interpreter: `WWHD_CLUSTER_PYTHON`, else `python3.12` (through pyenv's
    shim, which runs it only with PYENV_VERSION set, when that is how it is installed)."""
    candidates = [os.environ.get("WWHD_CLUSTER_PYTHON"), shutil.which("python3.12")]
    if shutil.which("pyenv"):
        listed = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True)
        for version in listed.stdout.split():
            if version.startswith(PYTHON_VERSION + "."):
                prefix = subprocess.run(["pyenv", "prefix", version], capture_output=True,
                                        text=True).stdout.strip()
                candidates.append(f"{prefix}/bin/python{PYTHON_VERSION}" if prefix else None)
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"],
                               capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 12)":
            return candidate
    raise PackagesMissing(
        "cluster mode needs Python 3.12 (Aegra requires it) and none was found: install it "
        "(e.g. `apt-get install python3.12` where available, or `pyenv install 3.12`), or set "
        "WWHD_CLUSTER_PYTHON to its path"
    )


def ensure_venv() -> Path:
    """`.venv-cluster` with requirements-cluster.lock and this checkout; rebuilt when the lock
    or pyproject.toml change. Its `bin` folder."""
    digest = hashlib.sha256(LOCK.read_bytes() + (REPO / "pyproject.toml").read_bytes())
    stamp = VENV / ".installed"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return VENV / "bin"
    interpreter = python312()
    if not (VENV / "bin" / "python").exists():
        subprocess.run([interpreter, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    print("devtools.cluster: installing requirements-cluster.lock into .venv-cluster",
          flush=True)
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "--require-hashes", "-r", str(LOCK)], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(REPO)], check=True)
    stamp.write_text(digest.hexdigest())
    return VENV / "bin"


def provision() -> Path:
    """Everything a cluster needs that is installed once; the cluster venv's `bin`."""
    ensure_packages()
    return ensure_venv()


def _as_postgres(argv: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; Debian's package creates the postgres user.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@dataclass
class Replica:
    """One server process of the cluster."""

    name: str
    port: int
    data_dir: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """Its own address (the proxy's is `Cluster.url`)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """Where its output goes."""
        return self.data_dir / "server.log"


@dataclass
class Cluster:
    """PostgreSQL, Redis, `replicas` servers and nginx under `root`, all on loopback."""

    root: Path
    kb_template: Path
    replicas: int = 2
    proxy_port: int = 0
    env: dict[str, str] = field(default_factory=dict)
    bin_dir: Path = VENV / "bin"
    members: list[Replica] = field(default_factory=list)
    # Chosen by `start`: the services' ports and PostgreSQL's folder.
    pg_port: int = 0
    redis_port: int = 0
    pg_home: Path | None = None
    _processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The proxy: what clients use."""
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def database_url(self) -> str:
        """PostgreSQL's URL (Aegra's tables, the checkpointer and the store)."""
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/{DATABASE}"

    @property
    def redis_url(self) -> str:
        """Redis's URL (run dispatch and streams)."""
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def start(self) -> Cluster:
        """Start everything; replicas all at once, as a deploy on a new database would."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.pg_port, self.redis_port = free_port(), free_port()
        self.proxy_port = self.proxy_port or free_port()
        try:
            self._start_postgres()
            self._start_redis()
            self.members = [self._replica(index) for index in range(self.replicas)]
            for replica in self.members:
                self._launch(replica)
            for replica in self.members:
                self._wait_ready(replica)
            self._start_proxy()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every process (replicas first), then PostgreSQL."""
        for replica in self.members:
            if replica.process is not None:
                stop_process(replica.process, timeout=30)
        for name in ("nginx", "redis"):
            if name in self._processes:
                stop_process(self._processes.pop(name), timeout=15)
        if self.pg_home is None:
            return
        pg_data = self.pg_home / "data"
        if (pg_data / "postmaster.pid").exists():
            subprocess.run(_as_postgres([str(postgres_bin() / "pg_ctl"), "-D", str(pg_data),
                                         "-m", "fast", "-w", "stop"]), capture_output=True)
        if not pg_data.parent.is_relative_to(self.root):
            shutil.rmtree(pg_data.parent, ignore_errors=True)

    def kill(self, index: int, sig: int = signal.SIGKILL) -> None:
        """Stop replica `index` with `sig` (SIGKILL: no clean-up of any kind)."""
        replica = self.members[index]
        if replica.process is not None:
            stop_process(replica.process, timeout=30, sig=sig)
            replica.process = None

    def restart(self, index: int) -> None:
        """Start replica `index` again (after `kill`) and wait until it is ready."""
        self._launch(self.members[index])
        self._wait_ready(self.members[index])

    def rolling_restart(self, pause_s: float = 1.0) -> None:
        """Replace the replicas one at a time, as a deploy with minimum healthy 100% does:
        take one out of the proxy (the load balancer's deregistration), stop it gracefully
        (SIGTERM: it finishes what it serves), start it again, put it back."""
        for index in range(len(self.members)):
            self._write_proxy_config(without=index)
            self._reload_proxy()
            time.sleep(pause_s)  # requests already proxied to it finish
            self.kill(index, signal.SIGTERM)
            self.restart(index)
            self._write_proxy_config()
            self._reload_proxy()

    def log(self, index: int, chars: int = 4000) -> str:
        """The end of replica `index`'s output."""
        path = self.members[index].log_path
        return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"

    # -- the parts --------------------------------------------------------------------------

    def _postgres_home(self) -> Path:
        # As root, PostgreSQL runs as the postgres user, who cannot enter a private folder
        # (pytest's temporary folders are 0700): it then gets a folder of its own in /tmp.
        home = self.root / "postgres"
        home.mkdir(exist_ok=True)
        if os.geteuid() != 0:
            return home
        shutil.chown(home, "postgres")
        if subprocess.run(_as_postgres(["test", "-w", str(home)])).returncode == 0:
            return home
        home = Path(tempfile.mkdtemp(prefix="wwhd-postgres-"))
        shutil.chown(home, "postgres")
        return home

    def _start_postgres(self) -> None:
        home = self.pg_home = self._postgres_home()
        pg_bin, pg_data, socket_dir = postgres_bin(), home / "data", home
        if not (pg_data / "PG_VERSION").exists():
            subprocess.run(_as_postgres([str(pg_bin / "initdb"), "-D", str(pg_data), "-U",
                                         "postgres", "--auth=trust", "-E", "UTF8"]),
                           check=True, capture_output=True)
        log_path = home / "postgres.log"
        options = f"-c listen_addresses=127.0.0.1 -p {self.pg_port} -k {socket_dir}"
        subprocess.run(_as_postgres([str(pg_bin / "pg_ctl"), "-D", str(pg_data), "-l",
                                     str(log_path), "-o", options, "-w", "start"]),
                       check=True, capture_output=True)
        created = subprocess.run(
            [str(pg_bin / "psql"), "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres",
             "-c", f"CREATE DATABASE {DATABASE}"], capture_output=True, text=True)
        if created.returncode != 0 and "already exists" not in created.stderr:
            raise ProcessFailed(f"creating the database failed: {created.stderr}")

    def _start_redis(self) -> None:
        (self.root / "redis").mkdir(exist_ok=True)
        argv = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.redis_port),
                "--save", "", "--appendonly", "no", "--dir", str(self.root / "redis")]
        self._processes["redis"] = start_process(
            argv, ready=lambda: _redis_answers(self.redis_port), timeout=30,
            log_path=self.root / "redis.log", what="redis-server")

    def _replica(self, index: int) -> Replica:
        data_dir = self.root / f"replica-{index}"
        if not data_dir.exists():
            shutil.copytree(self.kb_template, data_dir)
        return Replica(name=f"replica-{index}", port=free_port(), data_dir=data_dir)

    def _replica_env(self, replica: Replica) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if name not in SECRET_VARIABLES}
        env.update(OFFLINE_ENV)
        env.update(self.env)
        env.update({
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "WWHD_DATA_DIR": str(replica.data_dir),
            "WWHD_CORPUS_DIR": str(REPO / "corpus"),
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def _launch(self, replica: Replica) -> None:
        argv = [str(self.bin_dir / "wwhd"), "serve", "--port", str(replica.port), "--no-ingest"]
        with replica.log_path.open("ab") as log:
            replica.process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=self._replica_env(replica), cwd=replica.data_dir, start_new_session=True)

    def _wait_ready(self, replica: Replica) -> None:
        wait_until(http_answers(f"{replica.url}/ok", ok=lambda status: status == 200),
                   START_TIMEOUT_S, process=replica.process, what=replica.name,
                   log_path=replica.log_path)

    def _write_proxy_config(self, without: int | None = None) -> Path:
        root = self.root / "nginx"
        for folder in ("tmp", "logs"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        servers = "\n".join(
            f"        server 127.0.0.1:{replica.port} max_fails=1 fail_timeout=2s;"
            for index, replica in enumerate(self.members) if index != without)
        temp = "\n".join(f"    {kind}_temp_path {root}/tmp/{kind};"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        user = "user root;\n" if os.geteuid() == 0 else ""
        config = f"""{user}worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    # No idle client connections: a reload (how rolling_restart takes a replica out) closes
    # them, and a request sent on one at that instant got "Server disconnected" (seen once in
    # CI). An ALB deregisters targets without closing its clients' connections.
    keepalive_timeout 0;
{temp}
    upstream wwhd {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{self.proxy_port};
        client_max_body_size 10m;
        location / {{
            proxy_pass http://wwhd;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            # Server-sent events: pass each event on as it comes.
            proxy_buffering off;
            proxy_read_timeout 600s;
        }}
    }}
}}
"""
        path = root / "nginx.conf"
        path.write_text(config)
        return path

    def _start_proxy(self) -> None:
        path = self._write_proxy_config()
        self._processes["nginx"] = start_process(
            [_nginx(), "-p", str(path.parent), "-c", str(path), "-g", "daemon off;"],
            ready=http_answers(f"{self.url}/ok", ok=lambda status: status == 200), timeout=30,
            log_path=self.root / "nginx.log", what="nginx")

    def _reload_proxy(self) -> None:
        path = self.root / "nginx" / "nginx.conf"
        subprocess.run([_nginx(), "-p", str(path.parent), "-c", str(path), "-s", "reload"],
                       check=True, capture_output=True)


def _redis_answers(port: int) -> bool:
    result = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "ping"],
                            capture_output=True, text=True)
    return result.stdout.strip() == "PONG"


def ingested_kb(root: Path, bin_dir: Path) -> Path:
    """A data folder with the bundled corpus ingested (kept under `root` between runs)."""
    template = root / "kb-template"
    env = {**os.environ, **OFFLINE_ENV, "WWHD_DATA_DIR": str(template),
           "WWHD_CORPUS_DIR": str(REPO / "corpus")}
    subprocess.run([str(bin_dir / "wwhd"), "ingest"], env=env, check=True)
    return template


def main(argv: list[str] | None = None) -> int:
    """`up` a local cluster until Ctrl-C, or only `provision` what it needs."""
    parser = argparse.ArgumentParser(prog="python -m devtools.cluster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "provision"])
    parser.add_argument("--replicas", type=int, default=2, help="server replicas (default 2)")
    parser.add_argument("--port", type=int, default=8080,
                        help="the proxy's port on 127.0.0.1 (default 8080; 0: any free port)")
    parser.add_argument("--dir", type=Path, default=REPO / "data" / "cluster",
                        help="where the cluster keeps its data (default data/cluster; reused)")
    args = parser.parse_args(argv)
    try:
        bin_dir = provision()
    except (PackagesMissing, subprocess.CalledProcessError) as exc:
        print(f"devtools.cluster: {exc}", file=sys.stderr)
        return 1
    if args.command == "provision":
        print(f"devtools.cluster: ready ({bin_dir.parent.name}, PostgreSQL in {postgres_bin()})")
        return 0
    root = args.dir.resolve()
    cluster = Cluster(root=root, kb_template=ingested_kb(root, bin_dir),
                      replicas=args.replicas, proxy_port=args.port, bin_dir=bin_dir)
    try:
        cluster.start()
    except ProcessFailed as exc:
        print(f"devtools.cluster: {exc}", file=sys.stderr)
        return 1
    print(f"W.W.H.D. cluster: {cluster.url}  ({args.replicas} replicas behind nginx: "
          f"{', '.join(r.url for r in cluster.members)})")
    print(f"PostgreSQL {cluster.database_url}  Redis {cluster.redis_url}  logs under {root}")
    print("Ctrl-C stops everything.", flush=True)
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
