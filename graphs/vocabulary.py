"""The domain vocabulary, generated from the knowledge base's own documents, never hand-written.

Every name a document gives its subject becomes a term: the title's pinyin, characters and
English name (`Huang Qi (黄芪, Astragalus Root)`), its `aliases` (common names), its tags, point
codes (`ST-36`) and the pharmacopoeia Latin the text uses (`Astragali Radix`). A message is
matched against the terms the way people write them: any case, with or without tone marks, run
together (`huangqi`), and with typos (fuzzy matching by rapidfuzz). The router's classifier
reads the match as features, and the follow-up logic uses "names a subject of its own". A herb,
formula or acupoint named another way ("goji berries", "LI4") is also searched by its
document's own name ("Gou Qi Zi", "He Gu"), which its passages use.

`wwhd train-router` builds the vocabulary from `corpus/` and stores it beside the classifier
(`graphs/model/vocabulary.json`), so the server needs no corpus to route.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

VOCABULARY_FILE = Path(__file__).resolve().parent / "model" / "vocabulary.json"
# A typo'd name still matches at this similarity (0-100); lower starts matching ordinary words.
FUZZY_CUTOFF = 84
# Shorter names are matched exactly only: "qi" within one edit of "hi" is no evidence.
FUZZY_MIN_CHARS = 6
RUN_TOGETHER_MIN_CHARS = 6
_LATIN_NAME = re.compile(
    r"\b([A-Z][a-z]{3,}(?:\s+[a-z]{4,})?\s+(?:Radix|Rhizoma|Fructus|Semen|Herba|Flos|Cortex|"
    r"Ramulus|Folium|Pericarpium|Poria|Bulbus|Caulis|Rhizoma\s+Praeparata|Radix\s+Praeparata)|"
    r"(?:Radix|Rhizoma|Fructus|Semen|Herba|Flos|Cortex|Ramulus|Folium|Pericarpium)\s+"
    r"[A-Z][a-z]{3,}(?:\s+[A-Z]?[a-z]{4,})?)\b"
)
_BINOMIAL = re.compile(r"\b([A-Z][a-z]{4,} [a-z]{5,})\b(?= (?:and|or|\(|,|\.|is|var))")
_POINT_CODE = re.compile(r"^([a-z]{1,3})-?(\d{1,2})$")
# Documents whose subject has a proper name that people replace with other names (a herb's
# common name, a point's code, a formula's English name). A theory or safety title ("Pregnancy
# Safety - Herbs and Acupoints to Avoid") is a topic, and its words are everyday ones.
NAMED_SUBJECT_CATEGORIES = frozenset({"herb", "formula", "acupoint"})
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def fold(text: str) -> str:
    """Lower case, tone marks removed, punctuation to spaces, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    lowered = unicodedata.normalize("NFKC", stripped).lower()
    return " ".join(re.sub(r"[^\w\u3400-\u9fff]+", " ", lowered).split())


@dataclass(frozen=True)
class Term:
    """One way of naming a subject of the knowledge base."""

    text: str  # folded
    tradition: str  # tcm | shaolin
    doc_id: str
    is_name: bool  # a name of the document's subject (title, code, Latin), not a topic tag


@dataclass(frozen=True)
class DomainMatch:
    """What a message names of the knowledge base."""

    tcm: int
    shaolin: int
    names: tuple[str, ...]  # document ids whose subject the message names

    @property
    def names_subject(self) -> bool:
        """Whether the message names a subject of its own (so it is not a bare follow-up)."""
        return bool(self.names)


