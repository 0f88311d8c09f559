"""A turn over HTTP against the same graph in-process, and the time to the first streamed token.

    python -m devtools.turn_bench [--turns 10] [--production] [--with-model]

In one run, on the same questions (each on a new thread, one at a time, the first a warm-up):

- **in-process**: the `wwhd` graph compiled here with a SQLite checkpointer in a temporary file,
  streamed (`stream_mode="messages"`);
- **over HTTP**: `wwhd serve` (`langgraph dev`, or uvicorn with `--production`) on a free
  loopback port over a copy of the data folder, streamed through the Python SDK
  (`runs.stream`, `messages-tuple`).

A turn is the time to the end of the stream, the first token the time to the first chunk of
answer text. The questions are distinct single-turn questions of the dev split (a repeated one
would find the embedding caches warm), the same list on both sides.

It prints p50/p95 of each and the ratios HTTP / in-process (the issue's target for a turn is
≤ 1.3x). Without `--with-model` the answer is the embedded default's (quotes, streamed a note at a
time); with it, the local llama.cpp model (`make local-llm` provisions it; started here on a free
port) composes the answer, so the first token is the model's. A benchmark, not a test: figures
depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from devtools.bench import start_server
from devtools.measure import percentiles
from devtools.processes import stop_process


def _message(question: str) -> dict:
    return {"messages": [{"role": "user", "content": question}]}


def _timed_stream(chunks: Iterator, has_text: Callable[[object], bool]) -> tuple[float, float]:
    """(seconds to the first chunk carrying answer text, seconds to the end of the run)."""
    started = time.perf_counter()
    first = None
    for chunk in chunks:
        if first is None and has_text(chunk):
            first = time.perf_counter() - started
    if first is None:
        raise RuntimeError("the stream carried no answer text")
    return first, time.perf_counter() - started


def in_process(questions: Sequence[str], folder: Path) -> tuple[list[float], list[float]]:
    """Turn times and first-token times, streaming the graph in this process."""
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    from wwhd.graphs.context import Context
    from wwhd.graphs.wwhd import builder

    connection = sqlite3.connect(folder / "bench.sqlite", check_same_thread=False)
    graph = builder.compile(checkpointer=SqliteSaver(connection))
    context = Context()
    turns, first_tokens = [], []
    for question in questions:
        config = {"configurable": {"thread_id": str(uuid.uuid4())}}
        first, turn = _timed_stream(
            graph.stream(_message(question), config, context=context, stream_mode="messages"),
            lambda chunk: getattr(chunk[0], "type", "") in ("AIMessageChunk", "ai")
            and bool(chunk[0].content))
        first_tokens.append(first)
        turns.append(turn)
    connection.close()
    return turns, first_tokens


def over_http(url: str, questions: Sequence[str]) -> tuple[list[float], list[float]]:
    """Turn times and first-token times, streaming runs through the Python SDK."""
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=url, timeout=600)
    turns, first_tokens = [], []

    def has_text(part) -> bool:
        if part.event != "messages":
            return False
        message = part.data[0] if isinstance(part.data, list) and part.data else {}
        return message.get("type") in ("AIMessageChunk", "ai") and bool(message.get("content"))

    for question in questions:
        thread = client.threads.create()
        first, turn = _timed_stream(
            client.runs.stream(thread["thread_id"], "wwhd", input=_message(question),
                               stream_mode="messages-tuple"), has_text)
        first_tokens.append(first)
        turns.append(turn)
    return turns, first_tokens


def bench_questions(count: int) -> list[str]:
    """`count` distinct single-turn TCM and Shaolin questions of the dev split: a question
    asked twice would find the process's embedding caches warm."""
    from wwhd.evals.dataset import load_cases

    asked = [case.question for case in load_cases(("dev",)) if len(case.turns) == 1
             and case.expected_route in ("tcm", "shaolin") and not case.not_covered]
    if count > len(asked):
        raise SystemExit(f"--turns {count}: the dev split has {len(asked)} such questions")
    return asked[:count]


def ingest_corpus() -> None:
    """Sync the bundled corpus into the knowledge base of `WWHD_DATA_DIR` (shipped vectors make
    it a few seconds)."""
    from wwhd.core.settings import load_settings
    from wwhd.tools.ingest import ingest_directory
    from wwhd.tools.store import open_knowledge_base

    settings = load_settings()
    report = ingest_directory(open_knowledge_base(settings), settings.corpus_dir, progress=False)
    if report.errors:
        raise SystemExit(f"ingesting the corpus failed: {report.summary()}")


