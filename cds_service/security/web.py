"""Security for the Flask app: client JWT authentication, the FHIR server policy, headers and the audit trail.

``init_app(app)`` wires it all in (call it from create_app after config is loaded):

* before each request under ``/cds-services`` (OPTIONS/CORS preflight excepted) the caller's
  ``Authorization: Bearer <JWT>`` is verified (client_auth.Authenticator); a failure answers 401 with
  ``WWW-Authenticate`` and a generic OperationOutcome, the reason goes to the log and the audit row only;
* ``fhir_server_policy()`` gives the pipeline (fhir/gather.py) the predicate deciding whether a ``fhirServer`` may be
  contacted for the current caller (its ``fhir_servers`` plus ``CDS_ALLOWED_FHIR_SERVERS``);
* after each request the security headers are added and one audit row is written.

Configuration (``CDS_`` environment variables; Flask strips the prefix): config.SETTINGS and docs/security.md.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from flask import Flask, Response, current_app, g, request
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from cds_service import config
from cds_service.persistence.audit import AuditEvent, AuditLog, safe_token
from cds_service.security.client_auth import AuthRejected, Authenticator, AuthSettings, VerifiedClient
from cds_service.security.headers import apply_security_headers
from cds_service.security.jwks import FetchSettings, JwksCache
from cds_service.security.replay import ReplayGuard
from cds_service.security.trusted_clients import TrustedClients, TrustedClientsError, load_trusted_clients
from cds_service.security.url_policy import Allowlist, ServerPolicy, UrlPolicyError, describe, parse_url, split_allowlist

log = logging.getLogger(__name__)

EXTENSION = "cds_security"
PROTECTED_PREFIX = "/cds-services"

UNAUTHORIZED_BODY = {
    "resourceType": "OperationOutcome",
    "issue": [
        {
            "severity": "error",
            "code": "login",
            "diagnostics": "Authentication failed. Every call needs 'Authorization: Bearer <JWT>' signed by a "
            "trusted CDS client (CDS Hooks 2.0, Trusting CDS Clients).",
        }
    ],
}


@dataclass
class SecurityState:
    """What init_app built, kept in app.extensions[EXTENSION]."""

    mode: str
    authenticator: Authenticator | None
    global_fhir_servers: Allowlist
    public_base_url: str | None
    audit: AuditLog


def init_app(app: Flask, engine: Engine | None = None) -> SecurityState:
    """Check the settings (config.validate: create_app has, and it is idempotent), load the trusted clients, and
    register the request hooks. A bad setting or trusted clients file raises config.ConfigError."""
    config.validate(app.config)
    if engine is None:
        engine = create_engine(app.config["DATABASE_URL"])
    mode = str(app.config["AUTH"] or "jwt").lower()
    authenticator = None
    if mode == "jwt":
        try:
            clients = load_trusted_clients(app.config["TRUSTED_CLIENTS"])
        except TrustedClientsError as err:
            message = str(err)
            prefix = "" if message.startswith("CDS_TRUSTED_CLIENTS") else "CDS_TRUSTED_CLIENTS: "
            raise config.ConfigError(prefix + message) from err
        authenticator = _authenticator(app.config, clients, engine)
        log.info("client authentication on: %d trusted issuer(s)", len(clients))
        for client in clients.clients.values():
            if client.possible_cause_cards is not None:  # issuer URIs are configuration, not patient data
                log.info("possible-cause cards for issuer %s: %s (CDS_POSSIBLE_CAUSE_CARDS=%s elsewhere)",
                         client.iss, client.possible_cause_cards, app.config["POSSIBLE_CAUSE_CARDS"])
        if app.config["PUBLIC_BASE_URL"] and not str(app.config["PUBLIC_BASE_URL"]).startswith("https://"):
            log.warning("CDS_PUBLIC_BASE_URL is not https: CDS Hooks requires TLS in production")
        if not app.config["PUBLIC_BASE_URL"]:
            log.warning(
                "CDS_PUBLIC_BASE_URL is not set: the JWT 'aud' check trusts the request's Host header; "
                "set it to the URL EHRs call (e.g. https://cds.example.org)"
            )
    else:
        log.warning(
            "CLIENT AUTHENTICATION IS OFF (CDS_AUTH=none): any caller can invoke this service. "
            "Use only for local testing; set CDS_AUTH=jwt and CDS_TRUSTED_CLIENTS before exposing it."
        )
    state = SecurityState(
        mode=mode,
        authenticator=authenticator,
        global_fhir_servers=Allowlist.parse(split_allowlist(app.config["ALLOWED_FHIR_SERVERS"])),
        public_base_url=(app.config["PUBLIC_BASE_URL"] or None),
        audit=AuditLog(engine),
    )
    if not state.global_fhir_servers:
        log.info("CDS_ALLOWED_FHIR_SERVERS is empty: fhirServer is used only for issuers that list it")
    app.extensions[EXTENSION] = state
    app.before_request(_before_request)
    app.after_request(_after_request)
    return state


def _authenticator(config: Mapping[str, Any], clients: TrustedClients, engine: Engine) -> Authenticator:
    jwks = JwksCache(
        FetchSettings(
            timeout_s=float(config["AUTH_JWKS_TIMEOUT_S"]),
            max_bytes=int(config["AUTH_JWKS_MAX_BYTES"]),
            min_refresh_s=float(config["AUTH_JWKS_MIN_REFRESH_S"]),
            allow_http_loopback=bool(config["AUTH_ALLOW_HTTP_LOOPBACK_JWKS"]),
        )
    )
    settings = AuthSettings(
        leeway_s=float(config["AUTH_LEEWAY_S"]), max_lifetime_s=float(config["AUTH_MAX_TOKEN_LIFETIME_S"])
    )
    return Authenticator(clients, jwks, ReplayGuard(engine), settings)


def state(app: Flask | None = None) -> SecurityState:
    """The security state of an app (the current one by default)."""
    return (app or current_app).extensions[EXTENSION]  # type: ignore[no-any-return]


def _endpoint(path: str) -> tuple[str, str | None]:
    """(endpoint kind, service id) for a path under /cds-services."""
    parts = path.rstrip("/").split("/")  # '', 'cds-services', id, 'feedback'
    if path.rstrip("/") == PROTECTED_PREFIX:
        return "discovery", None
    if len(parts) == 3:
        return "service", safe_token(parts[2])
    if len(parts) == 4 and parts[3] == "feedback":
        return "feedback", safe_token(parts[2])
    return "other", None


def is_protected(path: str) -> bool:
    """Paths that require client authentication: discovery, services and feedback."""
    return path == PROTECTED_PREFIX or path.startswith(PROTECTED_PREFIX + "/")


def expected_audiences(base_url: str, path: str) -> list[str]:
    """The ``aud`` values accepted for a call: the endpoint's URL or the service's base URL.

    Feedback also accepts the service URL: the spec only says "the CDS Service endpoint being invoked", and
    clients differ (docs/security.md).
    """
    base = base_url.rstrip("/")
    urls = [base + path.rstrip("/"), base]
    if path.rstrip("/").endswith("/feedback"):
        urls.append(base + path.rstrip("/")[: -len("/feedback")])
    return [variant for url in urls for variant in (url, url + "/")]


def _base_url() -> str:
    configured = state().public_base_url
    return configured if configured else request.url_root


def _before_request() -> Response | None:
    g.cds_started = time.perf_counter()
    g.cds_request_id = safe_token(request.headers.get("X-Request-ID")) or uuid.uuid4().hex
    if request.method == "OPTIONS" or not is_protected(request.path):
        return None
    st = state()
    if st.authenticator is None:
        return None
    try:
        verified = st.authenticator.verify(
            request.headers.get("Authorization"), expected_audiences(_base_url(), request.path)
        )
    except AuthRejected as rej:
        g.cds_auth_reason = rej.reason
        # Reason and (configured) issuer only; never the token or any claim the caller chose.
        log.warning(
            "auth rejected reason=%s issuer=%s request_id=%s %s",
            rej.reason,
            rej.claimed_issuer or "-",
            g.cds_request_id,
            rej.detail,
        )
        return unauthorized()
    g.cds_client = verified
    log.debug("auth ok issuer=%s kid=%s alg=%s request_id=%s", verified.issuer, verified.kid, verified.alg,
              g.cds_request_id)
    return None


def unauthorized() -> Response:
    """401 with WWW-Authenticate and a generic OperationOutcome (RFC 6750 §3)."""
    reason = g.get("cds_auth_reason")
    challenge = 'Bearer realm="cds-services"'
    if reason != "missing-token":  # RFC 6750 §3.1: no error code when no credentials were sent
        challenge += ', error="invalid_token"'
    resp = current_app.response_class(
        response=current_app.json.dumps(UNAUTHORIZED_BODY), status=401, mimetype="application/json"
    )
    resp.headers["WWW-Authenticate"] = challenge
    return resp


def rejection_reason() -> str | None:
    """The reason code (client_auth.AuthRejected) when the current request was refused with 401 (for metrics)."""
    reason: str | None = g.get("cds_auth_reason")
    return reason


def current_client() -> VerifiedClient | None:
    """The verified caller of the current request (None when auth is off)."""
    client: VerifiedClient | None = g.get("cds_client")
    return client


def possible_cause_policy(default: str) -> str:
    """The calling client's possible_cause_cards when its entry sets one, else `default` (the site's setting)."""
    verified = current_client()
    if verified is not None and verified.client.possible_cause_cards is not None:
        return verified.client.possible_cause_cards
    return default


def fhir_server_policy() -> ServerPolicy:
    """Whether a fhirServer may be contacted for the current caller.

    Allowed: the caller's ``fhir_servers`` (from the trusted clients file) and ``CDS_ALLOWED_FHIR_SERVERS``.
    With CDS_AUTH=none only the global list applies; an empty list allows no server (prefetch only).
    """
    allowlist = state().global_fhir_servers
    verified = current_client()
    if verified is not None:
        allowlist = allowlist + verified.client.fhir_servers
    request_id = g.get("cds_request_id", "-")

    def allow(url: str) -> bool:
        allowed = allowlist.allows(url)
        if not allowed:
            log.warning("fhirServer not allowed origin=%s request_id=%s", describe(url), request_id)
        return allowed

    return allow


def note_hook_instance(value: object) -> None:
    """Called by the hooks/feedback views so the audit row and logs carry the hookInstance."""
    g.cds_hook_instance = safe_token(value)


def note_cards(card_uuids: list[str]) -> None:
    """Called by the hook endpoint with the uuids of the cards it answered (the audit row counts them)."""
    g.cds_card_uuids = card_uuids


def note_records(statement: Any, rows: list[dict[str, Any]]) -> None:
    """Rows an endpoint wants written with this call's audit row, in the same transaction (the issued cards)."""
    g.setdefault("cds_records", []).append((statement, rows))


