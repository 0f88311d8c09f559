"""Cutting passages into quotes and reading safety-checklist items (no model, no I/O)."""

import numpy as np

from wwhd.graphs.extractive import (
    ROUTE_PAIRS,
    Quote,
    _ranks,
    checklist_status,
    pair_columns,
    ranking_question,
    split_quotes,
)

CHECKLIST = """## Safety checklist
- **Pregnancy:** Avoid. It has caused liver injury.
- **Bleeding and anticoagulants:** No specific caution recorded. Absence is not proof of safety.
- **Drug interactions:** Caution. It may add to warfarin.
"""


def test_checklist_items_say_whether_they_warn_or_record_nothing():
    items = [text for text, _ in split_quotes(CHECKLIST) if text.startswith("**")]
    assert [checklist_status(item) for item in items] == [(1.0, 0.0), (0.0, 1.0), (1.0, 0.0)]
    assert checklist_status("Avoid it in pregnancy, the text says.") == (0.0, 0.0)


def test_a_list_keeps_its_lead_in_and_a_checklist_item_stands_alone():
    quotes = split_quotes("Si Jun Zi Tang contains four herbs:\n- Ren Shen\n- Bai Zhu\n"
                          "- Fu Ling\n- Zhi Gan Cao\n\nIt tonifies the Spleen qi gently.")
    assert quotes[0] == ("Si Jun Zi Tang contains four herbs:\n- Ren Shen\n- Bai Zhu\n"
                         "- Fu Ling\n- Zhi Gan Cao", True)
    assert ("It tonifies the Spleen qi gently.", False) in quotes
    assert all(not is_list for _, is_list in split_quotes(CHECKLIST))


def test_ranks_put_the_largest_value_first_and_keep_ties_in_order():
    assert _ranks(np.array([0.2, 0.9, 0.5, 0.9])).tolist() == [3.0, 0.0, 2.0, 1.0]


def test_red_flag_answers_learn_their_own_headings_and_documents():
    sources = [{"doc_id": "safety-red-flags", "section": "When to call", "text": "",
                "title": "Red flags"}]
    quotes = [Quote(text="Call 911 for chest pain.", source_index=0, position=0)]
    plain = pair_columns("my chest hurts", sources, quotes)
    on_route = pair_columns("my chest hurts", sources, quotes, route="red_flag")
    assert "red_flag" in ROUTE_PAIRS
    assert on_route.sum() > plain.sum()
    assert (on_route >= plain).all()  # the question's own pairs are kept
    assert (pair_columns("my chest hurts", sources, quotes, route="tcm") == plain).all()


def test_quotes_are_ranked_against_the_follow_ups_query_but_a_red_flags_message():
    assert ranking_question("What are its cautions?", "Huang Qi: What are its cautions?",
                            "tcm") == "Huang Qi: What are its cautions?"
    message = "my dad's face is drooping"
    assert ranking_question(message, f"{message} stroke: face, arm, speech", "red_flag") == message
    assert ranking_question(message, "", "tcm") == message
