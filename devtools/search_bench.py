"""Search benchmark: the knowledge base's hybrid search at the corpus size and at synthetic sizes.

    python -m devtools.search_bench [--sizes corpus,10000,50000] [--queries 50]

For each size it builds a fresh embedded store (qdrant-edge, the project's `EdgeKnowledgeBase`)
from the bundled corpus: the corpus's real chunks, and beyond its size the same vectors and
payloads replicated with small noise on the dense vector (Gaussian, then renormalised) and unique
ids, so filters keep the corpus's selectivity. Queries are the test split's questions, searched
unfiltered, with a `tradition` filter and with a `category` filter (the question's own, as the
router would pick). Each row prints, measured in the same run:

- total: `kb.search(question)` as the graphs call it, the query embedded afresh (e5 + BM25);
- store: the same search with the query already embedded (the store's share: total minus the
  embedding, whose p50 the header line gives);
- numpy: exact dense search in numpy over the same vectors, the filter applied as a mask;
- local: the alternative, qdrant-client local mode (the earlier embedded store) running
  langchain-qdrant's hybrid request with the query already embedded, at --local-sizes only
  (it is slow: seconds per filtered search at 50,000).

Then the memory of a process that opened the largest store and searched it (VmRSS, VmHWM), and,
unless --no-server, of a whole `wwhd serve --production` over that store after one answered turn.
A benchmark, not a test: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devtools.measure import percentiles, status_mb
from wwhd.tools.documents import chunk_document, iter_markdown_files, parse_document
from wwhd.tools.edge_store import EdgeKnowledgeBase
from wwhd.tools.embeddings import E5_DIMENSIONS, E5_MODEL_NAME, Bm25SparseEmbeddings, shared_e5
from wwhd.tools.knowledge import (
    CONTENT_KEY,
    DENSE_VECTOR,
    METADATA_KEY,
    SPARSE_VECTOR,
    model_metadata,
    point_id,
    search_filters,
)

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
TEST_SPLIT = REPO / "evals" / "datasets" / "test.jsonl"
COLLECTION = "wwhd_kb"
FILTERS = ("none", "tradition", "category")
NOISE = 0.01  # per dimension; unit e5 vectors average ~0.05 a dimension: cosine to source ~0.98


@dataclass
class Corpus:
    """Points ready to write: ids, unit dense rows, sparse (indices, values), payloads."""

    ids: list[str]
    dense: np.ndarray
    sparse: list[tuple[list[int], list[float]]]
    payloads: list[dict]

    def __len__(self) -> int:
        return len(self.ids)

    def grown(self, size: int, seed: int = 0) -> Corpus:
        """The first `size` points of the corpus replicated with noise (size may be smaller)."""
        if size <= len(self):
            return Corpus(self.ids[:size], self.dense[:size], self.sparse[:size],
                          self.payloads[:size])
        rng = np.random.default_rng(seed)
        rows = np.arange(size) % len(self)
        copy = np.arange(size) // len(self)  # 0 for the originals, then 1, 2, ...
        dense = self.dense[rows] + np.where(copy[:, None] > 0, 1.0, 0.0) * rng.normal(
            0, NOISE, (size, self.dense.shape[1])).astype(np.float32)
        dense /= np.linalg.norm(dense, axis=1, keepdims=True)
        payloads, ids = [], []
        for row, n in zip(rows, copy, strict=True):
            payload = self.payloads[row]
            if n:
                meta = dict(payload[METADATA_KEY])
                meta["chunk_id"] = f"{meta['chunk_id']}~{n}"
                payload = {CONTENT_KEY: payload[CONTENT_KEY], METADATA_KEY: meta}
            payloads.append(payload)
            ids.append(point_id(payload[METADATA_KEY]["chunk_id"]))
        return Corpus(ids, dense.astype(np.float32), [self.sparse[r] for r in rows], payloads)


@dataclass
class Question:
    text: str
    filters: dict[str, dict[str, str]]  # by FILTERS name
    dense: list[float]
    sparse: tuple[list[int], list[float]]


def load_corpus() -> Corpus:
    """The bundled corpus's chunks with their (shipped) e5 vectors and BM25 vectors."""
    chunks = []
    for path in iter_markdown_files(CORPUS):
        doc = parse_document(path.read_text(encoding="utf-8"), str(path.resolve()))
        chunks.extend(chunk_document(doc, E5_MODEL_NAME))
    texts = [c.embedding_text for c in chunks]
    dense = np.asarray(shared_e5().embed_documents(texts), np.float32)
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    sparse = [(list(s.indices), list(s.values))
              for s in Bm25SparseEmbeddings().embed_documents(texts)]
    payloads = [{CONTENT_KEY: t, METADATA_KEY: c.metadata()}
                for t, c in zip(texts, chunks, strict=True)]
    return Corpus([point_id(c.id) for c in chunks], dense, sparse, payloads)


