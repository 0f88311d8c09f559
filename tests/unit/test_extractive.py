"""Cutting passages into quotes and reading safety-checklist items (no model, no I/O)."""

from wwhd.graphs.extractive import checklist_status, split_quotes

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
