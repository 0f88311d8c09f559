"""`wwhd eval`: run the curated cases in-process or against a server, score, report, gate.

In-process runs compile the real graph with an in-memory checkpointer; `--url` drives a running
server through the LangGraph SDK exactly as the frontend does. Either way each case gets its own
thread, multi-turn cases ask their turns in order, and only the last turn is scored.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from wwhd.evals.dataset import SPLITS, EvalCase, load_cases
from wwhd.evals.evaluators import METRICS, Answered, score
from wwhd.evals.gate import THRESHOLDS_FILE, check_gate, format_gate
from wwhd.evals.judge import Judge, make_judge

log = logging.getLogger(__name__)

REPORTS_DIR = Path(__file__).resolve().parent / "reports"
EVAL_TOP_K = 5  # recall@5 needs five passages per answer

Target = Callable[[EvalCase], Answered]


def in_process_target() -> Target:
    """Run cases through the compiled graph in this process."""
    from langchain_core.messages import AIMessage
    from langgraph.checkpoint.memory import InMemorySaver

    from wwhd.graphs.context import Context
    from wwhd.graphs.wwhd import builder

    graph = builder.compile(checkpointer=InMemorySaver())
    context = Context(top_k=EVAL_TOP_K)

    def run(case: EvalCase) -> Answered:
        config = {"configurable": {"thread_id": f"eval-{case.id}-{uuid.uuid4().hex[:8]}"}}
        state: dict = {}
        for turn in case.turns:
            state = graph.invoke(
                {"messages": [{"role": "user", "content": turn}]}, config, context=context
            )
        last = state["messages"][-1]
        return Answered(
            route=state.get("route"),
            answer=last.content if isinstance(last, AIMessage) else "",
            sources=list(state.get("sources") or []),
            error=state.get("error"),
        )

    return run


def server_target(url: str, assistant: str = "wwhd", token: str | None = None) -> Target:
    """Run cases against a running server over HTTP with the LangGraph SDK."""
    from langgraph_sdk import get_sync_client

    headers = {"Authorization": f"Bearer {token}"} if token else None
    client = get_sync_client(url=url, headers=headers)

    def run(case: EvalCase) -> Answered:
        thread = client.threads.create(metadata={"eval_case": case.id})
        values: dict = {}
        for turn in case.turns:
            values = client.runs.wait(
                thread["thread_id"], assistant,
                input={"messages": [{"role": "user", "content": turn}]},
                context={"top_k": EVAL_TOP_K},
            )
        last = (values.get("messages") or [{}])[-1]
        return Answered(
            route=values.get("route"),
            answer=last.get("content", "") if last.get("type") == "ai" else "",
            sources=list(values.get("sources") or []),
            error=values.get("error"),
        )

    return run


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.fmean(present), 4) if present else None


def summarize(records: list[dict]) -> dict:
    """Summary and per-category breakdown of scored records."""
    latencies = [r["latency_s"] for r in records]
    names = _metric_names(records)
    summary = {
        "n": len(records),
        **{name: _mean([r["metrics"].get(name) for r in records]) for name in names},
        "errors": sum(1 for r in records if r.get("exception")),
        "latency_p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "latency_p95_s": round(_percentile(latencies, 95), 3) if latencies else None,
    }
    names = _metric_names(records)
    categories: dict[str, dict] = {}
    for category in sorted({r["category"] for r in records}):
        subset = [r for r in records if r["category"] == category]
        categories[category] = {
            "n": len(subset),
            **{name: _mean([r["metrics"].get(name) for r in subset]) for name in names},
        }
    return {"summary": summary, "by_category": categories}


def _metric_names(records: list[dict]) -> list[str]:
    names = list(METRICS)
    for record in records:
        names.extend(n for n in record["metrics"] if n not in names)
    return names


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def run_cases(
    cases: list[EvalCase],
    target: Target,
    concurrency: int = 2,
    judge: Judge | None = None,
    progress: bool = True,
) -> list[dict]:
    """Answer and score every case; one record per case, in case order."""

    def one(case: EvalCase) -> dict:
        started = time.perf_counter()
        try:
            out = target(case)
            exception = None
        except Exception as exc:  # a failing case is scored as failing, not a crashed suite
            log.warning("case %s failed: %s", case.id, exc)
            out, exception = Answered(route=None, answer="", sources=[]), repr(exc)
        latency = time.perf_counter() - started
        metrics = score(case, out)
        if judge is not None and out.sources and not exception:
            metrics.update(judge.score(case, out))
        return {
            "id": case.id,
            "split": case.split,
            "category": case.category,
            "turns": list(case.turns),
            "expected_route": case.expected_route,
            "gold_doc_ids": list(case.gold_doc_ids),
            **{k: v for k, v in asdict(out).items() if k != "sources"},
            "sources": [
                {k: s.get(k) for k in ("id", "doc_id", "title", "score")} for s in out.sources
            ],
            "metrics": metrics,
            "latency_s": round(latency, 3),
            "exception": exception,
        }

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        results = list(
            tqdm(pool.map(one, cases), total=len(cases), desc="Eval cases", unit="case",
                 disable=not progress)
        )
    return results


def evaluate(
    cases: list[EvalCase],
    target: Target,
    concurrency: int = 2,
    judge: Judge | None = None,
    progress: bool = True,
) -> dict:
    """Run, score and summarize: the JSON document `wwhd eval` writes."""
    records = run_cases(cases, target, concurrency, judge, progress)
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **summarize(records),
        "records": records,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `wwhd eval` (shared with `python -m evals.runner`)."""
    parser.add_argument(
        "--split", choices=("train", *SPLITS, "all"), default="all",
        help="which cases: all (dev and test, the default), dev, test, or train (the cases "
        "written only to fit the answer models)",
    )
    parser.add_argument("--category", action="append", help="only these categories (repeat)")
    parser.add_argument("--limit", type=int, help="only the first N cases")
    parser.add_argument("--url", help="evaluate a running server (e.g. http://127.0.0.1:2024)")
    parser.add_argument("--token", help="bearer token for --url when JWT auth is on")
    parser.add_argument("--concurrency", type=int, default=2, help="cases run at once")
    parser.add_argument("--out", type=Path, help="output folder (default: evals/reports/<time>)")
    parser.add_argument("--baseline", type=Path, help="a previous results.json to compare with")
    parser.add_argument(
        "--gate", action="store_true",
        help=f"exit 1 when a metric is below its threshold in {THRESHOLDS_FILE.name}",
    )
    parser.add_argument("--no-report", action="store_true", help="write only results.json")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    """Run the suite as the command line asked; returns the exit code."""
    from wwhd.evals.report import write_report
    from wwhd.evals.upload import upload_to_langsmith

    splits = SPLITS if args.split == "all" else (args.split,)
    cases = load_cases(
        splits, categories=tuple(args.category) if args.category else None, limit=args.limit
    )
    target = server_target(args.url, token=args.token) if args.url else in_process_target()
    judge = make_judge()
    print(
        f"Evaluating {len(cases)} cases ({', '.join(splits)}) "
        f"{'against ' + args.url if args.url else 'in-process'}"
        f"{'; judge: ' + judge.name if judge else ''}"
    )
    results = evaluate(cases, target, args.concurrency, judge, progress=not args.quiet)
    out_dir = args.out or REPORTS_DIR / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / "results.json"
    results_path.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    baseline = json.loads(args.baseline.read_text()) if args.baseline else None
    if not args.no_report:
        report_path = write_report(results, out_dir, baseline)
        print(f"Report: {report_path}")
    print(f"Results: {results_path}")
    upload_to_langsmith(results)
    passed, rows = check_gate(results["summary"])
    print(format_gate(rows))
    return 0 if passed or not args.gate else 1


if __name__ == "__main__":
    import sys

    cli = argparse.ArgumentParser(prog="python -m evals.runner", description=__doc__)
    add_arguments(cli)
    sys.exit(main(cli.parse_args()))