def load_questions(count: int, corpus: Corpus) -> list[Question]:
    """The test split's questions (last turn), each with its tradition and category filters."""
    categories = {p[METADATA_KEY]["category"] for p in corpus.payloads}
    e5, bm25 = shared_e5(), Bm25SparseEmbeddings()
    found = []
    for line in TEST_SPLIT.read_text().splitlines():
        case = json.loads(line)
        text = case.get("question") or case["turns"][-1]
        tradition = "shaolin" if case.get("expected_route") == "shaolin" else "tcm"
        category = case.get("category") if case.get("category") in categories else "herb"
        dense = e5.embed_query(text)
        sparse = bm25.embed_query(text)
        found.append(Question(text, {
            "none": {}, "tradition": search_filters(tradition, None),
            "category": search_filters(None, category),
        }, dense, (list(sparse.indices), list(sparse.values))))
        if len(found) == count:
            break
    return found


def build_edge(root: Path, corpus: Corpus, progress: bool) -> EdgeKnowledgeBase:
    """A fresh edge store at `root` holding `corpus` (written as ingestion writes)."""
    kb = EdgeKnowledgeBase(root, COLLECTION, shared_e5(), Bm25SparseEmbeddings(), E5_MODEL_NAME,
                           E5_DIMENSIONS)
    kb.create(E5_DIMENSIONS, model_metadata(E5_MODEL_NAME, E5_DIMENSIONS))
    step = 5000
    for start in range(0, len(corpus), step):
        end = min(start + step, len(corpus))
        kb.write_points(corpus.ids[start:end], corpus.dense[start:end], corpus.sparse[start:end],
                        corpus.payloads[start:end])
        if progress:
            print(f"\r  building {len(corpus):,} chunks: {end:,} written", end="", flush=True,
                  file=sys.stderr)
    if progress:
        print(flush=True, file=sys.stderr)
    return kb


def build_local(path: Path, corpus: Corpus, progress: bool):
    """The same points in qdrant-client local mode, collection made as the project makes it."""
    from qdrant_client import QdrantClient, models

    from wwhd.tools.store import QdrantKnowledgeBase

    client = QdrantClient(path=str(path))
    QdrantKnowledgeBase(client, COLLECTION, shared_e5(), Bm25SparseEmbeddings(), E5_MODEL_NAME,
                        E5_DIMENSIONS, "bench", local_mode=True).ensure_collection()
    step = 1000
    for start in range(0, len(corpus), step):
        end = min(start + step, len(corpus))
        client.upsert(COLLECTION, points=[
            models.PointStruct(id=corpus.ids[i], payload=corpus.payloads[i], vector={
                DENSE_VECTOR: corpus.dense[i].tolist(),
                SPARSE_VECTOR: models.SparseVector(indices=corpus.sparse[i][0],
                                                   values=corpus.sparse[i][1])})
            for i in range(start, end)])
        if progress:
            print(f"\r  building {len(corpus):,} chunks in local mode: {end:,} written", end="",
                  flush=True, file=sys.stderr)
    if progress:
        print(flush=True, file=sys.stderr)
    return client


def local_search(client, question: Question, filters: dict[str, str], k: int):
    """langchain-qdrant's hybrid request (two prefetches of k, RRF), query pre-embedded."""
    from qdrant_client import models

    condition = models.Filter(must=[
        models.FieldCondition(key=f"{METADATA_KEY}.{key}", match=models.MatchValue(value=value))
        for key, value in filters.items()]) if filters else None
    return client.query_points(
        COLLECTION, limit=k, with_payload=True, query=models.FusionQuery(fusion=models.Fusion.RRF),
        prefetch=[
            models.Prefetch(using=DENSE_VECTOR, query=question.dense, filter=condition, limit=k),
            models.Prefetch(using=SPARSE_VECTOR, query=models.SparseVector(
                indices=question.sparse[0], values=question.sparse[1]), filter=condition, limit=k),
        ]).points


class ExactDense:
    """Exact cosine search in numpy; filters are boolean masks made once (like an index)."""

    def __init__(self, corpus: Corpus) -> None:
        self.matrix = corpus.dense
        self.values = {key: np.array([p[METADATA_KEY][key] for p in corpus.payloads])
                       for key in ("tradition", "category")}
        self._masks: dict[tuple, np.ndarray] = {}

    def mask(self, filters: dict[str, str]) -> np.ndarray | None:
        key = tuple(sorted(filters.items()))
        if key and key not in self._masks:
            self._masks[key] = np.logical_and.reduce(
                [self.values[f] == v for f, v in filters.items()])
        return self._masks.get(key)

    def search(self, query: np.ndarray, filters: dict[str, str], k: int) -> np.ndarray:
        scores = self.matrix @ query
        mask = self.mask(filters)
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
        return top[np.argsort(-scores[top])]


