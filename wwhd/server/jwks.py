"""An identity provider's signing keys, read from its JWKS endpoint (`WWHD_JWT_JWKS_URL`).

PyJWT's `PyJWKClient` fetches the key set (no redirects, a timeout, http(s) only), parses it and
caches it for `WWHD_JWT_JWKS_CACHE_S`. This module decides when to fetch:

- a token whose `kid` is in the cached set needs no I/O at all (`cached_key`), so the request
  path stays on the event loop;
- a `kid` the set lacks (the provider rotated its keys) refreshes the set once, but at most once
  per `WWHD_JWT_JWKS_COOLDOWN_S` since the last fetch, so tokens carrying made-up kids cannot
  make the server hammer the provider;
- a failed fetch is not retried for a few seconds: while the provider is down, requests fail at
  once instead of each queueing behind a network timeout.

`signing_key` may block on the network: call it from a worker thread (asyncio.to_thread).
"""

from __future__ import annotations

import functools
import logging
import threading
import time

from jwt import PyJWK, PyJWKClient, PyJWKSet
from jwt.exceptions import PyJWKClientConnectionError, PyJWKClientError, PyJWKSetError

log = logging.getLogger(__name__)

# What identity providers sign with (Auth0, Cognito, Entra ID, Google, Okta: RS256).
JWKS_ALGORITHMS = ("RS256", "ES256")
FETCH_TIMEOUT_S = 5.0
# After a failed fetch; short, so a provider that comes back is used again quickly.
FAILURE_BACKOFF_S = 5.0


class KeysUnavailable(Exception):
    """The provider's key set could not be fetched or holds no usable key."""


class UnknownKey(Exception):
    """The provider's key set has no signing key with the token's `kid`."""


class JwksKeys:
    """The signing keys published at one JWKS URL, cached and refreshed as described above."""

    def __init__(
        self,
        url: str,
        *,
        cache_s: float = 300.0,
        cooldown_s: float = 30.0,
        timeout_s: float = FETCH_TIMEOUT_S,
        failure_backoff_s: float = FAILURE_BACKOFF_S,
    ) -> None:
        self.url = url
        # cooldown 0: the client's own unknown-kid refresh is not used; ours is below.
        self._client = PyJWKClient(
            url, cache_jwk_set=True, lifespan=cache_s, timeout=timeout_s, cooldown_duration=0,
            headers={"Accept": "application/json", "User-Agent": "wwhd-server"},
        )
        self._cooldown_s = cooldown_s
        self._failure_backoff_s = min(failure_backoff_s, cooldown_s)
        self._lock = threading.Lock()  # one fetch at a time; the others then find it cached
        self._fetched_at: float | None = None
        self._failed_at: float | None = None
        self._failure = ""

    def cached_key(self, kid: str | None) -> PyJWK | None:
        """The key for `kid` from the cached set while it is fresh; never does I/O."""
        cache = self._client.jwk_set_cache
        jwk_set = cache.get() if cache is not None else None
        return _match(jwk_set, kid) if isinstance(jwk_set, PyJWKSet) else None

    def signing_key(self, kid: str | None) -> PyJWK:
        """The key for `kid`, fetching the set when needed (blocking).

        Raises UnknownKey when the set has no such key, KeysUnavailable when it cannot be had.
        """
        key = self.cached_key(kid)
        if key is not None:
            return key
        with self._lock:
            cache = self._client.jwk_set_cache
            jwk_set = cache.get() if cache is not None else None
            if isinstance(jwk_set, PyJWKSet):
                key = _match(jwk_set, kid)
                if key is not None:
                    return key  # another thread fetched it meanwhile
                if time.monotonic() - (self._fetched_at or 0.0) < self._cooldown_s:
                    raise UnknownKey(kid)
            key = _match(self._fetch(), kid)
        if key is None:
            raise UnknownKey(kid)
        return key

    def _fetch(self) -> PyJWKSet:
        now = time.monotonic()
        if self._failed_at is not None and now - self._failed_at < self._failure_backoff_s:
            raise KeysUnavailable(f"{self._failure} (not retried for "
                                  f"{self._failure_backoff_s:g} s after a failure)")
        self._fetched_at = now
        try:
            jwk_set = self._client.get_jwk_set(refresh=True)
        except PyJWKClientConnectionError as exc:
            raise self._failed(f"cannot fetch {self.url}: {exc}") from exc
        except (PyJWKClientError, PyJWKSetError, ValueError) as exc:
            # ValueError: a body that is not JSON (an HTML error page served with 200)
            raise self._failed(f"{self.url} did not return a usable JWK set: {exc}") from exc
        if self._failed_at is not None:
            log.warning("jwks: %s answers again", self.url)
        self._failed_at = None
        return jwk_set

    def _failed(self, reason: str) -> KeysUnavailable:
        if self._failed_at is None:
            log.warning("jwks: %s", reason)  # once per outage, not per request
        self._failed_at, self._failure = time.monotonic(), reason
        return KeysUnavailable(reason)


def _match(jwk_set: PyJWKSet, kid: str | None) -> PyJWK | None:
    signing = [key for key in jwk_set.keys if key.public_key_use in ("sig", None)]
    if kid is None:
        # Some providers leave `kid` out while they publish a single key.
        return signing[0] if len(signing) == 1 else None
    return next((key for key in signing if key.key_id == kid), None)


@functools.cache
def provider_keys(url: str, cache_s: float, cooldown_s: float) -> JwksKeys:
    """The process's one JwksKeys for this configuration (its cache is shared by requests)."""
    return JwksKeys(url, cache_s=cache_s, cooldown_s=cooldown_s)
