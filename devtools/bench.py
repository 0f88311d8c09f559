"""Load benchmark: concurrent conversations against a real server over loopback.

    python -m devtools.bench [--url URL] [--threads 20] [--turns 10]

Without --url it starts `wwhd serve` itself on a free port over a private copy of the data folder
(so a running `make serve` is not disturbed), with N_JOBS_PER_WORKER runs at once. It prints
throughput, p50/p95 latency, errors, and turns lost (turns a client saw complete but the thread's
state does not hold). A benchmark, not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from devtools.measure import percentiles
from devtools.processes import http_answers, start_process, stop_process

QUESTIONS = [
    "What is Huang Qi used for?", "What are its cautions?", "Where is Zu San Li?",
    "What is Ba Duan Jin?", "What does Xiao Yao San treat?", "Who was Bodhidharma?",
    "How is the horse stance formed?", "Is Dang Gui safe with warfarin?",
    "What is the five phases theory?", "What does a wiry pulse mean?",
]


async def conversation(client, turns: int, latencies: list[float], errors: list[str]) -> int:
    """One thread, `turns` questions in a row; returns how many turns completed."""
    thread = await client.threads.create(metadata={"bench": True})
    done = 0
    for turn in range(turns):
        started = time.perf_counter()
        try:
            await client.runs.wait(
                thread["thread_id"], "wwhd",
                input={"messages": [{"role": "user", "content": QUESTIONS[turn % len(QUESTIONS)]}]},
            )
        except Exception as exc:  # counted and reported, the benchmark goes on
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        latencies.append(time.perf_counter() - started)
        done += 1
    state = await client.threads.get_state(thread["thread_id"])
    held = sum(1 for m in state["values"]["messages"] if m["type"] == "ai")
    return done - held if held < done else 0


async def drive(url: str, threads: int, turns: int) -> dict:
    """Run the load and summarize it."""
    from langgraph_sdk import get_client

    client = get_client(url=url, timeout=httpx.Timeout(600))
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    lost = await asyncio.gather(
        *(conversation(client, turns, latencies, errors) for _ in range(threads))
    )
    elapsed = time.perf_counter() - started
    p50, p95 = percentiles(latencies) if latencies else (None, None)
    return {
        "threads": threads,
        "turns_per_thread": turns,
        "turns_completed": len(latencies),
        "elapsed_s": round(elapsed, 1),
        "throughput_turns_per_s": round(len(latencies) / elapsed, 2),
        "latency_p50_s": round(p50, 2) if latencies else None,
        "latency_p95_s": round(p95, 2) if latencies else None,
        "errors": len(errors),
        "turns_lost": sum(lost),
        "first_errors": errors[:3],
    }


def start_server(jobs: int, production: bool = False) -> tuple[subprocess.Popen, str, Path]:
    """`wwhd serve` (with `--production`: uvicorn) on a free port over a copy of the data
    folder."""
    from wwhd.core.settings import load_settings
    from wwhd.server.launch import free_port

    settings = load_settings()
    data = Path(tempfile.mkdtemp(prefix="wwhd-bench-"))
    # The embedded store, and an earlier one the server would migrate from on its first start.
    for store in (settings.edge_store_path, settings.qdrant_path):
        if store.is_dir():
            shutil.copytree(store, data / store.name)
    port = free_port()
    env = {**os.environ, "WWHD_DATA_DIR": str(data), "N_JOBS_PER_WORKER": str(jobs)}
    url = f"http://127.0.0.1:{port}"
    process = start_process(  # the first start may ingest the corpus: allow 10 minutes
        [str(Path(sys.executable).parent / "wwhd"), "serve", "--port", str(port),
         *(["--production"] if production else [])],
        ready=http_answers(f"{url}/ok", lambda status: status == 200), timeout=600,
        log_path=data / "server.log", env=env, what="wwhd serve",
    )
    return process, url, data


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running server (default: start one)")
    parser.add_argument("--threads", type=int, default=20, help="concurrent conversations")
    parser.add_argument("--turns", type=int, default=10, help="questions per conversation")
    parser.add_argument("--jobs", type=int, default=4, help="N_JOBS_PER_WORKER of a started server")
    args = parser.parse_args()
    process = data = None
    url = args.url
    if url is None:
        process, url, data = start_server(args.jobs)
    try:
        result = asyncio.run(drive(url, args.threads, args.turns))
    finally:
        if process is not None:
            stop_process(process, timeout=60)
            shutil.rmtree(data, ignore_errors=True)
    for key, value in result.items():
        print(f"{key:>24}: {value}")
    return 0 if result["errors"] == 0 and result["turns_lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
