"""ASGI middleware for defects of the upstream server that clients can trigger, and for what
browser clients need that it does not give.

Our custom FastAPI app's middleware wraps every route of the LangGraph server, outside
langgraph-api's own middleware (CORS included), so a request can be mended here before the
upstream handler sees it, and a response after.
"""

from __future__ import annotations

import json
from typing import Any

from wwhd.core.settings import process_settings
from wwhd.server.auth import auth_summary

Scope = dict[str, Any]
Headers = list[tuple[bytes, bytes]]


def _has(headers: Headers, name: bytes) -> bool:
    return any(key.lower() == name for key, _ in headers)


class StoreSearchDefaults:
    """Fill in `namespace_prefix: []` on `POST /store/items/search` when it is omitted.

    The schema makes it optional, but langgraph-api 0.16.7 reads `payload["namespace_prefix"]`
    and answers 500 (KeyError) without it. Found by schemathesis; drop this once fixed upstream.
    """

    path = "/store/items/search"

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None  # the server's own validation answers malformed JSON with a 4xx
        if isinstance(payload, dict) and "namespace_prefix" not in payload:
            body = json.dumps({**payload, "namespace_prefix": []}).encode()
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await self.app({**scope, "headers": headers}, replay, send)


class AuthChallenge:
    """Give every 401 a `WWW-Authenticate: Bearer` header (RFC 6750).

    langgraph-api 0.16.7 answers a token the auth handler refuses with its own JSON response and
    drops the handler's headers (auth/middleware.py `on_error`), so the header set in auth.py
    never reaches the client.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def challenge(message: dict) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                headers = list(message.get("headers", []))
                if not _has(headers, b"www-authenticate"):
                    message = {**message, "headers": [*headers, (b"www-authenticate", b"Bearer")]}
            await send(message)

        await self.app(scope, receive, challenge)


class AuthStatusInInfo:
    """Add `"wwhd": {"auth": ...}` (auth.auth_summary) to the JSON of `GET /info`.

    A client (the /ui page, a frontend's settings screen) learns there whether to ask for a
    token, and may send it as a bearer token or in X-Api-Key; /info is served by langgraph-api
    before auth, so it stays open. Never the secret, the provider's URL or its keys.
    """

    path = "/info"

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        start: dict = {}
        body = b""

        async def amend(message: dict) -> None:
            nonlocal start, body
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body += message.get("body", b"")
            if message.get("more_body"):
                return
            headers = list(start.get("headers", []))
            if start.get("status") == 200:
                body = _with_auth_status(body)
                headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, amend)


def _with_auth_status(body: bytes) -> bytes:
    try:
        info = json.loads(body)
    except ValueError:
        return body
    if not isinstance(info, dict):
        return body
    info["wwhd"] = {**(info.get("wwhd") or {}), "auth": auth_summary(process_settings())}
    return json.dumps(info).encode()


class PrivateNetworkAccess:
    """Let a preflight that asks for private network access through, for allowed origins.

    A page on a public origin calling a server on a private address (Studio calling
    `langgraph dev` on 127.0.0.1) makes Chromium send `Access-Control-Request-Private-Network:
    true` with the preflight. starlette 1.10's CORSMiddleware refuses that with 400 "Disallowed
    CORS private-network" unless built with `allow_private_network=True`, which langgraph-api
    neither passes nor accepts in its CorsConfig (the key is dropped). So the request header is
    taken off here, the CORS middleware still decides on origin, method and headers, and a
    preflight it allowed (200 with Access-Control-Allow-Origin) gets
    `Access-Control-Allow-Private-Network: true`. Refused origins stay refused.
    """

    request_header = b"access-control-request-private-network"

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if (scope["type"] != "http" or scope["method"] != "OPTIONS"
                or not _has(scope["headers"], self.request_header)):
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != self.request_header]

        async def allow(message: dict) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                sent = list(message.get("headers", []))
                if (_has(sent, b"access-control-allow-origin")
                        and not _has(sent, b"access-control-allow-private-network")):
                    sent.append((b"access-control-allow-private-network", b"true"))
                    message = {**message, "headers": sent}
            await send(message)

        await self.app({**scope, "headers": headers}, receive, allow)


class BrowserAccess:
    """What browser clients need that langgraph-api 0.16.7 does not give, as one middleware:
    private-network preflights (PrivateNetworkAccess), `WWW-Authenticate` on 401
    (AuthChallenge) and the auth status in `GET /info` (AuthStatusInInfo)."""

    def __init__(self, app: Any) -> None:
        self.app = PrivateNetworkAccess(AuthChallenge(AuthStatusInInfo(app)))

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)
