"""Cluster benchmark: what 1, 2 and 3 replicas serve on this machine, how long `runs/wait` adds to
a run, and how long a task's knowledge base takes to start (README "More than one task").

    python -m devtools.cluster_bench [--replicas 1,2,3] [--clients 4] [--turns 40]
                                     [--wait-turns 15] [--startup-sizes corpus,50000]

Throughput: for each replica count, a fresh local cluster (devtools/cluster.py: PostgreSQL,
Redis, nginx round-robin), one warm-up turn per replica, then `--clients` concurrent clients
each asking its share of `--turns` questions through the proxy, each on a new thread, streamed
(`runs.stream`, as the web page asks). Questions are the train split's, none asked twice in a
run (a repeated question is answered from warm caches). Prints turns/s, p50 and p95 of a turn,
and the ratio to one replica, measured in the same run.

`runs/wait`: sequential turns through one replica; the time `runs.wait` took against the run's
own time (its record's creation to its last update), p50 and p95 of the difference.

Start-up of a task's knowledge base: restoring a copy of an ingested store (what a per-task
sidecar does from a snapshot) against re-embedding the documents, at the corpus's size and at
synthetic sizes (the corpus's vectors replicated with noise, as devtools/search_bench.py does).
Re-embedding is measured on a sample of the corpus and scaled by size.

A benchmark, not a test: figures depend on the machine and its load (2 cores here: replicas
beyond the cores compete for them).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from devtools.cluster import REPO, Cluster, ingested_kb, provision
from devtools.measure import percentiles

TRAIN_SPLIT = REPO / "evals" / "datasets" / "train.jsonl"
GRAPH = "wwhd"


def questions() -> list[str]:
    """The train split's single-turn questions, in file order, without repeats."""
    seen: dict[str, None] = {}
    for line in TRAIN_SPLIT.read_text().splitlines():
        case = json.loads(line)
        if case.get("question"):
            seen.setdefault(case["question"], None)
    return list(seen)


def _ask(text: str) -> dict:
    return {"messages": [{"role": "user", "content": text}]}


def load_run(url: str, asked: list[str], clients: int) -> tuple[float, list[float], int]:
    """Ask `asked` through `url` from `clients` threads; (seconds, turn latencies, failures)."""
    from langgraph_sdk import get_sync_client

    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    share = [asked[index::clients] for index in range(clients)]

    def client_loop(mine: list[str]) -> None:
        client = get_sync_client(url=url, timeout=300)
        for text in mine:
            started = time.perf_counter()
            try:
                thread = client.threads.create()
                for _ in client.runs.stream(thread["thread_id"], GRAPH, input=_ask(text),
                                            stream_mode="values"):
                    pass
            except Exception:  # counted, not raised: the figure must say how many failed
                with lock:
                    failures[0] += 1
                continue
            with lock:
                latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=client_loop, args=(mine,)) for mine in share]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, failures[0]


def wait_overhead(url: str, asked: list[str]) -> tuple[list[float], list[float]]:
    """Sequential `runs.wait` turns: (wait latencies, the runs' own times), in seconds."""
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=url, timeout=300)
    waited, own = [], []
    for text in asked:
        thread = client.threads.create()
        started = time.perf_counter()
        client.runs.wait(thread["thread_id"], GRAPH, input=_ask(text))
        waited.append(time.perf_counter() - started)
        run = client.runs.list(thread["thread_id"])[0]
        own.append((_time(run["updated_at"]) - _time(run["created_at"])).total_seconds())
    return waited, own


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def throughput_table(args: argparse.Namespace, bin_dir: Path, kb: Path, root: Path) -> None:
    """The replicas rows and the runs/wait line."""
    asked = questions()
    needed = args.turns * len(args.replicas) + args.wait_turns + 3 * max(args.replicas)
    if len(asked) < needed:
        raise SystemExit(f"the train split has {len(asked)} questions; this run needs {needed}")
    print(f"\nThroughput: {args.clients} clients, {args.turns} turns per row, new thread each, "
          "streamed through nginx")
    print(f"{'replicas':>8} {'turns/s':>8} {'p50 s':>7} {'p95 s':>7} {'vs 1':>6} {'failed':>6}")
    base, offset = None, 0
    for count in args.replicas:
        cluster = Cluster(root=root / f"replicas-{count}", kb_template=kb, replicas=count,
                          bin_dir=bin_dir).start()
        try:
            warm = asked[offset:offset + count]
            offset += count
            for replica, text in zip(cluster.members, warm, strict=True):
                load_run(replica.url, [text], 1)
            seconds, latencies, failed = load_run(cluster.url, asked[offset:offset + args.turns],
                                                  args.clients)
            offset += args.turns
            rate = len(latencies) / seconds
            base = base or rate
            p50, p95 = percentiles(latencies) if latencies else (float("nan"),) * 2
            print(f"{count:>8} {rate:>8.2f} {p50:>7.2f} {p95:>7.2f} {rate / base:>6.2f} "
                  f"{failed:>6}", flush=True)
            if count == args.replicas[0] and args.wait_turns:
                waited, own = wait_overhead(cluster.members[0].url,
                                            asked[offset:offset + args.wait_turns])
                offset += args.wait_turns
                extra = [w - o for w, o in zip(waited, own, strict=True)]
                print(f"         runs/wait over {len(waited)} sequential turns: wait p50 "
                      f"{percentiles(waited)[0]:.2f} s, run p50 {percentiles(own)[0]:.2f} s, "
                      f"added p50 {percentiles(extra)[0]:.2f} s / p95 "
                      f"{percentiles(extra)[1]:.2f} s", flush=True)
        finally:
            cluster.stop()


