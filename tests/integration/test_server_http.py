"""The real LangGraph server over HTTP, started as `make serve` starts it."""

import json
import re
import subprocess
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client
from message_contract import check_answer_message

pytestmark = pytest.mark.integration

JS_DIR = Path(__file__).resolve().parent.parent / "js"


def citations(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", text)}


def test_ok_and_health_report_every_dependency(shared_server):
    assert httpx.get(f"{shared_server.url}/ok").json()["ok"] is True
    response = httpx.get(f"{shared_server.url}/health")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["status"] == "ok"
    assert report["checkpointer"]["status"] == "ok"
    assert report["vector_store"]["points"] > 300
    assert report["vector_store"]["collection"] == "wwhd_kb"
    assert report["model"]["provider"] == "extractive" and report["model"]["status"] == "ok"


def test_every_graph_is_listed_for_studio(shared_server):
    assistants = httpx.post(f"{shared_server.url}/assistants/search", json={}).json()
    assert {a["graph_id"] for a in assistants} >= {"wwhd", "router", "retrieval", "answer"}
    wwhd = next(a for a in assistants if a["graph_id"] == "wwhd")
    schemas = httpx.get(f"{shared_server.url}/assistants/{wwhd['assistant_id']}/schemas").json()
    assert "top_k" in json.dumps(schemas["context_schema"])


async def test_conversation_streams_persists_and_survives_a_restart(make_server):
    server = make_server()
    client = get_client(url=server.url)
    thread = await client.threads.create()
    tid = thread["thread_id"]

    modes: dict[str, int] = {}
    streamed: dict[str, list[str]] = {}
    final = None
    async for part in client.runs.stream(
        tid, "wwhd",
        input={"messages": [{"role": "user", "content": "What is Huang Qi used for?"}]},
        stream_mode=["values", "messages-tuple"],
    ):
        modes[part.event] = modes.get(part.event, 0) + 1
        if part.event == "values":
            final = part.data
        elif part.event == "messages":
            chunk, _ = part.data
            streamed.setdefault(chunk["id"], []).append(chunk["content"])
    assert modes.get("values", 0) >= 2 and modes.get("messages", 0) >= 1, modes
    answer = final["messages"][-1]["content"]
    # The extractive answer streams in pieces (notes, then a quote at a time) that add up to
    # exactly the final text, under the final message's id.
    pieces = streamed[final["messages"][-1]["id"]]
    assert len(pieces) >= 3 and "".join(pieces) == answer
    first = check_answer_message(final["messages"][-1])
    assert first["mode"] == "extractive" and first["sources"][0]["doc_id"] == "herb-huang-qi"
    assert [n["kind"] for n in first["notes"]] == ["extractive", "safety"]
    assert final["route"] == "tcm"
    assert citations(answer) and max(citations(answer)) <= len(final["sources"])
    assert final["sources"][0]["doc_id"] == "herb-huang-qi"

    follow = await client.runs.wait(
        tid, "wwhd", input={"messages": [{"role": "user", "content": "What are its cautions?"}]}
    )
    assert "herb-huang-qi" in {s["doc_id"] for s in follow["sources"][:2]}
    assert "Huang Qi" in follow["messages"][-1]["content"]

    state = await client.threads.get_state(tid)
    # After the follow-up, the first answer still resolves its own [n] from its own metadata.
    answers = [m for m in state["values"]["messages"] if m["type"] == "ai"]
    assert [check_answer_message(m)["sources"] for m in answers][0] == first["sources"]
    history = await client.threads.get_history(tid, limit=100)
    assert len(state["values"]["messages"]) == 4

    server.restart()
    client = get_client(url=server.url)
    again = await client.threads.get_state(tid)
    assert again["values"]["messages"] == state["values"]["messages"]
    assert again["values"]["sources"] == state["values"]["sources"]
    assert len(await client.threads.get_history(tid, limit=100)) == len(history)
    third = await client.runs.wait(
        tid, "wwhd", input={"messages": [{"role": "user", "content": "Which formula uses it?"}]}
    )
    assert len(third["messages"]) == 6


def test_the_javascript_sdk_holds_a_conversation(shared_server):
    result = subprocess.run(
        ["node", "conversation.mjs", shared_server.url], cwd=JS_DIR, capture_output=True,
        text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["events"].get("values", 0) >= 2 and seen["events"].get("messages", 0) >= 1
    assert seen["firstRoute"] == "tcm" and seen["firstSources"][0] == "herb-huang-qi"
    assert citations(seen["firstAnswer"])
    assert "Huang Qi" in seen["followUpQuery"]
    assert seen["streamedById"][seen["firstAnswerId"]] == seen["firstAnswer"]
    contracts = []
    for answer in seen["answerMetadata"]:
        contracts.append(check_answer_message(
            {"content": answer["content"], "response_metadata": {"wwhd": answer["wwhd"]}}))
    assert len(contracts) == 2 and all(c["sources"] for c in contracts)
    assert "herb-huang-qi" in seen["followUpSources"][:2]
    assert seen["stateMessages"] == 4
    assert seen["historyLength"] >= 4


def test_out_of_scope_and_red_flag_over_http(shared_server):
    with httpx.Client(base_url=shared_server.url, timeout=120) as http:
        thread = http.post("/threads", json={}).json()
        out = http.post(
            f"/threads/{thread['thread_id']}/runs/wait",
            json={"assistant_id": "wwhd",
                  "input": {"messages": [{"role": "user", "content": "Who won the World Cup?"}]}},
        ).json()
        assert out["route"] == "out_of_scope" and out["sources"] == []
        flag = http.post(
            f"/threads/{thread['thread_id']}/runs/wait",
            json={"assistant_id": "wwhd", "input": {"messages": [
                {"role": "user", "content": "Sudden chest pain and my left arm went numb"}]}},
        ).json()
        assert flag["route"] == "red_flag"
        assert flag["red_flag"] == "cardiac"
        assert flag["messages"][-1]["content"].startswith("**This may be a heart attack. Call")
        contract = check_answer_message(flag["messages"][-1])
        assert contract["notes"][0]["kind"] == "red_flag" and contract["route"] == "red_flag"
        refusal = check_answer_message(out["messages"][-1])
        assert refusal["mode"] == "fixed" and refusal["sources"] == []
