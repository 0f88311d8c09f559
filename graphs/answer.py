"""The answer step: a cited answer from the retrieved passages, and the direct replies.

With a chat model the answer is generated from the numbered passages and then checked: a
citation that points at no retrieved passage is removed, so `sources` and the answer agree.
Without one (or when it fails) the answer quotes the passages. Medical topics get a safety note;
red flags get urgent-care guidance before anything else.
"""

from __future__ import annotations

import itertools
import logging
import re

from langchain_core.messages import BaseMessage
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime

from wwhd.graphs import prompts
from wwhd.graphs.context import Context
from wwhd.graphs.conversation import FALLBACK_MARK, latest_user_text, recent_history
from wwhd.graphs.evidence import Evidence, weigh_evidence
from wwhd.graphs.extractive import choose_quotes, format_quotes
from wwhd.graphs.models import internal
from wwhd.graphs.reply import Mode, NoteKind, Reply, sources_list
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


class CitationChecker:
    """Checks citations in a stream of tokens, so checked text can be streamed as it comes.

    Text is released as soon as it cannot be part of a citation; an unfinished `[12` is held
    until it closes. A citation that points at no passage is removed (so `sources` and the
    answer agree); trailing whitespace is held until more text follows it.
    """

    def __init__(self, n_sources: int) -> None:
        self.n_sources = n_sources
        self.cited: list[int] = []
        self._pending = ""
        self._started = False

    def feed(self, token: str) -> str:
        """Take the next token; return the text now safe to show."""
        self._pending += token
        hold = len(self._pending) - len(self._pending.rstrip())
        open_at = self._pending.rfind("[")
        if open_at != -1 and _UNFINISHED_CITATION.fullmatch(self._pending[open_at:]):
            hold = len(self._pending) - open_at
        ready, self._pending = self._pending[: len(self._pending) - hold], \
            self._pending[len(self._pending) - hold :]
        return self._check(ready)

    def flush(self) -> str:
        """The rest of the text at the end of the stream (trailing whitespace dropped)."""
        ready, self._pending = self._pending.rstrip(), ""
        return self._check(ready)

    def _check(self, text: str) -> str:
        if not self._started:
            text = text.lstrip()
            self._started = bool(text)
        return CITATION.sub(self._keep, text)

    def _keep(self, match: re.Match[str]) -> str:
        number = int(match.group(1))
        if 1 <= number <= self.n_sources:
            if number not in self.cited:
                self.cited.append(number)
            return match.group(0)
        log.info("removed citation [%s]: only %s passages were retrieved", number, self.n_sources)
        return ""


_UNFINISHED_CITATION = re.compile(r"\[\d*")


def _token_text(token: BaseMessage) -> str:
    content = token.content
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") if isinstance(part, dict) else str(part)
                   for part in content)


def says_not_covered(text: str) -> bool:
    """Whether an answer says the knowledge base does not cover the question."""
    return bool(NOT_COVERED.search(text))


def generate(state: State, context: Context, sources: list[Source], reply: Reply) -> None:
    """Write a generated, cited answer into `reply`, streaming checked text; raises when the model
    fails before it wrote anything."""
    model = context.deps.chat_model(context.chat_model)
    if model is None:
        raise RuntimeError("generate() needs a chat model; the extractive answer has none")
    system = prompts.ANSWER_SYSTEM.format(
        scope=prompts.ASSISTANT_SCOPE, passages=format_passages(sources)
    )
    question = latest_user_text(state["messages"]) or ""
    history = recent_history(state["messages"])
    checker = CitationChecker(len(sources))
    # The model's own token stream is internal: what clients see is the checked text.
    tokens = internal(model).stream([("system", system), *history, ("human", question)])
    first = next(tokens, None)  # a model that is down fails here, before anything is shown
    if first is None:
        raise RuntimeError("the chat model returned no text")
    reply.mode = Mode.GENERATED
    reply.begin_paragraph()
    for token in itertools.chain([first], tokens):
        reply.extend(checker.feed(_token_text(token)))
    reply.extend(checker.flush())
    reply.cited = checker.cited
    if not checker.cited and not says_not_covered(reply.body):
        # Flag rather than invent citations: the reader should know nothing was verified.
        reply.note(NoteKind.UNCITED, prompts.UNCITED_FLAG)