def startup_table(sizes: list[str], kb: Path) -> None:
    """Restore (copy + open + first search) against re-embedding, per size."""
    from devtools.search_bench import COLLECTION, build_edge, load_corpus
    from wwhd.tools.edge_store import EdgeKnowledgeBase
    from wwhd.tools.embeddings import E5_DIMENSIONS, E5_MODEL_NAME, Bm25SparseEmbeddings, shared_e5
    from wwhd.tools.knowledge import CONTENT_KEY

    corpus = load_corpus()
    # Marked so that no vector shipped with the package answers for them: measured, not looked up.
    sample = [f"{payload[CONTENT_KEY]} [{index}]"
              for index, payload in enumerate(corpus.payloads[:48])]
    e5 = shared_e5()
    started = time.perf_counter()
    e5.embed_documents(sample)
    per_second = len(sample) / (time.perf_counter() - started)
    print(f"\nA task's knowledge base at start-up (re-embedding at {per_second:.1f} passages/s, "
          "the bundled e5 on this machine)")
    print(f"{'chunks':>8} {'restore s':>10} {'re-embed s':>11} {'ratio':>7} {'size MB':>8}")
    with tempfile.TemporaryDirectory(prefix="wwhd-startup-") as scratch:
        for size_text in sizes:
            size = len(corpus) if size_text == "corpus" else int(size_text)
            source = Path(scratch) / f"source-{size}"
            build_edge(source, corpus.grown(size), progress=False).close()
            target = Path(scratch) / f"restored-{size}"
            started = time.perf_counter()
            shutil.copytree(source, target)
            kb_store = EdgeKnowledgeBase(target, COLLECTION, e5, Bm25SparseEmbeddings(),
                                         E5_MODEL_NAME, E5_DIMENSIONS)
            kb_store.hybrid_search("What is Huang Qi used for?", 4, {})
            restore = time.perf_counter() - started
            kb_store.close()
            megabytes = sum(f.stat().st_size for f in target.rglob("*") if f.is_file()) / 1e6
            embed = size / per_second
            print(f"{size:>8,} {restore:>10.2f} {embed:>11.0f} {embed / restore:>7.0f} "
                  f"{megabytes:>8.0f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Print the tables."""
    parser = argparse.ArgumentParser(prog="python -m devtools.cluster_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", default="1,2,3",
                        type=lambda text: [int(n) for n in text.split(",")])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--wait-turns", type=int, default=15)
    parser.add_argument("--startup-sizes", default="corpus,50000",
                        type=lambda text: [s for s in text.split(",") if s])
    parser.add_argument("--no-throughput", action="store_true")
    args = parser.parse_args(argv)
    bin_dir = provision()
    root = Path(tempfile.mkdtemp(prefix="wwhd-cluster-bench-"))
    try:
        kb = ingested_kb(REPO / "data" / "cluster", bin_dir)
        if not args.no_throughput:
            throughput_table(args, bin_dir, kb, root)
        if args.startup_sizes:
            startup_table(args.startup_sizes, kb)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
