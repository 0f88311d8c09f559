"""The embedded default answer: quote the passages' sentences that answer what was asked.

A passage is cut into quotes: sentences, and lists kept whole with the line that leads into them
("Si Jun Zi Tang contains four herbs:" and its four items are one quote). Each quote is scored by
a small learned ranker (`graphs/model/answers.json`, trained by `wwhd train-answers` on the train
and dev splits' key points) over features that say whether it answers the question rather than
merely naming its subject: similarity to the question, and to the question with its subject taken
out (what is asked: "where", "which herbs", "cautions"), where those similarities rank it among
the question's quotes, the words it shares with what is asked, its section heading, its
passage's rank, and hashed (question word, heading word) pairs that learn which headings hold
which asks (on a red flag also which headings and documents hold urgent-care facts). The
question is the search query, so a follow-up's subject counts. The best quotes that fit a length
budget are quoted in reading order with their [n] citations.
"""

from __future__ import annotations

import json
import logging
import math
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wwhd.core.types import Route, Source
from wwhd.tools.embeddings import E5Embeddings

log = logging.getLogger(__name__)

ANSWERS_MODEL_FILE = Path(__file__).resolve().parent / "model" / "answers.json"
# Characters of quoted text an answer aims at, so that answers are no longer than the four-sentence
# answers before lists were kept whole (median about 950 characters with preface and safety
# note): quoting more is not answering.
QUOTE_BUDGET_CHARS = 630
# Hashed (question word, section word) pairs: what a question's wording asks for ("where",
# "ingredients") learned against the headings that hold it ("location", "composition").
PAIR_DIMENSIONS = 4096
# Routes whose answers learn their own heading and document preferences: a red flag's quotes
# should come from the urgent-care lists, whatever the message's words resemble.
ROUTE_PAIRS = frozenset({Route.RED_FLAG})
# A quote whose words mostly repeat quotes already chosen adds nothing.
REDUNDANT_SHARE = 0.7

