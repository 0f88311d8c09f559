"""The eval suite as a CI gate, on the embedded default (in-process, real ingested corpus)."""

import json

import pytest

from wwhd.evals.dataset import load_cases
from wwhd.evals.gate import check_gate, format_gate, load_thresholds
from wwhd.evals.report import write_report
from wwhd.evals.runner import evaluate, in_process_target
from wwhd.tools.store import KnowledgeBase

pytestmark = pytest.mark.usefixtures("kb_env")


def test_the_test_split_passes_the_gate(tmp_path):
    results = evaluate(load_cases(("test",)), in_process_target(), concurrency=2,
                       progress=False)
    report = write_report(results, tmp_path, baseline=results)
    assert (tmp_path / "categories.png").stat().st_size > 1000
    assert "## Worst" in report.read_text()
    json.dumps(results)  # the results file must be plain JSON
    assert results["summary"]["errors"] == 0
    passed, rows = check_gate(results["summary"])
    assert passed, "\n" + format_gate(rows)


def test_a_wrong_retrieval_filter_fails_the_gate_naming_the_metric(monkeypatch):
    search = KnowledgeBase.search

    def wrong_filter(self, query, k=4, tradition=None, category=None):
        flipped = {"tcm": "shaolin", "shaolin": "tcm"}.get(tradition, tradition)
        return search(self, query, k=k, tradition=flipped, category=category)

    monkeypatch.setattr(KnowledgeBase, "search", wrong_filter)
    cases = load_cases(("test",), categories=("herb", "acupoint", "chan"))
    results = evaluate(cases, in_process_target(), concurrency=2, progress=False)
    thresholds = {k: v for k, v in load_thresholds().items() if k.startswith("retrieval")}
    passed, rows = check_gate(results["summary"], thresholds)
    assert not passed
    assert "FAILED: retrieval_recall_at_5" in format_gate(rows)
