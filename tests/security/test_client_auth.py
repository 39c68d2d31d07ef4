"""Client authentication with real signed tokens, a real JWKS server and a real replay table.

The replay and audit tests run on a SQLite file and on a real PostgreSQL server (tests/postgres_server.py; skipped
with the reason where none can run): the seen-jti table is what makes a token single-use across workers and hosts.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import create_engine

from cds_service.security import web as security
from cds_service.security.replay import ReplayGuard
from cds_service.persistence import migrations
from cds_service.persistence.audit import AuditEvent, AuditLog

from .conftest import BASE, Env, public_jwk


SVC = "/cds-services/svc"
SVC_AUD = f"{BASE}{SVC}"


def assert_rejected(env: Env, resp: Any, *, calls_before: int = 0) -> None:
    """401, RFC 6750 challenge, generic OperationOutcome, view not run, no jti stored."""
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer ")
    body = resp.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert body == security.UNAUTHORIZED_BODY  # the same generic text whatever the reason
    assert len(env.calls) == calls_before
    assert env.stored_jtis() == 0


def last_audit(env: Env) -> Any:
    return security.state(env.app).audit.recent(1)[0]


# --- accepted -----------------------------------------------------------------------------------------------


def test_valid_rs384_via_jku_is_accepted_and_cached(make_env: Any, database_url: str) -> None:
    env = make_env(DATABASE_URL=database_url)
    resp = env.post(SVC, env.tokens.make(SVC_AUD))
    assert resp.status_code == 200, resp.get_json()
    assert env.calls == ["svc"]
    assert env.stored_jtis() == 1
    assert env.jwks_fetches() == 1
    # A second token is verified from the cache (max-age=600).
    assert env.post(SVC, env.tokens.make(SVC_AUD)).status_code == 200
    assert env.jwks_fetches() == 1
    row = last_audit(env)
    assert (row.issuer, row.endpoint, row.service_id, row.status, row.outcome, row.card_count) == (
        "https://ehr.test", "service", "svc", 200, "cards", 1
    )
    assert row.hook_instance == "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"


def test_valid_es384_via_jku_is_accepted(make_env: Any) -> None:
    env = make_env()
    resp = env.post(SVC, env.tokens.make(SVC_AUD, alg="ES384", kid="ec-1"))
    assert resp.status_code == 200


def test_valid_es384_with_inline_jwks_and_no_jku(make_env: Any, keys: Any) -> None:
    env = make_env()
    token = env.tokens.make(SVC_AUD, alg="ES384", kid="inline-ec", key=keys.ec_inline, jku=None,
                            iss="https://inline.test")
    assert env.post(SVC, token).status_code == 200
    assert env.jwks_fetches() == 0


def test_no_jku_uses_the_configured_jwks_url(make_env: Any) -> None:
    env = make_env()
    assert env.post(SVC, env.tokens.make(SVC_AUD, jku=None)).status_code == 200
    assert env.jwks_fetches() == 1


def test_sub_is_not_required_but_tolerated(make_env: Any) -> None:
    env = make_env()
    assert env.post(SVC, env.tokens.make(SVC_AUD, extra={"sub": "client-id"})).status_code == 200


@pytest.mark.parametrize(
    ("path", "aud"),
    [
        ("/cds-services", f"{BASE}/cds-services"),
        (SVC, [f"{BASE}/other", SVC_AUD]),  # array naming us
        (SVC, BASE),  # the service base URL
        (SVC, BASE + "/"),
        (f"{SVC}/feedback", f"{SVC_AUD}/feedback"),
        (f"{SVC}/feedback", SVC_AUD),  # feedback with the service URL (clients differ)
    ],
)
def test_accepted_audiences(make_env: Any, path: str, aud: Any) -> None:
    env = make_env()
    token = env.tokens.make(aud)
    resp = env.client.get(path, headers={"Authorization": f"Bearer {token}"}) if path == "/cds-services" else env.post(path, token)
    assert resp.status_code == 200


def test_audience_derived_from_request_without_public_base_url(make_env: Any) -> None:
    env = make_env(PUBLIC_BASE_URL=None)
    assert env.post(SVC, env.tokens.make(f"http://localhost{SVC}")).status_code == 200
    assert env.post(SVC, env.tokens.make(SVC_AUD)).status_code == 401


# --- rejected -----------------------------------------------------------------------------------------------


def test_missing_header(make_env: Any) -> None:
    env = make_env()
    resp = env.post(SVC, None)
    assert_rejected(env, resp)
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="cds-services"'
    assert env.jwks_fetches() == 0
    row = last_audit(env)
    assert (row.status, row.outcome, row.reason, row.issuer) == (401, "rejected", "auth-missing-token", None)


def test_not_bearer(make_env: Any) -> None:
    env = make_env()
    resp = env.client.post(SVC, json={}, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_rejected(env, resp)
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


def test_garbage_token(make_env: Any) -> None:
    env = make_env()
    assert_rejected(env, env.post(SVC, "not.a.jwt"))


def test_bad_signature(make_env: Any, keys: Any) -> None:
    env = make_env()
    assert_rejected(env, env.post(SVC, env.tokens.make(SVC_AUD, key=keys.rsa_attacker)))
    assert last_audit(env).reason == "auth-bad-signature"


def test_expired(make_env: Any) -> None:
    env = make_env()
    assert_rejected(env, env.post(SVC, env.tokens.make(SVC_AUD, iat_in=-600, exp_in=-120)))
    assert last_audit(env).reason == "auth-expired"


def test_expired_within_leeway_is_accepted(make_env: Any) -> None:
    env = make_env()
    assert env.post(SVC, env.tokens.make(SVC_AUD, iat_in=-300, exp_in=-30)).status_code == 200


def test_issued_in_the_future(make_env: Any) -> None:
    env = make_env()
    assert_rejected(env, env.post(SVC, env.tokens.make(SVC_AUD, iat_in=600, exp_in=900)))
    assert last_audit(env).reason == "auth-not-yet-valid"


def test_nbf_in_the_future(make_env: Any) -> None:
    env = make_env()
    assert_rejected(env, env.post(SVC, env.tokens.make(SVC_AUD, extra={"nbf": int(time.time()) + 600})))


@pytest.mark.parametrize(
    "aud",
    [
        f"{BASE}/cds-services/other",
        "https://evil.test/cds-services/svc",
        f"{BASE}/cds-services",  # discovery URL for a service call
        [f"{BASE}/cds-services/other"],
    ],
)
def test_wrong_audience(make_env: Any, aud: Any) -> None:
    env = make_env()
    assert_rejected(env, env.post(SVC, env.tokens.make(aud)))
    assert last_audit(env).reason == "auth-wrong-audience"


def test_unknown_issuer_fetches_nothing(make_env: Any) -> None:
    env = make_env()
    assert_rejected(env, env.post(SVC, env.tokens.make(SVC_AUD, iss="https://stranger.test")))
    assert env.jwks_fetches() == 0
    assert last_audit(env).reason == "auth-unknown-issuer"


def test_alg_none(make_env: Any) -> None:
    env = make_env()
    assert_rejected(env, env.post(SVC, env.tokens.unsigned(SVC_AUD)))
    assert env.jwks_fetches() == 0
    assert last_audit(env).reason == "auth-alg-not-permitted"


def test_hs256_signed_with_the_public_key(make_env: Any) -> None:
    env = make_env()
    assert_rejected(env, env.post(SVC, env.tokens.hs256_with_public_key(SVC_AUD)))
    assert env.jwks_fetches() == 0


def test_algorithm_not_configured_for_the_issuer(make_env: Any) -> None:
    env = make_env()
    assert_rejected(env, env.post(SVC, env.tokens.make(SVC_AUD, alg="RS256")))
    assert last_audit(env).reason == "auth-alg-not-configured"


def test_es384_token_against_rsa_kid_is_rejected(make_env: Any) -> None:
    env = make_env()
    assert_rejected(env, env.post(SVC, env.tokens.make(SVC_AUD, alg="ES384", kid="rsa-1")))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"typ": None},
        {"typ": "at+jwt"},
        {"kid": None},
        {"drop": ("jti",)},
        {"drop": ("iat",)},
        {"drop": ("exp",)},
        {"drop": ("aud",)},
        {"exp_in": 7200},  # lifetime over the 1 h bound
    ],
    ids=["no-typ", "wrong-typ", "no-kid", "no-jti", "no-iat", "no-exp", "no-aud", "lifetime"],
)
def test_header_and_claim_requirements(make_env: Any, kwargs: dict[str, Any]) -> None:
    env = make_env()
    assert_rejected(env, env.post(SVC, env.tokens.make(SVC_AUD, **kwargs)))


def test_time_claims_must_be_numbers(make_env: Any) -> None:
    env = make_env()
    now = int(time.time())
    token = env.tokens.make(SVC_AUD, extra={"exp": str(now + 300), "iat": str(now)})
    assert_rejected(env, env.post(SVC, token))


def test_jti_must_be_a_string(make_env: Any) -> None:
    env = make_env()
    assert_rejected(env, env.post(SVC, env.tokens.make(SVC_AUD, extra={"jti": 12345})))


def test_unknown_kid_without_rotation_refetches_once(make_env: Any) -> None:
    env = make_env()
    assert env.post(SVC, env.tokens.make(SVC_AUD)).status_code == 200
    assert env.jwks_fetches() == 1
    resp = env.post(SVC, env.tokens.make(SVC_AUD, kid="nobody"))
    assert resp.status_code == 401
    assert env.calls == ["svc"]
    assert env.stored_jtis() == 1  # only the first, accepted token
    assert env.jwks_fetches() == 2  # exactly one refresh for the unknown kid
    assert last_audit(env).reason == "auth-unknown-kid"


def test_unknown_kid_with_rotation_is_accepted_after_one_refresh(make_env: Any, keys: Any) -> None:
    env = make_env()
    assert env.post(SVC, env.tokens.make(SVC_AUD)).status_code == 200
    env.jwks.set_json(
        "/ehr/jwks.json",
        {"keys": [public_jwk(keys.rsa, "rsa-1", "RS384"), public_jwk(keys.rsa_rotated, "rsa-2", "RS384")]},
    )
    resp = env.post(SVC, env.tokens.make(SVC_AUD, kid="rsa-2", key=keys.rsa_rotated))
    assert resp.status_code == 200
    assert env.jwks_fetches() == 2


def test_unknown_kid_refetch_is_rate_limited(make_env: Any) -> None:
    env = make_env(AUTH_JWKS_MIN_REFRESH_S=3600)
    assert env.post(SVC, env.tokens.make(SVC_AUD)).status_code == 200
    for _ in range(3):
        assert env.post(SVC, env.tokens.make(SVC_AUD, kid="nobody")).status_code == 401
    assert env.jwks_fetches() == 1


def test_jku_not_on_the_allowlist_is_never_contacted(make_env: Any, http_server: Any, keys: Any) -> None:
    env = make_env()
    attacker = http_server()
    attacker.set_json("/jwks.json", {"keys": [public_jwk(keys.rsa_attacker, "rsa-1", "RS384")]})
    for jku in (attacker.url("/jwks.json"), env.jwks.url("/other/jwks.json")):
        token = env.tokens.make(SVC_AUD, key=keys.rsa_attacker, jku=jku)
        assert_rejected(env, env.post(SVC, token))
        assert last_audit(env).reason == "auth-jku-not-allowed"
    assert attacker.connections == []
    assert env.jwks.connections == []


def test_replayed_jti(make_env: Any, database_url: str) -> None:
    env = make_env(DATABASE_URL=database_url)
    token = env.tokens.make(SVC_AUD, jti="once-only")
    assert env.post(SVC, token).status_code == 200
    resp = env.post(SVC, token)
    assert resp.status_code == 401
    assert env.calls == ["svc"]
    assert env.stored_jtis() == 1
    assert last_audit(env).reason == "auth-replayed-jti"
    # The same jti from a different issuer is a different token.
    assert env.post(SVC, env.tokens.make(SVC_AUD, jti="once-only", iss="https://inline.test")).status_code == 401


def test_replay_is_caught_across_app_instances_sharing_the_database(make_env: Any, database_url: str) -> None:
    """Two gunicorn workers = two apps, one database: the second worker must see the first's jti."""
    first = make_env(DATABASE_URL=database_url)
    second = make_env(DATABASE_URL=first.app.config["DATABASE_URL"], TRUSTED_CLIENTS=str(first.trusted_file))
    token = first.tokens.make(SVC_AUD)
    assert first.post(SVC, token).status_code == 200
    assert second.post(SVC, token).status_code == 401


