"""Chromium for the browser test (`tests/integration/test_browser.py`): Debian's `chromium`
package, installed with apt-get when it is missing and this machine allows it.

    python -m devtools.browser            # install if needed; print the browser's version
    python -m devtools.browser --check    # only say whether it is there (installs nothing)

Debian's build rather than Playwright's own download: the registry mirrors this project may use
carry no Playwright browser builds, and the test drives it through `playwright-core` with
`executablePath` (../shared/design.md, "Tools for what comes next"). Nothing here skips: a machine
that cannot install it gets the reason and the command that would, so the test fails saying so.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from devtools.apt import PackagesMissing, apt_install

CHROMIUM = Path("/usr/bin/chromium")
PACKAGES = ["chromium"]
INSTALL_HINT = (
    "install Debian's Chromium as root: apt-get update && "
    "DEBIAN_FRONTEND=noninteractive apt-get install -y chromium "
    "(the browser test drives /usr/bin/chromium)"
)


class BrowserMissing(RuntimeError):
    """Chromium is not installed and cannot be installed here; the message says how to."""


def version(browser: Path | None = None) -> str | None:
    """The browser's version line (of `browser`, by default Debian's), or None when it is
    missing or does not run."""
    browser = browser or CHROMIUM
    if not browser.is_file() or not os.access(browser, os.X_OK):
        return None
    try:
        result = subprocess.run([str(browser), "--version"], capture_output=True, text=True,
                                timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    # The Debian wrapper script may complain on stderr; only the exit code and stdout count.
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def install() -> None:
    """apt-get install the package (raises BrowserMissing, saying how, when it cannot)."""
    try:
        apt_install(PACKAGES, why=str(CHROMIUM))
    except PackagesMissing as exc:
        raise BrowserMissing(f"{exc} (the browser test drives {CHROMIUM})") from exc


def ensure_chromium() -> str:
    """Chromium's version, installing the package first if it is missing.

    Raises BrowserMissing, saying how to install it, when it cannot be had.
    """
    found = version()
    if found:
        return found
    install()
    found = version()
    if not found:
        raise BrowserMissing(f"{CHROMIUM} was installed but does not run: {INSTALL_HINT}")
    return found


def main(argv: list[str] | None = None) -> int:
    """Install Chromium if needed (or only check); print its version."""
    parser = argparse.ArgumentParser(prog="python -m devtools.browser", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only say whether it is installed")
    args = parser.parse_args(argv)
    if args.check:
        found = version()
        print(found or f"{CHROMIUM} is missing: {INSTALL_HINT}")
        return 0 if found else 1
    try:
        print(ensure_chromium())
    except BrowserMissing as exc:
        print(f"devtools.browser: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