_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+(?=[A-Z0-9\"'(\u4e00-\u9fff])")
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
# A safety-checklist item ("**Pregnancy:** Avoid. ...", corpus/README.md): its status says
# whether it warns of anything; "No specific caution recorded" answers no safety question.
_CHECKLIST_STATUS = re.compile(
    r"^\*\*[^*]+:\*\*\s*(Contraindicated|Avoid|Caution|No specific caution recorded)\b")
_WORD = re.compile(r"[a-z0-9\u4e00-\u9fff]+(?:'[a-z]+)?")
PAIR_STOPWORDS = frozenset("a an the of is are to in it its and or for be do does can i my me "
                           "you your this that".split())
STOPWORDS = frozenset(
    "a an and are as at be been by can do does for from has have how i in is it its it's of on "
    "or should that the their them these they this to use used uses using was what when where "
    "which who why will with you your me my about tell please any some there than then also "
    "into more most such much very".split()
)
FEATURES = (
    "similarity",  # the question and the quote
    "asked_similarity",  # the question without its subject words, and the quote
    "heading_similarity",  # the question and the passage's "title - section"
    "asked_section_similarity",  # what is asked and the section heading alone
    "title_match",  # share of the question's subject words in the passage's title
    "asked_overlap",  # share of the asked-for words found in the quote or its heading
    "subject_overlap",  # share of the subject's words found in the quote
    "echo",  # share of the quote's words that only repeat the question
    "passage_rank",  # 1 / (1 + rank of the passage)
    "first_in_passage",
    "relative_position",
    "log_length",
    "is_list",
    "has_number",
    "states_caution",  # a safety-checklist item whose status is a caution (or stronger)
    "records_nothing",  # a checklist item that only says no caution is on record
    "similarity_rank",  # 1 / (1 + the quote's rank among this question's quotes by similarity)
    "asked_similarity_rank",  # the same by asked_similarity
)
# Where the rank features sit among FEATURES, and the similarities they rank.
_RANKED = ((FEATURES.index("similarity_rank"), FEATURES.index("similarity")),
           (FEATURES.index("asked_similarity_rank"), FEATURES.index("asked_similarity")))


@dataclass(frozen=True)
class Quote:
    """A quotable unit (a sentence, or a list with its lead-in) and where it came from."""

    text: str
    source_index: int  # 0-based position in `sources`
    position: int
    is_list: bool = False


def content_words(text: str) -> set[str]:
    """Lower-case words that carry meaning (stop words dropped, plurals folded)."""
    words = set()
    for word in _WORD.findall(text.lower()):
        if word in STOPWORDS or len(word) < 2:
            continue
        words.add(word[:-1] if len(word) > 4 and word.endswith("s") else word)
    return words


def split_quotes(text: str) -> list[tuple[str, bool]]:
    """A passage's quotes in order, as (text, is_list).

    A list introduced by a lead-in line ("... contains four herbs:") is one quote with its
    lead-in: its items answer together. Items of a list with no lead-in (a checklist, a list of
    combinations) stand alone, each a quote of its own.
    """
    quotes: list[tuple[str, bool]] = []
    items: list[str] = []

    def close_list() -> None:
        if not items:
            return
        if quotes and quotes[-1][0].endswith(":"):
            lead = quotes.pop()[0]
            quotes.append(("\n".join([lead, *(f"- {item}" for item in items)]), True))
        else:
            quotes.extend((item, False) for item in items)
        items.clear()

    for line in text.splitlines():
        if not line.strip():
            close_list()  # a blank line ends a list
            continue
        if _LIST_MARK.match(line):
            items.append(_LIST_MARK.sub("", line).strip())
            continue
        close_list()
        quotes.extend((s.strip(), False) for s in _SENTENCE_END.split(line.strip()) if s.strip())
    close_list()
    return [(q, is_list) for q, is_list in quotes if is_list or len(q.split()) >= 4]


def candidate_quotes(sources: list[Source]) -> list[Quote]:
    """Every quote of every passage, in passage order."""
    return [
        Quote(text=text, source_index=i, position=p, is_list=is_list)
        for i, source in enumerate(sources)
        for p, (text, is_list) in enumerate(split_quotes(source["text"]))
    ]


def subject_words(question: str, sources: list[Source]) -> set[str]:
    """The question's words that name what the passages are about (their titles' words)."""
    titles: set[str] = set()
    for source in sources:
        titles |= content_words(source.get("title", ""))
    return content_words(question) & titles


class AnswersModelUnavailable(RuntimeError):
    """The answers model artefact does not fit this code; says how to rebuild it."""


@dataclass(frozen=True)
class LinearScorer:
    """Logistic regression over standardised features: p = sigmoid(w . (x - mean) / scale + b)."""

    features: tuple[str, ...]
    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """One probability per row of raw feature values (named ones first, then any hashed
        pair columns, which are 0/1 and not standardised)."""
        named = len(self.mean)
        z = ((rows[:, :named] - self.mean) / self.scale) @ self.weights[:named] + self.bias
        if rows.shape[1] > named:
            z = z + rows[:, named:] @ self.weights[named:]
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict:
        """Plain JSON (no pickle), as stored in `graphs/model/answers.json`."""
        return {
            "features": list(self.features),
            "weights": self.weights.tolist(),
            "bias": self.bias,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
        }

    @classmethod
    def from_json(cls, raw: dict, expected: tuple[str, ...], columns: int | None = None
                  ) -> LinearScorer:
        """Load a scorer, refusing one trained on other features."""
        width = len(expected) if columns is None else columns
        if tuple(raw["features"]) != expected or len(raw["weights"]) != width:
            raise AnswersModelUnavailable(
                f"{ANSWERS_MODEL_FILE.name} was trained on other features; "
                "rebuild it with `make train-answers`"
            )
        return cls(
            features=expected,
            weights=np.asarray(raw["weights"], np.float64),
            bias=float(raw["bias"]),
            mean=np.asarray(raw["mean"], np.float64),
            scale=np.asarray(raw["scale"], np.float64),
        )


def load_quote_scorer(path: Path = ANSWERS_MODEL_FILE) -> LinearScorer:
    """The bundled quote ranker."""
    try:
        raw = json.loads(path.read_text())["quotes"]
    except (OSError, KeyError, ValueError) as exc:
        raise AnswersModelUnavailable(
            f"cannot read the answers model {path}: {exc}; rebuild it with `make train-answers`"
        ) from exc
    return LinearScorer.from_json(raw, FEATURES, len(FEATURES) + PAIR_DIMENSIONS)


@dataclass(frozen=True)
class QuestionVectors:
    """The question as e5 sees it: whole, and with its subject words taken out."""

    question: np.ndarray
    asked: np.ndarray


def question_vectors(question: str, subject: set[str], embeddings: E5Embeddings
                     ) -> QuestionVectors:
    """Embed the question, and what it asks once the subject's words are removed."""
    asked_text = " ".join(
        w for w in question.split() if not (content_words(w) and content_words(w) <= subject)
    )
    whole = _unit(embeddings.embed_query(question))
    asked = _unit(embeddings.embed_query(asked_text)) if asked_text.strip() else whole
    return QuestionVectors(question=whole, asked=asked)


def ranking_question(question: str, query: str, route: str | None) -> str:
    """The text quotes are ranked against: the search query, which names a follow-up's subject
    ("Huang Qi: What are its cautions?"), except on a red flag, whose query adds the emergency's
    warning signs to the message (the quotes should answer the message)."""
    return question if route == Route.RED_FLAG or not query else query


def quote_features(question: str, sources: list[Source], quotes: list[Quote],
                   embeddings: E5Embeddings, route: str | None = None) -> np.ndarray:
    """One row per quote: the named `FEATURES`, then the hashed pair columns."""
    subject = subject_words(question, sources)
    asked_words = content_words(question) - subject or content_words(question)
    vectors = question_vectors(question, subject, embeddings)
    quote_vectors = embeddings.embed_sentences([q.text for q in quotes])
    headings = [f"{s.get('title', '')} - {s.get('section', '')}" for s in sources]
    heading_similarity = embeddings.embed_sentences(headings) @ vectors.question
    sections = [s.get("section", "") or s.get("title", "") for s in sources]
    section_similarity = embeddings.embed_sentences(sections) @ vectors.asked
    title_match = [len(subject & content_words(s.get("title", ""))) / max(1, len(subject))
                   for s in sources]
    counts: dict[int, int] = {}
    for quote in quotes:
        counts[quote.source_index] = counts.get(quote.source_index, 0) + 1
    rows = []
    for quote, vector in zip(quotes, quote_vectors, strict=True):
        source = sources[quote.source_index]
        words = content_words(quote.text)
        with_heading = words | content_words(source.get("section", ""))
        rows.append([
            float(vector @ vectors.question),
            float(vector @ vectors.asked),
            float(heading_similarity[quote.source_index]),
            float(section_similarity[quote.source_index]),
            title_match[quote.source_index],
            len(asked_words & with_heading) / max(1, len(asked_words)),
            len(subject & words) / max(1, len(subject)) if subject else 0.0,
            len(words & content_words(question)) / max(1, len(words)),
            1.0 / (1 + quote.source_index),
            float(quote.position == 0),
            quote.position / max(1, counts[quote.source_index] - 1),
            math.log(1 + len(quote.text)),
            float(quote.is_list),
            float(bool(re.search(r"\d", quote.text))),
            *checklist_status(quote.text),
            0.0, 0.0,  # the ranks, filled in below once every quote is scored
        ])
    named = np.asarray(rows, np.float64).reshape(len(quotes), len(FEATURES))
    # A similarity means little on its own (some questions resemble every quote, some none);
    # where it places the quote among this question's other quotes says more.
    for rank_column, value_column in _RANKED:
        named[:, rank_column] = 1.0 / (1.0 + _ranks(named[:, value_column]))
    return np.hstack([named, pair_columns(question, sources, quotes, route)])


def checklist_status(text: str) -> tuple[float, float]:
    """(states a caution, records nothing) for a safety-checklist item; (0, 0) otherwise."""
    status = _CHECKLIST_STATUS.match(text)
    if status is None:
        return 0.0, 0.0
    nothing = status.group(1) == "No specific caution recorded"
    return float(not nothing), float(nothing)


def question_terms(question: str) -> set[str]:
    """The question's words, question words included ("where", "who", "when")."""
    return {w for w in _WORD.findall(question.lower()) if w not in PAIR_STOPWORDS}


def pair_columns(question: str, sources: list[Source], quotes: list[Quote],
                 route: str | None = None) -> np.ndarray:
    """0/1 columns: which (question word, section word) pairs each quote's passage has, and on
    the routes in `ROUTE_PAIRS` also (route, section word) and (route, document)."""
    asked = question_terms(question)
    columns = np.zeros((len(quotes), PAIR_DIMENSIONS))
    for row, quote in enumerate(quotes):
        source = sources[quote.source_index]
        section = content_words(source.get("section", ""))
        if quote.is_list:
            section = section | {"<list>"}
        pairs = [f"{a}|{b}" for a in asked for b in section]
        if route in ROUTE_PAIRS:
            pairs += [f"<{route}>|{b}" for b in section]
            pairs.append(f"<{route}>|doc:{source.get('doc_id', '')}")
        for pair in pairs:
            columns[row, zlib.crc32(pair.encode()) % PAIR_DIMENSIONS] = 1.0
    return columns


def _ranks(values: np.ndarray) -> np.ndarray:
    """0 for the largest value, 1 for the next, ... (ties in order of appearance)."""
    ranks = np.empty(len(values))
    ranks[np.argsort(-values, kind="stable")] = np.arange(len(values))
    return ranks


def _unit(vector: list[float]) -> np.ndarray:
    array = np.asarray(vector, np.float32)
    norm = float(np.linalg.norm(array))
    return array / norm if norm else array


def choose_quotes(quotes: list[Quote], scores: np.ndarray, max_quotes: int,
                  budget: int = QUOTE_BUDGET_CHARS) -> list[Quote]:
    """The best quotes that fit the budget (the best one always), without repeats, in
    reading order."""
    chosen: list[Quote] = []
    seen_words: set[str] = set()
    used = 0
    for index in np.argsort(-scores, kind="stable"):
        quote = quotes[int(index)]
        words = content_words(quote.text)
        if chosen and used + len(quote.text) > budget:
            continue
        if words and len(words & seen_words) / len(words) >= REDUNDANT_SHARE:
            continue
        chosen.append(quote)
        seen_words |= words
        used += len(quote.text)
        if len(chosen) >= max_quotes:
            break
    return sorted(chosen, key=lambda q: (q.source_index, q.position))


def format_quotes(quotes: list[Quote]) -> str:
    """A bullet per quote, each followed by its [n] citation (a list stays a nested list)."""
    lines = []
    for quote in quotes:
        first, *rest = quote.text.split("\n")
        lines.append(f"- {first} [{quote.source_index + 1}]")
        lines.extend(f"  {line}" for line in rest)
    return "\n".join(lines)
