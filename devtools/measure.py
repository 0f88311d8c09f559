"""Small measuring helpers the benchmarks share: percentiles and /proc memory figures."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path


def percentiles(values: Sequence[float]) -> tuple[float, float]:
    """p50 and p95 of `values` (nearest rank for p95), in the values' own unit."""
    ordered = sorted(values)
    return (statistics.median(ordered),
            ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))])


def status_mb(field: str, pid: int | str = "self") -> float:
    """A memory figure (VmRSS, VmHWM) of a process from /proc/PID/status, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")
