"""Auth a browser app can use, on real servers over HTTP: identity-provider tokens (JWKS on
loopback) in `Authorization` or `X-Api-Key`, the 401 challenge, /info's auth status, the open
/ui page, and CORS from configuration — under `langgraph dev` and under uvicorn (production)."""

import time

import httpx
import jwt
import pytest
from jwks_loopback import AUDIENCE, ISSUER, rsa_key, serve_identity_provider

from conftest import Server, copy_data_dir

pytestmark = pytest.mark.integration

APP_ORIGIN = "https://app.example"
LOCAL_ORIGIN = "http://localhost:3000"
SECRET = "integration-only-secret-not-used-anywhere-else"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type,x-api-key",
}
JWKS_COOLDOWN_S = 1


@pytest.fixture(scope="module")
def idp():
    with serve_identity_provider() as provider:
        yield provider


def start(template, tmp_path_factory, env: dict[str, str], production: bool = False):
    data = copy_data_dir(template, tmp_path_factory.mktemp("auth-frontend"))
    return Server(data_dir=data, env=env).start(production=production)


@pytest.fixture(scope="module")
def dev_server(idp, ingested_template, tmp_path_factory):
    """`langgraph dev` with an identity provider only, and two allowed browser origins."""
    server = start(ingested_template, tmp_path_factory, {
        "WWHD_JWT_JWKS_URL": idp.jwks_url, "WWHD_JWT_ISSUER": ISSUER,
        "WWHD_JWT_AUDIENCE": AUDIENCE, "WWHD_JWT_JWKS_COOLDOWN_S": str(JWKS_COOLDOWN_S),
        "WWHD_CORS_ALLOW_ORIGINS": f"{APP_ORIGIN},{LOCAL_ORIGIN}",
    })
    yield server
    server.stop()


@pytest.fixture(scope="module")
def production_server(idp, ingested_template, tmp_path_factory):
    """uvicorn (APP_ENV=production) with both JWT_SECRET and the provider, no origin set."""
    server = start(ingested_template, tmp_path_factory, {
        "APP_ENV": "production", "JWT_SECRET": SECRET, "WWHD_JWT_JWKS_URL": idp.jwks_url,
        "WWHD_JWT_ISSUER": ISSUER, "WWHD_JWT_AUDIENCE": AUDIENCE,
    }, production=True)
    yield server
    server.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_provider_token_works_as_bearer_and_as_x_api_key(dev_server, idp):
    with httpx.Client(base_url=dev_server.url, timeout=60) as http:
        created = http.post("/threads", json={}, headers=bearer(idp.token("RS256", sub="ada")))
        assert created.status_code == 200, created.text
        tid = created.json()["thread_id"]
        read = http.get(f"/threads/{tid}", headers={"X-Api-Key": idp.token("RS256", sub="ada")})
        assert read.status_code == 200 and read.json()["thread_id"] == tid
        # Another user of the same provider (ES256 key, X-Api-Key): not his thread.
        bob = {"X-Api-Key": idp.token("ES256", sub="bob")}
        assert http.get(f"/threads/{tid}", headers=bob).status_code == 404
        assert http.post("/threads/search", json={}, headers=bob).json() == []


def test_a_request_without_a_token_gets_401_with_a_bearer_challenge(dev_server, idp):
    response = httpx.post(f"{dev_server.url}/threads/search", json={})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Missing bearer token" in response.text and "X-Api-Key" in response.text
    # A token of the right shape from someone else's key, and an unsigned one: 401 too.
    forged = idp.token(key=rsa_key())
    unsigned = jwt.encode({"sub": "ada", "exp": int(time.time()) + 60}, None, algorithm="none")
    for token, reason in ((forged, "signature is invalid"), (unsigned, "unsigned")):
        refused = httpx.post(f"{dev_server.url}/threads/search", json={}, headers=bearer(token))
        assert refused.status_code == 401 and reason in refused.text
        assert refused.headers["www-authenticate"] == "Bearer"


