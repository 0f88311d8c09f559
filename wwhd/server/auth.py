"""Authentication and per-user isolation for the LangGraph server (langgraph.json "auth").

- `JWT_SECRET` unset (development): every request is the anonymous user; nothing is isolated.
- `JWT_SECRET` set: every route but `/ok` and `/health` needs `Authorization: Bearer <JWT>`,
  HS256, with `sub` and `exp` (and `aud`/`iss` when `WWHD_JWT_AUDIENCE`/`WWHD_JWT_ISSUER` are
  set). Threads, runs, crons and store items belong to the token's `sub`: another user's thread is
  404 and searches return only one's own, because the owner filter is added to every query.

The handler reads `headers` (str or bytes keys, so Aegra can run it too), not `authorization`.
"""

from __future__ import annotations

import jwt
from langgraph_sdk import Auth

from wwhd.core.settings import Settings, process_settings, secret_value

auth = Auth()

OPEN_PATHS = frozenset({"/ok", "/health"})
ANONYMOUS = "anonymous"
OWNER_KEY = "owner"


def _header(headers: dict, name: str) -> str | None:
    for key, value in headers.items():
        key_text = key.decode("latin-1") if isinstance(key, bytes) else key
        if key_text.lower() == name:
            return value.decode("latin-1") if isinstance(value, bytes) else value
    return None


def _unauthorized(reason: str) -> Auth.exceptions.HTTPException:
    return Auth.exceptions.HTTPException(
        status_code=401,
        detail=f"{reason}. Send 'Authorization: Bearer <token>' with an HS256 JWT carrying "
        "'sub' and 'exp', signed with the server's JWT_SECRET.",
        headers={"WWW-Authenticate": "Bearer"},
    )


# Most specific first: PyJWT's errors subclass one another (InvalidSignatureError is a
# DecodeError, every one an InvalidTokenError).
TOKEN_PROBLEMS: tuple[tuple[type[jwt.InvalidTokenError], str], ...] = (
    (jwt.ExpiredSignatureError, "Token expired"),
    (jwt.InvalidSignatureError, "Token signature is invalid"),
    (jwt.InvalidAudienceError, "Token audience is not accepted"),
    (jwt.InvalidIssuerError, "Token issuer is not accepted"),
    (jwt.InvalidAlgorithmError, "Token must be signed with HS256"),
    (jwt.DecodeError, "Token is malformed"),
)


def _token_problem(exc: jwt.InvalidTokenError) -> str:
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"Token lacks the '{exc.claim}' claim"
    for kind, reason in TOKEN_PROBLEMS:
        if isinstance(exc, kind):
            return reason
    return f"Token is invalid ({exc})"


def verify_token(token: str, settings: Settings) -> dict:
    """Decode and check a bearer token; raise the 401 that says what is wrong with it."""
    audience, issuer = settings.jwt_audience, settings.jwt_issuer
    try:
        return jwt.decode(
            token,
            secret_value(settings.jwt_secret),
            algorithms=["HS256"],
            audience=audience,
            issuer=issuer,
            options={"require": ["sub", "exp"], "verify_aud": audience is not None},
        )
    except jwt.InvalidTokenError as exc:
        raise _unauthorized(_token_problem(exc)) from exc


@auth.authenticate
async def authenticate(path: str, headers: dict) -> Auth.types.MinimalUserDict:
    """Identify the caller from the bearer token (or as anonymous when auth is off)."""
    settings = process_settings()
    if settings.jwt_secret is None or path in OPEN_PATHS:
        return {"identity": ANONYMOUS, "is_authenticated": False}
    header = _header(headers, "authorization")
    if not header:
        raise _unauthorized("Missing bearer token")
    claims = verify_token(_bearer_token(header), settings)
    return {"identity": str(claims["sub"]), "is_authenticated": True}


def _bearer_token(header: str) -> str:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Authorization header is not 'Bearer <token>'")
    return token.strip()


def bearer_identity(header: str | None, settings: Settings) -> str | None:
    """The `sub` of a valid bearer token in `header`, else None (never raises)."""
    if not header or settings.jwt_secret is None:
        return None
    try:
        return str(verify_token(_bearer_token(header), settings)["sub"])
    except Auth.exceptions.HTTPException:
        return None


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
