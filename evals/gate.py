"""The CI gate: every summary metric at or above its checked-in threshold."""

from __future__ import annotations

import json
from pathlib import Path

THRESHOLDS_FILE = Path(__file__).resolve().parent / "thresholds.json"


# A bound is a minimum (a number, or {"min": x}) or a maximum ({"max": x}).
Bound = float | dict[str, float]
Row = tuple[str, float | None, str, bool]


def load_thresholds(path: Path = THRESHOLDS_FILE) -> dict[str, Bound]:
    """Metric name -> bound."""
    return json.loads(path.read_text())["metrics"]


def _within(value: float | None, bound: Bound) -> tuple[bool, str]:
    if isinstance(bound, dict) and "max" in bound:
        return value is not None and value <= bound["max"], f"<= {bound['max']:.3f}"
    minimum = bound["min"] if isinstance(bound, dict) else bound
    return value is not None and value >= minimum, f">= {minimum:.3f}"


def check_gate(summary: dict, thresholds: dict[str, Bound] | None = None
               ) -> tuple[bool, list[Row]]:
    """Whether every thresholded metric is within its bound, and a row per metric."""
    thresholds = thresholds if thresholds is not None else load_thresholds()
    rows = []
    for metric, bound in thresholds.items():
        value = summary.get(metric)
        ok, shown = _within(value, bound)
        rows.append((metric, value, shown, ok))
    return all(ok for *_, ok in rows), rows


def format_gate(rows: list[Row], name: str = "Eval gate") -> str:
    """A table a person reads at a glance; failing metrics are named in the last line."""
    lines = [f"{'metric':<34} {'value':>7} {'bound':>10}  result", "-" * 62]
    for metric, value, bound, ok in rows:
        shown = "n/a" if value is None else f"{value:.3f}"
        lines.append(f"{metric:<34} {shown:>7} {bound:>10}  {'ok' if ok else 'FAIL'}")
    failed = [metric for metric, *_, ok in rows if not ok]
    verdict = f"FAILED: {', '.join(failed)} outside its bound." if failed else "passed."
    lines.append(f"{name} {verdict}")
    return "\n".join(lines)
