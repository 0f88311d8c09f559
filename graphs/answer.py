"""The answer step: a cited answer from the retrieved passages, and the direct replies.

With a chat model the answer is generated from the numbered passages and then checked: a
citation that points at no retrieved passage is removed, so `sources` and the answer agree.
Without one (or when it fails) the answer quotes the passages. Medical topics get a safety note;
red flags get urgent-care guidance before anything else.
"""

from __future__ import annotations

import logging
import re

from langchain_core.messages import AIMessage
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime

from wwhd.graphs import prompts
from wwhd.graphs.context import Context
from wwhd.graphs.conversation import FALLBACK_MARK, latest_user_text, recent_history
from wwhd.graphs.evidence import Evidence, weigh_evidence
from wwhd.graphs.extractive import choose_quotes, format_quotes
from wwhd.graphs.state import Route, RouteReason, Source, State
from wwhd.tools.retrieval import format_passages

log = logging.getLogger(__name__)

CITATION = re.compile(r"\[(\d+)\]")
NOT_COVERED = re.compile(r"\b(?:does not|doesn't|do not|don't) (?:cover|contain|mention)\b", re.I)
# Answers on these routes end with the safety note.
MEDICAL_ROUTES = frozenset({Route.TCM, Route.RED_FLAG})
# Direct replies: by what was wrong with the input first, else by route.
REPLIES_BY_REASON = {
    RouteReason.PROMPT_INJECTION: prompts.INJECTION_REPLY,
    RouteReason.EMPTY: prompts.EMPTY_MESSAGE_REPLY,
    RouteReason.NON_TEXT: prompts.NON_TEXT_REPLY,
    RouteReason.TOO_LONG: prompts.TOO_LONG_REPLY,
}
REPLIES_BY_ROUTE = {
    Route.GENERAL: prompts.GREETING_REPLY,
    Route.CLARIFY: prompts.CLARIFY_REPLY,
    Route.OUT_OF_SCOPE: prompts.OUT_OF_SCOPE_REPLY,
}


