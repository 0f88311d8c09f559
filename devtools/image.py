"""Build the container image from the checkout: with Docker where a daemon answers, otherwise with
podman and a Python base image made locally with debootstrap (no registry needed).

    python -m devtools.image            # build (cached), print the tool used and the image size
    python -m devtools.image --check    # say whether this machine can build, and why not

The podman path (measured facts in ../shared/design.md): Debian's podman with runc and a
containers.conf setting ulimits (crun fails on these VMs); `--format docker` (the OCI format
drops HEALTHCHECK); the base `localhost/python:3.11-slim-bookworm`, the Dockerfile's default
base name, so the Dockerfile needs no edit. The base is rebuilt only when its inputs change
(this file's recipe, the host's CA certificates: their digest is a label on the base, shared by
every checkout on the machine); the image's layers are podman's cache.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "build" / "image"  # ignored by git and by the image's build context
IMAGE = "localhost/wwhd:test"
BASE = "localhost/python:3.11-slim-bookworm"
PACKAGES = ["podman", "debootstrap", "slirp4netns", "fuse-overlayfs", "uidmap", "runc"]
BASE_RECIPE = "bookworm minbase + python3.11 python3-venv ca-certificates; v1"
CONTAINERS_CONF = """[containers]
default_ulimits = ["nofile=16384:16384", "nproc=8192:8192"]

[engine]
runtime = "runc"
"""
HOST_CA_DIR = Path("/usr/local/share/ca-certificates")
BASE_LABEL = "wwhd.base.inputs"


class ImageError(RuntimeError):
    """The image cannot be built here; the message says why and what to do."""


@dataclass(frozen=True)
class Engine:
    """The container tool and the environment its commands need."""

    name: str  # "docker" or "podman"
    env: dict[str, str]

    def run(self, *args: str, check: bool = True, capture: bool = True,
            timeout: float = 1800, input_: bytes | None = None) -> subprocess.CompletedProcess:
        """Run `<engine> args...`; raise ImageError with its output when it fails."""
        result = subprocess.run(
            [self.name, *args], env=self.env, capture_output=capture, timeout=timeout,
            input=input_,
        )
        if check and result.returncode != 0:
            output = (result.stdout or b"").decode(errors="replace")[-3000:] + (
                result.stderr or b"").decode(errors="replace")[-3000:]
            raise ImageError(f"{self.name} {' '.join(args[:3])} ... failed:\n{output}")
        return result


def docker_answers() -> bool:
    """Whether a Docker daemon answers here."""
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


def why_podman_cannot_run() -> str | None:
    """None when podman can be used (installing it if this machine allows), else the reason."""
    missing = [tool for tool in ("podman", "debootstrap", "runc") if not shutil.which(tool)]
    if not missing:
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return (f"no Docker daemon and no {', '.join(missing)}; installing them needs root and "
                f"apt-get (apt-get install {' '.join(PACKAGES)})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", *PACKAGES]
    result = subprocess.run(install, capture_output=True, timeout=900, env=env)
    if result.returncode != 0:  # stale package lists on a fresh machine: refresh, try again
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, timeout=900, env=env)
        result = subprocess.run(install, capture_output=True, timeout=900, env=env)
    if result.returncode != 0:
        return "apt-get install podman failed: " + result.stderr.decode(errors="replace")[-500:]
    return None


def engine() -> Engine:
    """Docker if its daemon answers, else podman (installed when needed and allowed)."""
    if docker_answers():
        return Engine("docker", dict(os.environ))
    reason = why_podman_cannot_run()
    if reason:
        raise ImageError(reason)
    WORK.mkdir(parents=True, exist_ok=True)
    conf = WORK / "containers.conf"
    conf.write_text(CONTAINERS_CONF)
    return Engine("podman", {**os.environ, "CONTAINERS_CONF": str(conf)})


def base_inputs_digest() -> str:
    """What the base image is made from: the recipe and the host's CA certificates."""
    digest = hashlib.sha256(BASE_RECIPE.encode())
    for cert in sorted(HOST_CA_DIR.glob("*.crt")):
        digest.update(cert.read_bytes())
    return digest.hexdigest()[:16]


