"""JWK Set fetching against a real HTTP server: caching, bounds, no redirects, https only."""

from __future__ import annotations

from typing import Any

import pytest

from cds_service.security.jwks import MAX_TTL_S, MIN_TTL_S, FetchSettings, JwksCache, JwksFetchError, cache_ttl

from .conftest import public_jwk


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def cache_factory() -> Any:
    made: list[JwksCache] = []

    def make(clock: Clock | None = None, **settings: Any) -> JwksCache:
        cache = JwksCache(FetchSettings(**{"allow_http_loopback": True, **settings}), clock=clock or Clock())
        made.append(cache)
        return cache

    yield make
    for cache in made:
        cache.close()


@pytest.mark.parametrize(
    ("header", "ttl"),
    [
        (None, 3600.0),
        ("max-age=600", 600.0),
        ("public, max-age=120, must-revalidate", 120.0),
        ("max-age=0", MIN_TTL_S),
        ("no-store", MIN_TTL_S),
        ("max-age=31536000", MAX_TTL_S),
        ("private", 3600.0),
    ],
)
def test_cache_ttl(header: str | None, ttl: float) -> None:
    assert cache_ttl(header) == ttl


def test_cached_until_max_age_then_refetched(http_server: Any, keys: Any, cache_factory: Any) -> None:
    srv = http_server()
    srv.set_json("/j", {"keys": [public_jwk(keys.rsa, "a", "RS384")]}, headers={"Cache-Control": "max-age=300"})
    clock = Clock()
    cache = cache_factory(clock)
    assert cache.find(srv.url("/j"), "a") is not None
    clock.now += 299
    assert cache.find(srv.url("/j"), "a") is not None
    assert srv.fetches("/j") == 1
    clock.now += 2
    assert cache.find(srv.url("/j"), "a") is not None
    assert srv.fetches("/j") == 2


def test_redirect_is_not_followed(http_server: Any, keys: Any, cache_factory: Any) -> None:
    target = http_server()
    target.set_json("/j", {"keys": [public_jwk(keys.rsa, "a", "RS384")]})
    srv = http_server()
    srv.routes["/j"] = (302, {"Location": target.url("/j")}, b"")
    with pytest.raises(JwksFetchError, match="302"):
        cache_factory().find(srv.url("/j"), "a")
    assert target.connections == []


def test_oversized_body_is_refused(http_server: Any, cache_factory: Any) -> None:
    srv = http_server()
    srv.set_json("/j", {"keys": [], "pad": "x" * 5000})
    with pytest.raises(JwksFetchError, match="exceeds"):
        cache_factory(max_bytes=2048).find(srv.url("/j"), "a")


def test_http_refused_unless_loopback_test_setting(http_server: Any, keys: Any, cache_factory: Any) -> None:
    srv = http_server()
    srv.set_json("/j", {"keys": [public_jwk(keys.rsa, "a", "RS384")]})
    with pytest.raises(JwksFetchError, match="not https"):
        cache_factory(allow_http_loopback=False).find(srv.url("/j"), "a")
    assert srv.connections == []


def test_not_a_jwk_set(http_server: Any, cache_factory: Any) -> None:
    srv = http_server()
    srv.routes["/j"] = (200, {"Content-Type": "text/html"}, b"<html>hello</html>")
    with pytest.raises(JwksFetchError, match="not a JWK Set"):
        cache_factory().find(srv.url("/j"), "a")


def test_unusable_keys_in_a_fetched_set_are_skipped(http_server: Any, keys: Any, cache_factory: Any) -> None:
    srv = http_server()
    srv.set_json("/j", {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}, {"kty": "RSA"},
                                 public_jwk(keys.rsa, "a", "RS384")]})
    cache = cache_factory()
    assert cache.find(srv.url("/j"), "a") is not None
    assert cache.find(srv.url("/j"), "h") is None


def test_failed_fetch_is_not_retried_on_every_call(http_server: Any, cache_factory: Any) -> None:
    srv = http_server()  # no route: 404
    clock = Clock()
    cache = cache_factory(clock, min_refresh_s=30)
    for _ in range(3):
        with pytest.raises(JwksFetchError):
            cache.find(srv.url("/j"), "a")
    assert srv.fetches("/j") == 1
    clock.now += 31
    with pytest.raises(JwksFetchError):
        cache.find(srv.url("/j"), "a")
    assert srv.fetches("/j") == 2
