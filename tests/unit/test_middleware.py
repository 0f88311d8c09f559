"""The ASGI middleware that mends an upstream defect, run alone around a recording app."""

import asyncio
import json

from wwhd.server.middleware import StoreSearchDefaults


def call(method: str, path: str, body: bytes) -> tuple[dict, bytes]:
    seen: dict = {}

    async def app(scope, receive, send):
        message = await receive()
        seen["scope"], seen["body"] = scope, message["body"]

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": method, "path": path,
             "headers": [(b"content-length", str(len(body)).encode())]}
    asyncio.run(StoreSearchDefaults(app)(scope, receive, None))
    return seen["scope"], seen["body"]


def test_a_search_without_namespace_prefix_gets_an_empty_one_and_a_true_length():
    scope, body = call("POST", "/store/items/search", b'{"limit": 3}')
    assert json.loads(body) == {"limit": 3, "namespace_prefix": []}
    assert dict(scope["headers"])[b"content-length"] == str(len(body)).encode()


def test_other_requests_and_malformed_json_pass_unchanged():
    assert call("POST", "/store/items/search", b'{"namespace_prefix": ["a"]}')[1] \
        == b'{"namespace_prefix": ["a"]}'
    assert call("POST", "/store/items/search", b"{not json")[1] == b"{not json"
    assert call("POST", "/threads/search", b'{"limit": 3}')[1] == b'{"limit": 3}'
    assert call("GET", "/store/items/search", b"")[1] == b""