class Vocabulary:
    """Terms of the knowledge base, matched exactly, run together and fuzzily."""

    def __init__(self, terms: Iterable[Term], subjects: dict[str, str] | None = None) -> None:
        self.terms = sorted(set(terms), key=lambda t: (t.text, t.doc_id, t.is_name, t.tradition))
        # A named subject's own name in its document ("Gou Qi Zi"): what its passages call it.
        self.subjects = dict(sorted((subjects or {}).items()))
        self._fuzzy = [t for t in self.terms if len(t.text) >= FUZZY_MIN_CHARS]
        self._fuzzy_texts = [t.text for t in self._fuzzy]

    # -- building and storing ---------------------------------------------------------------

    @classmethod
    def from_documents(cls, documents: Iterable) -> Vocabulary:
        """Terms from parsed documents (`tools.documents.Document`)."""
        terms: list[Term] = []
        subjects: dict[str, str] = {}
        for doc in documents:
            if doc.category in NAMED_SUBJECT_CATEGORIES:
                subjects[doc.id] = doc.title.partition("(")[0].strip(" -—")
            for text, is_name in _names_of(doc):
                folded = fold(text)
                if len(folded) >= 2 and not folded.isdigit():
                    terms.append(Term(folded, doc.tradition, doc.id, is_name))
        return cls(terms, subjects)

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        """Read a vocabulary written by `save`."""
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls((Term(r["text"], r["tradition"], r["doc_id"], r["is_name"])
                    for r in raw["terms"]), raw.get("subjects", {}))

    def save(self, path: Path) -> None:
        """Write the terms and the named subjects as JSON (stable order, so the file diffs well)."""
        rows = [t.__dict__ for t in self.terms]
        path.write_text(
            json.dumps({"terms": rows, "subjects": self.subjects}, ensure_ascii=False, indent=0)
            + "\n", encoding="utf-8"
        )

    # -- matching ---------------------------------------------------------------------------

    def match(self, text: str) -> DomainMatch:
        """Terms the message contains, however it spells them."""
        folded = fold(text)
        padded = f" {folded} "
        squashed = folded.replace(" ", "")
        hits: set[Term] = set()
        for term in self.terms:
            if _CJK.search(term.text):
                if term.text in folded:
                    hits.add(term)
            elif f" {term.text} " in padded:
                hits.add(term)
            elif " " in term.text:
                joined = term.text.replace(" ", "")
                if len(joined) >= RUN_TOGETHER_MIN_CHARS and joined in squashed:
                    hits.add(term)
        hits.update(self._fuzzy_hits(folded, {t.text for t in hits}))
        tcm = len({t.text for t in hits if t.tradition == "tcm"})
        shaolin = len({t.text for t in hits if t.tradition == "shaolin"})
        names = tuple(sorted({t.doc_id for t in hits if t.is_name}))
        return DomainMatch(tcm=tcm, shaolin=shaolin, names=names)

    def unnamed_subjects(self, text: str, named_doc_ids: tuple[str, ...]) -> list[str]:
        """The documents' own names for the subjects the message names another way
        (`named_doc_ids`: `match(text).names`).

        "goji berries" names Gou Qi Zi, but the passages under "Actions" say "Gou Qi Zi": the
        search needs that name to find them."""
        folded = f" {fold(text)} "
        names = (self.subjects[d] for d in named_doc_ids if d in self.subjects)
        return sorted({n for n in names if f" {fold(n)} " not in folded})

    def _fuzzy_hits(self, folded: str, found: set[str]) -> set[Term]:
        words = folded.split()
        windows = {
            " ".join(words[i : i + n])
            for n in (1, 2, 3)
            for i in range(len(words) - n + 1)
        }
        hits: set[Term] = set()
        for window in windows:
            if len(window) < FUZZY_MIN_CHARS or window in found:
                continue
            best = process.extractOne(
                window, self._fuzzy_texts, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF
            )
            if best is not None:
                hits.add(self._fuzzy[best[2]])
        return hits


def _names_of(doc) -> Iterable[tuple[str, bool]]:
    """(text, is_name) pairs a document gives its subject."""
    title = doc.title
    main, _, rest = title.partition("(")
    yield main.strip(" -—"), True
    for part in re.split(r"[,/;]", rest.rstrip(")")):
        part = part.strip()
        if part:
            yield part, True
    for part in re.split(r"\s+[—-]\s+|\s+and\s+", main):
        if part.strip() and part.strip() != main.strip():
            yield part.strip(), True
    for alias in doc.aliases:
        yield alias, True
    for tag in doc.tags:
        code = _POINT_CODE.match(fold(tag).replace(" ", ""))
        if code:
            channel, number = code.groups()
            for form in (f"{channel}{number}", f"{channel} {number}"):
                yield form, True
        else:
            yield tag, False
    for pattern in (_LATIN_NAME, _BINOMIAL):
        for found in pattern.findall(doc.body):
            yield found, True


def build_vocabulary(corpus_dir: Path) -> Vocabulary:
    """The vocabulary of every valid document under `corpus_dir`."""
    from wwhd.tools.documents import DocumentError, iter_markdown_files, parse_document

    documents = []
    for path in iter_markdown_files(corpus_dir):
        try:
            documents.append(parse_document(path.read_text(encoding="utf-8"), str(path)))
        except DocumentError:
            continue  # ingestion reports malformed documents; the vocabulary just skips them
    return Vocabulary.from_documents(documents)


@functools.lru_cache(maxsize=1)
def bundled_vocabulary() -> Vocabulary:
    """The vocabulary `wwhd train-router` stored beside the classifier."""
    return Vocabulary.load(VOCABULARY_FILE)
