"""The W.W.H.D. assistant: route, retrieve, answer (read top to bottom).

    START -> router -> retrieve -> answer -> END      (tcm, shaolin, red_flag)
                    \\-> respond -> END                (general, out_of_scope, clarify)
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from wwhd.graphs.answer import answer, respond
from wwhd.graphs.context import Context
from wwhd.graphs.retrieval import retrieve
from wwhd.graphs.router import route_question
from wwhd.graphs.state import RETRIEVAL_ROUTES, InputState, State


def after_routing(state: State) -> str:
    """Retrieval routes search the knowledge base; the others get a direct reply."""
    return "retrieve" if state.get("route") in RETRIEVAL_ROUTES else "respond"


builder = StateGraph(State, context_schema=Context, input_schema=InputState)
builder.add_node("router", route_question)
builder.add_node("retrieve", retrieve)
builder.add_node("answer", answer)
builder.add_node("respond", respond)

builder.add_edge(START, "router")
builder.add_conditional_edges("router", after_routing, ["retrieve", "respond"])
builder.add_edge("retrieve", "answer")
builder.add_edge("answer", END)
builder.add_edge("respond", END)

graph = builder.compile(name="wwhd")
