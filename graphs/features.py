"""What the router's classifier reads of a message: its meaning, its spelling, its domain words.

- the bundled multilingual e5 embedding (384 numbers): meaning, in any language;
- hashed character and word n-grams: spelling, negation and time words ("last year", "fine
  now") that a sentence embedding blurs, typos and run-together pinyin;
- the vocabulary match (`graphs.vocabulary`): how many knowledge-base names it contains;
- retrieval evidence: the best cosine similarity between the message and a bundled TCM passage,
  and a Shaolin passage (what a dense search would score), so "fix my git error" and "huang qi
  for colds" differ even where their words do not tell.

The same function serves training (`wwhd train-router`) and the running server, so the two
cannot drift apart.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from dataclasses import dataclass

import numpy as np

from wwhd.graphs.vocabulary import DomainMatch, fold

NGRAM_DIM = 2**15
CHAR_NGRAMS = (2, 3, 4)
WORD_NGRAMS = (1, 2)
VOCABULARY_FEATURES = 3
EVIDENCE_FEATURES = 2
# e5 similarities sit in a narrow band (about 0.75-0.92); centring them keeps the solver fast.
EVIDENCE_CENTRE = 0.82


@dataclass(frozen=True)
class Features:
    """A message as the classifier sees it: a dense part and a sparse hashed part."""

    dense: np.ndarray  # embedding + vocabulary features, float32
    sparse_index: np.ndarray  # int32 columns of the hashed n-grams
    sparse_value: np.ndarray  # float32 weights, L2-normalised


def _bucket(token: str) -> int:
    return zlib.crc32(token.encode("utf-8")) % NGRAM_DIM


def ngram_features(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Hashed, sublinear, L2-normalised counts of character and word n-grams."""
    folded = fold(text)
    counts: Counter[int] = Counter()
    padded = f" {folded} "
    for n in CHAR_NGRAMS:
        for i in range(len(padded) - n + 1):
            counts[_bucket("c" + padded[i : i + n])] += 1
    words = folded.split()
    for n in WORD_NGRAMS:
        for i in range(len(words) - n + 1):
            counts[_bucket("w" + " ".join(words[i : i + n]))] += 1
    if not counts:
        return np.zeros(0, np.int32), np.zeros(0, np.float32)
    index = np.fromiter(counts.keys(), np.int32, len(counts))
    value = np.fromiter((1.0 + math.log(c) for c in counts.values()), np.float32, len(counts))
    value /= float(np.linalg.norm(value))
    return index, value


def vocabulary_features(match: DomainMatch) -> np.ndarray:
    """Domain evidence as numbers: TCM terms, Shaolin terms, named subjects."""
    return np.array(
        [math.log1p(match.tcm), math.log1p(match.shaolin), math.log1p(len(match.names))],
        np.float32,
    )


def retrieval_evidence(embedding: np.ndarray, passages: np.ndarray,
                       is_tcm: np.ndarray) -> np.ndarray:
    """Best similarity to a TCM passage and to a Shaolin passage, centred (unit vectors)."""
    similarity = passages @ np.asarray(embedding, np.float32)
    best = [similarity[is_tcm].max(initial=0.0), similarity[~is_tcm].max(initial=0.0)]
    return np.array(best, np.float32) - EVIDENCE_CENTRE


def featurize(text: str, embedding: np.ndarray, match: DomainMatch,
              evidence: np.ndarray) -> Features:
    """All features of one message, given its embedding, vocabulary match and evidence."""
    index, value = ngram_features(text)
    dense = np.concatenate([np.asarray(embedding, np.float32), vocabulary_features(match),
                            np.asarray(evidence, np.float32)])
    return Features(dense=dense, sparse_index=index, sparse_value=value)
