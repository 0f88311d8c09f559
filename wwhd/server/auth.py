"""Authentication and per-user isolation for the LangGraph server (langgraph.json "auth").

- Neither `JWT_SECRET` nor `WWHD_JWT_JWKS_URL` set (development): every request is the anonymous
  user; nothing is isolated.
- Either or both set: every route but `/ok`, `/health`, a GET of `/ui` or anything under `/ui/`
  (the static page, which sends the token with its own API calls) and langgraph-api's meta
  routes (`/`, `/info`, `/metrics`, `/docs`, `/openapi.json`: served before any auth) needs a
  JWT with `sub` and `exp` (and `aud`/`iss` when `WWHD_JWT_AUDIENCE`/`WWHD_JWT_ISSUER` are
  set, which `WWHD_JWT_JWKS_URL` requires). The token's header `alg` picks the key: HS256 is
  checked with `JWT_SECRET`; RS256 and ES256 with the identity provider's keys from
  `WWHD_JWT_JWKS_URL` (wwhd/server/jwks.py); anything else, `none` included, is refused.
  Threads, runs, crons and store items belong to the token's `sub`: another user's thread is
  404 and searches return only one's own, because the owner filter is added to every query.
- The token travels as `Authorization: Bearer <token>`, or, when there is no Authorization
  header, as `X-Api-Key: <token>`: that is where LangChain's stock clients (Agent Chat UI, the
  SDKs' `apiKey`) put it.

The handler reads `headers` (str or bytes keys, so Aegra can run it too), not `authorization`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import jwt
from langgraph_sdk import Auth
from starlette.exceptions import HTTPException

from wwhd.core.settings import Settings, process_settings, secret_value
from wwhd.server.jwks import JWKS_ALGORITHMS, JwksKeys, KeysUnavailable, UnknownKey, provider_keys

auth = Auth()

OPEN_PATHS = frozenset({"/ok", "/health"})
# The reference page (/ui) is static; langgraph-api's own POST /ui/{graph} stays protected.
OPEN_PREFIX, OPEN_PREFIX_METHODS = "/ui", frozenset({"GET", "HEAD"})
ANONYMOUS = "anonymous"
OWNER_KEY = "owner"
SECRET_ALGORITHM = "HS256"
SCHEMES = ("bearer", "x-api-key")
# Seconds a client should wait before retrying when the provider's keys cannot be fetched.
RETRY_AFTER_S = 10


def is_open(path: str, method: str = "GET") -> bool:
    """Whether `path` is served without a token (liveness, readiness, the static page)."""
    if path in OPEN_PATHS:
        return True
    under_ui = path == OPEN_PREFIX or path.startswith(OPEN_PREFIX + "/")
    return under_ui and method.upper() in OPEN_PREFIX_METHODS


def auth_methods(settings: Settings) -> list[str]:
    """How tokens are checked: "hs256" (JWT_SECRET), "jwks" (WWHD_JWT_JWKS_URL); [] when off."""
    methods = []
    if settings.jwt_secret is not None:
        methods.append("hs256")
    if settings.jwt_jwks_url is not None:
        methods.append("jwks")
    return methods


def auth_summary(settings: Settings) -> dict:
    """What a client may know about auth (for GET /info): on or off, and how to send a token.
    Never the secret, the provider's URL or its keys."""
    enabled = settings.auth_enabled
    return {
        "enabled": enabled,
        "schemes": list(SCHEMES) if enabled else [],
        "methods": auth_methods(settings),
    }


def _header(headers: dict, name: str) -> str | None:
    for key, value in headers.items():
        key_text = key.decode("latin-1") if isinstance(key, bytes) else key
        if key_text.lower() == name:
            return value.decode("latin-1") if isinstance(value, bytes) else value
    return None


def _what_to_send(settings: Settings) -> str:
    kinds = []
    if settings.jwt_secret is not None:
        kinds.append("an HS256 JWT signed with the server's JWT_SECRET")
    if settings.jwt_jwks_url is not None:
        kinds.append("an RS256 or ES256 JWT from the identity provider, issued for this API")
    kind = " or ".join(kinds) or "a JWT"
    return (
        "Send 'Authorization: Bearer <token>' (or the token alone in 'X-Api-Key') with "
        f"{kind}, carrying 'sub' and 'exp'."
    )


def _unauthorized(reason: str, settings: Settings | None = None) -> Auth.exceptions.HTTPException:
    # langgraph-api 0.16.7 drops these headers; BrowserAccess (middleware.py) adds them back.
    return Auth.exceptions.HTTPException(
        status_code=401,
        detail=f"{reason}. {_what_to_send(settings or process_settings())}",
        headers={"WWW-Authenticate": "Bearer"},
    )


