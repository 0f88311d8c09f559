"""Which subject a conversation is about after a turn (no model, no I/O)."""

from wwhd.graphs.retrieval import named_source, subject_of


def _source(doc_id: str, title: str) -> dict:
    return {"doc_id": doc_id, "title": title, "section": "", "text": ""}


def test_the_subject_is_the_one_the_message_names_not_the_best_ranked_passage():
    sources = [_source("herb-a", "Bu Gu Zhi (补骨脂, Psoralea Fruit)"),
               _source("point-b", "He Gu (合谷, LI-4)")]
    assert subject_of(named_source(sources, ("point-b",))["title"]) == "He Gu"


def test_without_a_named_subject_the_best_passage_sets_it():
    sources = [_source("herb-a", "Bu Gu Zhi (补骨脂, Psoralea Fruit)"),
               _source("point-b", "He Gu (合谷, LI-4)")]
    assert named_source(sources, ())["doc_id"] == "herb-a"
    assert named_source(sources, ("not-retrieved",))["doc_id"] == "herb-a"
