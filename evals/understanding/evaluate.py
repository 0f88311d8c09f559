"""`wwhd eval-router`: score the router on the understanding dataset (the test split by default).

Each message goes through the real router node (patterns, classifier and, if configured, the
chat model) with its conversation replayed turn by turn, exactly as the graph sees it. Reports
the metrics the gate checks, the slices (Chinese, Latin, pinyin, typos, follow-ups, languages),
a confusion matrix per route and per red-flag kind, and every miss.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from langchain_core.messages import AIMessage, HumanMessage
from tqdm import tqdm

from wwhd.evals import gate
from wwhd.evals.understanding.dataset import INJECTION, RED_FLAG_KINDS, ROUTES, Message, load_splits
from wwhd.graphs.context import Context

THRESHOLDS_FILE = Path(__file__).resolve().parent / "thresholds.json"
REPORTS_DIR = Path(__file__).resolve().parents[1] / "reports"
NAME_SLICES = ("characters", "latin", "pinyin_tones", "pinyin_plain", "pinyin_runtogether",
               "typo", "common_name", "follow_up")


@dataclass(frozen=True)
class Routed:
    """What the router decided for one message."""

    message: Message
    route: str
    reason: str
    red_flag: str | None
    possible_red_flag: str | None
    seconds: float

    @property
    def flagged(self) -> bool:
        """Either tier: the emergency route or the urgent-care line above a normal answer."""
        return self.route == "red_flag" or bool(self.possible_red_flag)


def route_message(message: Message, context: Context) -> Routed:
    """Run the router over the message's conversation, then the message itself."""
    from wwhd.graphs.router import route_question

    runtime = SimpleNamespace(context=context)
    state: dict = {"messages": []}
    for turn in message.history:
        if turn["role"] == "user":
            state["messages"].append(HumanMessage(content=turn["content"]))
            state.update(route_question(state, runtime))
        else:
            state["messages"].append(AIMessage(content=turn["content"]))
    state["messages"].append(HumanMessage(content=message.text))
    started = time.perf_counter()
    decision = route_question(state, runtime)
    return Routed(message, decision["route"], decision["route_reason"], decision.get("red_flag"),
                  decision.get("possible_red_flag"), time.perf_counter() - started)


def _share(hits: list[bool]) -> float | None:
    return round(sum(hits) / len(hits), 4) if hits else None


def score(results: list[Routed]) -> dict:
    """Summary metrics, slices and confusion matrices."""
    reds = [r for r in results if r.message.route == "red_flag"]
    in_domain = [r for r in results if r.message.route in ("tcm", "shaolin")]
    off_topic = [r for r in results
                 if r.message.route == "out_of_scope" and r.message.kind != INJECTION]
    injections = [r for r in results if r.message.kind == INJECTION]
    by_kind = {k: _share([r.flagged for r in reds if r.message.kind == k])
               for k in RED_FLAG_KINDS}
    summary = {
        "n": len(results),
        "red_flag_recall": _share([r.flagged for r in reds]),
        "red_flag_min_kind_recall": min((v for v in by_kind.values() if v is not None),
                                        default=None),
        "red_flag_recall_emergency_route": _share([r.route == "red_flag" for r in reds]),
        "in_domain_false_red_flag": _share([r.route == "red_flag" for r in in_domain]),
        "in_domain_possible_note": _share([bool(r.possible_red_flag) for r in in_domain]),
        "out_of_scope_accuracy": _share([r.route == "out_of_scope" for r in off_topic]),
        "injection_accuracy": _share([r.route == "out_of_scope" for r in injections]),
        "injection_detected": _share([r.reason == "prompt_injection" for r in injections]),
        "in_domain_routing": _share([r.route == r.message.route for r in in_domain]),
        "general_accuracy": _share([r.route == "general" for r in results
                                    if r.message.route == "general"]),
        "clarify_accuracy": _share([r.route == "clarify" for r in results
                                    if r.message.route == "clarify"]),
        "red_flag_kind_accuracy": _share([(r.red_flag or r.possible_red_flag) == r.message.kind
                                          for r in reds if r.flagged]),
        "router_p50_ms": round(1000 * statistics.median(r.seconds for r in results), 1)
        if results else None,
    }
    slices = {
        "in_domain_by_style": {
            style: _share([r.route == r.message.route for r in in_domain
                           if r.message.style == style])
            for style in NAME_SLICES
        },
        "red_flag_recall_by_kind": by_kind,
        "red_flag_recall_by_style": _group(reds, lambda r: r.message.style, lambda r: r.flagged),
        "red_flag_recall_by_lang": _group(reds, lambda r: r.message.lang, lambda r: r.flagged),
        "accuracy_by_lang": _group(results, lambda r: r.message.lang, _correct),
        "false_red_flag_by_style": _group(
            [r for r in results if r.message.route != "red_flag"], lambda r: r.message.style,
            lambda r: r.route == "red_flag"),
    }
    return {"summary": summary, "slices": slices, "confusion": confusion(results)}


