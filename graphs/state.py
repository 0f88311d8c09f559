"""Graph state: plain TypedDicts of plain values, so checkpoints (de)serialize everywhere."""

from __future__ import annotations

from typing import Annotated, Literal, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

from tools.store import Source

Route = Literal["tcm", "shaolin", "general", "out_of_scope", "red_flag", "clarify"]
ROUTES: tuple[str, ...] = Route.__args__  # type: ignore[attr-defined]
RETRIEVAL_ROUTES = ("tcm", "shaolin", "red_flag")


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
    red_flag: str | None
    tradition: str | None
    query: str
    sources: list[Source]
    topic: str
    error: str | None


__all__ = ["InputState", "RETRIEVAL_ROUTES", "ROUTES", "Route", "Source", "State"]
