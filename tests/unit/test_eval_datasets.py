"""The answer eval cases hold together with the corpus they are scored against."""

from pathlib import Path

import pytest

from wwhd.evals.dataset import DATASETS_DIR, load_cases
from wwhd.evals.evaluators import normalize
from wwhd.tools.documents import iter_markdown_files, parse_document

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
SPLITS = sorted(path.stem for path in DATASETS_DIR.glob("*.jsonl"))


@pytest.fixture(scope="module")
def documents() -> dict[str, str]:
    docs = (parse_document(path.read_text(encoding="utf-8"), str(path))
            for path in iter_markdown_files(CORPUS))
    return {doc.id: normalize(f"{doc.title}\n{doc.body}") for doc in docs}


@pytest.mark.parametrize("split", SPLITS)
def test_gold_documents_exist_and_hold_every_key_point(split, documents):
    problems = []
    for case in load_cases((split,)):
        missing = [d for d in case.gold_doc_ids if d not in documents]
        if missing:
            problems.append(f"{case.id}: unknown gold documents {missing}")
            continue
        gold_text = " ".join(documents[d] for d in case.gold_doc_ids)
        for variants in case.key_points:
            if not any(normalize(v) in gold_text for v in variants):
                problems.append(f"{case.id}: no gold document says any of {list(variants)}")
        if case.not_covered and (case.gold_doc_ids or case.key_points):
            problems.append(f"{case.id}: a not-covered case has gold documents or key points")
    assert not problems, "\n".join(problems)


def test_case_ids_are_unique_across_splits():
    load_cases(tuple(SPLITS))  # raises on a duplicate id
