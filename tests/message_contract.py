"""The assistant-message contract (docs/message-metadata.schema.json), as clients read it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema

SCHEMA = json.loads(
    (Path(__file__).resolve().parent.parent / "docs" / "message-metadata.schema.json").read_text()
)
CITATION = re.compile(r"\[(\d+)\]")


def check_answer_message(message: dict) -> dict:
    """Assert that an assistant message (as JSON over the API) keeps the contract; return it."""
    contract = (message.get("response_metadata") or {}).get("wwhd")
    assert contract is not None, f"no response_metadata.wwhd on {message!r}"
    jsonschema.validate(contract, SCHEMA)
    before = [n["text"] for n in contract["notes"] if n["placement"] == "before"]
    after = [n["text"] for n in contract["notes"] if n["placement"] == "after"]
    parts = [*before, *([contract["body"]] if contract["body"] else []), *after]
    assert message["content"] == "\n\n".join(parts), "content is not notes + body + notes"
    cited = {int(n) for n in CITATION.findall(contract["body"])}
    by_number = {source["n"]: source for source in contract["sources"]}
    assert cited <= set(by_number), f"[n] without a source: {cited - set(by_number)}"
    assert {n for n, s in by_number.items() if s["cited"]} == cited
    assert sorted(by_number) == list(range(1, len(by_number) + 1))
    return contract