def ensure_base(tool: Engine) -> bool:
    """Make the Python base image with debootstrap unless an up-to-date one exists.

    Returns whether it was (re)built.
    """
    wanted = base_inputs_digest()
    # The digest of the inputs is a label on the base itself, so every clone on the machine
    # reuses one base image.
    labels = tool.run("image", "inspect", "--format", "{{json .Labels}}", BASE, check=False)
    if labels.returncode == 0 and (json.loads(labels.stdout or b"null") or {}).get(
            BASE_LABEL) == wanted:
        return False
    rootfs = WORK / "rootfs"
    shutil.rmtree(rootfs, ignore_errors=True)
    _run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs),
          "http://deb.debian.org/debian"], "debootstrap")
    certs = sorted(HOST_CA_DIR.glob("*.crt"))
    target = rootfs / "usr/local/share/ca-certificates"
    target.mkdir(parents=True, exist_ok=True)
    for cert in certs:  # the host's TLS-inspecting proxy signs with these
        shutil.copy(cert, target / cert.name)
    shutil.copy("/etc/resolv.conf", rootfs / "etc/resolv.conf")
    _run(["chroot", str(rootfs), "sh", "-c",
          "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
          "--no-install-recommends python3.11 python3-venv ca-certificates "
          "&& update-ca-certificates && apt-get clean && rm -rf /var/lib/apt/lists/* "
          "&& ln -sf /usr/bin/python3 /usr/local/bin/python"], "chroot apt-get")
    (rootfs / "etc/pip.conf").write_text(
        "[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n"
    )
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    result = subprocess.run(
        [tool.name, "import", "--change",
         "ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "--change",
         "ENV LANG=C.UTF-8", "--change", f"LABEL {BASE_LABEL}={wanted}", "-", BASE],
        stdin=tar.stdout, env=tool.env, capture_output=True, timeout=600,
    )
    tar.wait()
    if result.returncode != 0:
        raise ImageError(f"podman import failed: {result.stderr.decode(errors='replace')}")
    shutil.rmtree(rootfs, ignore_errors=True)
    return True


def _run(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, timeout=1800)
    if result.returncode != 0:
        raise ImageError(f"{what} failed:\n{result.stderr.decode(errors='replace')[-3000:]}")


@dataclass(frozen=True)
class Built:
    """What a build produced."""

    tool: str
    image: str
    size_bytes: int
    seconds: float
    base_rebuilt: bool


def build(tag: str = IMAGE, context: Path = REPO) -> Built:
    """Build the image from `context` (cached layers reused) and report it."""
    started = time.monotonic()
    tool = engine()
    base_rebuilt = ensure_base(tool) if tool.name == "podman" else False
    args = ["build", "-t", tag, "-f", str(context / "Dockerfile")]
    if tool.name == "podman":
        args += ["--format", "docker"]  # OCI drops HEALTHCHECK
    tool.run(*args, str(context), timeout=3600)
    return inspect(tag, seconds=time.monotonic() - started, base_rebuilt=base_rebuilt)


def inspect(tag: str, seconds: float = 0.0, base_rebuilt: bool = False) -> Built:
    """An image that exists already, described as a build result."""
    tool = engine()
    inspected = json.loads(tool.run("image", "inspect", tag).stdout)[0]
    return Built(tool.name, tag, int(inspected["Size"]), seconds, base_rebuilt)


def main(argv: list[str] | None = None) -> int:
    """Build the image; print the tool, the image and its size."""
    parser = argparse.ArgumentParser(prog="python -m devtools.image", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tag", default=IMAGE, help=f"image name (default {IMAGE})")
    parser.add_argument("--check", action="store_true",
                        help="only say whether this machine can build the image")
    args = parser.parse_args(argv)
    try:
        if args.check:
            print(f"can build with {engine().name}")
            return 0
        built = build(args.tag)
    except ImageError as exc:
        print(f"devtools.image: {exc}", file=sys.stderr)
        return 1
    base = " (base image rebuilt with debootstrap)" if built.base_rebuilt else ""
    print(f"built {built.image} with {built.tool}{base} in {built.seconds:.0f} s; "
          f"size {built.size_bytes / 1e6:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
