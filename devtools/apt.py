"""Installing Debian packages the tests need (Chromium; PostgreSQL, Redis and nginx for the
cluster), with apt-get, when they are missing and this machine allows it.

Nothing skips: a machine that cannot install gets the reason and the command that would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

APT_TIMEOUT_S = 1200


class PackagesMissing(RuntimeError):
    """Packages are missing and cannot be installed here; the message says how to."""


def install_hint(packages: Sequence[str]) -> str:
    """The command that installs `packages`, for error messages."""
    return ("install them as root: apt-get update && DEBIAN_FRONTEND=noninteractive "
            f"apt-get install -y {' '.join(packages)}")


def apt_install(packages: Sequence[str], why: str) -> None:
    """apt-get install `packages` (refreshing the package lists if the first try fails).

    Raises PackagesMissing, naming `why` they are needed and how to install them."""
    hint = install_hint(packages)
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise PackagesMissing(f"{why} is missing and installing it needs root and apt-get: "
                              f"{hint}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Wait for another apt (a second test session installing the same package) instead of
    # failing on its lock.
    command = ["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-q", *packages]
    try:
        result = subprocess.run(command, capture_output=True, timeout=APT_TIMEOUT_S, env=env)
        if result.returncode != 0:  # stale package lists on a fresh machine: refresh, retry
            subprocess.run(["apt-get", "update", "-q"], capture_output=True,
                           timeout=APT_TIMEOUT_S, env=env)
            result = subprocess.run(command, capture_output=True, timeout=APT_TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired as exc:
        raise PackagesMissing(f"apt-get took over {APT_TIMEOUT_S} s: {hint}") from exc
    if result.returncode != 0:
        output = result.stderr.decode(errors="replace")[-800:]
        raise PackagesMissing(f"apt-get install {' '.join(packages)} failed:\n{output}\n{hint}")
