"""Router latency benchmark: `python -m devtools.router_bench [--messages 300]`.

Measures, in one run over dev messages: the e5 embedding of a message, the classifier's own
work (vocabulary match, n-grams, evidence, three heads) and the whole router node. A turn pays
for the embedding once: the retrieval step reuses it from the embedder's cache. A benchmark,
not a test: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import statistics
import time
from types import SimpleNamespace

import numpy as np
from langchain_core.messages import HumanMessage

from wwhd.evals.understanding.dataset import load_splits
from wwhd.graphs.classifier import bundled_classifier
from wwhd.graphs.context import Context
from wwhd.graphs.router import route_question
from wwhd.tools.embeddings import shared_e5


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {1000 * statistics.median(values):6.1f} ms   p95 {1000 * p95:6.1f} ms"


def main(argv: list[str] | None = None) -> int:
    """Time the three parts over the same messages and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m devtools.router_bench",
                                     description=__doc__)
    parser.add_argument("--messages", type=int, default=300, help="how many dev messages")
    args = parser.parse_args(argv)
    texts = [m.text for m in load_splits(("dev",))][: args.messages]
    classifier = bundled_classifier()
    e5 = shared_e5()
    runtime = SimpleNamespace(context=Context(chat_model="extractive"))
    embed, classify, router = [], [], []
    for i, text in enumerate(texts):
        fresh = f"{text} ({i})"  # not in the embedder's cache yet
        started = time.perf_counter()
        vector = np.asarray(e5.embed_query(fresh), np.float32)
        embed.append(time.perf_counter() - started)
        classifier.embed = lambda _text, v=vector: v
        started = time.perf_counter()
        classifier.classify(fresh)
        classify.append(time.perf_counter() - started)
    classifier.embed = lambda text: np.asarray(e5.embed_query(text), np.float32)
    for i, text in enumerate(texts):
        state = {"messages": [HumanMessage(content=f"{text} [{i}]")]}
        started = time.perf_counter()
        route_question(state, runtime)
        router.append(time.perf_counter() - started)
    print(f"{len(texts)} messages (dev split), one process, 2-core machine figures vary with load")
    print(f"e5 embedding of a message      {_ms(embed)}")
    print(f"classifier without embedding   {_ms(classify)}")
    print(f"router node (embedding incl.)  {_ms(router)}")
    print("A turn pays the embedding once: retrieval takes it from the embedder's cache, so the "
          "router adds the classifier's share to a turn.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