def note_rejection(reason: str) -> None:
    """Called by error handlers so the audit row carries a 4xx reason code (e.g. 'invalid', 'not-found')."""
    g.cds_reason = safe_token(reason)


def _after_request(response: Response) -> Response:
    st = state()
    apply_security_headers(response, https=request.is_secure or (st.public_base_url or "").startswith("https:"))
    if "cds_request_id" in g:
        response.headers.setdefault("X-Request-ID", g.cds_request_id)
    if request.method != "OPTIONS" and is_protected(request.path):
        _audit(st, response)
    elif "cds_records" in g:  # not audited (no such route today): the records are still written
        st.audit.record(None, also=g.cds_records)
    return response


def _issue_code(response: Response) -> str | None:
    """The OperationOutcome issue code of an error response (errors.py writes one), as the audit reason."""
    body = response.get_json(silent=True) if response.is_json else None
    issues = body.get("issue") if isinstance(body, dict) else None
    if isinstance(issues, list) and issues and isinstance(issues[0], dict):
        return safe_token(issues[0].get("code"))
    return None


def _audit(st: SecurityState, response: Response) -> None:
    kind, service_id = _endpoint(request.path)
    card_count = None
    card_ids: list[str] = []
    if kind == "service" and response.status_code == 200 and "cds_card_uuids" in g:
        card_ids = list(g.cds_card_uuids)  # from the hook endpoint: no second parse of the response
        card_count = len(card_ids)
    elif kind == "service" and response.status_code == 200 and response.is_json:
        body = response.get_json(silent=True)  # an endpoint that did not call note_cards
        cards = body.get("cards") if isinstance(body, Mapping) else None
        if isinstance(cards, list):
            card_count = len(cards)
            card_ids = [c["uuid"] for c in cards if isinstance(c, dict) and isinstance(c.get("uuid"), str)]
    if response.status_code == 401:
        outcome, reason = "rejected", "auth-" + g.get("cds_auth_reason", "unknown")
    elif response.status_code >= 400:
        outcome, reason = "error", g.get("cds_reason") or _issue_code(response) or str(response.status_code)
    elif card_count is not None:
        outcome, reason = ("cards" if card_count else "no-cards"), None
    else:
        outcome, reason = "ok", None
    verified = current_client()
    started = g.get("cds_started", time.perf_counter())
    event = AuditEvent(
        at=datetime.now(timezone.utc),
        request_id=g.get("cds_request_id", "-"),
        endpoint=kind,
        method=request.method[:8],
        service_id=service_id,
        issuer=verified.issuer if verified else None,
        hook_instance=g.get("cds_hook_instance"),
        status=response.status_code,
        outcome=outcome,
        card_count=card_count,
        reason=reason,
        latency_ms=round((time.perf_counter() - started) * 1000, 2),
    )
    st.audit.record(event, also=g.get("cds_records", ()))
    log.info(
        "call endpoint=%s service=%s hookInstance=%s issuer=%s status=%d outcome=%s reason=%s cards=%s "
        "card_uuids=%s latency_ms=%.1f request_id=%s",
        kind, service_id or "-", event.hook_instance or "-", event.issuer or "-", event.status, outcome,
        reason or "-", "-" if card_count is None else card_count, ",".join(card_ids) or "-", event.latency_ms,
        event.request_id,
    )