def answer(state: State, runtime: Runtime[Context]) -> dict:
    """Compose the answer for a retrieval route (tcm, shaolin, red_flag)."""
    context = runtime.context or Context()
    route = state.get("route", Route.TCM)
    sources = state.get("sources") or []
    reply = Reply(route=route, sources=sources)
    update: dict = {}
    if route == Route.RED_FLAG:
        reply.note(NoteKind.RED_FLAG, red_flag_guidance(state.get("red_flag")))
    else:
        add_possible_red_flag_note(state, reply)
    error = state.get("error")
    if not sources:
        if error:
            reply.paragraph(prompts.STORE_DOWN_REPLY.format(error=error))
        elif route != Route.RED_FLAG:
            reply.paragraph(prompts.NO_PASSAGES_REPLY)
    elif route == Route.RED_FLAG:
        # Urgent-care guidance stands whatever the passages hold; they only add to it.
        reply.note(NoteKind.RED_FLAG, prompts.RED_FLAG_AFTER)
        _quote(_weigh(state, context, sources), context, reply)
    elif not (evidence := _weigh(state, context, sources)).covered:
        log.info("not covered (evidence %.2f): %s", evidence.probability, state.get("query"))
        reply.mode = Mode.NOT_COVERED
        reply.paragraph(not_covered_reply(sources))
        # Nothing is cited, and the unrelated passage must not become the follow-up's subject.
        reply.sources = []
        update = {"sources": [], "topic": ""}
    elif context.deps.chat_model(context.chat_model) is not None:
        try:
            generate(state, context, sources, reply)
        except Exception as exc:
            log.error("answer model failed: %s", exc)
            context.deps.forget_models()
            error = f"chat model unavailable: {type(exc).__name__}"
            reply.note(NoteKind.MODEL_DOWN, prompts.MODEL_DOWN_REPLY.format(error=error))
            _quote(evidence, context, reply)
    else:
        reply.note(NoteKind.EXTRACTIVE, prompts.EXTRACTIVE_PREFACE)
        _quote(evidence, context, reply)
    if context.sources_in_text and reply.cited:
        reply.note(NoteKind.SOURCES, sources_list(reply.sources, reply.cited))
    if route in MEDICAL_ROUTES:
        reply.note(NoteKind.SAFETY, prompts.SAFETY_NOTE)
    # A reply written because something failed is kept out of later prompts: small models
    # otherwise copy "the model is not responding" into answers once it is back.
    marks = {FALLBACK_MARK: True} if error else {}
    return {"messages": [reply.message(additional_kwargs=marks)], "error": error, **update}


def not_covered_reply(sources: list[Source]) -> str:
    """Say the question is not covered, and name the nearest documents the knowledge base has."""
    nearest = ", ".join(dict.fromkeys(s["title"] for s in sources[:3]))
    return prompts.NOT_COVERED_REPLY.format(nearest=nearest)


def red_flag_guidance(kind: str | None) -> str:
    """The first paragraph of a red-flag answer: what to do now, for this kind of emergency."""
    return prompts.RED_FLAG_GUIDANCE.get(kind or "", prompts.RED_FLAG_GENERIC)


def add_possible_red_flag_note(state: State, reply: Reply) -> None:
    """Open the reply with urgent-care guidance when the router saw a possible emergency."""
    kind = state.get("possible_red_flag")
    if kind:
        reply.note(NoteKind.POSSIBLE_RED_FLAG, prompts.POSSIBLE_SELF_HARM_NOTE
                   if kind == "self_harm" else prompts.POSSIBLE_RED_FLAG_NOTE)


def _weigh(state: State, context: Context, sources: list[Source]) -> Evidence:
    question = latest_user_text(state["messages"]) or ""
    deps = context.deps
    return weigh_evidence(question, state.get("query") or question, sources,
                          deps.sentence_embeddings(), deps.quote_scorer(), deps.evidence_gate(),
                          deps.vocabulary(), state.get("route"))


def _quote(evidence: Evidence, context: Context, reply: Reply) -> None:
    """Write the chosen quotes into the reply, streaming one quote at a time."""
    quotes = choose_quotes(evidence.quotes, evidence.quote_scores, context.max_quotes)
    if reply.mode is Mode.FIXED:
        reply.mode = Mode.EXTRACTIVE
    reply.begin_paragraph()
    for i, quote in enumerate(quotes):
        reply.extend(("\n" if i else "") + format_quotes([quote]))
    reply.cited = sorted({quote.source_index + 1 for quote in quotes})


def respond(state: State, runtime: Runtime[Context]) -> dict:
    """Direct replies that need no retrieval: small talk, scope, clarification, bad input."""
    context = runtime.context or Context()
    reason, route = state.get("route_reason", ""), state.get("route")
    text = REPLIES_BY_REASON.get(reason) or REPLIES_BY_ROUTE.get(route, prompts.OUT_OF_SCOPE_REPLY)
    if reason == RouteReason.TOO_LONG:
        length = len(latest_user_text(state["messages"]) or "")
        text = text.format(length=length, limit=context.max_message_chars)
    reply = Reply(route=route or Route.CLARIFY)
    add_possible_red_flag_note(state, reply)
    reply.paragraph(text)
    return {"messages": [reply.message()], "sources": []}


graph = (
    # Run alone (e.g. in Studio), this step takes the whole state as input: it needs the
    # route and sources that the full graph's earlier steps would provide.
    StateGraph(State, context_schema=Context)
    .add_node("answer", answer)
    .add_edge(START, "answer")
    .compile(name="answer")
)