def test_jwks_server_down_rejects(make_env: Any) -> None:
    env = make_env()
    env.jwks.routes.clear()  # 404 from now on
    assert_rejected(env, env.post(SVC, env.tokens.make(SVC_AUD)))
    assert last_audit(env).reason == "auth-jwks-unavailable"


# --- scope of authentication ---------------------------------------------------------------------------------


def test_options_preflight_is_not_authenticated(make_env: Any) -> None:
    env = make_env()
    resp = env.client.options(SVC, headers={"Origin": "https://sandbox.cds-hooks.org",
                                            "Access-Control-Request-Method": "POST"})
    assert resp.status_code != 401


def test_discovery_and_feedback_require_a_token(make_env: Any) -> None:
    env = make_env()
    assert env.client.get("/cds-services").status_code == 401
    assert env.post(f"{SVC}/feedback", None).status_code == 401
    assert env.calls == []


def test_paths_outside_cds_services_are_not_authenticated(make_env: Any) -> None:
    env = make_env()
    assert env.client.get("/health").status_code == 200


def test_auth_none_lets_calls_through_and_warns(make_env: Any, caplog: Any) -> None:
    with caplog.at_level("WARNING", logger="cds_service.security.web"):
        env = make_env(AUTH="none", TRUSTED_CLIENTS=None)
    assert "CLIENT AUTHENTICATION IS OFF" in caplog.text
    resp = env.post(SVC, None)
    assert resp.status_code == 200
    assert resp.get_json()["allowed"] is False  # no issuer: only the (empty) global allowlist applies
    assert last_audit(env).issuer is None