def test_info_says_auth_is_on_and_ui_is_open(dev_server, idp):
    info = httpx.get(f"{dev_server.url}/info")
    assert info.status_code == 200
    assert info.json()["wwhd"]["auth"] == {"enabled": True, "schemes": ["bearer", "x-api-key"],
                                           "methods": ["jwks"]}
    assert idp.jwks_url not in info.text and str(idp.port) not in info.text
    for path in ("/ui", "/ui/"):
        page = httpx.get(f"{dev_server.url}{path}")
        assert page.status_code in (200, 404), (path, page.status_code, page.text)
    # /health is open but shows details (paths) only to a caller with a valid token.
    public = httpx.get(f"{dev_server.url}/health", timeout=30)
    assert public.status_code == 200 and str(dev_server.data_dir) not in public.text
    detailed = httpx.get(f"{dev_server.url}/health", timeout=30, headers=bearer(idp.token()))
    assert str(dev_server.data_dir) in detailed.text


def test_cors_preflights_follow_the_configured_origins(dev_server):
    for origin in (APP_ORIGIN, LOCAL_ORIGIN):
        allowed = httpx.options(f"{dev_server.url}/threads",
                                headers={**PREFLIGHT, "Origin": origin})
        assert allowed.status_code == 200, allowed.text
        assert allowed.headers["access-control-allow-origin"] == origin
        allowed_headers = allowed.headers["access-control-allow-headers"].lower()
        assert {"authorization", "content-type", "x-api-key"} <= set(
            name.strip() for name in allowed_headers.split(","))
    refused = httpx.options(f"{dev_server.url}/threads",
                            headers={**PREFLIGHT, "Origin": "https://elsewhere.example"})
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers


def test_a_browser_can_read_the_401_and_a_run_id_cross_origin(dev_server):
    response = httpx.post(f"{dev_server.url}/threads/search", json={},
                          headers={"Origin": APP_ORIGIN})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "www-authenticate" in exposed and "content-location" in exposed


def test_a_private_network_preflight_is_allowed_for_allowed_origins_only(dev_server):
    private = {**PREFLIGHT, "Access-Control-Request-Private-Network": "true"}
    allowed = httpx.options(f"{dev_server.url}/threads", headers={**private, "Origin": APP_ORIGIN})
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["access-control-allow-private-network"] == "true"
    refused = httpx.options(f"{dev_server.url}/threads",
                            headers={**private, "Origin": "https://elsewhere.example"})
    assert refused.status_code == 400


def test_a_provider_that_is_down_gives_503_not_500(dev_server, idp):
    # A kid the server has not cached makes it fetch the keys again (after the cooldown).
    time.sleep(JWKS_COOLDOWN_S + 0.2)
    idp.status = 500
    try:
        response = httpx.post(f"{dev_server.url}/threads/search", json={},
                              headers=bearer(idp.token(kid="rotated", key=rsa_key())))
    finally:
        idp.status = 200
    assert response.status_code == 503, response.text
    assert "identity provider's signing keys could not be fetched" in response.text
    assert response.headers["retry-after"]
    assert "jwks: " in dev_server.log(tail=None)  # the operator's log names the cause
    # Keys already cached keep working meanwhile.
    cached = httpx.post(f"{dev_server.url}/threads/search", json={}, headers=bearer(idp.token()))
    assert cached.status_code == 200


def test_production_accepts_both_kinds_and_no_cross_origin_caller(production_server, idp):
    url = production_server.url
    hs256 = jwt.encode({"sub": "ci", "iss": ISSUER, "aud": AUDIENCE,
                        "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    for headers in (bearer(hs256), {"X-Api-Key": idp.token("ES256")}):
        assert httpx.post(f"{url}/threads/search", json={}, headers=headers).status_code == 200
    missing = httpx.post(f"{url}/threads/search", json={})
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    info = httpx.get(f"{url}/info").json()["wwhd"]["auth"]
    assert info["enabled"] and info["methods"] == ["hs256", "jwks"]
    assert httpx.get(f"{url}/ui").status_code != 401
    # No origin configured in production: every cross-origin preflight is refused.
    for origin in (APP_ORIGIN, "http://localhost:3000"):
        preflight = httpx.options(f"{url}/threads", headers={**PREFLIGHT, "Origin": origin})
        assert preflight.status_code == 400
        assert "access-control-allow-origin" not in preflight.headers
