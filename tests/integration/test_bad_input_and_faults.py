"""Bad input and a vector store that is down, against the real server over HTTP."""

import httpx
import pytest

from wwhd.server.launch import free_port

pytestmark = pytest.mark.integration


def run(http: httpx.Client, thread_id: str, content) -> httpx.Response:
    message = {"role": "user", "content": content}
    return http.post(
        f"/threads/{thread_id}/runs/wait",
        json={"assistant_id": "wwhd", "input": {"messages": [message]}},
    )


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("", "Your message was empty"),
        ("   \n\t  ", "Your message was empty"),
        ("x" * 100_000, "100,000 characters long"),
        ([{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}],
         "I can only read text"),
    ],
)
def test_unusable_messages_get_a_clear_answer_and_the_thread_stays_usable(
    shared_server, content, says
):
    with httpx.Client(base_url=shared_server.url, timeout=120) as http:
        thread_id = http.post("/threads", json={}).json()["thread_id"]
        response = run(http, thread_id, content)
        assert response.status_code == 200, response.text
        assert says in response.json()["messages"][-1]["content"]
        after = run(http, thread_id, "What is Dang Gui used for?")
        assert after.status_code == 200 and after.json()["route"] == "tcm"


def test_malformed_requests_get_4xx(shared_server):
    with httpx.Client(base_url=shared_server.url, timeout=30) as http:
        thread_id = http.post("/threads", json={}).json()["thread_id"]
        broken = http.post(f"/threads/{thread_id}/runs/wait", content=b"{not json",
                           headers={"content-type": "application/json"})
        assert 400 <= broken.status_code < 500
        unknown = http.post(f"/threads/{thread_id}/runs/wait",
                            json={"assistant_id": "no-such-assistant", "input": {}})
        assert 400 <= unknown.status_code < 500
        missing = http.get("/threads/00000000-0000-0000-0000-000000000000/state")
        assert missing.status_code == 404
        assert http.get(f"/threads/{thread_id}/state").status_code == 200


def test_vector_store_down_is_a_clear_message_and_a_503(make_server):
    dead = f"http://127.0.0.1:{free_port()}"
    server = make_server(env={"QDRANT_URL": dead})
    health = httpx.get(f"{server.url}/health", timeout=30)
    assert health.status_code == 503
    report = health.json()
    assert report["failing"] == ["vector_store"]
    assert "not reachable" in report["vector_store"]["error"]
    with httpx.Client(base_url=server.url, timeout=120) as http:
        thread_id = http.post("/threads", json={}).json()["thread_id"]
        answer = run(http, thread_id, "What is Huang Qi used for?")
        assert answer.status_code == 200
        text = answer.json()["messages"][-1]["content"]
        assert "can't search the knowledge base right now" in text
        # The thread is intact and still answers what needs no retrieval.
        assert run(http, thread_id, "Hello!").json()["route"] == "general"
        assert len(http.get(f"/threads/{thread_id}/state").json()["values"]["messages"]) == 4