def _keys_unavailable() -> HTTPException:
    # 503, not 401: the token may well be valid. A 401 would tell the client to drop its
    # credentials (a login loop for every user) and hide an outage from the load balancer's
    # 5xx alarms; 503 with Retry-After says "ours, temporary, try again". A starlette
    # HTTPException, because langgraph-api turns a non-401/403 Auth.exceptions.HTTPException
    # into a 500.
    return HTTPException(
        status_code=503,
        detail="The identity provider's signing keys could not be fetched, so the token "
        "cannot be checked. Try again shortly; if it persists, the server's operator should "
        "check WWHD_JWT_JWKS_URL and that the server can reach it (the server log says why).",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


# Most specific first: PyJWT's errors subclass one another (InvalidSignatureError is a
# DecodeError, every one an InvalidTokenError).
TOKEN_PROBLEMS: tuple[tuple[type[jwt.InvalidTokenError], str], ...] = (
    (jwt.ExpiredSignatureError, "Token expired"),
    (jwt.ImmatureSignatureError, "Token is not valid yet (check the issuer's clock)"),
    (jwt.InvalidSignatureError, "Token signature is invalid"),
    (jwt.InvalidAudienceError, "Token audience is not accepted"),
    (jwt.InvalidIssuerError, "Token issuer is not accepted"),
    (jwt.InvalidAlgorithmError, "Token 'alg' does not match the key it names"),
    (jwt.DecodeError, "Token is malformed"),
)


def _token_problem(exc: jwt.InvalidTokenError) -> str:
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"Token lacks the '{exc.claim}' claim"
    for kind, reason in TOKEN_PROBLEMS:
        if isinstance(exc, kind):
            return reason
    return f"Token is invalid ({exc})"


def _token_header(token: str, settings: Settings) -> tuple[str, str | None]:
    """The token's `alg` (one this configuration accepts) and `kid`, else the 401 saying why."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise _unauthorized(_token_problem(exc), settings) from exc
    alg, kid = header.get("alg"), header.get("kid")
    if not isinstance(alg, str) or alg.lower() == "none":
        raise _unauthorized("Token is unsigned (alg 'none'); send a signed token", settings)
    if alg == SECRET_ALGORITHM:
        if settings.jwt_secret is None:
            raise _unauthorized(
                "Token is signed with HS256, but this server checks tokens only against its "
                "identity provider (JWT_SECRET is not set)", settings)
    elif alg in JWKS_ALGORITHMS:
        if settings.jwt_jwks_url is None:
            raise _unauthorized(
                f"Token is signed with {alg}, but this server has no identity provider "
                "configured (WWHD_JWT_JWKS_URL is not set)", settings)
    else:
        accepted = ", ".join(
            ([SECRET_ALGORITHM] if settings.jwt_secret is not None else [])
            + (list(JWKS_ALGORITHMS) if settings.jwt_jwks_url is not None else [])
        )
        raise _unauthorized(f"Token algorithm {alg!r} is not accepted (accepted: {accepted})",
                            settings)
    return alg, kid if isinstance(kid, str) else None


def _jwks(settings: Settings) -> JwksKeys:
    assert settings.jwt_jwks_url is not None
    return provider_keys(settings.jwt_jwks_url, settings.jwt_jwks_cache_s,
                         settings.jwt_jwks_cooldown_s)


def _provider_key(keys: JwksKeys, kid: str | None, settings: Settings) -> jwt.PyJWK:
    """The provider's key for `kid` (may block on the network), else the 401 or 503."""
    try:
        return keys.signing_key(kid)
    except UnknownKey:
        raise _unauthorized(
            "Token is signed with a key the identity provider does not publish (unknown "
            "'kid'); get a fresh token from the provider", settings) from None
    except KeysUnavailable:
        raise _keys_unavailable() from None


def _decode(token: str, key: jwt.PyJWK | str, alg: str, settings: Settings) -> dict:
    audience, issuer = settings.jwt_audience, settings.jwt_issuer
    try:
        return jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=audience,
            issuer=issuer,
            options={"require": ["sub", "exp"], "verify_aud": audience is not None},
        )
    except jwt.InvalidTokenError as exc:
        raise _unauthorized(_token_problem(exc), settings) from exc


def verify_token(token: str, settings: Settings) -> dict:
    """Decode and check a token; raise the 401 that says what is wrong with it (or a 503 when
    the identity provider's keys cannot be fetched). May block on the network: the async
    handler uses `check_token`."""
    alg, kid = _token_header(token, settings)
    if alg == SECRET_ALGORITHM:
        return _decode(token, secret_value(settings.jwt_secret) or "", alg, settings)
    return _decode(token, _provider_key(_jwks(settings), kid, settings), alg, settings)


