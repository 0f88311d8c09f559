"""Shared types: routes, the reasons behind them, red-flag kinds and retrieved passages.

Values stored in graph state are plain strings (the enums are `StrEnum`, so `Route.TCM == "tcm"`),
which keeps checkpoints readable by any client and by older code.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, NotRequired, TypedDict


class Route(StrEnum):
    """Where the router sends a message."""

    TCM = "tcm"
    SHAOLIN = "shaolin"
    GENERAL = "general"  # small talk
    OUT_OF_SCOPE = "out_of_scope"
    RED_FLAG = "red_flag"  # a medical emergency: the safe answer
    CLARIFY = "clarify"  # too vague, empty, unreadable or too long


ROUTES: tuple[str, ...] = tuple(route.value for route in Route)
IN_DOMAIN_ROUTES: tuple[Route, ...] = (Route.TCM, Route.SHAOLIN)
# Routes that search the knowledge base before answering.
RETRIEVAL_ROUTES: frozenset[Route] = frozenset({Route.TCM, Route.SHAOLIN, Route.RED_FLAG})
# What the topic reading chooses between (the emergency route is decided apart, safety first).
TOPIC_ROUTES: tuple[Route, ...] = (
    Route.TCM, Route.SHAOLIN, Route.GENERAL, Route.OUT_OF_SCOPE, Route.CLARIFY,
)


class RouteReason(StrEnum):
    """Why the router chose the route: which layer decided, or what was wrong with the input."""

    CLASSIFIER = "classifier"
    MODEL = "model"
    FOLLOW_UP = "follow_up"
    RED_FLAG_PATTERN = "red_flag:pattern"
    RED_FLAG_CLASSIFIER = "red_flag:classifier"
    RED_FLAG_MODEL = "red_flag:model"
    PROMPT_INJECTION = "prompt_injection"
    EMPTY = "empty"
    NON_TEXT = "non_text"
    TOO_LONG = "too_long"


RedFlagKind = Literal[
    "stroke", "cardiac", "breathing", "allergy", "bleeding", "pregnancy", "fever_infection",
    "poisoning", "heat_stroke", "self_harm", "collapse", "injury", "abdominal",
]
RED_FLAG_KINDS: tuple[str, ...] = RedFlagKind.__args__  # type: ignore[attr-defined]


class Source(TypedDict):
    """A retrieved passage as the graphs and the API return it."""

    id: str
    doc_id: str
    title: str
    section: str
    tradition: str
    category: str
    score: float
    text: str
    # The works the passage's document cites (work, section, date, url) and when it was checked.
    references: NotRequired[list[dict[str, str]]]
    reviewed: NotRequired[str]
