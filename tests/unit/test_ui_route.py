"""The /ui routes: the built page and its script, a 404 that says how to build a missing page,
and nothing that shadows the LangGraph API's own /ui routes."""

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from wwhd.server.ui import ui_router


def client_for(dist: Path) -> TestClient:
    app = FastAPI()
    app.router.routes.extend(ui_router(dist).routes)
    return TestClient(app)


@pytest.fixture
def built(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html><title>W.W.H.D.</title>")
    (dist / "app.js").write_text("console.log('page');")
    (tmp_path / "secret.txt").write_text("outside the bundle")
    return dist


@pytest.mark.parametrize("path", ["/ui", "/ui/"])
def test_the_page_is_served_with_and_without_the_slash(built, path):
    response = client_for(built).get(path, params={"thread": "abc"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert "W.W.H.D." in response.text


def test_the_script_is_javascript(built):
    response = client_for(built).get("/ui/app.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")


@pytest.mark.parametrize("path", ["/ui/missing.js", "/ui/..%2Fsecret.txt", "/ui/secret.txt"])
def test_nothing_outside_the_bundle_is_served(built, path):
    assert client_for(built).get(path).status_code == 404


@pytest.mark.parametrize("path", ["/ui", "/ui/", "/ui/app.js"])
def test_an_unbuilt_page_says_how_to_build_it(tmp_path, path):
    response = client_for(tmp_path / "dist").get(path)
    assert response.status_code == 404
    assert "make ui" in response.json()["detail"]


def test_the_routes_leave_the_langgraph_ui_routes_alone(built):
    # langgraph-api serves POST /ui/{graph_id} and GET /ui/{graph_id}/{file}: only GET/HEAD of
    # one path segment are ours, and none of them is in the API's schema.
    routes = ui_router(built).routes
    assert {method for route in routes for method in route.methods} == {"GET", "HEAD"}
    assert all(route.path.count("/") <= 2 for route in routes)
    assert not any(route.include_in_schema for route in routes)
