"""Question understanding: the layers, their union, the artefact and the gate on the test split.

No knowledge base is needed: the router reads the trained artefact in graphs/model/ and the
bundled e5 embedding.
"""

import copy
import dataclasses
import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from langchain_core.messages import AIMessage, HumanMessage

from wwhd.evals.understanding import evaluate as understanding
from wwhd.evals.understanding.dataset import load_splits
from wwhd.graphs import classifier as classifier_module
from wwhd.graphs.classifier import MODEL_DIR, QuestionClassifier, bundled_classifier
from wwhd.graphs.context import Context
from wwhd.graphs.dependencies import Dependencies
from wwhd.graphs.patterns import injection_pattern, red_flag_pattern
from wwhd.graphs.router import Judgement, Reading, decide, route_question
from wwhd.graphs.vocabulary import VOCABULARY_FILE, Vocabulary, build_vocabulary

NO_MODEL = SimpleNamespace(context=Context(chat_model="extractive"))


def route(*turns: str) -> dict:
    state: dict = {"messages": []}
    for turn in turns:
        state["messages"].append(HumanMessage(content=turn))
        state.update(route_question(state, NO_MODEL))
        state["messages"].append(AIMessage(content="(answer)"))
    return state


@pytest.fixture(scope="module")
def test_split_scores():
    return understanding.evaluate("test", progress=False)


def test_the_test_split_passes_the_router_gate(test_split_scores, tmp_path):
    scores, results = test_split_scores
    report = understanding.write_report(scores, results, tmp_path)
    assert "## Routes" in report.read_text() and "## Red-flag kinds" in report.read_text()
    passed, table = understanding.check_gate(scores["summary"])
    assert passed, "\n" + table


def test_a_degraded_classifier_fails_the_gate_naming_red_flag_recall():
    # Thresholds no message reaches: only the pattern layer is left to find emergencies.
    blind = copy.copy(bundled_classifier())
    blind.thresholds = dataclasses.replace(blind.thresholds, red_flag=1.01,
                                           possible_red_flag=1.01)
    context = Context(chat_model="extractive", dependencies=Dependencies(classifier=blind))
    messages = [m for m in load_splits(("test",)) if m.route == "red_flag"][:60]
    results = [understanding.route_message(m, context) for m in messages]
    passed, table = understanding.check_gate(understanding.score(results)["summary"])
    assert not passed
    assert "FAILED: red_flag_recall" in table


def read(verdict, model=None, pattern=None):
    return Reading(verdict, None, verdict.red_flag, pattern, False, model)


def test_a_red_flag_from_any_layer_counts_and_the_model_never_removes_one():
    classifier = bundled_classifier()
    state = {"messages": [HumanMessage(content="x")]}
    decide_ = lambda reading: decide(reading, state, classifier, "x")  # noqa: E731
    alarmed = Judgement(route="tcm", emergency=True, emergency_kind="cardiac", injection=False)
    calm_model = Judgement(route="tcm", emergency=False, injection=False)

    calm = classifier.classify("What is Huang Qi used for?")
    assert calm.red_flag < classifier.thresholds.possible_red_flag
    alone = decide_(read(calm, alarmed))  # the model alone: the urgent-care line, not the route
    assert alone["route"] == "tcm" and alone["possible_red_flag"] == "cardiac"

    unsure = dataclasses.replace(calm, red_flag=classifier.thresholds.possible_red_flag)
    agreed = decide_(read(unsure, alarmed))  # model and classifier agree: the emergency route
    assert agreed["route"] == "red_flag" and agreed["route_reason"] == "red_flag:model"
    assert agreed["red_flag"] == "cardiac"
    assert decide_(read(unsure))["route"] != "red_flag"
    assert decide_(read(unsure))["possible_red_flag"]

    urgent = classifier.classify("my dad's face drooped on one side and he can't lift his arm")
    assert decide_(read(urgent, calm_model))["route"] == "red_flag"  # never removed
    by_pattern = decide_(read(calm, pattern="self_harm"))
    assert by_pattern["route"] == "red_flag" and by_pattern["red_flag"] == "self_harm"


def test_every_turn_is_checked_and_an_emergency_told_over_two_turns_is_caught():
    state = route("what does tcm say about chest tightness", "it started twenty minutes ago and "
                  "now it's going into my jaw and i'm sweating buckets")
    assert state["route"] == "red_flag"