async def check_token(token: str, settings: Settings) -> dict:
    """`verify_token` for the event loop: a key already cached is used in place; fetching the
    provider's keys runs in a worker thread."""
    alg, kid = _token_header(token, settings)
    if alg == SECRET_ALGORITHM:
        return _decode(token, secret_value(settings.jwt_secret) or "", alg, settings)
    keys = _jwks(settings)
    key = keys.cached_key(kid) or await asyncio.to_thread(_provider_key, keys, kid, settings)
    return _decode(token, key, alg, settings)


def request_token(headers: dict, settings: Settings | None = None) -> str:
    """The token of a request: `Authorization: Bearer <token>`, else `X-Api-Key`; else 401."""
    authorization = _header(headers, "authorization")
    if authorization:
        return _bearer_token(authorization, settings)
    api_key = (_header(headers, "x-api-key") or "").strip()
    if api_key:
        # Some users paste the whole "Bearer <token>" into a client's API key field.
        scheme, _, rest = api_key.partition(" ")
        return rest.strip() if scheme.lower() == "bearer" and rest.strip() else api_key
    raise _unauthorized("Missing bearer token", settings)


@auth.authenticate
async def authenticate(headers: dict, path: str | None = None,
                       method: str | None = None) -> Auth.types.MinimalUserDict:
    """Identify the caller from the token (or as anonymous when auth is off).

    langgraph-api passes all three by name; Aegra (cluster mode) passes only the headers,
    positionally, and only for the API's own routes, never for the open ones."""
    settings = process_settings()
    if not settings.auth_enabled or (path is not None and is_open(path, method or "GET")):
        return {"identity": ANONYMOUS, "is_authenticated": False}
    claims = await check_token(request_token(headers, settings), settings)
    return {"identity": str(claims["sub"]), "is_authenticated": True}


def _bearer_token(header: str, settings: Settings | None = None) -> str:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Authorization header is not 'Bearer <token>'", settings)
    return token.strip()


def request_identity(headers: Mapping, settings: Settings) -> str | None:
    """The `sub` of a valid token in a request's headers (`Authorization: Bearer` or
    `X-Api-Key`, as `authenticate` reads them), else None. Never raises; may block on the
    identity provider's keys, so call it from a worker thread or a sync route."""
    if not settings.auth_enabled:
        return None
    try:
        return str(verify_token(request_token(headers, settings), settings)["sub"])
    except (Auth.exceptions.HTTPException, HTTPException):
        return None


def bearer_identity(header: str | None, settings: Settings) -> str | None:
    """The `sub` of a valid token in an `Authorization` header value, else None."""
    return request_identity({"authorization": header} if header else {}, settings)


def _owned(ctx: Auth.types.AuthContext, value: dict) -> dict:
    # Stamping the owner on create and filtering by it everywhere else is what isolates users;
    # a client-supplied metadata filter is ANDed with this one, so it cannot widen it.
    identity = ctx.user.identity
    metadata = value.get("metadata")
    if isinstance(metadata, dict) or "metadata" in value or ctx.action in ("create", "update"):
        metadata = metadata if isinstance(metadata, dict) else {}
        metadata[OWNER_KEY] = identity
        value["metadata"] = metadata
    return {OWNER_KEY: identity}


@auth.on.threads
async def on_threads(ctx: Auth.types.AuthContext, value: dict) -> dict:
    """Threads (and their runs, state and history) belong to their creator."""
    return _owned(ctx, value)


@auth.on.crons
async def on_crons(ctx: Auth.types.AuthContext, value: dict) -> dict:
    """Crons belong to their creator."""
    return _owned(ctx, value)


@auth.on.assistants.create
@auth.on.assistants.update
@auth.on.assistants.delete
async def on_assistant_change(ctx: Auth.types.AuthContext, value: dict) -> dict:
    """Users may add their own assistants; only they can change or delete them."""
    return _owned(ctx, value)


@auth.on.assistants.read
@auth.on.assistants.search
async def on_assistant_read(ctx: Auth.types.AuthContext, value: dict) -> None:
    """The graphs' assistants are shared: every user may read and run them."""
    return None


@auth.on.store
async def on_store(ctx: Auth.types.AuthContext, value: dict) -> None:
    """Store items live under the user's own namespace: ("<sub>", ...)."""
    namespace = tuple(value.get("namespace") or ())
    identity = ctx.user.identity
    if not namespace or namespace[0] != identity:
        value["namespace"] = (identity, *namespace)