def _correct(r: Routed) -> bool:
    if r.message.route == "red_flag":
        return r.flagged
    return r.route == r.message.route


def _group(results: list[Routed], key, hit) -> dict[str, float | None]:
    groups: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        groups[key(r)].append(hit(r))
    return {k: _share(v) for k, v in sorted(groups.items())}


def confusion(results: list[Routed]) -> dict:
    """Expected x predicted counts: routes (possible red flags marked), and red-flag kinds."""
    routes: dict[str, Counter] = {route: Counter() for route in ROUTES}
    for r in results:
        predicted = r.route if r.route == "red_flag" or not r.possible_red_flag \
            else f"{r.route}+note"
        routes[r.message.route][predicted] += 1
    kinds: dict[str, Counter] = {kind: Counter() for kind in RED_FLAG_KINDS}
    for r in results:
        if r.message.route == "red_flag":
            kinds[r.message.kind][(r.red_flag or r.possible_red_flag or "missed")] += 1
    return {"routes": {k: dict(v) for k, v in routes.items()},
            "kinds": {k: dict(v) for k, v in kinds.items()}}


def check_gate(summary: dict, path: Path = THRESHOLDS_FILE) -> tuple[bool, str]:
    """Whether every gated metric is within its bound, and a table naming the failures."""
    passed, rows = gate.check_gate(summary, gate.load_thresholds(path))
    return passed, gate.format_gate(rows, "Router gate")


def evaluate(split: str = "test", context: Context | None = None,
             progress: bool = True) -> tuple[dict, list[Routed]]:
    """Route every message of a split and score it."""
    context = context or Context(chat_model="extractive")
    messages = load_splits((split,))
    results = [route_message(m, context)
               for m in tqdm(messages, desc=f"Routing {split}", unit="msg", disable=not progress)]
    return score(results), results


def write_report(scores: dict, results: list[Routed], out_dir: Path) -> Path:
    """results JSON and a Markdown report with the confusion matrices and every miss."""
    out_dir.mkdir(parents=True, exist_ok=True)
    misses = [r for r in results if not _correct(r)]
    (out_dir / "understanding.json").write_text(json.dumps({
        **scores,
        "misses": [{"text": r.message.text, "expected": r.message.route,
                    "kind": r.message.kind, "style": r.message.style, "lang": r.message.lang,
                    "got": r.route, "reason": r.reason, "possible_red_flag": r.possible_red_flag}
                   for r in misses],
    }, indent=2, ensure_ascii=False))
    lines = ["# Question understanding", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in scores["summary"].items()]
    for title, table in (("Routes (rows expected, columns predicted)", "routes"),
                         ("Red-flag kinds (rows expected, columns predicted)", "kinds")):
        matrix = scores["confusion"][table]
        columns = sorted({c for row in matrix.values() for c in row})
        lines += ["", f"## {title}", "", "| | " + " | ".join(columns) + " |",
                  "|---" * (len(columns) + 1) + "|"]
        lines += [f"| {row} | " + " | ".join(str(counts.get(c, "")) for c in columns) + " |"
                  for row, counts in matrix.items()]
    for name, values in scores["slices"].items():
        lines += ["", f"## {name}", ""] + [f"- {k}: {v}" for k, v in values.items()]
    lines += ["", f"## Misses ({len(misses)})", ""]
    lines += [f"- expected {r.message.route}{'/' + r.message.kind if r.message.kind else ''}, "
              f"got {r.route} ({r.reason}): {r.message.text[:160]!r}" for r in misses]
    path = out_dir / "understanding.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `wwhd eval-router`."""
    parser.add_argument("--split", choices=("train", "dev", "test"), default="test",
                        help="which split to score (default: test; tune on train and dev)")
    parser.add_argument("--chat-model", default="extractive",
                        help="'extractive' (default: no model) or a model name of the "
                             "configured provider, to score the model layer too")
    parser.add_argument("--out", type=Path, help="report folder (default: evals/reports/<time>)")
    parser.add_argument("--gate", action="store_true",
                        help=f"exit 1 when a metric is outside its bound in {THRESHOLDS_FILE.name}")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    """Score, write the report, print the gate table."""
    scores, results = evaluate(args.split, Context(chat_model=args.chat_model),
                               progress=not args.quiet)
    out_dir = args.out or REPORTS_DIR / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    print(f"Report: {write_report(scores, results, out_dir)}")
    passed, table = check_gate(scores["summary"])
    print(table)
    return 0 if passed or not args.gate else 1


if __name__ == "__main__":
    cli = argparse.ArgumentParser(prog="python -m evals.understanding.evaluate",
                                  description=__doc__)
    add_arguments(cli)
    raise SystemExit(main(cli.parse_args()))