def test_follow_ups_keep_the_conversation_and_greetings_are_small_talk():
    assert route("What is Huang Qi used for?", "what are its cautions?")["route"] == "tcm"
    assert route("How do I train the horse stance?", "how long should I hold it?")["route"] \
        == "shaolin"
    assert route("hello!")["route"] == "general"
    assert route("Is it safe?")["route"] == "clarify"


@pytest.mark.parametrize("text", [
    "What are the warning signs of a stroke?",
    "I fainted once at a concert last year, what does TCM say about weak qi?",
    "this horse stance is murder on my thighs lol",
])
def test_look_alikes_do_not_take_the_emergency_route(text):
    assert route(text)["route"] != "red_flag"


def test_the_patterns_match_nothing_of_another_label_in_train_and_dev():
    messages = load_splits(("train", "dev"))
    wrong_flags = [m.text for m in messages if red_flag_pattern(m.text) and m.route != "red_flag"]
    wrong_injections = [m.text for m in messages
                        if injection_pattern(m.text) and m.kind != "injection"]
    assert wrong_flags == [] and wrong_injections == []


def test_the_vocabulary_is_generated_from_the_corpus_and_matches_names_in_any_form():
    generated = build_vocabulary(MODEL_DIR.parents[1] / "corpus")
    committed = Vocabulary.load(VOCABULARY_FILE)
    assert (generated.terms, generated.subjects) == (committed.terms, committed.subjects), (
        "graphs/model/vocabulary.json is stale: run `wwhd train-router`"
    )
    for text in ("huangqi for colds", "黄芪的功效", "Astragali Radix", "astragalus root",
                 "Huáng Qí", "huang qii"):
        assert "herb-huang-qi" in generated.match(text).names, text
    # A document's `aliases` are names too: the common names people type.
    for text, doc_id in (("is dong quai ok with warfarin", "herb-dang-gui"),
                         ("why is pinellia processed", "herb-ban-xia"),
                         ("licorice and digoxin", "herb-gan-cao")):
        assert doc_id in generated.match(text).names, text
    assert generated.match("write a python web scraper").names == ()


def test_the_artefact_loads_without_scikit_learn_and_refuses_a_mismatch(tmp_path):
    with pytest.raises(classifier_module.ClassifierUnavailable, match="wwhd train-router"):
        QuestionClassifier.load(lambda text: np.zeros(384, np.float32), tmp_path)
    for name in ("router.npz", "vocabulary.json"):
        (tmp_path / name).write_bytes((MODEL_DIR / name).read_bytes())
    meta = json.loads((MODEL_DIR / "router.json").read_text())
    (tmp_path / "router.json").write_text(json.dumps({**meta, "ngram_dim": 7}))
    with pytest.raises(classifier_module.ClassifierUnavailable, match="n-gram buckets"):
        QuestionClassifier.load(lambda text: np.zeros(384, np.float32), tmp_path)


def test_the_committed_artefact_is_what_the_training_command_produces(tmp_path):
    from wwhd.evals.understanding.train import train

    meta = json.loads((MODEL_DIR / "router.json").read_text())
    retrained = train(tmp_path, MODEL_DIR.parents[1] / "corpus", progress=False,
                      c_grid=(meta["C"],))
    assert retrained["data_sha256"] == meta["data_sha256"], "the training data changed: retrain"
    for name, value in meta["thresholds"].items():
        assert retrained["thresholds"][name] == pytest.approx(value, abs=0.02), name
    committed, fresh = bundled_classifier(), QuestionClassifier.load(
        bundled_classifier().embed, tmp_path)
    dev = [m.text for m in load_splits(("dev",))][:150]
    same = [committed.classify(t).best(committed.route_head.classes)[0]
            == fresh.classify(t).best(fresh.route_head.classes)[0] for t in dev]
    assert np.mean(same) >= 0.98


def test_the_server_side_needs_no_training_libraries():
    # The image installs the runtime dependencies only: no scikit-learn or scipy there.
    code = (
        "import sys; sys.modules.update(sklearn=None, scipy=None)\n"
        "from wwhd.cli import build_parser; build_parser()\n"
        "import graphs.wwhd\n"
        "from wwhd.graphs.classifier import bundled_classifier\n"
        "print(bundled_classifier().classify('hello there').probabilities['general'] > 0.5)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, cwd=MODEL_DIR.parents[1])
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "True"
