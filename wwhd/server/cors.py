"""Which browser origins may call the API (CORS), from configuration.

langgraph-api wraps every route in starlette's CORSMiddleware, configured from the `CORS_CONFIG`
environment variable (JSON), else langgraph.json's `http.cors`, else "allow everything". It
reads them at import, under `langgraph dev` and uvicorn alike, so `wwhd serve` settles the
configuration here, once, and hands it over as `CORS_CONFIG` (launch.server_environment):

- every key langgraph.json's `http.cors` sets is kept, unless a WWHD_CORS_* variable sets it;
- `allow_origins`: WWHD_CORS_ALLOW_ORIGINS; default `*` in development (Studio and local
  frontends work as before), none in production: a production server answers cross-origin
  requests only from origins someone chose (its own /ui page is same-origin and needs none);
- `allow_headers`: WWHD_CORS_ALLOW_HEADERS; default `*` in development, in production what the
  LangGraph SDKs send (ALLOW_HEADERS);
- `expose_headers`: WWHD_CORS_EXPOSE_HEADERS; default EXPOSE_HEADERS;
- `allow_credentials` false: tokens travel in headers a script sets, never in cookies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wwhd.core.settings import Settings

# Last-Event-ID: the JS SDK resumes a stream with it.
ALLOW_HEADERS = ("authorization", "content-type", "x-api-key", "last-event-id")
# Content-Location carries a new run's id, which the JS SDK reads to join or resume the run;
# the pagination headers are langgraph-api's own defaults.
EXPOSE_HEADERS = (
    "content-location", "x-pagination-total", "x-pagination-next", "retry-after",
    "www-authenticate",
)


def cors_config(settings: Settings, file_config: Mapping[str, Any] | None = None) -> dict:
    """The CORSMiddleware arguments the server should use (langgraph-api's CorsConfig)."""
    config = dict(file_config or {})
    chosen = {
        "allow_origins": settings.cors_origins,
        "allow_headers": settings.cors_request_headers,
        "expose_headers": settings.cors_response_headers,
    }
    for key, value in chosen.items():
        if value is not None:
            config[key] = list(value)
    production = settings.is_production
    config.setdefault("allow_origins", [] if production else ["*"])
    config.setdefault("allow_headers", list(ALLOW_HEADERS) if production else ["*"])
    config.setdefault("expose_headers", list(EXPOSE_HEADERS))
    config.setdefault("allow_methods", ["*"])
    config.setdefault("allow_credentials", False)
    return config


def describe(config: Mapping[str, Any]) -> str:
    """One line for the start-up banner: who may call the API from a browser."""
    origins = list(config.get("allow_origins") or [])
    if config.get("allow_origin_regex"):
        origins.append(f"/{config['allow_origin_regex']}/")
    if not origins:
        return "same-origin only (set WWHD_CORS_ALLOW_ORIGINS to let a web app call it)"
    return ", ".join(origins)
