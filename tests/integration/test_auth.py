"""JWT auth and per-user isolation on the real server (JWT_SECRET set)."""

import os
import subprocess
import time

import httpx
import jwt
import pytest

from conftest import BIN, REPO, Server, copy_data_dir

pytestmark = pytest.mark.integration

SECRET = "test-only-secret-not-used-anywhere-else"


def token(sub: str | None = "alice", secret: str = SECRET, exp_in: int = 3600, **claims) -> str:
    payload = {**claims}
    if sub is not None:
        payload["sub"] = sub
    if exp_in is not None:
        payload["exp"] = int(time.time()) + exp_in
    return jwt.encode(payload, secret, algorithm="HS256")


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture(scope="module")
def secured(ingested_template, tmp_path_factory):
    data = copy_data_dir(ingested_template, tmp_path_factory.mktemp("auth-server"))
    server = Server(data_dir=data, env={"JWT_SECRET": SECRET}).start()
    yield server
    server.stop()


def ask(http: httpx.Client, thread_id: str, headers: dict, text: str) -> httpx.Response:
    return http.post(
        f"/threads/{thread_id}/runs/wait", headers=headers,
        json={"assistant_id": "wwhd", "input": {"messages": [{"role": "user", "content": text}]}},
    )


def test_open_routes_need_no_token(secured):
    assert httpx.get(f"{secured.url}/ok").status_code == 200
    assert httpx.get(f"{secured.url}/health").status_code == 200


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "Missing bearer token"),
        ({"Authorization": "Basic abc"}, "not 'Bearer <token>'"),
        (bearer("not-a-jwt"), "malformed"),
        (bearer(token(exp_in=-60)), "expired"),
        (bearer(token(secret="another-secret")), "signature is invalid"),
        (bearer(token(sub=None)), "'sub'"),
        (bearer(token(exp_in=None)), "'exp'"),
    ],
)
def test_bad_tokens_get_401_with_the_reason(secured, headers, reason):
    response = httpx.post(f"{secured.url}/threads/search", json={}, headers=headers)
    assert response.status_code == 401
    assert reason in response.text


def test_studio_bypass_header_is_refused(secured):
    response = httpx.post(
        f"{secured.url}/threads/search", json={}, headers={"x-auth-scheme": "langsmith"}
    )
    assert response.status_code == 401


def test_users_cannot_see_each_others_threads_by_any_route(secured):
    alice, bob = bearer(token("alice")), bearer(token("bob"))
    with httpx.Client(base_url=secured.url, timeout=120) as http:
        thread = http.post("/threads", json={"metadata": {"topic": "herbs"}}, headers=alice).json()
        tid = thread["thread_id"]
        assert ask(http, tid, alice, "What is Dang Gui used for?").status_code == 200
        run = http.get(f"/threads/{tid}/runs", headers=alice).json()[0]

        for path in (f"/threads/{tid}", f"/threads/{tid}/state", f"/threads/{tid}/runs",
                     f"/threads/{tid}/runs/{run['run_id']}"):
            assert http.get(path, headers=alice).status_code == 200, path
            assert http.get(path, headers=bob).status_code == 404, path
        assert http.post(f"/threads/{tid}/history", json={}, headers=bob).status_code == 404
        assert ask(http, tid, bob, "And its cautions?").status_code == 404
        assert http.delete(f"/threads/{tid}", headers=bob).status_code == 404

        mine = http.post("/threads/search", json={}, headers=alice).json()
        assert tid in {t["thread_id"] for t in mine}
        # Bob's own thread shares the topic: his searches find it, never Alice's.
        own = http.post("/threads", json={"metadata": {"topic": "herbs"}},
                        headers=bob).json()["thread_id"]
        def search(query: dict) -> set[str]:
            return {t["thread_id"] for t in
                    http.post("/threads/search", json=query, headers=bob).json()}

        for query in ({}, {"metadata": {"owner": "alice"}}, {"metadata": {"topic": "herbs"}}):
            assert tid not in search(query), query
        assert own in search({}) and own in search({"metadata": {"topic": "herbs"}})

        # The assistants are shared, so Bob can still use the graphs on his own threads.
        assert ask(http, own, bob, "What is Ba Duan Jin?").status_code == 200


def test_store_items_are_private(secured):
    alice, bob = bearer(token("alice")), bearer(token("bob"))
    with httpx.Client(base_url=secured.url, timeout=30) as http:
        put = http.put("/store/items", headers=alice,
                       json={"namespace": ["notes"], "key": "k1", "value": {"text": "mine"}})
        assert put.status_code == 204, put.text
        got = http.get("/store/items", params={"namespace": "notes", "key": "k1"}, headers=alice)
        assert got.json()["value"] == {"text": "mine"}
        other = http.get("/store/items", params={"namespace": "notes", "key": "k1"}, headers=bob)
        # Bob's read lands in his own namespace, where nothing is stored.
        assert other.status_code == 200 and other.json() is None
        searched = http.post("/store/items/search", json={"namespace_prefix": []}, headers=bob)
        assert "mine" not in searched.text


def test_production_without_a_secret_refuses_to_start(tmp_path):
    result = subprocess.run(
        [str(BIN / "wwhd"), "serve", "--production", "--no-ingest", "--port", "0"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
        env={**os.environ, "APP_ENV": "production",
             "WWHD_DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 2
    assert "APP_ENV=production requires JWT_SECRET" in result.stderr
