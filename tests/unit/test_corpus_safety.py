"""The knowledge base's safety content: a checklist per herb and formula, said the same way
everywhere.

Every herb and formula document ends with a `## Safety checklist` of eight items (see
corpus/README.md). A herb's pregnancy status is then compared with every sentence of the corpus
that names the herb and pregnancy, so one document cannot call it forbidden while another says
"use with caution".
"""

import re
from pathlib import Path

import pytest

from wwhd.tools.documents import Document, iter_markdown_files, parse_document

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
CHECKLIST_HEADING = "## Safety checklist"
CHECKLIST_ITEMS = (
    "Pregnancy",
    "Breastfeeding",
    "Children",
    "Bleeding and anticoagulants",
    "Liver and kidney",
    "G6PD deficiency",
    "Drug interactions",
    "Regulatory status and doping",
)
STATUSES = ("Contraindicated", "Avoid", "Caution", "No specific caution recorded")
ITEM = re.compile(r"^- \*\*(?P<label>[^*]+):\*\* (?P<status>[^.]+)\.(?P<text>.*)$")
# What a sentence says about use in pregnancy: not at all, or with care.
STRICT = re.compile(r"\b(?:contraindicated|forbidden|must not|never be|avoid(?:ed)?)\b", re.I)
CAREFUL = re.compile(r"\bcaution|\bwith care\b", re.I)
PREGNANCY = re.compile(r"pregnan", re.I)
# "Gui Zhi" inside "Gui Zhi Tang" names a formula, not the herb.
FORMULA_WORD = r"(?! (?:Tang|Wan|San|Yin|Dan|Pian)\b)"


def corpus() -> list[Document]:
    return [parse_document(p.read_text(), str(p)) for p in iter_markdown_files(CORPUS)]


def checklist(doc: Document) -> dict[str, tuple[str, str]]:
    """Label -> (status, text) of a document's safety checklist, in order."""
    body = doc.body.split(CHECKLIST_HEADING, 1)
    assert len(body) == 2, f"{doc.id}: no '{CHECKLIST_HEADING}' section"
    section = body[1].split("\n## ", 1)[0]
    items = {}
    for line in section.strip().splitlines():
        match = ITEM.match(line.strip())
        assert match, f"{doc.id}: checklist line is not '- **Label:** Status. Text': {line!r}"
        items[match["label"]] = (match["status"], match["text"].strip())
    return items


def herb_name(doc: Document) -> str:
    """The pinyin the corpus calls a herb by: its title before the parenthesis."""
    return doc.title.split("(", 1)[0].strip()


def pregnancy_claims(docs: list[Document], name: str) -> list[tuple[str, str, str]]:
    """(document, clause, strict|caution) for each clause naming the herb and pregnancy."""
    pattern = re.compile(rf"\b{re.escape(name)}\b{FORMULA_WORD}")
    claims = []
    for doc in docs:
        text = doc.body.split(CHECKLIST_HEADING, 1)[0]
        for clause in re.split(r"(?<=[.!?;])\s+|\n+", text):
            if not (pattern.search(clause) and PREGNANCY.search(clause)):
                continue
            strict, careful = bool(STRICT.search(clause)), bool(CAREFUL.search(clause))
            if strict != careful:  # a clause saying both is about two things; skip it
                claims.append((doc.id, clause.strip(), "strict" if strict else "caution"))
    return claims


DOCS = corpus()
CHECKED = [d for d in DOCS if d.category in ("herb", "formula")]


@pytest.mark.parametrize("doc", CHECKED, ids=lambda d: d.id)
def test_every_herb_and_formula_has_the_whole_checklist(doc):
    items = checklist(doc)
    assert tuple(items) == CHECKLIST_ITEMS, f"{doc.id}: items or order differ"
    for label, (status, text) in items.items():
        assert status in STATUSES, f"{doc.id} {label}: status {status!r} not in {STATUSES}"
        assert text, f"{doc.id} {label}: the status needs a sentence saying why"
        if status == "No specific caution recorded":
            # Silence in the references is not safety, and the reader must be told so.
            assert "not proof of safety" in text, f"{doc.id} {label}"
        assert "safe." not in text.lower(), f"{doc.id} {label}: do not call a herb safe"


def test_herbs_with_known_liver_or_heart_toxicity_are_in_the_knowledge_base():
    ids = {d.id for d in DOCS}
    assert {"herb-he-shou-wu", "herb-chan-su"} <= ids
    he_shou_wu = checklist(next(d for d in DOCS if d.id == "herb-he-shou-wu"))
    assert he_shou_wu["Liver and kidney"][0] in ("Contraindicated", "Avoid", "Caution")
    chan_su = checklist(next(d for d in DOCS if d.id == "herb-chan-su"))
    assert "digoxin" in chan_su["Drug interactions"][1].lower()


def test_time_sensitive_regulatory_claims_carry_a_date():
    for doc in CHECKED:
        status, text = checklist(doc)["Regulatory status and doping"]
        if status != "No specific caution recorded":
            assert re.search(r"\b(?:1[89]|20)\d\d\b", text), (
                f"{doc.id}: a regulatory status needs the year it was true ('as of 2024')"
            )


@pytest.mark.parametrize("doc", [d for d in DOCS if d.category == "herb"], ids=lambda d: d.id)
def test_a_herbs_pregnancy_status_is_the_same_in_every_document(doc):
    status = checklist(doc)["Pregnancy"][0]
    expected = {"Contraindicated": "strict", "Avoid": "strict", "Caution": "caution"}.get(status)
    for source, clause, says in pregnancy_claims(DOCS, herb_name(doc)):
        assert expected is not None, (
            f"{doc.id} records no pregnancy caution, but {source} says: {clause!r}"
        )
        assert says == expected, (
            f"{doc.id}'s checklist says {status!r} in pregnancy, but {source} says: {clause!r}"
        )


def test_the_consistency_check_catches_a_herb_described_two_ways():
    fu_zi = next(d for d in DOCS if d.id == "herb-fu-zi")
    contradiction = parse_document(
        "---\nid: test-contradiction\ntitle: T\ntradition: tcm\ncategory: safety\n"
        "references: [{work: W}]\nreviewed: 2026-11-30\n---\n"
        "## Pregnancy\nFu Zi is forbidden in pregnancy.\n",
        "mem://test-contradiction.md",
    )
    claims = pregnancy_claims([contradiction], herb_name(fu_zi))
    assert claims == [("test-contradiction", "Fu Zi is forbidden in pregnancy.", "strict")]
    assert checklist(fu_zi)["Pregnancy"][0] == "Caution"
    # The real corpus gives the comparison something to compare: the pregnancy document's lists.
    assert ("safety-pregnancy", "caution") in {
        (source, says) for source, _, says in pregnancy_claims(DOCS, herb_name(fu_zi))
    }
