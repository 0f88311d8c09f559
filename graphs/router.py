"""The router: deterministic safety and input checks first, then the topic decision.

Order matters: unusable input, then medical red flags, then prompt injection, and only then the
topic: by the vocabulary rules and the conversation, and, where the rules find no domain words, by
the chat model when one is configured (function-calling structured output, which small local
models manage); the rules' answer stands when the model fails.
"""

from __future__ import annotations

import logging
from typing import Literal

from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from graphs import prompts, rules
from graphs.context import Context
from graphs.conversation import latest_user_text, recent_history
from graphs.models import chat_model_for, forget_models, internal
from graphs.state import InputState, State

log = logging.getLogger(__name__)

# A short message that leans on a missing context ("Is it safe?") asks for clarification; a
# longer one without domain words is simply about something else.
VAGUE_MAX_WORDS = 8
# In a conversation, a very short question without domain words ("Did anything survive?")
# continues it; switching tradition without naming a subject takes this many domain words.
FOLLOW_UP_MAX_WORDS = 4
TOPIC_SWITCH_MIN_TERMS = 2
UNCERTAIN_RULE_REASONS = ("no_domain_terms", "vague")


class RouteDecision(BaseModel):
    """Where the latest user message belongs."""

    route: Literal["tcm", "shaolin", "general", "out_of_scope", "clarify"] = Field(
        description="tcm, shaolin, general (small talk), out_of_scope, or clarify (too vague)"
    )


def _decision(route: str, reason: str, tradition: str | None = None, **extra) -> dict:
    # Each turn starts clean: sources and errors describe the latest turn only.
    return {
        "route": route,
        "route_reason": reason,
        "tradition": tradition,
        "red_flag": None,
        "sources": [],
        "query": "",
        "error": None,
        **extra,
    }


def route_by_rules(text: str, state: State) -> dict:
    """Topic decision from the vocabulary and the previous turn, with no model."""
    score = rules.domain_score(text)
    previous = state.get("route")
    in_topic = bool(state.get("topic")) and previous in ("tcm", "shaolin")
    words = len(text.split())
    if score.tradition is None:
        if rules.is_greeting(text):
            return _decision("general", "greeting")
        if in_topic and (rules.is_follow_up(text) or words <= FOLLOW_UP_MAX_WORDS):
            return _decision(previous, "follow_up", previous)
        if words <= 2 or (rules.is_follow_up(text) and words <= VAGUE_MAX_WORDS):
            return _decision("clarify", "vague")
        return _decision("out_of_scope", "no_domain_terms")
    if in_topic and not score.names_entity:
        other_side = score.tcm if previous == "shaolin" else score.shaolin
        if other_side < TOPIC_SWITCH_MIN_TERMS:
            # Weak evidence does not move a conversation: "I have high blood pressure, anything
            # to watch out for?" after a qigong question is still about qigong, and "is it safe
            # with warfarin?" after a herb question is about that herb.
            return _decision(previous, "follow_up", previous)
    if score.conventional_drug and not score.tcm_core and not score.shaolin:
        return _decision("out_of_scope", "conventional_medicine")
    return _decision(score.tradition, "vocabulary", None if score.mixed else score.tradition)


def route_by_model(text: str, state: State, context: Context) -> dict | None:
    """Topic decision by the chat model; None when there is no model or it failed."""
    model = chat_model_for(context)
    if model is None:
        return None
    system = prompts.ROUTER_SYSTEM.format(scope=prompts.ASSISTANT_SCOPE)
    try:
        decision = internal(
            model.with_structured_output(RouteDecision, method="function_calling")
        ).invoke(
            [("system", system), *recent_history(state["messages"]), ("human", text)]
        )
    except Exception as exc:  # the rules are the fallback for any model failure
        log.warning("router model failed, using rules: %s", exc)
        forget_models()
        return None
    if not isinstance(decision, RouteDecision):
        return None
    tradition = decision.route if decision.route in ("tcm", "shaolin") else None
    return _decision(decision.route, "model", tradition)


def route_question(state: State, runtime: Runtime[Context]) -> dict:
    """Decide the route of the latest user message."""
    context = runtime.context or Context()
    text = latest_user_text(state["messages"])
    if text is None:
        return _decision("clarify", "non_text")
    if not text.strip():
        return _decision("clarify", "empty")
    if len(text) > context.max_message_chars:
        return _decision("clarify", "too_long")
    flag = rules.red_flag(text)
    if flag:
        return _decision("red_flag", f"red_flag:{flag}", red_flag=flag)
    if rules.is_injection(text):
        return _decision("out_of_scope", "prompt_injection")
    by_rules = route_by_rules(text, state)
    # The rules are decisive when they found the domain or the conversation's thread; the model
    # settles what they could not place (no domain words: out of scope, or vocabulary they lack).
    if by_rules["route_reason"] not in UNCERTAIN_RULE_REASONS:
        return by_rules
    return route_by_model(text, state, context) or by_rules


graph = (
    StateGraph(State, context_schema=Context, input_schema=InputState)
    .add_node("router", route_question)
    .add_edge(START, "router")
    .compile(name="router")
)
