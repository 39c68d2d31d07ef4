"""SSRF: the service contacts only allowlisted FHIR servers — proven by real sockets that record connections."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cds_service import create_app
from .conftest import BASE, TokenFactory, trusted_clients_doc

HOOK_INSTANCE = "5b3c1e5e-9a53-4b39-9d8b-1d1d2b8f6a10"
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1951-02-03"}


def empty_bundle() -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "total": 0}


def serve_fhir(srv: Any) -> None:
    """Answer the service's fallback queries (any path) with a Patient or an empty searchset."""
    routes = srv.routes

    class AnyPath(dict):  # type: ignore[type-arg]
        def get(self, path: str, default: Any = None) -> Any:
            body = PATIENT if "/Patient/" in path else empty_bundle()
            return (200, {"Content-Type": "application/fhir+json"}, json.dumps(body).encode())

    srv.routes = AnyPath(routes)


def hook(fhir_server: str | None, prefetch: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": HOOK_INSTANCE,
        "context": {"userId": "Practitioner/1", "patientId": "p1"},
        "fhirAuthorization": {"access_token": "secret-fhir-token", "token_type": "Bearer", "expires_in": 300,
                              "scope": "patient/*.read", "subject": "cds"},
    }
    if fhir_server is not None:
        body["fhirServer"] = fhir_server
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def full_prefetch() -> dict[str, Any]:
    from cards import registry

    out: dict[str, Any] = {k.key: empty_bundle() for k in registry.service("leg-pain-causes").data_keys}
    out["patient"] = PATIENT
    return out


@pytest.fixture
def servers(http_server: Any) -> tuple[Any, Any]:
    """(allowed, other): two real FHIR servers on 127.0.0.1; only the first is on the allowlist."""
    allowed, other = http_server(), http_server()
    serve_fhir(allowed)
    serve_fhir(other)
    return allowed, other


def make_app(tmp_path: Path, **overrides: Any) -> Any:
    return create_app({
        "AUTH": "none",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cds.sqlite3'}",
        "FHIR_TIMEOUT_S": 2.0,
        "FHIR_TOTAL_BUDGET_S": 4.0,
        **overrides,
    })


