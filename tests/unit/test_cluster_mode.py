"""Cluster mode's configuration: the settings that select it, Aegra's generated configuration,
and the auth handler's signature both servers call. (The behaviour across replicas is checked
end to end in tests/cluster/.)"""

from pathlib import Path

import pytest

from wwhd.core.errors import ConfigurationError
from wwhd.core.settings import load_settings
from wwhd.server import auth
from wwhd.server.aegra import postgres_dsn
from wwhd.server.cluster import aegra_config, cluster_environment
from wwhd.server.launch import server_config


@pytest.mark.parametrize(("given", "missing"), [("DATABASE_URL", "REDIS_URL"),
                                                ("REDIS_URL", "DATABASE_URL")])
def test_one_cluster_url_without_the_other_is_refused_naming_both(monkeypatch, given, missing):
    monkeypatch.setenv(given, "postgresql://u:pw-visible@db/x" if given == "DATABASE_URL"
                       else "redis://:pw-visible@cache:6379/0")
    with pytest.raises(ConfigurationError) as error:
        load_settings()
    assert given in str(error.value) and missing in str(error.value)
    assert "pw-visible" not in str(error.value)


def test_both_urls_select_cluster_mode_and_stay_secret(monkeypatch):
    assert not load_settings().cluster_mode
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:pw-visible@db/x")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    settings = load_settings()
    assert settings.cluster_mode
    assert "pw-visible" not in repr(settings)


def test_aegra_config_names_the_graph_files_and_keeps_auth_and_routes(monkeypatch):
    langgraph = server_config()
    config = aegra_config(langgraph, load_settings())
    assert set(config["graphs"]) == set(langgraph["graphs"])
    for spec in config["graphs"].values():
        path, _, attribute = spec.partition(":")
        assert Path(path).is_file() and attribute == "graph"
    assert "checkpointer" not in config  # Aegra always uses its own PostgreSQL saver
    assert config["auth"]["path"] == langgraph["auth"]["path"]
    assert config["http"]["app"] == langgraph["http"]["app"]
    # /health and the static /ui check tokens themselves; Aegra's dependency would lock them.
    assert config["http"]["enable_custom_route_auth"] is False
    assert config["http"]["cors"]["allow_origins"] == ["*"]  # development's default
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("JWT_SECRET", "x")
    assert aegra_config(langgraph, load_settings())["http"]["cors"]["allow_origins"] == []


def test_a_graph_outside_the_package_is_refused():
    with pytest.raises(ValueError, match="not a module of wwhd.graphs"):
        aegra_config({"graphs": {"x": "elsewhere.module:graph"}}, load_settings())


def test_the_replica_environment_points_at_the_written_config(tmp_path, monkeypatch):
    monkeypatch.setenv("WWHD_DATA_DIR", str(tmp_path))
    env = cluster_environment(load_settings(), server_config())
    assert Path(env["AEGRA_CONFIG"]).parent == tmp_path and Path(env["AEGRA_CONFIG"]).is_file()
    assert env["REDIS_BROKER_ENABLED"] == "true"  # without it runs stay in one replica


def test_asyncpg_gets_a_plain_postgres_url():
    assert postgres_dsn("postgresql+asyncpg://u:p@h:5/db") == "postgresql://u:p@h:5/db"
    assert postgres_dsn("postgresql://h/db") == "postgresql://h/db"


async def test_the_auth_handler_takes_headers_alone_as_aegra_calls_it(monkeypatch):
    assert await auth.authenticate({"x": "y"}) == {"identity": auth.ANONYMOUS,
                                                    "is_authenticated": False}
    monkeypatch.setenv("JWT_SECRET", "unit-test-secret")
    auth.process_settings.cache_clear()
    try:
        with pytest.raises(Exception) as refused:  # no path: never one of the open routes
            await auth.authenticate({})
        assert getattr(refused.value, "status_code", None) == 401
        opened = await auth.authenticate({}, path="/health", method="GET")
        assert opened["identity"] == auth.ANONYMOUS
    finally:
        auth.process_settings.cache_clear()


def test_a_replica_without_aegra_says_where_cluster_mode_runs(monkeypatch, capsys):
    """This environment (the project's .venv) has no aegra-api: serving in cluster mode says
    what to do instead of a traceback."""
    from wwhd.cli import main

    monkeypatch.setenv("DATABASE_URL", "postgresql://u:pw-visible@127.0.0.1:1/x")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    assert main(["serve", "--port", "0", "--no-ingest"]) == 1
    said = capsys.readouterr().err
    assert ".venv-cluster/bin/wwhd serve" in said and "pw-visible" not in said
