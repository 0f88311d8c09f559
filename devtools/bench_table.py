"""One table of the figures that matter at scale, each beside its reference from the same run.

    python -m devtools.bench_table [--sizes corpus,10000,50000] [--with-model]

- hybrid search p50/p95 (the store's share: the question already embedded) at each size,
  unfiltered and filtered, beside exact dense search in numpy on the same vectors;
- ingestion passages/s beside the raw e5 embedder on the same passages;
- a turn over HTTP (`wwhd serve`) beside the same graph in-process (target ≤ 1.3x), and with
  `--with-model` the time to the first streamed token with the local llama.cpp model;
- the whole server's memory over the largest store beside its 1 GB budget.

The details of each are in `devtools.search_bench`, `devtools.ingest_bench` and
`devtools.turn_bench`, which this runs (the turns in processes of their own). A benchmark, not a
test: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import date

from devtools import ingest_bench, search_bench

RSS_BUDGET_MB = 1024
TURN_TARGET = 1.3


def _turns(turns: int, with_model: bool) -> dict[str, list[float]]:
    """`devtools.turn_bench --json` in a process of its own (it sets its own environment)."""
    argv = [sys.executable, "-m", "devtools.turn_bench", "--turns", str(turns), "--json"]
    done = subprocess.run([*argv, *(["--with-model"] if with_model else [])], check=True,
                          stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Run the three benchmarks and print one table."""
    parser = argparse.ArgumentParser(prog="python -m devtools.bench_table", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="corpus,10000,50000",
                        help="search store sizes (default: corpus,10000,50000)")
    parser.add_argument("--queries", type=int, default=30, help="questions per search row")
    parser.add_argument("--passages", type=int, default=100, help="passages for ingestion")
    parser.add_argument("--turns", type=int, default=10, help="turns per side")
    parser.add_argument("--with-model", action="store_true",
                        help="also time the first token with the local model (make local-llm)")
    parser.add_argument("--no-server", action="store_true",
                        help="skip the server's memory over the largest store")
    args = parser.parse_args(argv)

    search_args = argparse.Namespace(sizes=args.sizes, local_sizes="", queries=args.queries,
                                     local_queries=0, k=5, no_server=args.no_server, keep=None)
    print("search ...", file=sys.stderr, flush=True)
    search = search_bench.run(search_args)
    print("ingestion ...", file=sys.stderr, flush=True)
    ingest = ingest_bench.run(args.passages)
    print("turns ...", file=sys.stderr, flush=True)
    turns = _turns(args.turns, with_model=False)
    model_turns = _turns(max(2, args.turns // 3), with_model=True) if args.with_model else None

    rows: list[tuple[str, str, str, str]] = []
    for size, name, *_, s50, s95, n50, n95, _l50, _l95 in search.rows:
        rows.append((f"search, {size:,} chunks, {'no filter' if name == 'none' else name}",
                     f"{s50:.2f} / {s95:.2f} ms", f"numpy exact {n50:.2f} / {n95:.2f} ms",
                     f"{s50 / n50:.2f}x"))
    rows.append(("ingestion", f"{ingest.ingest_rate:.2f} passages/s",
                 f"raw e5 {ingest.raw_rate:.2f} passages/s",
                 f"{ingest.ingest_rate / ingest.raw_rate:.2f}x"))
    (l50, l95, h50, h95) = turns["turn"]
    rows.append(("turn over HTTP (langgraph dev)", f"{h50:.2f} / {h95:.2f} s",
                 f"in-process {l50:.2f} / {l95:.2f} s",
                 f"{h50 / l50:.2f}x (target <= {TURN_TARGET}x)"))
    if model_turns is not None:
        (l50, l95, h50, h95) = model_turns["first token"]
        rows.append(("first token over HTTP, local model", f"{h50:.2f} / {h95:.2f} s",
                     f"in-process {l50:.2f} / {l95:.2f} s", f"{h50 / l50:.2f}x"))
    if search.server is not None:
        rows.append((f"server RSS over {search.points:,} chunks", f"{search.server[0]:.0f} MB",
                     f"budget {RSS_BUDGET_MB} MB", f"{search.server[0] / RSS_BUDGET_MB:.2f}x"))

    print(f"\nW.W.H.D. at scale, {date.today().isoformat()}, {os.cpu_count()} cores, one run "
          f"(p50 / p95; search: the store's share, the question already embedded; "
          f"{search.questions} questions per search row, {ingest.passages} passages, "
          f"{args.turns} turns a side)\n")
    widths = [max(len(row[i]) for row in [("figure", "measured", "reference", "ratio"), *rows])
              for i in range(4)]
    for row in [("figure", "measured", "reference (same run)", "ratio"), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
