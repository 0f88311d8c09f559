"""Is there evidence for the question? The gate before any answer, quoted or generated.

Retrieval always returns its top k passages, even for a herb the knowledge base has no document
on; their fused (RRF) scores rank passages but say nothing about relevance. This gate reads what
does: how well the best quotes answer the question (the quote ranker's probability and e5
similarity), how well the best passage heading matches, the share of the question's words the
passages never use, and whether the question names a subject the knowledge base knows. A second
logistic head in `graphs/model/answers.json` (trained by `wwhd train-answers` on the train and dev
splits' covered and not-covered questions) turns them into a probability; below its threshold the
answer says plainly that the knowledge base does not cover the question, and cites nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wwhd.core.types import Source
from wwhd.graphs.extractive import (
    ANSWERS_MODEL_FILE,
    STOPWORDS,
    AnswersModelUnavailable,
    LinearScorer,
    Quote,
    candidate_quotes,
    content_words,
    quote_features,
    ranking_question,
)
from wwhd.graphs.vocabulary import Vocabulary
from wwhd.tools.embeddings import E5Embeddings

EVIDENCE_FEATURES = (
    "best_quote",  # the quote ranker's best probability
    "best_similarity",  # best e5 similarity of a quote to the question
    "best_heading_similarity",
    "unknown_share",  # share of the question's words that no passage uses
    "unknown_name_share",  # share of its names (Tian Shu, ST-25, 天麻) that no passage has
    "has_unknown_name",
    "names_subject",  # the question names a subject of the knowledge base
)


@dataclass(frozen=True)
class EvidenceGate:
    """The evidence head and its decision threshold."""

    scorer: LinearScorer
    threshold: float

    @classmethod
    def load(cls, path: Path = ANSWERS_MODEL_FILE) -> EvidenceGate:
        """The bundled gate."""
        try:
            raw = json.loads(path.read_text())["evidence"]
        except (OSError, KeyError, ValueError) as exc:
            raise AnswersModelUnavailable(
                f"cannot read the evidence gate in {path}: {exc}; "
                "rebuild it with `make train-answers`"
            ) from exc
        return cls(LinearScorer.from_json(raw, EVIDENCE_FEATURES), float(raw["threshold"]))


@dataclass(frozen=True)
class Evidence:
    """What the passages hold for one question: the quotes scored, and whether it is covered."""

    quotes: list[Quote]
    quote_scores: np.ndarray
    probability: float
    covered: bool


_CODE = re.compile(r"\b[A-Za-z]{1,3}-?\d{1,2}\b")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_PINYIN = re.compile(
    r"^(?:[bpmfdtnlgkhjqxrzcsyw]|zh|ch|sh)?(?:iang|iong|uang|ang|eng|ing|ong|ian|iao|uai|uan|"
    r"ai|ei|ao|ou|an|en|in|un|ia|ie|iu|ua|uo|ue|er|a|o|e|i|u|v)$"
)


def name_phrases(question: str) -> set[str]:
    """The names a question uses, as phrases: runs of capitalised words mid-sentence or of
    pinyin syllables ("Huo Xiang Zheng Qi San", "yi yi ren"), point codes ("st25"), and
    bigrams of Chinese characters (Chinese has no spaces)."""
    phrases = {m.lower().replace("-", "") for m in _CODE.findall(question)}
    for run in _CJK_RUN.findall(question):
        phrases |= {run[i:i + 2] for i in range(max(1, len(run) - 1))}
    tokens = list(re.finditer(r"[A-Za-z]+", question))
    run: list[str] = []
    for index, token in enumerate(tokens):
        word = token.group()
        lower = word.lower()
        # Mid-sentence capitals mark names; acronyms (TCM, MAOI, WHO) name no subject.
        capitalised = (word[0].isupper() and not word.isupper() and index > 0
                       and not _sentence_start(question, token))
        pinyin = bool(_PINYIN.match(lower)) and lower not in STOPWORDS
        if run and question[tokens[index - 1].end():token.start()].strip():
            phrases |= _closed(run)  # "Liver 3 (Tai Chong)": a name ends at punctuation
            run = []
        if (capitalised or pinyin) and lower not in STOPWORDS:
            run.append(lower)
            continue
        phrases |= _closed(run)
        run = []
    phrases |= _closed(run)
    return phrases


def _sentence_start(text: str, token: re.Match[str]) -> bool:
    before = text[: token.start()].rstrip()
    return not before or before[-1] in ".?!¿¡:\"'("


def _closed(run: list[str]) -> set[str]:
    # A lone pinyin-looking English word ("he", "long") is no name; a capitalised one is.
    if not run or (len(run) == 1 and len(run[0]) < 3):
        return set()
    return {" ".join(run)}


def evidence_features(question: str, query: str, sources: list[Source], quote_rows: np.ndarray,
                      quote_scores: np.ndarray, vocabulary: Vocabulary) -> np.ndarray:
    """One row of `EVIDENCE_FEATURES` for a question and its retrieved passages."""
    passage_words: set[str] = set()
    for source in sources:
        passage_words |= content_words(
            f"{source.get('title', '')} {source.get('section', '')} {source['text']}"
        )
    asked = content_words(query) | content_words(question)
    unknown = len(asked - passage_words) / max(1, len(asked))
    passage_text = " ".join(
        " ".join(re.findall(r"\w+", f"{s.get('title', '')} {s['text']}".lower())) for s in sources
    )
    names = name_phrases(question)
    unknown_names = sum(name not in passage_text for name in names)
    has_quotes = len(quote_scores) > 0
    return np.array([
        float(quote_scores.max()) if has_quotes else 0.0,
        float(quote_rows[:, 0].max()) if has_quotes else 0.0,
        float(quote_rows[:, 2].max()) if has_quotes else 0.0,
        unknown,
        unknown_names / max(1, len(names)),
        float(unknown_names > 0),
        float(vocabulary.match(f"{question} {query}").names_subject),
    ], np.float64)


def weigh_evidence(question: str, query: str, sources: list[Source], embeddings: E5Embeddings,
                   quote_scorer: LinearScorer, gate: EvidenceGate, vocabulary: Vocabulary,
                   route: str | None = None) -> Evidence:
    """Score every quote of the passages (as answers on `route`) and decide whether they
    cover the question."""
    quotes = candidate_quotes(sources)
    ranked = ranking_question(question, query, route)
    rows = (quote_features(ranked, sources, quotes, embeddings, route) if quotes
            else np.zeros((0, 1)))
    scores = quote_scorer.probabilities(rows) if quotes else np.zeros(0)
    features = evidence_features(question, query, sources, rows, scores, vocabulary)
    probability = float(gate.scorer.probabilities(features[None, :])[0])
    return Evidence(quotes, scores, probability, covered=probability >= gate.threshold)
