"""Parsing and chunking of knowledge-base documents, and the bundled corpus itself."""

from pathlib import Path

import pytest

from wwhd.tools.documents import (
    CATEGORIES,
    DocumentError,
    chunk_document,
    iter_markdown_files,
    parse_document,
)

CORPUS = Path(__file__).resolve().parents[2] / "corpus"

HEAD = "---\nid: x1\ntitle: T\ntradition: tcm\ncategory: herb\n"
GOOD = """---
id: herb-test
title: Test Herb (测试)
tradition: tcm
category: herb
tags: [test, qi]
references:
  - work: "Bensky D, Clavey S, Stöger E. Chinese Herbal Medicine: Materia Medica, 3rd edition. 2004"
    section: Test Herb
  - work: A regulator's notice
    date: "2024-01-31"
    url: https://example.org/notice
reviewed: 2026-11-30
---

# Test Herb

## Overview
Test Herb is a test.

## Cautions
Test Herb is avoided in pregnancy.

## Cautions
A second section with the same heading.
"""


def test_parse_and_chunk_by_heading_with_stable_ids():
    doc = parse_document(GOOD, "mem://herb-test.md")
    chunks = chunk_document(doc, "model-a")
    assert [c.id for c in chunks] == [
        "herb-test#overview", "herb-test#cautions", "herb-test#cautions-2",
    ]
    assert chunks[1].text == "Test Herb is avoided in pregnancy."
    assert chunks[1].metadata()["tradition"] == "tcm"
    again = chunk_document(parse_document(GOOD, "mem://herb-test.md"), "model-a")
    assert [c.content_hash for c in again] == [c.content_hash for c in chunks]
    other_model = chunk_document(doc, "model-b")
    assert other_model[0].content_hash != chunks[0].content_hash
    # The references reach the payload (and so every retrieved passage), and count in the hash.
    assert chunks[0].metadata()["references"][1] == {
        "work": "A regulator's notice", "date": "2024-01-31", "url": "https://example.org/notice",
    }
    assert chunks[0].metadata()["reviewed"] == "2026-11-30"
    revised = chunk_document(parse_document(GOOD.replace("2026-11-30", "2027-01-02"),
                                            "mem://herb-test.md"), "model-a")
    assert revised[0].content_hash != chunks[0].content_hash


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no front matter", "no front matter"),
        ("---\nid: x\n", "not closed"),
        ("---\nid: [unclosed\n---\nbody", "not valid YAML"),
        ("---\ntitle: T\ntradition: tcm\ncategory: herb\n---\nbody", "lacks id"),
        ("---\nid: Bad Id\ntitle: T\ntradition: tcm\ncategory: herb\n---\nbody", "lower-case"),
        ("---\nid: x1\ntitle: T\ntradition: ayurveda\ncategory: herb\n---\nbody", "tradition"),
        ("---\nid: x1\ntitle: T\ntradition: tcm\ncategory: recipe\n---\nbody", "category"),
        ("---\nid: x1\ntitle: T\ntradition: tcm\ncategory: herb\n---\n   \n", "no text"),
        (f"{HEAD}reviewed: 2026-11-30\n---\nbody", "needs a 'references' list"),
        (f"{HEAD}references: [{{work: Standard textbooks}}]\nreviewed: 2026-11-30\n---\nbody",
         "names no specific work"),
        (f"{HEAD}references: [{{section: Huang Qi}}]\nreviewed: 2026-11-30\n---\nbody",
         "needs a 'work'"),
        (f"{HEAD}references: [{{work: W, page: 12}}]\nreviewed: 2026-11-30\n---\nbody",
         "unknown keys page"),
        (f"{HEAD}references: [{{work: W}}]\n---\nbody", "reviewed: YYYY-MM-DD"),
        (f"{HEAD}source: Standard textbooks\n---\nbody", "'source' line is replaced"),
        (f"{HEAD}aliases: {{a: b}}\nreferences: [{{work: W}}]\nreviewed: 2026-11-30\n---\nbody",
         "aliases must be a list"),
    ],
)
def test_malformed_documents_are_named_and_explained(text, message):
    with pytest.raises(DocumentError) as error:
        parse_document(text, "corpus/bad.md")
    assert "corpus/bad.md" in str(error.value)
    assert message in str(error.value)


def test_bundled_corpus_is_complete_and_valid():
    docs = [parse_document(p.read_text(), str(p)) for p in iter_markdown_files(CORPUS)]
    assert len(docs) >= 80
    assert len({d.id for d in docs}) == len(docs)
    for doc in docs:
        assert doc.id == Path(doc.uri).stem
        assert doc.references, f"{doc.id} names no references"
        assert len(chunk_document(doc, "m")) >= 3, f"{doc.id} has fewer than 3 sections"
    by_category = {c: sum(d.category == c for d in docs) for c in CATEGORIES}
    assert by_category["herb"] >= 25
    assert by_category["formula"] >= 10
    assert by_category["acupoint"] >= 15
    assert by_category["safety"] >= 4
    assert {d.tradition for d in docs} == {"tcm", "shaolin"}
