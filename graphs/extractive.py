"""The embedded default answer: quote the most relevant sentences of the retrieved passages.

Sentences are scored by how many of the query's content words they contain and, when the dense
embedding model is at hand, by their similarity to the query; the best are quoted in passage order
with their [n] citations, so the answer reads in the order the sources tell it.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass

from langchain_core.embeddings import Embeddings

from wwhd.core.types import Source

log = logging.getLogger(__name__)

_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+(?=[A-Z0-9\"'(\u4e00-\u9fff])")
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_WORD = re.compile(r"[a-z0-9\u4e00-\u9fff]+(?:'[a-z]+)?")
STOPWORDS = frozenset(
    "a an and are as at be been by can do does for from has have how i in is it its it's of on "
    "or should that the their them these they this to use used uses using was what when where "
    "which who why will with you your me my about tell please any some there than then also "
    "into more most such much very".split()
)


@dataclass(frozen=True)
class Sentence:
    """A candidate sentence and where it came from."""

    text: str
    source_index: int  # 0-based position in `sources`
    position: int


def content_words(text: str) -> set[str]:
    """Lower-case words that carry meaning (stop words dropped, plurals folded)."""
    words = set()
    for word in _WORD.findall(text.lower()):
        if word in STOPWORDS or len(word) < 2:
            continue
        words.add(word[:-1] if len(word) > 4 and word.endswith("s") else word)
    return words


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage; list items count as sentences."""
    sentences = []
    for line in text.splitlines():
        line = _LIST_MARK.sub("", line).strip()
        if not line:
            continue
        sentences.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    return [s for s in sentences if len(s.split()) >= 4]


def select_sentences(
    query: str,
    sources: list[Source],
    max_quotes: int,
    embeddings: Embeddings | None = None,
    question: str | None = None,
) -> list[Sentence]:
    """The best sentences for the query, at most two per passage, in reading order.

    `question` is the user's own wording when `query` was rewritten from it: its words say what
    is asked ("cautions"), while the query's added subject ("Huang Qi") only found the passages.
    """
    candidates = [
        Sentence(text=s, source_index=i, position=p)
        for i, source in enumerate(sources)
        for p, s in enumerate(split_sentences(source["text"]))
    ]
    if not candidates:
        return []
    asked = content_words(question or query) or content_words(query)
    similarities = _similarities(query, candidates, embeddings)
    scored = []
    for sentence, similarity in zip(candidates, similarities, strict=True):
        # The section heading counts: a sentence under "Cautions" answers "its cautions?".
        section = sources[sentence.source_index].get("section", "")
        words = content_words(f"{section} {sentence.text}")
        overlap = len(asked & words) / max(1, len(asked))
        rank_bonus = 0.15 / (1 + sentence.source_index)
        scored.append((overlap + similarity + rank_bonus, sentence))
    scored.sort(key=lambda pair: pair[0], reverse=True)
    chosen: list[Sentence] = []
    per_source: dict[int, int] = {}
    for _, sentence in scored:
        if per_source.get(sentence.source_index, 0) >= 2:
            continue
        chosen.append(sentence)
        per_source[sentence.source_index] = per_source.get(sentence.source_index, 0) + 1
        if len(chosen) >= max_quotes:
            break
    return sorted(chosen, key=lambda s: (s.source_index, s.position))


def _similarities(
    query: str, candidates: list[Sentence], embeddings: Embeddings | None
) -> list[float]:
    if embeddings is None:
        return [0.0] * len(candidates)
    try:
        query_vector = embeddings.embed_query(query)
        vectors = embeddings.embed_documents([c.text for c in candidates])
    except Exception as exc:  # lexical scoring alone still gives a usable answer
        log.warning("sentence embedding failed, scoring by words only: %s", exc)
        return [0.0] * len(candidates)
    return [_cosine(query_vector, v) for v in vectors]


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def compose_extractive(
    query: str,
    sources: list[Source],
    max_quotes: int,
    embeddings: Embeddings | None = None,
    question: str | None = None,
) -> str:
    """Bullet list of quoted sentences, each followed by its [n] citation."""
    sentences = select_sentences(query, sources, max_quotes, embeddings, question)
    return "\n".join(f"- {s.text} [{s.source_index + 1}]" for s in sentences)
