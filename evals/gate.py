"""The CI gate: every summary metric at or above its checked-in threshold."""

from __future__ import annotations

import json
from pathlib import Path

THRESHOLDS_FILE = Path(__file__).resolve().parent / "thresholds.json"


def load_thresholds(path: Path = THRESHOLDS_FILE) -> dict[str, float]:
    """Metric name -> minimum value."""
    return json.loads(path.read_text())["metrics"]


def check_gate(
    summary: dict, thresholds: dict[str, float] | None = None
) -> tuple[bool, list[tuple[str, float | None, float, bool]]]:
    """Whether every thresholded metric passes, and a row per metric."""
    thresholds = thresholds if thresholds is not None else load_thresholds()
    rows = []
    for metric, minimum in thresholds.items():
        value = summary.get(metric)
        rows.append((metric, value, minimum, value is not None and value >= minimum))
    return all(ok for *_, ok in rows), rows


def format_gate(rows: list[tuple[str, float | None, float, bool]]) -> str:
    """A table a person reads at a glance; failing metrics are named in the last line."""
    lines = [f"{'metric':<24} {'value':>7} {'minimum':>8}  result", "-" * 50]
    for metric, value, minimum, ok in rows:
        shown = "n/a" if value is None else f"{value:.3f}"
        lines.append(f"{metric:<24} {shown:>7} {minimum:>8.3f}  {'ok' if ok else 'FAIL'}")
    failed = [metric for metric, *_, ok in rows if not ok]
    verdict = f"FAILED: {', '.join(failed)} below threshold." if failed else "passed."
    lines.append(f"Eval gate {verdict}")
    return "\n".join(lines)
