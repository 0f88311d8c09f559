"""Which subject a turn is about, and the name it is searched by (no model; the bundled
vocabulary file)."""

from wwhd.graphs.retrieval import named_source, subject_of, with_subject_names
from wwhd.graphs.vocabulary import bundled_vocabulary


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


def test_a_subject_named_another_way_is_searched_by_its_own_name_too():
    vocabulary = bundled_vocabulary()

    def searched(text: str) -> str:
        return with_subject_names(text, vocabulary, vocabulary.match(text).names)

    assert searched("What are goji berries good for?") == (
        "What are goji berries good for? (Gou Qi Zi)")
    assert "(He Gu)" in searched("Where is LI4?")
    # Named by its own name already, or a topic rather than a named subject: unchanged.
    for text in ("What is Gou Qi Zi used for?", "What are the main jobs of the Liver?",
                 "Can I stop my blood pressure medication and use Chinese herbs instead?"):
        assert searched(text) == text
