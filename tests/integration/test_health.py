"""Liveness and readiness on the real server: a dead model leaves the service alive and
degraded; without a token the report names no path and no error."""

import time

import httpx
import jwt
import pytest

from wwhd.server.launch import free_port

pytestmark = pytest.mark.integration

SECRET = "health-test-secret-of-enough-length"


def test_a_dead_model_leaves_liveness_green_and_readiness_degraded(make_server):
    dead_model = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    server = make_server(env={"WWHD_LLM_BASE_URL": dead_model, "WWHD_CHAT_MODEL": "any",
                              "JWT_SECRET": SECRET})
    assert httpx.get(f"{server.url}/ok", timeout=10).status_code == 200

    public = httpx.get(f"{server.url}/health", timeout=30)
    assert public.status_code == 200  # answers still work: the extractive fallback
    assert public.json() == {
        "status": "degraded", "failing": ["model"], "checkpointer": {"status": "ok"},
        "vector_store": {"status": "ok"}, "model": {"status": "error"},
    }
    assert str(server.data_dir) not in public.text and "127.0.0.1" not in public.text

    token = jwt.encode({"sub": "ops", "exp": int(time.time()) + 60}, SECRET, "HS256")
    detailed = httpx.get(f"{server.url}/health", timeout=30,
                         headers={"Authorization": f"Bearer {token}"}).json()
    assert detailed["status"] == "degraded"
    assert "ConnectError" in detailed["model"]["error"]
    assert detailed["model"].get("cached") is True  # the second probe within the TTL
    assert detailed["checkpointer"]["path"] == str(server.data_dir / "checkpoints.sqlite")
    assert "readiness: model is failing" in server.log(tail=None)
