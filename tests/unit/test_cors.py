"""CORS from configuration: defaults per APP_ENV, WWHD_CORS_* over langgraph.json's http.cors,
handed to the server as CORS_CONFIG."""

import json

from wwhd.core.settings import load_settings
from wwhd.server.cors import ALLOW_HEADERS, cors_config, describe
from wwhd.server.launch import server_environment


def test_development_allows_every_origin_and_production_none():
    dev = cors_config(load_settings(app_env="development"))
    assert dev["allow_origins"] == ["*"] and dev["allow_headers"] == ["*"]
    prod = cors_config(load_settings(app_env="production"))
    assert prod["allow_origins"] == []
    assert {"authorization", "content-type", "x-api-key"} <= set(prod["allow_headers"])
    assert "content-location" in prod["expose_headers"]  # the JS SDK reads a run's id there
    assert prod["allow_credentials"] is False
    assert describe(prod).startswith("same-origin only")


def test_variables_win_over_the_file_which_wins_over_the_defaults(monkeypatch):
    monkeypatch.setenv("WWHD_CORS_ALLOW_ORIGINS", " https://app.example , http://localhost:3000,")
    settings = load_settings(app_env="production")
    config = cors_config(settings, {"allow_origins": ["https://file.example"], "max_age": 60,
                                    "allow_origin_regex": r"https://.*\.vercel\.app"})
    assert config["allow_origins"] == ["https://app.example", "http://localhost:3000"]
    assert config["max_age"] == 60 and config["allow_headers"] == list(ALLOW_HEADERS)
    assert describe(config) == (r"https://app.example, http://localhost:3000, "
                                r"/https://.*\.vercel\.app/")
    monkeypatch.setenv("WWHD_CORS_ALLOW_HEADERS", "authorization,x-api-key")
    assert cors_config(load_settings())["allow_headers"] == ["authorization", "x-api-key"]


def test_the_server_process_gets_the_configuration(monkeypatch, tmp_path):
    monkeypatch.setenv("WWHD_CORS_ALLOW_ORIGINS", "https://app.example")
    env = server_environment(load_settings(data_dir=tmp_path))
    assert json.loads(env["CORS_CONFIG"])["allow_origins"] == ["https://app.example"]


def test_an_origin_with_a_path_is_refused_saying_how_to_write_it(monkeypatch):
    import pytest

    from wwhd.core.errors import ConfigurationError

    monkeypatch.setenv("WWHD_CORS_ALLOW_ORIGINS", "https://app.example/")
    with pytest.raises(ConfigurationError, match="no path or trailing slash"):
        load_settings()


def test_langgraph_apis_own_variable_is_not_read_as_ours(monkeypatch):
    # wwhd serve warns that it ignores CORS_ALLOW_ORIGINS; it must not be read by accident.
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "https://x.example")
    assert cors_config(load_settings(app_env="production"))["allow_origins"] == []
