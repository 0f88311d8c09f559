"""Benchmarks are commands, not timed tests: this only checks that they run and print figures."""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_ingestion_benchmark_runs_small_and_prints_its_figures():
    # Its own process: the benchmark opens and closes stores of its own.
    result = subprocess.run(
        [sys.executable, "-m", "devtools.ingest_bench", "--passages", "5"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    raw = re.search(r"raw e5\s+([\d.]+) passages/s\s+cores got ([\d.]+)", out)
    ingest = re.search(r"ingest\s+([\d.]+) passages/s\s+cores got [\d.]+\s+([\d.]+)x raw", out)
    assert raw and ingest, out
    assert float(raw.group(1)) > 0 and float(ingest.group(1)) > 0
    assert re.search(r"peak RSS \d+ MB", out)


def test_the_search_benchmark_runs_small_and_prints_its_table():
    result = subprocess.run(
        [sys.executable, "-m", "devtools.search_bench", "--sizes", "40,corpus,700",
         "--local-sizes", "40", "--queries", "3", "--local-queries", "2", "--no-server"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    number = r"\s+[\d.]+"
    for size in (40, 700):
        for name in ("none", "tradition", "category"):
            local = f"{number}{number}" if size == 40 else r"\s+-\s+-"
            assert re.search(rf"^\s*{size}\s+{name}(?:{number}){{7}}{local}\s*$", out, re.M), out
    # The corpus row, whatever the corpus's size today.
    assert len(re.findall(r"^\s*\d+\s+(none|tradition|category)\s", out, re.M)) == 9, out
    assert re.search(r"process after opening 700 chunks and searching: VmRSS \d+ MB", out), out


def test_the_scale_table_prints_each_figure_beside_its_reference():
    # Tiny sizes: it checks the table's rows, never the figures (benchmarks are not tests).
    result = subprocess.run(
        [sys.executable, "-m", "devtools.bench_table", "--sizes", "40,corpus", "--queries", "2",
         "--passages", "5", "--turns", "1", "--no-server"],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    for name in ("no filter", "tradition", "category"):
        assert re.search(rf"^search, 40 chunks, {name}\s+[\d.]+ / [\d.]+ ms\s+numpy exact "
                         r"[\d.]+ / [\d.]+ ms\s+[\d.]+x", out, re.M), out
    assert re.search(r"^ingestion\s+[\d.]+ passages/s\s+raw e5 [\d.]+ passages/s", out, re.M), out
    assert re.search(r"^turn over HTTP \(langgraph dev\)\s+[\d.]+ / [\d.]+ s\s+in-process "
                     r"[\d.]+ / [\d.]+ s\s+[\d.]+x \(target <= 1.3x\)", out, re.M), out
