"""The assistant message a client receives: its text, streamed as it is written, and its metadata.

Every assistant message carries, in `response_metadata["wwhd"]` (the contract, with a JSON
schema in `docs/message-metadata.schema.json`):

- `body`: the answer itself, without notes;
- `notes`: the urgent-care guidance, the safety note, the extractive preface, the uncited flag
  and the fallback notices, each `{kind, placement, text}`, so a client can style them;
- `sources`: the passages its `[n]` citations point at (`n`, id, document, title, section,
  score, text, references), so any turn's citations resolve from the message alone;
- `route` and `mode` (how the body was written).

`content` is the whole reply as plain Markdown (notes before, body, notes after), so a client that
reads only the text, such as an unmodified chat UI, still shows the urgent-care guidance first and
the safety note last. What goes back to a chat model as history is the `body` only: notes are
never fed back, so they cannot be copied into a later answer and appended twice.

The text streams in the `messages` stream mode as it is written (a note, a quote, a checked piece
of a generated answer), under the same message id as the final message; the pieces add up to
exactly the final `content`, so a client's streamed text never jumps.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langgraph.config import get_config
from langgraph.graph.message import push_message

from wwhd.core.types import Source

log = logging.getLogger(__name__)

METADATA_KEY = "wwhd"
CONTRACT_VERSION = 1
SEPARATOR = "\n\n"


class NoteKind(StrEnum):
    """What a note is, so a client can style it."""

    RED_FLAG = "red_flag"  # urgent-care guidance for an emergency: always first
    POSSIBLE_RED_FLAG = "possible_red_flag"  # one line of urgent care above a normal answer
    EXTRACTIVE = "extractive"  # the body quotes the knowledge base (no chat model)
    MODEL_DOWN = "model_down"  # the chat model failed; the body quotes instead
    UNCITED = "uncited"  # a generated body cites no passage
    SOURCES = "sources"  # the cited passages as a Markdown list (when asked for in the text)
    SAFETY = "safety"  # educational, not medical advice


class Mode(StrEnum):
    """How the body was written."""

    GENERATED = "generated"  # by the chat model, citations checked
    EXTRACTIVE = "extractive"  # quotes of the passages
    NOT_COVERED = "not_covered"  # the knowledge base has no evidence for the question
    FIXED = "fixed"  # a fixed reply (greeting, refusal, bad input, store down, nothing found)


Placement = Literal["before", "after"]


@dataclass
class Reply:
    """An assistant message written piece by piece, each piece streamed as it is added."""

    route: str
    sources: list[Source] = field(default_factory=list)
    id: str = field(default_factory=lambda: f"wwhd-{uuid.uuid4()}")
    mode: Mode = Mode.FIXED
    notes: list[dict[str, str]] = field(default_factory=list)
    body_parts: list[str] = field(default_factory=list)
    cited: list[int] = field(default_factory=list)  # the [n] the body cites
    _content: list[str] = field(default_factory=list)
    _streaming: bool = field(default=True)
    _separate: bool = field(default=False)  # the begun paragraph's first piece opens with one

    def note(self, kind: NoteKind, text: str) -> None:
        """Add a note where the reply has got to: before the body, or after it once it began."""
        placement: Placement = "after" if any(self.body_parts) else "before"
        self.notes.append({"kind": kind.value, "placement": placement, "text": text})
        self._write(text, new_paragraph=True)

    def paragraph(self, text: str) -> None:
        """Add a whole paragraph of the body."""
        self.body_parts.append(text)
        self._write(text, new_paragraph=True)

    def begin_paragraph(self) -> None:
        """Start a body paragraph that `extend` writes piece by piece."""
        self.body_parts.append("")
        # Written with the first piece, so a paragraph that stays empty leaves no blank line.
        self._separate = bool(self._content)

    def extend(self, piece: str) -> None:
        """Append a piece to the paragraph `begin_paragraph` started."""
        if not piece:
            return
        self.body_parts[-1] += piece
        self._write(piece, new_paragraph=self._separate)
        self._separate = False

    @property
    def body(self) -> str:
        """The answer without its notes."""
        return SEPARATOR.join(part for part in self.body_parts if part)

    @property
    def content(self) -> str:
        """The whole reply as one Markdown text: what was streamed, piece by piece."""
        return "".join(self._content)

    def message(self, **kwargs) -> AIMessage:
        """The final message: the streamed text, with the contract in its metadata."""
        metadata = {
            "version": CONTRACT_VERSION,
            # Plain strings only: an enum here would be pickled into the checkpoint as a type.
            "route": str(self.route),
            "mode": self.mode.value,
            "body": self.body,
            "notes": self.notes,
            "sources": cited_sources(self.sources, self.cited),
        }
        return AIMessage(
            id=self.id,
            content=self.content,
            response_metadata={METADATA_KEY: metadata},
            **kwargs,
        )

    def _write(self, text: str, *, new_paragraph: bool) -> None:
        piece = (SEPARATOR + text) if new_paragraph and self._content else text
        self._content.append(piece)
        if self._streaming:
            self._streaming = stream_piece(self.id, piece)


def cited_sources(sources: list[Source], cited: list[int]) -> list[dict]:
    """Every numbered passage with its `n` (1-based, as in `[n]`) and whether the text cites it."""
    numbers = set(cited)
    return [
        {"n": n, "cited": n in numbers, **passage}
        for n, passage in enumerate(sources, start=1)
    ]


def sources_list(sources: list[Source], cited: list[int]) -> str:
    """The cited passages as a Markdown list: "[n] title, section"."""
    lines = [f"- [{n}] {sources[n - 1]['title']}, {sources[n - 1]['section']}"
             for n in sorted(cited) if 1 <= n <= len(sources)]
    return "**Sources**\n\n" + "\n".join(lines)


def stream_piece(message_id: str, piece: str) -> bool:
    """Send one piece of text to the run's `messages` stream; False when nothing listens.

    Outside a graph run (a node called directly) there is no stream, and that is not an error.
    """
    try:
        get_config()
    except RuntimeError:
        return False
    try:
        push_message(AIMessageChunk(id=message_id, content=piece), state_key=None)
    except (KeyError, TypeError, UnboundLocalError) as exc:
        # push_message needs the run's callbacks; a run started without any has no stream.
        log.debug("not streaming the reply: %s", exc)
        return False
    return True


def body_of(message: BaseMessage) -> str | None:
    """The answer text of an assistant message without its notes (None if it has no contract)."""
    metadata = (message.response_metadata or {}).get(METADATA_KEY)
    if isinstance(metadata, dict) and isinstance(metadata.get("body"), str):
        return metadata["body"]
    return None
