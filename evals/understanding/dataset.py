"""The question-understanding dataset (`evals/understanding/data/*.jsonl`): loading and checks.

One row per user message, labelled with the route the router should take and, for red flags,
the kind of emergency. Rows of one *template family* (a scenario and its paraphrases) are always
in the same split, so no test message paraphrases a training one. See `data/README.md`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from wwhd.graphs.state import RED_FLAG_KINDS, ROUTES

DATA_DIR = Path(__file__).resolve().parent / "data"
SPLITS = ("train", "dev", "test")
INJECTION = "injection"


@dataclass(frozen=True)
class Message:
    """One labelled user message, with the conversation before it (if any)."""

    text: str
    route: str
    kind: str | None
    style: str
    lang: str
    family: str
    split: str = ""
    history: tuple[dict, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        """The classifier's class: the route, with injections apart from other out-of-scope."""
        return INJECTION if self.kind == INJECTION else self.route

    @property
    def is_follow_up(self) -> bool:
        """A message whose route comes from the conversation, not from its own words."""
        return self.style == "follow_up" and bool(self.history)


def parse_row(raw: dict, where: str) -> Message:
    """Validate one JSON row; the error names the file, line and field."""
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: 'text' must be a non-empty string")
    route = raw.get("route")
    if route not in ROUTES:
        raise ValueError(f"{where}: 'route' must be one of {', '.join(ROUTES)}")
    kind = raw.get("kind")
    if route == "red_flag" and kind not in RED_FLAG_KINDS:
        raise ValueError(f"{where}: a red flag needs 'kind', one of {', '.join(RED_FLAG_KINDS)}")
    if route != "red_flag" and kind not in (None, INJECTION):
        raise ValueError(f"{where}: 'kind' is null or '{INJECTION}' unless the route is red_flag")
    if kind == INJECTION and route != "out_of_scope":
        raise ValueError(f"{where}: an injection's route is out_of_scope")
    history = raw.get("history") or []
    for turn in history:
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant"):
            raise ValueError(f"{where}: 'history' turns need role user|assistant and content")
    for name in ("style", "lang", "family"):
        if not raw.get(name):
            raise ValueError(f"{where}: '{name}' is required")
    return Message(
        text=text, route=route, kind=kind, style=raw["style"], lang=raw["lang"],
        family=raw["family"], split=raw.get("split", ""), history=tuple(history),
    )


def load_split(split: str, directory: Path = DATA_DIR) -> list[Message]:
    """Every message of one split, in file order."""
    path = directory / f"{split}.jsonl"
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            rows.append(parse_row({**json.loads(line), "split": split}, f"{path.name}:{number}"))
    return rows


def load_splits(splits: tuple[str, ...] = SPLITS, directory: Path = DATA_DIR) -> list[Message]:
    """Messages of several splits; a family found in two splits is an error."""
    messages = [m for split in splits for m in load_split(split, directory)]
    where: dict[str, str] = {}
    for message in messages:
        if where.setdefault(message.family, message.split) != message.split:
            raise ValueError(
                f"family {message.family} is in both {where[message.family]} and "
                f"{message.split}: re-split with `python -m evals.understanding.split`"
            )
    return messages


def to_row(message: Message) -> dict:
    """The JSON row of a message (without its split, which the file name gives)."""
    row = {
        "text": message.text, "route": message.route, "kind": message.kind,
        "style": message.style, "lang": message.lang, "family": message.family,
    }
    if message.history:
        row["history"] = list(message.history)
    return row
