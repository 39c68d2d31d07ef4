"""The lab-trend SMART app's EHR launch in headless Chromium, end to end: ``/trend/launch`` with ``iss`` and
``launch`` -> the EHR's authorization endpoint (PKCE S256, state) -> back to ``/trend`` -> the browser exchanges the
code for a token -> reads the FHIR server with it -> the plotted points are the patient's results.

The EHR is a stand-in on 127.0.0.1 (sekmet-fhir runs no user launches): a SMART configuration, an authorization
endpoint that approves at once, a token endpoint that checks the PKCE verifier against the challenge, and a FHIR
search that answers only that token. Real CORS, as an EHR must offer a browser app.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from cds_service import samples
from cds_service.runtime.serve import serve_subprocess

from .conftest import PageWatch, serve_settings

pytestmark = pytest.mark.server

#: Sample patients and the drug groups of their records, in start order: coded drugs; and in lpc-messy-meds a
#: diuretic named only in text ("Lasix 40mg tablet once daily") and one behind a Medication reference.
PATIENTS = {"lpc-diuretic-hypokalemia": ["statin", "diuretic"],
            "lpc-messy-meds": ["statin", "diuretic", "diuretic", "statin"]}
CLIENT_ID = "leg-pain-cds-trend"


@dataclass
class Ehr:
    """The stand-in EHR: what it was asked, and what it handed out."""

    resources: list[dict[str, Any]]
    patient: str = ""
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    grants: dict[str, dict[str, str]] = field(default_factory=dict)  # code -> the authorize request
    authorize_params: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    fhir_auth: list[str | None] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def _handler(ehr: Ehr) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Access-Control-Allow-Origin", "*")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_OPTIONS(self) -> None:  # noqa: N802 - CORS preflight of the FHIR reads (Authorization header)
            self._send(204, headers={"Access-Control-Allow-Methods": "GET, POST",
                                     "Access-Control-Allow-Headers": "Authorization, Accept, Content-Type"})

        def do_GET(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/fhir/.well-known/smart-configuration":
                self._send(200, {"authorization_endpoint": f"{ehr.base}/auth/authorize",
                                 "token_endpoint": f"{ehr.base}/auth/token",
                                 "capabilities": ["launch-ehr", "client-public", "context-ehr-patient"],
                                 "code_challenge_methods_supported": ["S256"]})
            elif url.path == "/auth/authorize":
                ehr.authorize_params.append(query)
                code = secrets.token_urlsafe(16)
                ehr.grants[code] = query
                back = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
                self._send(302, headers={"Location": back})
            elif url.path.startswith("/fhir/"):
                auth = self.headers.get("Authorization")
                ehr.fhir_auth.append(auth)
                if auth != f"Bearer {ehr.token}":
                    self._send(401, {"resourceType": "OperationOutcome"})
                    return
                parts = url.path.split("/")  # '', 'fhir', type[, id]
                if len(parts) == 4:  # a read: the Medication a MedicationStatement refers to
                    hit = [r for r in ehr.resources if r["resourceType"] == parts[2] and r.get("id") == parts[3]]
                    self._send(200 if hit else 404, hit[0] if hit else {"resourceType": "OperationOutcome"})
                    return
                found = [r for r in ehr.resources if r["resourceType"] == parts[2] and
                         r.get("subject", {}).get("reference") == f"Patient/{query.get('patient')}"]
                self._send(200, {"resourceType": "Bundle", "type": "searchset",
                                 "entry": [{"resource": r} for r in found]})
            else:
                self._send(404, {})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            ehr.token_requests.append(form)
            grant = ehr.grants.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if (self.path != "/auth/token" or grant is None or form.get("grant_type") != "authorization_code"
                    or challenge != grant["code_challenge"] or form.get("redirect_uri") != grant["redirect_uri"]
                    or form.get("client_id") != grant["client_id"]):
                self._send(400, {"error": "invalid_grant"})
                return
            self._send(200, {"access_token": ehr.token, "token_type": "Bearer", "expires_in": 300,
                             "scope": grant["scope"], "patient": ehr.patient}, headers={"Cache-Control": "no-store"})

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            return

    return Handler


@pytest.fixture(params=sorted(PATIENTS))
def ehr(request: pytest.FixtureRequest) -> Iterator[Ehr]:
    bundle = samples.materialize(request.param, datetime.now(timezone.utc))
    stand_in = Ehr(resources=list(samples.resources_of(bundle)), patient=request.param)
    stand_in.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stand_in))
    stand_in.server.daemon_threads = True
    threading.Thread(target=stand_in.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield stand_in
    finally:
        stand_in.server.shutdown()
        stand_in.server.server_close()


def test_ehr_launch_with_pkce_plots_what_the_token_reads(ehr: Ehr, page: Any, page_watch: PageWatch,
                                                         tmp_path: Path) -> None:
    settings = serve_settings(tmp_path / "cds.sqlite3", CDS_ALLOWED_FHIR_SERVERS=f"{ehr.base}/fhir")
    with serve_subprocess(tmp_path, settings) as (_proc, base):
        page.goto(f"{base}/trend/launch?{urlencode({'iss': f'{ehr.base}/fhir', 'launch': 'ctx-1'})}")
        page.wait_for_selector('#trend-app[data-loaded="true"]')
        assert page.url == f"{base}/trend"  # the code is gone from the address bar
        (params,) = ehr.authorize_params
        assert params["client_id"] == CLIENT_ID and params["launch"] == "ctx-1" and params["aud"] == f"{ehr.base}/fhir"
        assert params["code_challenge_method"] == "S256" and params["redirect_uri"] == f"{base}/trend"
        (exchange,) = ehr.token_requests  # the browser exchanged the code once, with the verifier that matched
        assert exchange["grant_type"] == "authorization_code" and exchange["code_verifier"]
        assert ehr.fhir_auth and set(ehr.fhir_auth) <= {f"Bearer {ehr.token}", None}  # None: CORS preflights
        potassium = page.locator('[data-testid="chart-potassium"]')
        values = sorted(float(dot.get_attribute("data-value"))
                        for dot in potassium.locator('circle[data-testid^="point-potassium-"]').all())
        expected = sorted(r["valueQuantity"]["value"] for r in ehr.resources if r["resourceType"] == "Observation"
                          and any(c["code"] == "2823-3" for c in r["code"]["coding"]))
        assert values == expected and values
        groups = [row.get_attribute("data-group") for row in page.locator('tr[data-testid^="med-"]').all()]
        assert groups == PATIENTS[ehr.patient]
        page_watch.assert_quiet()
