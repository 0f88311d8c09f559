"""Time from `make serve` on a fresh clone to the first cited answer, as a new user meets it.

    python -m devtools.first_answer [--repo PATH] [--keep]

Clones the repository (default: this checkout's committed HEAD) into a temporary folder, installs
its dependencies (`make install`, and the page's npm packages when Node.js is there; timed apart:
they depend on the package caches, not on the project), then runs `make serve` on a free loopback
port and asks one question over the HTTP API. Prints the seconds to a live server and to the first
answer that cites a passage. A benchmark, not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from devtools.local_llm import find_free_port
from devtools.processes import http_answers, start_process, stop_process

QUESTION = "What is Huang Qi used for?"
TARGET_S = 60.0


def _run(argv: list[str], cwd: Path, log: Path) -> float:
    """Run a set-up step to completion; its seconds. Raises with the log's tail on failure."""
    started = time.perf_counter()
    with log.open("ab") as out:
        done = subprocess.run(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}); see {log}")
    return time.perf_counter() - started


def _ask(url: str, question: str) -> str:
    """One turn on a new thread through the API; the answer's text."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def post(path: str, body: dict) -> dict:
        request = urllib.request.Request(
            f"{url}{path}", data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )
        with opener.open(request, timeout=300) as response:
            return json.loads(response.read())

    thread = post("/threads", {})
    state = post(f"/threads/{thread['thread_id']}/runs/wait", {
        "assistant_id": "wwhd", "input": {"messages": [{"role": "user", "content": question}]},
    })
    return str(state["messages"][-1]["content"])


def main(argv: list[str] | None = None) -> int:
    """Clone, install, serve, ask; print the figures."""
    parser = argparse.ArgumentParser(prog="python -m devtools.first_answer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    here = Path(__file__).resolve().parents[1]
    parser.add_argument("--repo", default=str(here),
                        help="repository to clone (default: %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the clone (its path is printed)")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="wwhd-first-answer-"))
    clone, log = workdir / "clone", workdir / "steps.log"
    print(f"Cloning {args.repo} into {clone} (log: {log})", flush=True)
    subprocess.run(["git", "clone", "--quiet", args.repo, str(clone)], check=True)
    figures: list[tuple[str, float]] = []
    print("Installing dependencies (make install) ...", flush=True)
    figures.append(("dependency install (make install)", _run(["make", "install"], clone, log)))
    if shutil.which("npm"):
        print("Installing the page's npm packages ...", flush=True)
        figures.append(("page packages (npm ci)",
                        _run(["make", "ui/node_modules/.installed"], clone, log)))

    port = find_free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WWHD_", "QDRANT_"))}
    print(f"make serve PORT={port} ... (timing from here)", flush=True)
    started = time.perf_counter()
    server = start_process(["make", "serve", f"PORT={port}"], cwd=clone, env=env,
                           ready=http_answers(f"{url}/ok", lambda status: status == 200),
                           timeout=1800, log_path=workdir / "serve.log", what="make serve")
    try:
        figures.append(("make serve -> /ok answers", time.perf_counter() - started))
        answer = _ask(url, QUESTION)
        if "[1]" not in answer:
            raise SystemExit(f"the first answer cites nothing:\n{answer}")
        figures.append(("make serve -> first cited answer", time.perf_counter() - started))
    finally:
        stop_process(server)

    width = max(len(name) for name, _ in figures)
    print(f"\n{'step':<{width}}  seconds")
    for name, seconds in figures:
        print(f"{name:<{width}}  {seconds:7.1f}")
    first = figures[-1][1]
    print(f"\nFirst cited answer {first:.1f} s after `make serve` (target {TARGET_S:.0f} s: "
          f"{'met' if first <= TARGET_S else 'not met'}); {os.cpu_count()} cores.")
    if args.keep:
        print(f"Kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
