"""Bearer tokens: HS256 with sub and exp, and aud/iss when configured; every refusal says why."""

import time

import jwt
import pytest
from langgraph_sdk import Auth

from wwhd.core.settings import load_settings
from wwhd.server.auth import bearer_identity, request_identity, verify_token

SECRET = "unit-test-secret-of-enough-length"


def token(secret: str = SECRET, algorithm: str = "HS256", **claims) -> str:
    claims = {"sub": "ada", "exp": int(time.time()) + 60, **claims}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, secret, algorithm)


@pytest.fixture
def settings(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", SECRET)
    monkeypatch.setenv("WWHD_JWT_AUDIENCE", "wwhd-web")
    monkeypatch.setenv("WWHD_JWT_ISSUER", "https://issuer.invalid/")
    return load_settings()


GOOD = {"aud": "wwhd-web", "iss": "https://issuer.invalid/"}


def test_a_token_with_the_configured_audience_and_issuer_is_accepted(settings):
    assert verify_token(token(**GOOD), settings)["sub"] == "ada"
    assert bearer_identity(f"Bearer {token(**GOOD)}", settings) == "ada"
    # /health's details read the token where the API does: X-Api-Key too (Agent Chat UI).
    assert request_identity({"x-api-key": token(**GOOD)}, settings) == "ada"
    assert request_identity({"X-Api-Key": "not-a-token"}, settings) is None
    assert request_identity({}, settings) is None


@pytest.mark.parametrize(
    ("claims", "secret", "reason"),
    [
        ({**GOOD, "aud": "someone-else"}, SECRET, "audience is not accepted"),
        ({**GOOD, "aud": None}, SECRET, "lacks the 'aud' claim"),
        ({**GOOD, "iss": "https://other.invalid/"}, SECRET, "issuer is not accepted"),
        ({**GOOD, "sub": None}, SECRET, "lacks the 'sub' claim"),
        ({**GOOD, "exp": int(time.time()) - 10}, SECRET, "expired"),
        (GOOD, "another-secret-of-enough-length!", "signature is invalid"),
    ],
)
def test_each_bad_token_is_refused_with_its_reason(settings, claims, secret, reason):
    with pytest.raises(Auth.exceptions.HTTPException) as refused:
        verify_token(token(secret, **claims), settings)
    assert refused.value.status_code == 401
    assert reason in refused.value.detail
    assert bearer_identity(f"Bearer {token(secret, **claims)}", settings) is None


def test_without_audience_settings_aud_is_not_checked(monkeypatch):
    monkeypatch.setenv("JWT_SECRET", SECRET)
    assert verify_token(token(aud="anything"), load_settings())["sub"] == "ada"


def test_a_malformed_header_gives_no_identity(settings):
    for header in (None, "", "Basic abc", "Bearer ", "Bearer not-a-jwt"):
        assert bearer_identity(header, settings) is None