def check_citations(text: str, n_sources: int) -> tuple[str, list[int]]:
    """Drop citations that point at no passage; return the text and the cited numbers."""
    cited: list[int] = []

    def keep(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if 1 <= number <= n_sources:
            if number not in cited:
                cited.append(number)
            return match.group(0)
        log.info("removed citation [%s]: only %s passages were retrieved", number, n_sources)
        return ""

    return CITATION.sub(keep, text), cited


def says_not_covered(text: str) -> bool:
    """Whether an answer says the knowledge base does not cover the question."""
    return bool(NOT_COVERED.search(text))


def generate(state: State, context: Context, sources: list[Source]) -> str:
    """A generated, cited answer; raises when the model fails."""
    model = context.deps.chat_model(context.chat_model)
    if model is None:
        raise RuntimeError("generate() needs a chat model; the extractive answer has none")
    system = prompts.ANSWER_SYSTEM.format(
        scope=prompts.ASSISTANT_SCOPE, passages=format_passages(sources)
    )
    question = latest_user_text(state["messages"]) or ""
    history = recent_history(state["messages"])
    reply = model.invoke([("system", system), *history, ("human", question)])
    text = reply.content if isinstance(reply.content, str) else str(reply.content)
    text, cited = check_citations(text, len(sources))
    if not cited and not says_not_covered(text):
        # Flag rather than invent citations: the reader should know nothing was verified.
        text = f"{text.strip()}\n\n{prompts.UNCITED_FLAG}"
    return text.strip()


def answer(state: State, runtime: Runtime[Context]) -> dict:
    """Compose the answer for a retrieval route (tcm, shaolin, red_flag)."""
    context = runtime.context or Context()
    route = state.get("route", Route.TCM)
    sources = state.get("sources") or []
    parts: list[str] = []
    update: dict = {}
    if route == Route.RED_FLAG:
        parts.append(red_flag_guidance(state.get("red_flag")))
    else:
        parts.extend(possible_red_flag_note(state))
    error = state.get("error")
    if not sources:
        if error:
            parts.append(prompts.STORE_DOWN_REPLY.format(error=error))
        elif route != Route.RED_FLAG:
            parts.append(prompts.NO_PASSAGES_REPLY)
    elif route == Route.RED_FLAG:
        # Urgent-care guidance stands whatever the passages hold; they only add to it.
        parts.append(prompts.RED_FLAG_AFTER)
        parts.append(_quoted(_weigh(state, context, sources), context))
    elif not (evidence := _weigh(state, context, sources)).covered:
        log.info("not covered (evidence %.2f): %s", evidence.probability, state.get("query"))
        parts.append(not_covered_reply(sources))
        # Nothing is cited, and the unrelated passage must not become the follow-up's subject.
        update = {"sources": [], "topic": ""}
    elif context.deps.chat_model(context.chat_model) is not None:
        try:
            parts.append(generate(state, context, sources))
        except Exception as exc:
            log.error("answer model failed: %s", exc)
            context.deps.forget_models()
            error = f"chat model unavailable: {type(exc).__name__}"
            parts.append(prompts.MODEL_DOWN_REPLY.format(error=error))
            parts.append(_quoted(evidence, context))
    else:
        parts.append(prompts.EXTRACTIVE_PREFACE)
        parts.append(_quoted(evidence, context))
    if route in MEDICAL_ROUTES:
        parts.append(prompts.SAFETY_NOTE)
    # A reply written because something failed is kept out of later prompts: small models
    # otherwise copy "the model is not responding" into answers once it is back.
    marks = {FALLBACK_MARK: True} if error else {}
    return {
        "messages": [AIMessage(content="\n\n".join(parts), additional_kwargs=marks)],
        "error": error,
        **update,
    }


def not_covered_reply(sources: list[Source]) -> str:
    """Say the question is not covered, and name the nearest documents the knowledge base has."""
    nearest = ", ".join(dict.fromkeys(s["title"] for s in sources[:3]))
    return prompts.NOT_COVERED_REPLY.format(nearest=nearest)


def red_flag_guidance(kind: str | None) -> str:
    """The first paragraph of a red-flag answer: what to do now, for this kind of emergency."""
    return prompts.RED_FLAG_GUIDANCE.get(kind or "", prompts.RED_FLAG_GENERIC)


def possible_red_flag_note(state: State) -> list[str]:
    """One line of urgent-care guidance when the router saw a possible emergency."""
    kind = state.get("possible_red_flag")
    if not kind:
        return []
    return [prompts.POSSIBLE_SELF_HARM_NOTE if kind == "self_harm"
            else prompts.POSSIBLE_RED_FLAG_NOTE]


def _weigh(state: State, context: Context, sources: list[Source]) -> Evidence:
    question = latest_user_text(state["messages"]) or ""
    deps = context.deps
    return weigh_evidence(question, state.get("query") or question, sources,
                          deps.sentence_embeddings(), deps.quote_scorer(), deps.evidence_gate(),
                          deps.vocabulary())


def _quoted(evidence: Evidence, context: Context) -> str:
    return format_quotes(choose_quotes(evidence.quotes, evidence.quote_scores,
                                       context.max_quotes))


def respond(state: State, runtime: Runtime[Context]) -> dict:
    """Direct replies that need no retrieval: small talk, scope, clarification, bad input."""
    context = runtime.context or Context()
    reason, route = state.get("route_reason", ""), state.get("route")
    text = REPLIES_BY_REASON.get(reason) or REPLIES_BY_ROUTE.get(route, prompts.OUT_OF_SCOPE_REPLY)
    if reason == RouteReason.TOO_LONG:
        length = len(latest_user_text(state["messages"]) or "")
        text = text.format(length=length, limit=context.max_message_chars)
    text = "\n\n".join([*possible_red_flag_note(state), text])
    return {"messages": [AIMessage(content=text)], "sources": []}


graph = (
    # Run alone (e.g. in Studio), this step takes the whole state as input: it needs the
    # route and sources that the full graph's earlier steps would provide.
    StateGraph(State, context_schema=Context)
    .add_node("answer", answer)
    .add_edge(START, "answer")
    .compile(name="answer")
)
