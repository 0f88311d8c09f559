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


# -- what browser clients need (BrowserAccess), around a real Starlette app -------------------


def browser_app(cors: dict | None = None):
    """A Starlette app shaped like the server: CORS inside, BrowserAccess outside."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from wwhd.server.middleware import BrowserAccess

    async def info(request):
        return JSONResponse({"version": "x"})

    async def refused(request):
        return JSONResponse({"detail": "Missing bearer token"}, status_code=401)

    inner = Starlette(
        routes=[Route("/info", info), Route("/threads", refused, methods=["POST"])],
        middleware=[Middleware(CORSMiddleware, **(cors or {"allow_origins": ["*"]}))],
    )
    return BrowserAccess(inner)


def request(app, method: str, path: str, headers: dict | None = None):
    import httpx

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path, headers=headers)

    return asyncio.run(go())


def test_a_401_carries_a_bearer_challenge():
    response = request(browser_app(), "POST", "/threads")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "www-authenticate" not in request(browser_app(), "GET", "/info").headers


def test_info_says_whether_auth_is_on():
    from wwhd.core.settings import process_settings
    from wwhd.server.auth import auth_summary

    response = request(browser_app(), "GET", "/info")
    body = response.json()
    assert body["version"] == "x"
    assert body["wwhd"] == {"auth": auth_summary(process_settings())}
    assert int(response.headers["content-length"]) == len(response.content)


def test_private_network_preflights_pass_for_allowed_origins_only():
    app = browser_app({"allow_origins": ["https://app.example"], "allow_methods": ["*"],
                       "allow_headers": ["authorization", "content-type", "x-api-key"]})
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type,x-api-key",
                 "Access-Control-Request-Private-Network": "true"}
    allowed = request(app, "OPTIONS", "/threads", {**preflight, "Origin": "https://app.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert allowed.headers["access-control-allow-private-network"] == "true"
    other = request(app, "OPTIONS", "/threads", {**preflight, "Origin": "https://evil.example"})
    assert other.status_code == 400
    assert "access-control-allow-private-network" not in other.headers
    assert "access-control-allow-origin" not in other.headers
