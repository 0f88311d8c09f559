"""The project as a user installs it: a wheel built from the checkout, in a clean virtualenv
with only the runtime lock, serving from a folder that is not the checkout."""

import hashlib
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import jwt
import pytest

from devtools.processes import ProcessFailed, http_answers, start_process, stop_process
from wwhd.server.launch import free_port

from conftest import REPO

pytestmark = pytest.mark.integration

SECRET = "wheel-test-secret-of-enough-length"
DOCS = ["acupoints/acupoint-ht7-shen-men.md", "acupoints/acupoint-yin-tang.md"]


def run(*argv: str, cwd: Path | None = None) -> None:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=900)
    if result.returncode:
        pytest.fail(f"{' '.join(argv)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "--wheel-dir", str(out), str(REPO))
    return next(out.glob("wwhd_agent-*.whl"))


@pytest.fixture(scope="module")
def clean_venv(wheel) -> Path:
    """A venv with the runtime lock only (cached per lock: installing takes minutes), then the
    wheel, reinstalled every time."""
    lock = REPO / "requirements.lock"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()[:12]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    venv = base / "wwhd" / f"wheel-venv-{sys.version_info.major}{sys.version_info.minor}-{digest}"
    python = venv / "bin" / "python"
    if not (venv / ".complete").exists():
        run(sys.executable, "-m", "venv", "--clear", str(venv))
        run(str(python), "-m", "pip", "install", "--quiet", "--require-hashes",
            "--only-binary=:all:", "--no-binary=forbiddenfruit", "-r", str(lock))
        (venv / ".complete").touch()
    run(str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall",
        str(wheel))
    return venv


def test_the_wheel_holds_one_package_and_no_development_tooling(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.startswith("wwhd_agent-")}
    assert tops == {"wwhd"}
    for needed in ("wwhd/graphs/wwhd.py", "wwhd/tools/store.py", "wwhd/core/settings.py",
                   "wwhd/server/app.py", "wwhd/langgraph.json", "wwhd/graphs/model/router.npz",
                   "wwhd/deploy/task-definition.json"):
        assert needed in names, needed
    assert not [n for n in names if "local_llm" in n or "/tests/" in n or "devtools" in n]


def test_an_installed_wheel_serves_and_answers_from_any_folder(clean_venv, tmp_path):
    corpus = tmp_path / "corpus"
    for doc in DOCS:
        (corpus / doc).parent.mkdir(parents=True, exist_ok=True)
        (corpus / doc).write_text((REPO / "corpus" / doc).read_text())
    port = free_port()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTHON", "VIRTUAL_ENV", "WWHD_"))}
    env.update({"WWHD_DATA_DIR": str(tmp_path / "data"), "WWHD_CORPUS_DIR": str(corpus),
                "APP_ENV": "production", "JWT_SECRET": SECRET,
                "PATH": f"{clean_venv / 'bin'}:{env.get('PATH', '')}"})
    url = f"http://127.0.0.1:{port}"
    work = tmp_path / "elsewhere"
    work.mkdir()
    try:
        server = start_process(
            [str(clean_venv / "bin" / "wwhd"), "serve", "--production", "--port", str(port)],
            ready=http_answers(f"{url}/ok", lambda status: status == 200), timeout=300,
            log_path=tmp_path / "server.log", env=env, cwd=work, what="the installed wheel",
        )
    except ProcessFailed as exc:
        pytest.fail(str(exc))
    try:
        token = jwt.encode({"sub": "wheel", "exp": int(time.time()) + 600}, SECRET, "HS256")
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
            assert http.get("/health").json()["status"] == "ok"
            # The reference page is built in a checkout (`make ui`), never shipped in the wheel.
            page = http.get("/ui")
            assert page.status_code == 404 and "make ui" in page.text, page.text
            thread = http.post("/threads", json={}).json()["thread_id"]
            answer = http.post(f"/threads/{thread}/runs/wait", json={
                "assistant_id": "wwhd",
                "input": {"messages": [{"role": "user", "content": "Where is Shen Men?"}]},
            })
        assert answer.status_code == 200, answer.text
        values = answer.json()
        assert values["route"] == "tcm"
        assert values["sources"][0]["doc_id"] == "acupoint-ht7-shen-men"
        assert "[1]" in values["messages"][-1]["content"]
    finally:
        stop_process(server)
    where = subprocess.run(
        [str(clean_venv / "bin" / "python"), "-c",
         "import wwhd.graphs; print(wwhd.graphs.__file__)"],
        cwd=work, env=env, capture_output=True, text=True, timeout=60,
    ).stdout.strip()
    assert where.startswith(str(clean_venv)), where  # the installed code, not the checkout