def test_verified_issuer_may_use_its_fhir_servers(make_env: Any) -> None:
    env = make_env()
    assert env.post(SVC, env.tokens.make(SVC_AUD)).get_json()["allowed"] is True


def test_security_headers_on_every_response(make_env: Any) -> None:
    env = make_env()
    for resp in (env.post(SVC, None), env.post(SVC, env.tokens.make(SVC_AUD)), env.client.get("/health")):
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        assert "Strict-Transport-Security" in resp.headers  # public base URL is https


def test_token_never_reaches_the_log(make_env: Any, caplog: Any) -> None:
    env = make_env()
    tokens = [env.tokens.make(SVC_AUD), env.tokens.make(SVC_AUD, iat_in=-600, exp_in=-120),
              env.tokens.make("https://evil.test/")]
    with caplog.at_level("DEBUG"):
        for token in tokens:
            env.post(SVC, token)
    for token in tokens:
        for part in token.split("."):
            assert part not in caplog.text
    assert "reason=expired" in caplog.text


def test_audit_rows_hold_no_request_content(make_env: Any, database_url: str) -> None:
    env = make_env(DATABASE_URL=database_url)
    env.client.post(SVC, json={"hook": "patient-view", "context": {"patientId": "SECRET-MRN-123"}},
                    headers={"Authorization": f"Bearer {env.tokens.make(SVC_AUD)}"})
    log: AuditLog = security.state(env.app).audit
    with log.engine.connect() as conn:
        dump = json.dumps([list(map(str, r)) for r in conn.exec_driver_sql("SELECT * FROM audit_event")])
    assert "SECRET-MRN-123" not in dump


