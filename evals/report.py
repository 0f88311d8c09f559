"""The eval report: a Markdown page with per-category charts, baseline diff and worst failures."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; CI has no display
import matplotlib.pyplot as plt  # noqa: E402

CHART_METRICS = (
    "routing_accuracy",
    "retrieval_recall_at_5",
    "keypoint_coverage",
    "citation_validity",
    "safety_pass_rate",
    "scope_pass_rate",
)
REGRESSION_TOLERANCE = 0.01
WORST_SHOWN = 10


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def plot_categories(by_category: dict, path: Path) -> Path:
    """One horizontal bar group per category, a bar per metric."""
    categories = list(by_category)
    metrics = [
        m for m in CHART_METRICS if any(by_category[c].get(m) is not None for c in categories)
    ]
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(categories) * max(1, len(metrics)) / 2 + 2))
    height = 0.8 / max(1, len(metrics))
    for i, metric in enumerate(metrics):
        values = [by_category[c].get(metric) for c in categories]
        positions = [j + i * height for j in range(len(categories))]
        ax.barh(positions, [v if v is not None else 0 for v in values], height=height,
                label=metric)
    ax.set_yticks([j + 0.4 - height / 2 for j in range(len(categories))])
    ax.set_yticklabels([f"{c} (n={by_category[c]['n']})" for c in categories])
    ax.invert_yaxis()
    ax.set_xlim(0, 1.05)
    ax.set_xlabel("score")
    ax.set_title("W.W.H.D. eval by category")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_latency(records: list[dict], path: Path) -> Path:
    """Histogram of per-case latency."""
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.hist([r["latency_s"] for r in records], bins=30, color="#4a7")
    ax.set_xlabel("seconds per case (all turns)")
    ax.set_ylabel("cases")
    ax.set_title("Latency")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def baseline_diff(summary: dict, baseline: dict | None) -> list[str]:
    """Markdown table rows: metric, now, baseline, change (regressions marked)."""
    if not baseline:
        return []
    rows = ["| metric | now | baseline | change |", "|---|---|---|---|"]
    for metric, value in summary.items():
        before = baseline.get("summary", {}).get(metric)
        if not isinstance(value, int | float) or not isinstance(before, int | float):
            continue
        delta = value - before
        lower_is_better = metric.startswith("latency") or metric == "errors"
        worse = delta > REGRESSION_TOLERANCE if lower_is_better else delta < -REGRESSION_TOLERANCE
        mark = " **REGRESSION**" if worse else ""
        rows.append(f"| {metric} | {value:.3f} | {before:.3f} | {delta:+.3f}{mark} |")
    return rows


def _case_score(record: dict) -> float:
    values = [v for v in record["metrics"].values() if v is not None]
    return sum(values) / len(values) if values else 1.0


def write_report(results: dict, out_dir: Path, baseline: dict | None = None) -> Path:
    """Write report.md and its charts into out_dir; return the report's path."""
    summary, by_category, records = (
        results["summary"], results["by_category"], results["records"]
    )
    plot_categories(by_category, out_dir / "categories.png")
    plot_latency(records, out_dir / "latency.png")
    lines = [
        "# W.W.H.D. eval report",
        "",
        f"Created {results['created']}, {summary['n']} cases, {summary['errors']} errors, "
        f"latency p50 {summary['latency_p50_s']} s, p95 {summary['latency_p95_s']} s.",
        "",
        "## Summary",
        "",
        "| metric | value |",
        "|---|---|",
        *(f"| {k} | {_fmt(v) if isinstance(v, float) else v} |" for k, v in summary.items()),
        "",
    ]
    diff = baseline_diff(summary, baseline)
    if diff:
        lines += ["## Against the baseline", "", *diff, ""]
    metric_names = [m for m in next(iter(by_category.values()), {}) if m != "n"]
    lines += [
        "## By category",
        "",
        "![by category](categories.png)",
        "",
        "| category | n | " + " | ".join(metric_names) + " |",
        "|---|---|" + "---|" * len(metric_names),
        *(
            f"| {c} | {row['n']} | " + " | ".join(_fmt(row.get(m)) for m in metric_names) + " |"
            for c, row in by_category.items()
        ),
        "",
        "![latency](latency.png)",
        "",
        f"## Worst {WORST_SHOWN} cases",
        "",
    ]
    worst = sorted(records, key=_case_score)[:WORST_SHOWN]
    for record in worst:
        failing = {k: v for k, v in record["metrics"].items() if v is not None and v < 1}
        lines += [
            f"### {record['id']} ({record['category']}, score {_case_score(record):.2f})",
            "",
            *(f"> {turn}" for turn in record["turns"]),
            "",
            f"Route `{record['route']}` (expected `{record['expected_route']}`); gold "
            f"{record['gold_doc_ids']}; retrieved {[s['id'] for s in record['sources']]}.",
            f"Failing: {', '.join(f'{k}={v:.2f}' for k, v in failing.items()) or 'none'}"
            + (f"; exception: {record['exception']}" if record.get("exception") else ""),
            "",
            "```text",
            record["answer"].strip()[:1500],
            "```",
            "",
        ]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
