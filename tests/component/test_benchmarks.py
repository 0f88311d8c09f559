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
