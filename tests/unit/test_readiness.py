"""Readiness logic: what is degraded and what is unavailable, the probe cache, the public view."""

from wwhd.core.settings import load_settings
from wwhd.server import health


def test_the_model_probe_is_cached_for_its_ttl(monkeypatch):
    monkeypatch.setenv("WWHD_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("WWHD_MODEL_PROBE_TTL_S", "30")
    settings = load_settings()
    probes = []
    cache = health.ModelProbeCache(probe=lambda s: probes.append(s) or {"status": "error"})
    assert cache.check(settings, now=100.0) == {"status": "error"}
    assert cache.check(settings, now=129.0) == {"status": "error", "cached": True}
    assert len(probes) == 1
    cache.check(settings, now=130.5)
    assert len(probes) == 2


def test_a_failing_model_is_degraded_and_a_failing_store_unavailable():
    ok, down = {"status": "ok"}, {"status": "error", "error": "boom", "path": "/secret/path"}
    assert health.overall({"checkpointer": ok, "vector_store": ok, "model": down}) == (
        "degraded", 200)
    assert health.overall({"checkpointer": ok, "vector_store": down, "model": ok}) == (
        "unavailable", 503)
    assert health.overall({"checkpointer": ok, "vector_store": ok, "model": ok}) == ("ok", 200)


def test_the_public_view_has_statuses_only():
    report = {"status": "degraded", "failing": ["model"],
              "checkpointer": {"status": "ok", "path": "/data/checkpoints.sqlite"},
              "model": {"status": "error", "error": "ConnectError: [Errno 111]",
                        "base_url": "http://10.0.0.5/v1"}}
    public = health.public_view(report)
    assert public == {"status": "degraded", "failing": ["model"],
                      "checkpointer": {"status": "ok"}, "model": {"status": "error"}}
