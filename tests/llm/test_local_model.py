"""The chat-model code path (ChatOpenAI, as in production) against a real local model server."""

import re
import uuid
from types import SimpleNamespace

import httpx
import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph_sdk import get_client

from wwhd.core.settings import load_settings
from wwhd.graphs import prompts
from wwhd.graphs.classifier import bundled_classifier
from wwhd.graphs.context import Context
from wwhd.graphs.dependencies import Dependencies
from wwhd.graphs.router import CONFIDENT, TOPIC_ROUTES, read_message, route_question

from conftest import LocalModel

pytestmark = pytest.mark.llm


def llm_env(model: LocalModel) -> dict[str, str]:
    return {"WWHD_LLM_BASE_URL": model.base_url, "WWHD_CHAT_MODEL": "qwen2.5-coder-0.5b-instruct",
            "WWHD_LLM_TIMEOUT": "120", "WWHD_LLM_MAX_RETRIES": "1"}


@pytest.fixture
def with_model(local_model, kb_env, monkeypatch):
    """A run context whose dependencies use the local model (built after the env is set)."""
    for name, value in llm_env(local_model).items():
        monkeypatch.setenv(name, value)
    return Context(dependencies=Dependencies(load_settings()))


def cited(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", text)}


def test_the_model_judges_every_turn_and_the_router_still_decides(with_model):
    text = "What is the best laptop for gaming?"
    state = {"messages": [HumanMessage(content=text)]}
    reading = read_message(text, state, with_model, bundled_classifier())
    assert reading.judgement is not None  # the real model answered the structured call
    decision = route_question(state, SimpleNamespace(context=with_model))
    # The classifier is sure of this one, so whatever the small model said, its route stands.
    route, confidence = reading.verdict.best(TOPIC_ROUTES)
    assert confidence >= CONFIDENT
    assert decision["route"] == route and decision["route_reason"] == "classifier"


def test_a_generated_answer_cites_retrieved_passages_and_follows_up(with_model):
    from wwhd.graphs.wwhd import builder

    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": str(uuid.uuid4())}}
    state = graph.invoke(
        {"messages": [{"role": "user", "content": "What is Huang Qi used for?"}]}, config,
        context=with_model,
    )
    answer = state["messages"][-1].content
    assert state["route"] == "tcm"
    assert not answer.startswith(prompts.EXTRACTIVE_PREFACE)
    assert state["sources"][0]["doc_id"] == "herb-huang-qi"
    assert cited(answer) <= set(range(1, len(state["sources"]) + 1))
    assert cited(answer) or prompts.UNCITED_FLAG in answer
    assert prompts.SAFETY_NOTE in answer

    follow = graph.invoke(
        {"messages": [{"role": "user", "content": "What are its cautions?"}]}, config,
        context=with_model,
    )
    assert follow["route"] == "tcm"
    assert "herb-huang-qi" in {s["doc_id"] for s in follow["sources"][:2]}
    # The first answer went back to the model as history without its notes, so the model had
    # none to copy: the follow-up carries each note once, where the server put it.
    text = follow["messages"][-1].content
    assert text.count(prompts.SAFETY_NOTE) == 1 and text.count(prompts.UNCITED_FLAG) <= 1
    contract = follow["messages"][-1].response_metadata["wwhd"]
    assert contract["mode"] == "generated" and prompts.SAFETY_NOTE not in contract["body"]


def test_with_a_model_an_uncovered_topic_is_still_said_to_be_uncovered(with_model):
    from wwhd.graphs.wwhd import builder

    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": str(uuid.uuid4())}}
    state = graph.invoke(
        {"messages": [{"role": "user", "content": "What is Shan Zha (hawthorn) used for?"}]},
        config, context=with_model,
    )
    answer = state["messages"][-1].content
    # The evidence gate runs before generation: the model never sees unrelated passages.
    assert "does not cover" in answer
    assert not cited(answer) and state["sources"] == []


async def test_tokens_stream_from_the_answer_node_only(local_model, make_server):
    server = make_server(env=llm_env(local_model))
    client = get_client(url=server.url)
    thread = await client.threads.create()
    nodes: list[str] = []
    text = ""
    async for part in client.runs.stream(
        thread["thread_id"], "wwhd",
        input={"messages": [{"role": "user", "content": "What is Huang Qi used for?"}]},
        stream_mode="messages-tuple",
    ):
        if part.event == "messages":
            chunk, metadata = part.data
            nodes.append(metadata.get("langgraph_node"))
            text += chunk.get("content") or ""
    assert len(nodes) > 5, "the answer arrived in one piece, not token by token"
    assert set(nodes) == {"answer"}, set(nodes)
    state = await client.threads.get_state(thread["thread_id"])
    final = state["values"]["messages"][-1]["content"]
    assert cited(final) <= set(range(1, len(state["values"]["sources"]) + 1))
    # Streamed text is the checked text: the pieces add up to exactly the stored answer.
    assert text == final


async def test_model_down_is_a_clear_message_degraded_and_recovers(local_model, make_server):
    server = make_server(env={**llm_env(local_model), "WWHD_MODEL_PROBE_TTL_S": "0"})
    client = get_client(url=server.url)
    thread = await client.threads.create()
    tid = thread["thread_id"]
    ask = {"messages": [{"role": "user", "content": "What is Dang Gui used for?"}]}
    first = await client.runs.wait(tid, "wwhd", input=ask)
    assert not first["messages"][-1]["content"].startswith("The answer model is not responding")

    local_model.stop()
    try:
        health = httpx.get(f"{server.url}/health", timeout=30)
        # Degraded, not unavailable: the extractive fallback still answers.
        assert health.status_code == 200 and health.json()["status"] == "degraded"
        assert health.json()["failing"] == ["model"]
        assert httpx.get(f"{server.url}/ok", timeout=30).status_code == 200
        down = await client.runs.wait(tid, "wwhd", input=ask)
        text = down["messages"][-1]["content"]
        assert text.startswith("The answer model is not responding")
        assert down["messages"][-1]["additional_kwargs"] == {"wwhd_fallback": True}
        notes = down["messages"][-1]["response_metadata"]["wwhd"]["notes"]
        assert notes[0]["kind"] == "model_down"
        assert cited(text), "the fallback still quotes the knowledge base"
    finally:
        local_model.start()
    assert httpx.get(f"{server.url}/health", timeout=30).json()["status"] == "ok"
    again = await client.runs.wait(tid, "wwhd", input=ask)
    assert not again["messages"][-1]["content"].startswith("The answer model is not responding")
    assert len(again["messages"]) == 6
    assert again["error"] is None
