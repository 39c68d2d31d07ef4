"""Fetch and cache CDS clients' JWK Sets from allowlisted URLs.

Fetching is the only network access client authentication does, so it is bounded in every direction:
HTTPS only (plain HTTP only to loopback, and only when CDS_AUTH_ALLOW_HTTP_LOOPBACK_JWKS is on — a test
setting), a connect/read timeout, a body size limit, no redirects, cached for the response's Cache-Control
max-age clamped to [MIN_TTL_S, MAX_TTL_S], refetched early at most once per ``min_refresh_s`` when a token names
an unknown ``kid`` (key rotation). The caller checks the URL against the issuer's allowlist *before* asking.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from cds_service.security.trusted_clients import PublicKey, TrustedClientsError, parse_jwks
from cds_service.security.url_policy import UrlPolicyError, describe, is_loopback_host, parse_url

log = logging.getLogger(__name__)

DEFAULT_TTL_S = 3600.0  # no Cache-Control max-age: keep the set for an hour
MIN_TTL_S = 60.0  # never refetch on every call, whatever the server says (no-store included)
MAX_TTL_S = 86400.0  # pick up revocations within a day even if the server says cache for a year
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)


class JwksFetchError(Exception):
    """The JWK Set could not be fetched or parsed; the message is safe to log (no token, origin only)."""


def cache_ttl(cache_control: str | None) -> float:
    """Seconds to keep a fetched JWK Set, from its Cache-Control header, clamped to the bounds."""
    if not cache_control:
        return DEFAULT_TTL_S
    lowered = cache_control.lower()
    if "no-store" in lowered or "no-cache" in lowered:
        return MIN_TTL_S
    match = _MAX_AGE.search(cache_control)
    if not match:
        return DEFAULT_TTL_S
    return min(max(float(match.group(1)), MIN_TTL_S), MAX_TTL_S)


@dataclass
class _Entry:
    keys: dict[str, PublicKey]
    expires_at: float
    fetched_at: float


@dataclass(frozen=True)
class FetchSettings:
    """Limits for JWK Set fetches."""

    timeout_s: float = 5.0
    max_bytes: int = 65536
    min_refresh_s: float = 10.0
    allow_http_loopback: bool = False


class JwksCache:
    """Thread-safe per-URL cache of fetched JWK Sets (one per process: each gunicorn worker has its own)."""

    def __init__(self, settings: FetchSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._last_attempt: dict[str, float] = {}
        self._lock = threading.Lock()
        self._session = requests.Session()
        self._session.trust_env = False  # no proxies or .netrc credentials picked up from the environment
        self.fetch_count = 0  # observable for operators (and tests)

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    def find(self, url: str, kid: str) -> PublicKey | None:
        """The key ``kid`` from the set at ``url``: cached, fetched when stale, refetched once if unknown."""
        with self._lock:
            now = self._clock()
            entry = self._entries.get(url)
            if entry is None or entry.expires_at <= now:
                entry = self._fetch_locked(url, now)
            key = entry.keys.get(kid)
            if key is not None:
                return key
            # Unknown kid: the client may have rotated keys. Refetch, but not more often than min_refresh_s,
            # so a stream of bogus kids cannot make us hammer the client's server.
            if now - entry.fetched_at < self.settings.min_refresh_s:
                log.info("jwks kid unknown, refetch suppressed by rate limit url=%s", describe(url))
                return None
            entry = self._fetch_locked(url, now)
            return entry.keys.get(kid)

    def _fetch_locked(self, url: str, now: float) -> _Entry:
        last = self._last_attempt.get(url)
        previous = self._entries.get(url)
        failed_last_time = previous is None or previous.fetched_at != last
        if last is not None and now - last < self.settings.min_refresh_s and failed_last_time:
            # A failed fetch is not retried immediately for every incoming request.
            raise JwksFetchError(f"jwks fetch from {describe(url)} failed recently; retry suppressed")
        self._last_attempt[url] = now
        keys, ttl = self._download(url)
        entry = _Entry(keys=keys, expires_at=now + ttl, fetched_at=now)
        self._entries[url] = entry
        log.info("jwks fetched url=%s keys=%d ttl_s=%d", describe(url), len(keys), ttl)
        return entry

    def _download(self, url: str) -> tuple[dict[str, PublicKey], float]:
        try:
            target = parse_url(url, allow_query=False)
        except UrlPolicyError as err:
            raise JwksFetchError(f"jwks url rejected: {err}") from err
        if target.scheme != "https" and not (self.settings.allow_http_loopback and is_loopback_host(target.host)):
            raise JwksFetchError(f"jwks url {describe(url)} is not https")
        self.fetch_count += 1
        try:
            with self._session.get(
                url,
                timeout=self.settings.timeout_s,
                allow_redirects=False,
                stream=True,
                headers={"Accept": "application/json, application/jwk-set+json"},
            ) as resp:
                if resp.status_code != 200:
                    raise JwksFetchError(f"jwks fetch from {describe(url)} answered {resp.status_code}")
                body = bytearray()
                for chunk in resp.iter_content(8192):
                    body += chunk
                    if len(body) > self.settings.max_bytes:
                        raise JwksFetchError(f"jwks from {describe(url)} exceeds {self.settings.max_bytes} bytes")
                ttl = cache_ttl(resp.headers.get("Cache-Control"))
        except requests.RequestException as err:
            raise JwksFetchError(f"jwks fetch from {describe(url)} failed ({type(err).__name__})") from err
        try:
            data = json.loads(bytes(body))
            keys = parse_jwks(data, "fetched jwks", strict=False)
        except (ValueError, TrustedClientsError) as err:
            raise JwksFetchError(f"jwks from {describe(url)} is not a JWK Set") from err
        return keys, ttl
