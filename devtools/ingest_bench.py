"""Ingestion throughput benchmark: `python -m devtools.ingest_bench [--passages 200]`.

Measures, in one run on the same corpus passages: the raw bundled e5 embedder (passages/s, in
batches of the ingest size), then `wwhd ingest`'s code path into a fresh embedded Qdrant data
folder, the ratio of the two, and how many cores the process got while each ran (CPU time / wall
time: the e5 engine spreads a batch over the cores with OpenMP). Whole corpus documents are taken
until they hold at least --passages chunks. A benchmark, not a test: the figures depend on the
machine and its load.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from devtools.measure import status_mb
from wwhd.core.settings import load_settings
from wwhd.tools.documents import chunk_document, iter_markdown_files, parse_document
from wwhd.tools.embeddings import E5_MODEL_NAME, shared_e5
from wwhd.tools.ingest import EMBED_BATCH, ingest_directory
from wwhd.tools.store import close_all, open_knowledge_base

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(fn, *args):
    """fn's result, and the CPU cores this process got while it ran (CPU time / wall time)."""
    wall, cpu = time.perf_counter(), _cpu_s()
    result = fn(*args)
    return result, (_cpu_s() - cpu) / (time.perf_counter() - wall)


def pick_documents(target: Path, passages: int) -> list[str]:
    """Copy whole corpus documents into `target` until they hold >= `passages` chunks.

    Each copy's title is marked, so no passage matches the shipped corpus vectors
    (`tools/data/passage-vectors.npz`): both sides embed every passage."""
    texts: list[str] = []
    for path in iter_markdown_files(CORPUS):
        if len(texts) >= passages:
            break
        text = re.sub(r"^title: (.*)$", r"title: \1 [benchmark copy]",
                      path.read_text(encoding="utf-8"), count=1, flags=re.M)
        doc = parse_document(text, str(path))
        texts.extend(chunk.embedding_text for chunk in chunk_document(doc, E5_MODEL_NAME))
        copy = target / path.relative_to(CORPUS)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(text, encoding="utf-8")
    return texts


def raw_rate(texts: list[str]) -> float:
    """Passages/s of the process's one e5 context, in ingestion-sized batches."""
    e5 = shared_e5()
    e5.embed_documents(texts[:2])  # first call pays for page faults, not embedding
    started = time.perf_counter()
    for start in range(0, len(texts), EMBED_BATCH):
        e5.embed_documents(texts[start : start + EMBED_BATCH])
    return len(texts) / (time.perf_counter() - started)


def ingest_rate(docs: Path, data_dir: Path) -> tuple[float, int]:
    """Passages/s of a full ingestion of `docs` into a fresh store, and the chunks embedded."""
    kb = open_knowledge_base(load_settings(data_dir=data_dir))
    try:
        report = ingest_directory(kb, docs, progress=False, recreate=True)
    finally:
        close_all()
    return report.passages_per_second, report.chunks_added + report.chunks_updated


@dataclass
class IngestRun:
    """What one run of the ingestion benchmark measured."""

    passages: int
    raw_rate: float  # passages/s, the e5 embedder alone
    raw_cores: float
    ingest_rate: float  # passages/s, `wwhd ingest`'s code path
    ingest_cores: float
    peak_rss_mb: float


def run(passages: int) -> IngestRun:
    """Time the raw embedder and an ingestion of the same passages."""
    with tempfile.TemporaryDirectory(prefix="wwhd-ingest-bench-") as tmp:
        docs = Path(tmp) / "docs"
        texts = pick_documents(docs, max(1, passages))
        raw, raw_cores = _timed(raw_rate, texts)
        (ingested, embedded), ingest_cores = _timed(ingest_rate, docs, Path(tmp) / "data")
        return IngestRun(embedded, raw, raw_cores, ingested, ingest_cores, status_mb("VmHWM"))


def main(argv: list[str] | None = None) -> int:
    """Time the raw embedder and an ingestion of the same passages; print the figures."""
    parser = argparse.ArgumentParser(prog="python -m devtools.ingest_bench", description=__doc__)
    parser.add_argument("--passages", type=int, default=200, help="how many corpus passages")
    result = run(parser.parse_args(argv).passages)
    print(f"{result.passages} passages (chunks of whole corpus documents), one run; figures vary "
          f"with the machine's load; {os.cpu_count()} cores")
    print("cores got = this process's CPU time / wall time (below the core count: machine busy)")
    print(f"{'raw e5':<10} {result.raw_rate:6.2f} passages/s   cores got {result.raw_cores:4.2f}")
    print(f"{'ingest':<10} {result.ingest_rate:6.2f} passages/s   cores got "
          f"{result.ingest_cores:4.2f}   {result.ingest_rate / result.raw_rate:4.2f}x raw")
    print(f"peak RSS {result.peak_rss_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