def call(app: Any, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return app.test_client().post("/cds-services/leg-pain-causes", json=body, headers=headers or {})


def test_allowlisted_server_is_used_with_the_token(tmp_path: Path, servers: Any) -> None:
    allowed, other = servers
    app = make_app(tmp_path, ALLOWED_FHIR_SERVERS=allowed.url("/fhir"))
    resp = call(app, hook(allowed.url("/fhir")))
    assert resp.status_code == 200, resp.get_json()
    assert allowed.requests
    assert all(h.get("Authorization") == "Bearer secret-fhir-token" for _, h in allowed.requests)
    assert other.connections == []


@pytest.mark.parametrize(
    "server",
    [
        "{other}/fhir",  # 127.0.0.1 on another port
        "{allowed}/fhir-admin",  # continues the entry without a '/'
        "{allowed}/",  # above the listed path
        "{allowed}/fhir/../admin",
        "{allowed_userinfo}/fhir",
        "https://127.0.0.1:{allowed_port}/fhir",  # another scheme
        "http://localhost:{allowed_port}/fhir",  # another spelling of the host than the one listed
    ],
)
def test_server_off_the_allowlist_receives_nothing(tmp_path: Path, servers: Any, server: str) -> None:
    allowed, other = servers
    url = server.format(other=other.url(""), allowed=allowed.url(""), allowed_port=allowed.port,
                        allowed_userinfo=f"http://user:pw@127.0.0.1:{allowed.port}")
    app = make_app(tmp_path, ALLOWED_FHIR_SERVERS=allowed.url("/fhir"))
    resp = call(app, hook(url))
    outcome = resp.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    # 412 (required data unavailable: not on the allowlist), or 400 when the request schema already refuses
    # the URL (user information): either way, nothing is contacted.
    assert resp.status_code in (400, 412)
    if resp.status_code == 412:
        assert "allowlist" in json.dumps(outcome)
    assert allowed.connections == [] and other.connections == []


def test_redirect_to_another_host_is_not_followed(tmp_path: Path, servers: Any) -> None:
    allowed, other = servers

    class Redirect(dict):  # type: ignore[type-arg]
        def get(self, path: str, default: Any = None) -> Any:
            return (302, {"Location": other.url(path)}, b"")

    allowed.routes = Redirect()
    app = make_app(tmp_path, ALLOWED_FHIR_SERVERS=allowed.url("/fhir"))
    resp = call(app, hook(allowed.url("/fhir")))
    assert resp.status_code == 412
    assert allowed.requests
    assert other.connections == []


def test_empty_allowlist_means_prefetch_only(tmp_path: Path, servers: Any) -> None:
    allowed, other = servers
    app = make_app(tmp_path)
    assert call(app, hook(allowed.url("/fhir"))).status_code == 412
    assert allowed.connections == []


def test_complete_prefetch_is_answered_whatever_fhir_server_says(tmp_path: Path, servers: Any) -> None:
    allowed, other = servers
    app = make_app(tmp_path)
    resp = call(app, hook(other.url("/fhir"), prefetch=full_prefetch()))
    assert resp.status_code == 200
    assert other.connections == []


def test_issuer_fhir_servers_apply_only_to_that_issuer(tmp_path: Path, servers: Any, keys: Any,
                                                        http_server: Any) -> None:
    allowed, other = servers
    jwks = http_server()
    from .conftest import public_jwk

    jwks.set_json("/ehr/jwks.json", {"keys": [public_jwk(keys.rsa, "rsa-1", "RS384")]})
    doc = trusted_clients_doc(keys, jwks.url("/ehr/jwks.json"))
    doc["clients"][0]["fhir_servers"] = [allowed.url("/fhir")]
    trusted = tmp_path / "trusted.json"
    trusted.write_text(json.dumps(doc))
    app = make_app(tmp_path, AUTH="jwt", TRUSTED_CLIENTS=str(trusted), PUBLIC_BASE_URL=BASE,
                   AUTH_ALLOW_HTTP_LOOPBACK_JWKS=True)
    aud = f"{BASE}/cds-services/leg-pain-causes"
    ehr = TokenFactory(keys, jwks.url("/ehr/jwks.json"))
    resp = call(app, hook(allowed.url("/fhir")), {"Authorization": f"Bearer {ehr.make(aud)}"})
    assert resp.status_code == 200, resp.get_json()
    assert allowed.requests
    # The other trusted issuer lists no FHIR server: same request, nothing contacted.
    allowed.requests.clear()
    allowed.connections.clear()
    inline = TokenFactory(keys, "", iss="https://inline.test")
    token = inline.make(aud, alg="ES384", kid="inline-ec", key=keys.ec_inline, jku=None)
    resp = call(app, hook(allowed.url("/fhir")), {"Authorization": f"Bearer {token}"})
    assert resp.status_code == 412
    assert allowed.connections == []


def test_next_link_outside_the_allowlisted_path_is_not_followed(tmp_path: Path, servers: Any) -> None:
    allowed, other = servers
    paged = {**empty_bundle(), "link": [{"relation": "next", "url": allowed.url("/admin/page2")}]}

    class Paged(dict):  # type: ignore[type-arg]
        def get(self, path: str, default: Any = None) -> Any:
            body = PATIENT if "/Patient/" in path else paged
            return (200, {"Content-Type": "application/fhir+json"}, json.dumps(body).encode())

    allowed.routes = Paged()
    app = make_app(tmp_path, ALLOWED_FHIR_SERVERS=allowed.url("/fhir"))
    resp = call(app, hook(allowed.url("/fhir")))
    assert resp.status_code == 200, resp.get_json()
    assert allowed.requests and not [p for p, _ in allowed.requests if p.startswith("/admin")]
