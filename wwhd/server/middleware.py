"""ASGI middleware for defects of the upstream server that clients can trigger.

Our custom FastAPI app's middleware wraps every route of the LangGraph server, so a request can
be mended here before the upstream handler sees it.
"""

from __future__ import annotations

import json
from typing import Any

Scope = dict[str, Any]


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