def start_model(folder: Path):
    """The local llama.cpp model on a free port (provisioned if needed); its process."""
    from devtools import local_llm

    local_llm.ensure_server_venv()
    local_llm.ensure_model()
    port = local_llm.find_free_port()
    process = local_llm.start_server(port, log_path=folder / "llm.log")
    base_url = local_llm.base_url_for(port)
    local_llm.wait_ready(base_url, timeout=300, process=process)
    os.environ.update({"WWHD_LLM_BASE_URL": base_url,
                       "WWHD_CHAT_MODEL": local_llm.LOCAL_MODEL_NAME,
                       "WWHD_LLM_TIMEOUT": "300"})
    return process


@dataclass
class TurnRun:
    """Seconds per turn and to the first token, each side, warm-up excluded."""

    turns: int
    production: bool
    with_model: bool
    in_process_turn: list[float]
    in_process_first_token: list[float]
    http_turn: list[float]
    http_first_token: list[float]

    def figures(self) -> dict[str, tuple[float, float, float, float]]:
        """name -> (in-process p50, p95, HTTP p50, p95)."""
        return {name: (*percentiles(local), *percentiles(http)) for name, local, http in (
            ("turn", self.in_process_turn, self.http_turn),
            ("first token", self.in_process_first_token, self.http_first_token))}


def run(turns: int, production: bool = False, with_model: bool = False) -> TurnRun:
    """Measure both sides in one run (this process's environment gets a private data folder,
    and the model's URL with `with_model`: run it in a process of its own)."""
    questions = bench_questions(turns + 1)
    folder = Path(tempfile.mkdtemp(prefix="wwhd-turn-bench-"))
    # A private data folder with the bundled corpus, so neither side depends on data/.
    os.environ["WWHD_DATA_DIR"] = str(folder / "data")
    model = start_model(folder) if with_model else None
    server = data = None
    try:
        print("ingesting the corpus into a private data folder ...", file=sys.stderr, flush=True)
        ingest_corpus()
        print(f"in-process: {turns} turns ...", file=sys.stderr, flush=True)
        local_turns, local_first = in_process(questions, folder)
        from wwhd.tools.store import close_all

        close_all()  # the server gets a copy of the folder; the store locks the original
        print("starting the server ...", file=sys.stderr, flush=True)
        server, url, data = start_server(jobs=1, production=production)
        print(f"over HTTP ({url}): {turns} turns ...", file=sys.stderr, flush=True)
        http_turns, http_first = over_http(url, questions)
    finally:
        if server is not None:
            stop_process(server, timeout=60)
        if model is not None:
            stop_process(model)
        for path in (folder, data):
            if path is not None:
                shutil.rmtree(path, ignore_errors=True)
    return TurnRun(turns, production, with_model, local_turns[1:], local_first[1:],
                   http_turns[1:], http_first[1:])


def main(argv: list[str] | None = None) -> int:
    """Measure both sides in one run and print the table (or JSON)."""
    parser = argparse.ArgumentParser(prog="python -m devtools.turn_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=10,
                        help="questions per side (default 10; one more warms up, not counted)")
    parser.add_argument("--production", action="store_true",
                        help="serve with uvicorn (wwhd serve --production), not langgraph dev")
    parser.add_argument("--with-model", action="store_true",
                        help="answer with the local llama.cpp model (slow: ~10 s a turn)")
    parser.add_argument("--json", action="store_true",
                        help="print the figures as JSON (for devtools.bench_table)")
    args = parser.parse_args(argv)
    result = run(args.turns, args.production, args.with_model)
    if args.json:
        print(json.dumps(result.figures()))
        return 0
    server_kind = "wwhd serve --production (uvicorn)" if args.production else \
        "wwhd serve (langgraph dev)"
    answer_kind = "local 0.5B model" if args.with_model else "embedded default (quotes)"
    print(f"\n{args.turns} turns each (after one warm-up), new thread per turn, {answer_kind}; "
          f"server: {server_kind}; {os.cpu_count()} cores\n")
    print(f"{'figure':<22} {'in-process p50/p95':>20} {'HTTP p50/p95':>16} {'ratio p50':>10}")
    for name, (lp50, lp95, hp50, hp95) in result.figures().items():
        print(f"{name + ' (s)':<22} {lp50:>9.3f} / {lp95:<8.3f} {hp50:>7.3f} / {hp95:<6.3f} "
              f"{hp50 / lp50:>9.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
