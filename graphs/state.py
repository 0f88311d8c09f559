"""Graph state: plain TypedDicts of plain values, so checkpoints (de)serialize everywhere."""

from __future__ import annotations

from typing import Annotated, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

from wwhd.core.types import (
    RED_FLAG_KINDS,
    RETRIEVAL_ROUTES,
    ROUTES,
    RedFlagKind,
    Route,
    RouteReason,
    Source,
)


class InputState(TypedDict):
    """What a client sends: the new message(s)."""

    messages: Annotated[list[AnyMessage], add_messages]


class State(InputState, total=False):
    """The whole conversation state; the run's final state is what clients and evals read.

    `route` and `sources` describe the latest turn; `topic` carries the subject of the last
    answered question into the next turn, so follow-ups ("and its cautions?") stay on it.
    """

    route: str  # a Route value
    route_reason: str  # a RouteReason value: which layer decided, or what was wrong
    red_flag: str | None  # the emergency kind when route is red_flag
    possible_red_flag: str | None  # a possible emergency: the answer opens with urgent care
    tradition: str | None
    query: str
    sources: list[Source]
    topic: str
    error: str | None


__all__ = [
    "RED_FLAG_KINDS", "InputState", "RETRIEVAL_ROUTES", "ROUTES", "RedFlagKind", "Route",
    "RouteReason", "Source", "State",
]
