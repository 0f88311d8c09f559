"""Identity-provider tokens (RS256/ES256) checked against a real JWKS endpoint on loopback, beside
HS256 tokens; the key cache, its refresh on an unknown kid (rate-limited), a provider that is
down, and where a request's token is read from."""

import asyncio
import time

import jwt
import pytest
from jwks_loopback import (
    AUDIENCE,
    ISSUER,
    IdentityProvider,
    public_jwk,
    rsa_key,
    serve_identity_provider,
)
from langgraph_sdk import Auth
from starlette.exceptions import HTTPException

from wwhd.core.errors import ConfigurationError
from wwhd.core.settings import load_settings
from wwhd.server.auth import (
    auth_summary,
    bearer_identity,
    check_token,
    is_open,
    request_token,
    verify_token,
)
from wwhd.server.launch import free_port

SECRET = "unit-test-secret-of-enough-length"
COOLDOWN_S = 0.5


@pytest.fixture
def idp():
    with serve_identity_provider() as provider:
        yield provider


def settings_for(idp: IdentityProvider | None, secret: str | None = None, **more):
    values = {"jwt_issuer": ISSUER, "jwt_audience": AUDIENCE, "jwt_jwks_cooldown_s": COOLDOWN_S,
              **more}
    if idp is not None:
        values["jwt_jwks_url"] = idp.jwks_url
    if secret is not None:
        values["jwt_secret"] = secret
    return load_settings(**values)


def refused(token: str, settings) -> Exception:
    with pytest.raises((Auth.exceptions.HTTPException, HTTPException)) as caught:
        verify_token(token, settings)
    return caught.value


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_a_provider_token_is_accepted_by_both_paths(idp, alg):
    settings = settings_for(idp)
    token = idp.token(alg, sub=f"user-{alg}")
    assert verify_token(token, settings)["sub"] == f"user-{alg}"
    assert asyncio.run(check_token(token, settings))["sub"] == f"user-{alg}"
    assert bearer_identity(f"Bearer {token}", settings) == f"user-{alg}"
    assert idp.fetches == 1  # fetched once, then served from the cache


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iss": "https://another-idp.invalid/"}, "issuer is not accepted"),
        ({"aud": "another-app"}, "audience is not accepted"),
        ({"aud": None}, "lacks the 'aud' claim"),
        ({"exp": int(time.time()) - 30}, "expired"),
        ({"sub": None}, "lacks the 'sub' claim"),
    ],
)
def test_a_provider_token_with_a_bad_claim_is_refused_with_its_reason(idp, claims, reason):
    settings = settings_for(idp)
    for alg in ("RS256", "ES256"):
        error = refused(idp.token(alg, **claims), settings)
        assert error.status_code == 401
        assert reason in error.detail
        assert "X-Api-Key" in error.detail  # says how to send one


def test_a_token_signed_by_another_key_under_a_known_kid_is_refused(idp):
    forged = idp.token("RS256", key=rsa_key())  # kid "rsa-1", someone else's key
    assert "signature is invalid" in refused(forged, settings_for(idp)).detail
    # An RS256 header naming the EC key: the key's algorithm wins, not the token's.
    mixed = idp.token("RS256", kid="ec-1")
    assert "'alg' does not match" in refused(mixed, settings_for(idp)).detail


def test_an_unknown_kid_refreshes_the_keys_once_then_is_refused(idp):
    settings = settings_for(idp)
    assert verify_token(idp.token(), settings)["sub"] == "ada"
    assert idp.fetches == 1
    time.sleep(COOLDOWN_S + 0.1)

    stranger = rsa_key()
    error = refused(idp.token(kid="made-up", key=stranger), settings)
    assert error.status_code == 401 and "unknown 'kid'" in error.detail
    assert idp.fetches == 2  # one refresh, in case the provider had rotated its keys
    for n in range(5):  # more made-up kids within the cooldown: no more fetches
        assert refused(idp.token(kid=f"made-up-{n}", key=stranger), settings).status_code == 401
    assert idp.fetches == 2

    # A real rotation: the provider publishes a new key; after the cooldown it is found.
    idp.extra_keys.append(public_jwk(stranger, "rsa-2"))
    time.sleep(COOLDOWN_S + 0.1)
    assert verify_token(idp.token(kid="rsa-2", key=stranger), settings)["sub"] == "ada"
    assert idp.fetches == 3


def test_a_provider_that_is_down_gives_503_saying_so_and_is_not_hammered(idp):
    settings = settings_for(idp)
    idp.status = 500
    error = refused(idp.token(), settings)
    assert error.status_code == 503
    assert "identity provider's signing keys could not be fetched" in error.detail
    assert error.headers["Retry-After"]
    assert idp.fetches == 1
    # Within the failure backoff the next requests fail at once, without a fetch.
    assert refused(idp.token("ES256"), settings).status_code == 503
    assert idp.fetches == 1
    assert bearer_identity(f"Bearer {idp.token()}", settings) is None

    idp.status = 200  # back up: used again once the backoff has passed
    time.sleep(COOLDOWN_S + 0.1)
    assert verify_token(idp.token(), settings)["sub"] == "ada"