# --- the replay table and the audit log on both databases ----------------------------------------------------


def test_replay_guard_expiry_and_purge(database_url: str) -> None:
    """First use wins; a replay within the lifetime is refused; an expired row is a new use and is purged."""
    now = [1_000_000.0]
    engine = create_engine(database_url)
    try:
        migrations.prepare(engine)  # SQLite: upgraded; PostgreSQL: emptied() migrated it
        guard = ReplayGuard(engine, clock=lambda: now[0])
        assert guard.first_use("https://ehr.test", "j1", expires_at=now[0] + 300)
        assert not guard.first_use("https://ehr.test", "j1", expires_at=now[0] + 300)
        assert guard.first_use("https://other.test", "j1", expires_at=now[0] + 300)  # another issuer's jti
        now[0] += 301  # j1 has expired: a reuse is honoured (the spec forbids it; the lifetime rule allows it)
        assert guard.first_use("https://ehr.test", "j1", expires_at=now[0] + 300)
        assert guard.first_use("https://ehr.test", "j2", expires_at=now[0] + 10)
        assert guard.count() == 2  # the other issuer's expired row was purged with the first call after expiry
    finally:
        engine.dispose()


def test_audit_log_round_trip(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        log = AuditLog(engine)
        at = datetime(2026, 11, 25, 12, 0, 0, 123000, tzinfo=timezone.utc)
        event = AuditEvent(at=at, request_id="req-1", endpoint="service", method="POST", service_id="svc",
                           issuer="https://ehr.test/" + "x" * 600, hook_instance="hook-1", status=200,
                           outcome="cards", card_count=2, reason=None, latency_ms=3.25)
        log.record(event)
        log.record(AuditEvent(at=at, request_id="req-2", endpoint="feedback", method="POST", service_id="svc",
                              issuer=None, hook_instance=None, status=400, outcome="error", card_count=None,
                              reason="invalid", latency_ms=1.0))
        second, first = log.recent(2)
        assert (second.request_id, second.reason, second.status) == ("req-2", "invalid", 400)
        assert first.issuer == event.issuer[:512] and first.card_count == 2 and first.latency_ms == 3.25
        assert first.at.astimezone(timezone.utc) == at and log.unwritten == 0
    finally:
        engine.dispose()
