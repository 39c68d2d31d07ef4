"""The two CDS Hooks Sandbox set-ups that show nothing, and the log lines docs/sandbox.md tells the operator to look for.

1. Client auth on and discovery answered 401 (here: the page calls http://localhost:8080 while CDS_PUBLIC_BASE_URL
   says http://127.0.0.1:8080, so the token's `aud` is wrong): the Sandbox shows "All clear! No cards".
2. The Sandbox page opened as http://localhost:3000 while CDS_CORS_ORIGINS lists only http://127.0.0.1:3000: the
   browser drops every answer.
The Sandbox's JWK Set is served from 127.0.0.1 (the tests are offline); the tokens are shaped as the Sandbox's.
"""
from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from flask.testing import FlaskClient
from jwt.algorithms import ECAlgorithm

from cds_service import create_app
from tests.test_sandbox import _Jwks

SANDBOX_ISS = "https://sandbox.cds-hooks.org"
SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
PUBLIC_BASE = "http://127.0.0.1:8080"
LOCAL_SANDBOX = "http://127.0.0.1:3000"
SANDBOX_DOC = Path(__file__).parents[1] / "docs" / "sandbox.md"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[FlaskClient, Any, str]]:
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=SANDBOX_KID, alg="ES384", use="sig")
    jwks = _Jwks({"keys": [jwk]})  # the Sandbox test's JWK Set server on 127.0.0.1
    server, jku = jwks.server, jwks.url
    clients = {"clients": [{"iss": SANDBOX_ISS, "jwks_urls": [jku], "algorithms": ["ES384"]}]}
    (tmp_path / "clients.json").write_text(json.dumps(clients))
    app = create_app({"AUTH": "jwt", "TRUSTED_CLIENTS": str(tmp_path / "clients.json"),
                      "AUTH_ALLOW_HTTP_LOOPBACK_JWKS": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'cds.sqlite3'}",
                      "CORS_ORIGINS": f"{SANDBOX_ISS},{LOCAL_SANDBOX}", "PUBLIC_BASE_URL": PUBLIC_BASE})
    try:
        yield app.test_client(), key, jku
    finally:
        server.shutdown()
        server.server_close()


def token(key: Any, jku: str, aud: str, iss: str = SANDBOX_ISS) -> str:
    now = int(time.time())
    claims = {"iss": iss, "aud": aud, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, key, algorithm="ES384", headers={"kid": SANDBOX_KID, "typ": "JWT", "jku": jku})


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]


def readme_sandbox_section() -> str:
    """docs/sandbox.md from "When the Sandbox shows nothing" to the next section (or the end)."""
    text = SANDBOX_DOC.read_text()
    start = text.index("## When the Sandbox shows nothing")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def test_discovery_401_from_the_sandbox_is_readable_by_the_page_and_logged(
        sandbox: Any, caplog: pytest.LogCaptureFixture) -> None:
    client, key, jku = sandbox
    caplog.set_level(logging.INFO)
    # The Sandbox was given http://localhost:8080/cds-services: that is the token's audience.
    bearer = token(key, jku, "http://localhost:8080/cds-services")
    resp = client.get("/cds-services", headers={"Authorization": f"Bearer {bearer}", "Origin": SANDBOX_ISS})
    assert resp.status_code == 401 and resp.get_json()["resourceType"] == "OperationOutcome"
    assert resp.headers["Access-Control-Allow-Origin"] == SANDBOX_ISS  # the page can see the 401...
    logged = messages(caplog)  # ...but shows "All clear! No cards": the log says why
    assert any(m.startswith(f"auth rejected reason=wrong-audience issuer={SANDBOX_ISS} request_id=") for m in logged)
    assert any(re.search(r"^call endpoint=discovery .*status=401 outcome=rejected reason=auth-wrong-audience", m)
               for m in logged), logged
    # docs/sandbox.md names the lines as logged.
    section = readme_sandbox_section()
    assert "All clear! No cards" in section
    assert "`auth rejected reason=<reason> issuer=<iss> request_id=<id>`" in section
    assert "`call endpoint=discovery … status=401 outcome=rejected reason=auth-<reason>`" in section
    assert "wrong-audience" in section and "CDS_PUBLIC_BASE_URL" in section


def test_an_untrusted_sandbox_is_logged_as_unknown_issuer(sandbox: Any, caplog: pytest.LogCaptureFixture) -> None:
    client, key, jku = sandbox
    caplog.set_level(logging.INFO)
    bearer = token(key, jku, f"{PUBLIC_BASE}/cds-services", iss="https://other-sandbox.example")
    resp = client.get("/cds-services", headers={"Authorization": f"Bearer {bearer}", "Origin": SANDBOX_ISS})
    assert resp.status_code == 401
    assert any(re.search(r"^call endpoint=discovery .*status=401 outcome=rejected reason=auth-unknown-issuer", m)
               for m in messages(caplog))
    assert "unknown-issuer" in readme_sandbox_section()


def test_a_sandbox_opened_as_localhost_is_refused_by_cors_and_logged(
        sandbox: Any, caplog: pytest.LogCaptureFixture) -> None:
    client, key, jku = sandbox
    caplog.set_level(logging.INFO)
    origin = LOCAL_SANDBOX.replace("127.0.0.1", "localhost")
    pre = client.options("/cds-services", headers={"Origin": origin, "Access-Control-Request-Method": "GET",
                                                   "Access-Control-Request-Headers": "authorization"})
    assert "Access-Control-Allow-Origin" not in pre.headers  # the browser stops here
    [line] = [m for m in messages(caplog) if m.startswith("CORS origin refused")]
    expected = (f"CORS origin refused origin={origin} method=OPTIONS preflight=yes status={pre.status_code} "
                f"allowed={SANDBOX_ISS},{LOCAL_SANDBOX} (CDS_CORS_ORIGINS): the browser drops this answer hint: "
                "localhost and 127.0.0.1 are different origins")
    assert line.startswith(expected), line
    # A listed origin is answered as before, and the valid Sandbox call works from it.
    bearer = token(key, jku, f"{PUBLIC_BASE}/cds-services")
    ok = client.get("/cds-services", headers={"Origin": LOCAL_SANDBOX, "Authorization": f"Bearer {bearer}"})
    assert ok.status_code == 200 and ok.headers["Access-Control-Allow-Origin"] == LOCAL_SANDBOX
    section = " ".join(readme_sandbox_section().split())
    assert ("`CORS origin refused origin=http://localhost:3000 method=OPTIONS preflight=yes status=200 "
            "allowed=http://127.0.0.1:3000 (CDS_CORS_ORIGINS): the browser drops this answer hint: localhost and "
            "127.0.0.1 are different origins …`") in section