def test_an_unreachable_jwks_url_gives_503_not_500():
    settings = load_settings(jwt_jwks_url=f"http://127.0.0.1:{free_port()}/jwks.json",
                             jwt_issuer=ISSUER, jwt_audience=AUDIENCE)
    provider = IdentityProvider()
    error = refused(provider.token(), settings)
    assert error.status_code == 503
    assert "127.0.0.1" not in error.detail  # the client is not told where the server looked


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (jwt.encode({"sub": "ada", "exp": int(time.time()) + 60}, None, algorithm="none"),
         "unsigned (alg 'none')"),
        (jwt.encode({"sub": "ada", "exp": int(time.time()) + 60}, SECRET * 2, algorithm="HS512"),
         "algorithm 'HS512' is not accepted (accepted: HS256, RS256, ES256)"),
        ("not-a-jwt", "malformed"),
    ],
)
def test_unsigned_and_other_algorithms_are_refused(idp, token, reason):
    error = refused(token, settings_for(idp, secret=SECRET))
    assert error.status_code == 401 and reason in error.detail


def test_hs256_and_provider_tokens_work_side_by_side(idp):
    both = settings_for(idp, secret=SECRET)
    claims = {"sub": "ci-bot", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 60}
    hs256 = jwt.encode(claims, SECRET, algorithm="HS256")
    assert verify_token(hs256, both)["sub"] == "ci-bot"
    assert asyncio.run(check_token(hs256, both))["sub"] == "ci-bot"
    assert verify_token(idp.token(), both)["sub"] == "ada"

    only_jwks = settings_for(idp)
    assert "JWT_SECRET is not set" in refused(hs256, only_jwks).detail
    only_secret = load_settings(jwt_secret=SECRET, jwt_issuer=ISSUER, jwt_audience=AUDIENCE)
    assert "WWHD_JWT_JWKS_URL is not set" in refused(idp.token(), only_secret).detail


def test_fetching_keys_does_not_block_the_event_loop(idp):
    idp.delay_s = 0.4
    settings = settings_for(idp)

    async def main() -> tuple[dict, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        ticker = asyncio.create_task(tick())
        claims = await check_token(idp.token(), settings)
        ticker.cancel()
        return claims, ticks

    claims, ticks = asyncio.run(main())
    assert claims["sub"] == "ada"
    assert ticks >= 10  # the loop kept running while the keys were fetched (0.4 s)


@pytest.mark.parametrize("as_bytes", [False, True])
def test_the_token_comes_from_authorization_else_x_api_key(as_bytes):
    def headers(**values: str) -> dict:
        named = {name.replace("_", "-"): value for name, value in values.items()}
        return {k.encode(): v.encode() for k, v in named.items()} if as_bytes else named

    assert request_token(headers(Authorization="Bearer abc")) == "abc"
    assert request_token(headers(x_api_key="abc")) == "abc"
    assert request_token(headers(**{"X_Api_Key": " Bearer abc "})) == "abc"
    # Authorization wins, and a malformed one is not rescued by X-Api-Key.
    assert request_token(headers(authorization="Bearer one", x_api_key="two")) == "one"
    settings = load_settings(jwt_secret=SECRET)
    with pytest.raises(Auth.exceptions.HTTPException, match="not 'Bearer <token>'"):
        request_token(headers(authorization="Basic abc", x_api_key="two"), settings)
    with pytest.raises(Auth.exceptions.HTTPException, match="Missing bearer token"):
        request_token(headers(), settings)


def test_open_paths():
    for path in ("/ok", "/health"):
        assert is_open(path, "GET") and is_open(path, "POST")
    for path in ("/ui", "/ui/", "/ui/app.js", "/ui/wwhd/entrypoint.js"):
        assert is_open(path, "GET") and is_open(path, "HEAD"), path
    assert not is_open("/ui/wwhd", "POST")  # langgraph-api's generative-UI route
    assert not is_open("/uix", "GET") and not is_open("/threads", "GET")


def test_jwks_needs_issuer_and_audience():
    with pytest.raises(ConfigurationError) as error:
        load_settings(jwt_jwks_url="https://idp.invalid/jwks.json")
    assert "WWHD_JWT_ISSUER and WWHD_JWT_AUDIENCE are not" in str(error.value)
    with pytest.raises(ConfigurationError, match="WWHD_JWT_AUDIENCE is not"):
        load_settings(jwt_jwks_url="https://idp.invalid/jwks.json", jwt_issuer=ISSUER)


def test_the_auth_summary_reveals_no_secret_and_no_url(idp):
    summary = auth_summary(settings_for(idp, secret=SECRET))
    assert summary == {"enabled": True, "schemes": ["bearer", "x-api-key"],
                       "methods": ["hs256", "jwks"]}
    assert auth_summary(load_settings()) == {"enabled": False, "schemes": [], "methods": []}


def test_production_starts_with_either_kind_of_auth_and_not_without():
    from wwhd.server.launch import check_startup

    check_startup(load_settings(app_env="production", jwt_secret=SECRET))
    check_startup(load_settings(app_env="production", jwt_jwks_url="https://idp.invalid/jwks",
                                jwt_issuer=ISSUER, jwt_audience=AUDIENCE))
    with pytest.raises(ConfigurationError, match="requires JWT_SECRET or WWHD_JWT_JWKS_URL"):
        check_startup(load_settings(app_env="production"))
