"""The reference page at /ui in a real browser (Debian's Chromium driven by playwright-core):
tokens stream in, citations open their sources, a reload restores the thread, a red flag shows
its urgent-care note first; without and with JWT auth.

The browser steps are in tests/js/browser.mjs; this module starts the servers and reads its
one-line JSON summary. A failure leaves a screenshot under the test's tmp_path.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import jwt
import pytest

from devtools.browser import BrowserMissing, ensure_chromium

from conftest import REPO

pytestmark = pytest.mark.integration

JS_DIR = REPO / "tests" / "js"
PAGE = REPO / "ui" / "dist" / "index.html"
SECRET = "browser-test-secret-not-used-anywhere-else"
# Four answers on two busy cores (the first ~10 s) plus the browser's own start: be generous.
BROWSER_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def browser_ready() -> str:
    """Chromium installed (apt-get when missing) and the page built; fail saying what to do."""
    try:
        version = ensure_chromium()
    except BrowserMissing as exc:
        pytest.fail(f"no browser for the /ui test: {exc}")
    if not PAGE.is_file():
        pytest.fail(f"{PAGE} is missing: run `make ui` (make test builds it)")
    if not (JS_DIR / "node_modules" / "playwright-core").is_dir():
        pytest.fail("tests/js/node_modules lacks playwright-core: run `make test` (npm ci there)")
    return version


def run_page(url: str, out_dir: Path, token: str | None = None) -> dict:
    """Run tests/js/browser.mjs against a server; its summary, or a failure naming the
    screenshot it left."""
    args = ["node", "browser.mjs", url, str(out_dir), *([token] if token else [])]
    result = subprocess.run(args, cwd=JS_DIR, capture_output=True, text=True,
                            timeout=BROWSER_TIMEOUT_S)
    lines = result.stdout.strip().splitlines()
    try:
        summary = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        summary = {}
    if result.returncode != 0:
        pytest.fail(
            f"the page failed at {summary.get('step', '?')!r}: {summary.get('error')}\n"
            f"screenshot: {summary.get('screenshot', f'none (see {out_dir})')}\n"
            f"summary: {json.dumps(summary, ensure_ascii=False)}\n"
            f"stderr: {result.stderr[-3000:]}"
        )
    return summary


def assert_page_worked(summary: dict) -> None:
    """What browser.mjs checked, restated so a change there cannot quietly weaken the test."""
    assert summary["ok"] is True
    assert summary["streamedStates"] >= 2, summary
    assert len(summary["turns"]) == 2 and all(t["citations"] >= 1 for t in summary["turns"])
    assert "Huang Qi" in summary["turns"][0]["title"], summary
    assert summary["reloaded"]["citations"] == summary["turns"][0]["citations"], summary
    assert "Call" in summary["redFlag"], summary
    assert summary["consoleErrors"] == [] and summary["failedRequests"] == [], summary
    assert summary["externalRequests"] == [], summary


def test_the_reference_page_streams_cites_reloads_and_flags(shared_server, browser_ready,
                                                            tmp_path):
    summary = run_page(shared_server.url, tmp_path / "screenshots")
    assert_page_worked(summary)
    assert summary["expectedErrors"] == []


def test_the_reference_page_with_a_bearer_token(make_server, browser_ready, tmp_path):
    server = make_server(env={"JWT_SECRET": SECRET})
    token = jwt.encode({"sub": "browser-user", "exp": int(time.time()) + 3600}, SECRET,
                       algorithm="HS256")
    summary = run_page(server.url, tmp_path / "screenshots", token=token)
    assert_page_worked(summary)
    # Without the token the page was refused and said so (browser.mjs checked the wording).
    assert any("401" in entry for entry in summary["expectedErrors"]), summary
