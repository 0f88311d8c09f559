"""Graph state: plain TypedDicts of plain values, so checkpoints (de)serialize everywhere."""

from __future__ import annotations

from typing import Annotated, Literal, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

from tools.store import Source

Route = Literal["tcm", "shaolin", "general", "out_of_scope", "red_flag", "clarify"]
ROUTES: tuple[str, ...] = Route.__args__  # type: ignore[attr-defined]
RETRIEVAL_ROUTES = ("tcm", "shaolin", "red_flag")
RedFlagKind = Literal[
    "stroke", "cardiac", "breathing", "allergy", "bleeding", "pregnancy", "fever_infection",
    "poisoning", "heat_stroke", "self_harm", "collapse", "injury", "abdominal",
]
RED_FLAG_KINDS: tuple[str, ...] = RedFlagKind.__args__  # type: ignore[attr-defined]


class InputState(TypedDict):
    """What a client sends: the new message(s)."""

    messages: Annotated[list[AnyMessage], add_messages]


class State(InputState, total=False):
    """The whole conversation state; the run's final state is what clients and evals read.

    `route` and `sources` describe the latest turn; `topic` carries the subject of the last
    answered question into the next turn, so follow-ups ("and its cautions?") stay on it.
    """

    route: Route
    route_reason: str
    red_flag: str | None  # the emergency kind when route is red_flag
    possible_red_flag: str | None  # a possible emergency: the answer opens with urgent care
    tradition: str | None
    query: str
    sources: list[Source]
    topic: str
    error: str | None


__all__ = [
    "RED_FLAG_KINDS", "InputState", "RETRIEVAL_ROUTES", "ROUTES", "RedFlagKind", "Route",
    "Source", "State",
]
