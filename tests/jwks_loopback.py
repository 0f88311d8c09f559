"""A real identity provider's key endpoint on loopback, for the auth tests.

`IdentityProvider` generates an RSA key and an EC P-256 key with `cryptography`, serves their
public halves as a JWKS document over HTTP on a free 127.0.0.1 port (http.server in a thread),
counts the fetches, can be told to fail (`status`), and signs tokens with either key.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://idp.test.invalid/"
AUDIENCE = "wwhd-api"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_jwk(private_key: Any, kid: str) -> dict:
    """The JWK of a private key's public half, as a provider publishes it."""
    if isinstance(private_key, rsa.RSAPrivateKey):
        jwk, alg = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True), "RS256"
    else:
        jwk, alg = ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True), "ES256"
    return {**jwk, "kid": kid, "use": "sig", "alg": alg}


@dataclass
class IdentityProvider:
    """Keys, the JWKS it serves, and how often (and how) it was asked."""

    rsa: rsa.RSAPrivateKey = field(default_factory=rsa_key)
    ec: ec.EllipticCurvePrivateKey = field(default_factory=ec_key)
    status: int = 200  # set to 500 to simulate a failing endpoint
    delay_s: float = 0.0
    fetches: int = 0
    port: int = 0
    extra_keys: list[dict] = field(default_factory=list)

    @property
    def jwks_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/.well-known/jwks.json"

    def jwks(self) -> dict:
        return {"keys": [public_jwk(self.rsa, "rsa-1"), public_jwk(self.ec, "ec-1"),
                         *self.extra_keys]}

    def token(self, alg: str = "RS256", kid: str | None = None, key: Any = None,
              exp_in: int | None = 600, **claims: Any) -> str:
        """A token signed by this provider (or by `key`), with iss/aud/sub/exp unless overridden
        (a claim given as None is left out)."""
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "ada", **claims}
        if exp_in is not None:
            payload.setdefault("exp", int(time.time()) + exp_in)
        payload = {name: value for name, value in payload.items() if value is not None}
        if key is None:
            key = self.rsa if alg.startswith("RS") else self.ec
        if kid is None:
            kid = "rsa-1" if alg.startswith("RS") else "ec-1"
        return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


@contextmanager
def serve_identity_provider(provider: IdentityProvider | None = None) -> Iterator[IdentityProvider]:
    """Serve `provider`'s JWKS on a free loopback port until the block ends."""
    provider = provider or IdentityProvider()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            provider.fetches += 1
            if provider.delay_s:
                time.sleep(provider.delay_s)
            body = json.dumps(provider.jwks() if provider.status == 200
                              else {"error": "unavailable"}).encode()
            self.send_response(provider.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider.port = server.server_address[1]
    # A short poll interval: shutdown() waits for it.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
