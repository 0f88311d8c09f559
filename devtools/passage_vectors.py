"""Rewrite the bundled corpus's passage vectors: `python -m devtools.passage_vectors` (`make
passage-vectors`). Run it after changing documents under corpus/ (a test says when it is due).

Every chunk of every document is embedded with the bundled e5, exactly as ingestion embeds it,
and stored in tools/data/passage-vectors.npz (see wwhd.tools.passage_vectors).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from wwhd.tools.documents import chunk_document, iter_markdown_files, parse_document
from wwhd.tools.embeddings import E5_MODEL_NAME, E5Embeddings
from wwhd.tools.passage_vectors import BUNDLED, PassageVectors

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
BATCH = 32


def corpus_passages(corpus: Path = CORPUS) -> list[str]:
    """The texts ingestion embeds for every chunk of the corpus's documents, in order."""
    texts: list[str] = []
    for path in iter_markdown_files(corpus):
        doc = parse_document(path.read_text(encoding="utf-8"), str(path))
        texts.extend(chunk.embedding_text for chunk in chunk_document(doc, E5_MODEL_NAME))
    return list(dict.fromkeys(texts))


def main(argv: list[str] | None = None) -> int:
    """Embed the corpus's passages and write the vectors file."""
    parser = argparse.ArgumentParser(prog="python -m devtools.passage_vectors",
                                     description=__doc__)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--out", type=Path, default=BUNDLED)
    args = parser.parse_args(argv)
    texts = corpus_passages(args.corpus)
    embedder = E5Embeddings()  # no known vectors: every passage is embedded afresh
    started = time.perf_counter()
    rows = []
    for start in tqdm(range(0, len(texts), BATCH), desc="Embedding passages", unit="batch"):
        rows.extend(embedder.embed_documents(texts[start : start + BATCH]))
    PassageVectors.save(args.out, E5_MODEL_NAME, texts, np.asarray(rows, np.float32))
    print(f"{len(texts)} passages in {time.perf_counter() - started:.0f} s -> {args.out} "
          f"({args.out.stat().st_size // 1024} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
