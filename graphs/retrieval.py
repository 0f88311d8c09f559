"""The retrieval step: make the question self-contained, then search with the route's filters."""

from __future__ import annotations

import logging
import uuid

from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from wwhd.core.errors import EmbeddingMismatch, StoreUnavailable
from wwhd.core.types import Source
from wwhd.graphs import prompts
from wwhd.graphs.context import Context
from wwhd.graphs.conversation import is_follow_up, latest_user_text, recent_history
from wwhd.graphs.models import internal
from wwhd.graphs.state import Route, RouteReason, State
from wwhd.graphs.vocabulary import Vocabulary
from wwhd.tools.retrieval import SEARCH_TOOL, knowledge_base_tool

log = logging.getLogger(__name__)


class SearchQuery(BaseModel):
    """A self-contained search query."""

    query: str = Field(description="the question rewritten to stand alone, names kept exactly")


def subject_of(title: str) -> str:
    """The short name of a document's subject: its title without the parenthesis.

    "Huang Qi (黄芪, Astragalus Root)" gives "Huang Qi". A follow-up's query carries this, not
    the whole title: the title's other names would pull the document's overview above the
    section that holds what the follow-up asks for ("its cautions")."""
    return title.split(" (", 1)[0].strip() or title


def named_source(sources: list[Source], named_doc_ids: tuple[str, ...]) -> Source:
    """The best-ranked passage about a subject the message names, else the best passage.

    The conversation's subject is what the user named: "What's He Gu used for?" may rank a
    Bu Gu Zhi passage first (they share a syllable), but a follow-up's "it" means He Gu."""
    return next((s for s in sources if s["doc_id"] in named_doc_ids), sources[0])


def rewrite_by_rules(text: str, topic: str | None, points_back: bool, names_subject: bool) -> str:
    """Attach the conversation's subject to a follow-up that does not name its own."""
    if topic and points_back and not names_subject:
        return f"{topic}: {text}"
    return text


def with_subject_names(text: str, vocabulary: Vocabulary, named_doc_ids: tuple[str, ...]) -> str:
    """The search text, with the knowledge base's own name for a subject it names another way
    (`named_doc_ids`, from `vocabulary.match(text)`): "goji berries" searches "... (Gou Qi Zi)",
    as the passages past a document's overview use that name only."""
    names = vocabulary.unnamed_subjects(text, named_doc_ids)
    return f"{text} ({'; '.join(names)})" if names else text


def emergency_query(text: str, kind: str | None) -> str:
    """The search for a red-flag turn: the message plus what marks its kind of emergency.

    The message alone ("crushing chest pain, which acupoint?") pulls passages about its herbs or
    points; the guidance's description of the emergency pulls the warning-sign passages for it."""
    guidance = prompts.RED_FLAG_GUIDANCE.get(kind or "", prompts.RED_FLAG_GENERIC)
    signs = guidance.rsplit("**", 1)[-1].strip()
    return f"{text}\n{signs}" if signs else text


def rewrite_by_model(text: str, state: State, context: Context) -> str | None:
    """Let the chat model resolve the follow-up; None without a model or on failure."""
    history = recent_history(state["messages"])
    model = context.deps.chat_model(context.chat_model)
    if model is None or not history:
        return None
    system = prompts.REWRITE_SYSTEM.format(scope=prompts.ASSISTANT_SCOPE)
    try:
        result = internal(
            model.with_structured_output(SearchQuery, method="function_calling")
        ).invoke([("system", system), *history, ("human", text)])
    except Exception as exc:
        log.warning("query rewrite by model failed, using rules: %s", exc)
        context.deps.forget_models()
        return None
    query = result.query.strip() if isinstance(result, SearchQuery) else ""
    return query or None


def retrieve(state: State, runtime: Runtime[Context]) -> dict:
    """Search the knowledge base for the latest question; record the passages as `sources`."""
    context = runtime.context or Context()
    text = latest_user_text(state["messages"]) or ""
    topic = state.get("topic")
    # The router read it as a follow-up ("y en el embarazo?"), or it points back ("its cautions").
    points_back = state.get("route_reason") == RouteReason.FOLLOW_UP or is_follow_up(text)
    vocabulary = context.deps.vocabulary()
    named = vocabulary.match(text)  # the subjects the message names, read once per turn
    query = rewrite_by_rules(text, topic, points_back, named.names_subject)
    if query == text and points_back:
        query = rewrite_by_model(text, state, context) or query
    red_flag = state.get("route") == Route.RED_FLAG
    if red_flag:
        query = emergency_query(query, state.get("red_flag"))
    else:
        in_query = named if query == text else vocabulary.match(query)
        query = with_subject_names(query, vocabulary, in_query.names)
    call = {
        "type": "tool_call",
        "id": str(uuid.uuid4()),
        "name": SEARCH_TOOL,
        "args": {
            "query": query,
            "tradition": None if red_flag else state.get("tradition"),
            "category": "safety" if red_flag else None,
            "k": context.top_k,
        },
    }
    try:
        sources = knowledge_base_tool(context.deps.knowledge_base()).invoke(call).artifact
    except (StoreUnavailable, EmbeddingMismatch) as exc:
        log.error("retrieval failed: %s", exc)
        return {"query": query, "sources": [], "error": f"knowledge base unavailable: {exc}"}
    is_new_subject = not points_back or named.names_subject
    if sources and (is_new_subject or not topic) and not red_flag:
        topic = subject_of(named_source(sources, named.names)["title"])
    return {"query": query, "sources": sources, "topic": topic or ""}


graph = (
    # Run alone (e.g. in Studio), this step takes the whole state as input: it needs the
    # route and filters that the full graph's earlier steps would provide.
    StateGraph(State, context_schema=Context)
    .add_node("retrieve", retrieve)
    .add_edge(START, "retrieve")
    .compile(name="retrieval")
)