def percentiles_ms(seconds: Sequence[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    p50, p95 = percentiles(seconds)
    return p50 * 1000, p95 * 1000


def uncached(kb: EdgeKnowledgeBase) -> None:
    # The e5 wrapper remembers recent queries (the router embeds a question just before
    # retrieval does); a question asked for the first time must be timed without it.
    cache = getattr(kb.dense, "_queries", None)
    if cache is not None:
        cache.clear()


def family_rss_mb(pid: int) -> float:
    """VmRSS of a process and all its descendants, in MB."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += status_mb("VmRSS", current)
        except OSError:
            continue
        todo.extend(children.get(current, []))
    return total


PROBE = """
import sys, time
from wwhd.core.settings import load_settings
from wwhd.tools.store import open_knowledge_base
kb = open_knowledge_base(load_settings())
for q in ("What is Huang Qi used for?", "horse stance", "Who was Bodhidharma?"):
    kb.search(q, k=5); kb.search(q, k=5, tradition="tcm"); kb.search(q, k=5, category="herb")
status = {l.split(":")[0]: int(l.split()[1]) // 1024 for l in open("/proc/self/status")
          if l.startswith(("VmRSS", "VmHWM"))}
print(kb.count(), status["VmRSS"], status["VmHWM"])
"""


def process_memory(data_dir: Path) -> tuple[int, int, int]:
    """(points, VmRSS MB, VmHWM MB) of a fresh process that opened the store and searched."""
    env = {**os.environ, "WWHD_DATA_DIR": str(data_dir)}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                         timeout=600, check=True).stdout.split()
    points, rss, hwm = map(int, out[-3:])
    return points, rss, hwm


def server_memory(data_dir: Path) -> tuple[float, float]:
    """(RSS MB after one turn, peak RSS MB) of `wwhd serve --production` over the store."""
    from langgraph_sdk import get_sync_client

    from devtools.processes import http_answers, start_process, stop_process
    from wwhd.server.launch import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "WWHD_DATA_DIR": str(data_dir)}
    process = start_process(
        [str(Path(sys.executable).parent / "wwhd"), "serve", "--production", "--no-ingest",
         "--port", str(port)],
        ready=http_answers(f"{url}/ok", lambda status: status == 200), timeout=300,
        log_path=data_dir / "server.log", env=env, what="wwhd serve",
    )
    try:
        client = get_sync_client(url=url)
        thread = client.threads.create()
        client.runs.wait(thread["thread_id"], "wwhd", input={
            "messages": [{"role": "user", "content": "What is Huang Qi used for?"}]})
        return family_rss_mb(process.pid), status_mb("VmHWM", process.pid)
    finally:
        stop_process(process, timeout=60)


def measure(kb: EdgeKnowledgeBase, exact: ExactDense, local, questions: list[Question],
            name: str, args: argparse.Namespace) -> tuple:
    """p50/p95 (ms) of total, the embedding's p50, p50/p95 of store, numpy and local (None
    when not measured), for one filter."""
    total, embed, store, numpy_s, local_s = [], [], [], [], []
    clock = time.perf_counter
    for n, q in enumerate(questions):
        filters = q.filters[name]
        uncached(kb)
        started = clock()
        kb.dense.embed_query(q.text)
        kb.sparse.embed_query(q.text)
        embed.append(clock() - started)
        uncached(kb)
        started = clock()
        kb.search(q.text, k=args.k, tradition=filters.get("tradition"),
                  category=filters.get("category"))
        total.append(clock() - started)
        started = clock()
        kb.search_vectors(q.dense, q.sparse[0], q.sparse[1], args.k, filters)
        store.append(clock() - started)
        vector = np.asarray(q.dense, np.float32)
        vector /= np.linalg.norm(vector)
        started = clock()
        exact.search(vector, filters, args.k)
        numpy_s.append(clock() - started)
        if local is not None and n < args.local_queries:
            started = clock()
            local_search(local, q, filters, args.k)
            local_s.append(clock() - started)
    return (*percentiles_ms(total), percentiles_ms(embed)[0], *percentiles_ms(store),
            *percentiles_ms(numpy_s),
            *(percentiles_ms(local_s) if local_s else (None, None)))


def parse_sizes(text: str, corpus_size: int) -> list[int]:
    return [corpus_size if part.strip() == "corpus" else int(part) for part in text.split(",")
            if part.strip()]


@dataclass
class SearchRun:
    """What one run of the search benchmark measured."""

    rows: list[tuple]  # (chunks, filter, total p50/p95, embed p50, store p50/p95, numpy, local)
    questions: int
    local_queries: int
    k: int
    points: int  # chunks of the largest store
    rss_mb: int  # a fresh process that opened the largest store and searched it
    hwm_mb: int
    server: tuple[float, float] | None  # wwhd serve --production: RSS after a turn, peak


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The benchmark's options (shared with `devtools.bench_table`)."""
    parser.add_argument("--sizes", default="corpus,10000,50000",
                        help="store sizes in chunks, comma-separated; 'corpus' is the bundled "
                             "corpus as it is (default: corpus,10000,50000)")
    parser.add_argument("--local-sizes", default="corpus,10000",
                        help="sizes at which qdrant-client local mode is measured too "
                             "(default: corpus,10000; 50000 takes minutes; '' for none)")
    parser.add_argument("--queries", type=int, default=50,
                        help="test-split questions per filter and size (default 50)")
    parser.add_argument("--local-queries", type=int, default=10,
                        help="questions per filter for local mode (default 10)")
    parser.add_argument("--k", type=int, default=5, help="passages per search (default 5)")
    parser.add_argument("--no-server", action="store_true",
                        help="skip starting `wwhd serve` to measure the whole server's memory")
    parser.add_argument("--keep", type=Path, help="build the stores under this folder and keep "
                        "them (default: a temporary folder, removed)")


def run(args: argparse.Namespace) -> SearchRun:
    """Build the stores at each size, time the searches, measure memory at the largest."""
    warnings.filterwarnings("ignore", message=".*Local mode is not recommended.*")
    corpus = load_corpus()
    sizes = parse_sizes(args.sizes, len(corpus))
    local_sizes = set(parse_sizes(args.local_sizes, len(corpus)))
    questions = load_questions(max(1, args.queries), corpus)
    work = args.keep or Path(tempfile.mkdtemp(prefix="wwhd-search-bench-"))
    rows = []
    try:
        for size in sizes:
            points = corpus.grown(size)
            data_dir = work / f"size-{size}"
            shutil.rmtree(data_dir, ignore_errors=True)
            kb = build_edge(data_dir / "qdrant-edge", points, progress=size > 5000)
            exact = ExactDense(points)
            local = build_local(data_dir / "qdrant-local", points, size > 5000) if (
                size in local_sizes) else None
            for name in FILTERS:
                rows.append((size, name, *measure(kb, exact, local, questions, name, args)))
            kb.close()
            if local is not None:
                local.close()
            shutil.rmtree(data_dir / "qdrant-local", ignore_errors=True)
        largest = work / f"size-{sizes[-1]}"
        points_n, rss, hwm = process_memory(largest)
        server = None if args.no_server else server_memory(largest)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return SearchRun(rows, len(questions), args.local_queries, args.k, points_n, rss, hwm, server)


def print_table(result: SearchRun) -> None:
    """The benchmark's own table."""
    print(f"Hybrid search (e5 dense + BM25, RRF), top {result.k}; {result.questions} test-split "
          f"questions per row ({result.local_queries} for local mode); {os.cpu_count()} cores; "
          "one run: figures vary with the machine's load.")
    print("total = kb.search(question), the question embedded afresh (e5 + BM25: embed p50); "
          "store = the same search with the question already embedded (total minus embedding).")
    header = (f"{'chunks':>7}  {'filter':<9}  {'total p50':>9}  {'p95':>7}  {'embed p50':>9}  "
              f"{'store p50':>9}  "
              f"{'p95':>7}  {'numpy p50':>9}  {'p95':>7}  {'local p50':>9}  {'p95':>8}")
    print(header)
    print("-" * len(header))
    for size, name, t50, t95, e50, s50, s95, n50, n95, l50, l95 in result.rows:
        local_text = (f"{l50:9.1f}  {l95:8.1f}" if l50 is not None else f"{'-':>9}  {'-':>8}")
        print(f"{size:>7}  {name:<9}  {t50:9.1f}  {t95:7.1f}  {e50:9.1f}  {s50:9.2f}  {s95:7.2f}  "
              f"{n50:9.2f}  {n95:7.2f}  {local_text}")
    print("ms. store: qdrant-edge (EdgeKnowledgeBase); numpy: exact dense only, filter as a "
          "mask; local: qdrant-client local mode, the earlier embedded store.")
    print(f"process after opening {result.points:,} chunks and searching: VmRSS {result.rss_mb} "
          f"MB, VmHWM {result.hwm_mb} MB")
    if result.server is not None:
        print(f"wwhd serve --production over {result.points:,} chunks after one turn: "
              f"RSS {result.server[0]:.0f} MB (with children), peak {result.server[1]:.0f} MB")


def main(argv: list[str] | None = None) -> int:
    """Build the stores, time the searches, print one table."""
    parser = argparse.ArgumentParser(prog="python -m devtools.search_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    print_table(run(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
