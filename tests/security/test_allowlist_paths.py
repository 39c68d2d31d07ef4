"""The allowlist's path rule, checked on the paths a real FHIR server on 127.0.0.1 actually receives.

Rule (cds_service/security/url_policy.py): a request may go to a URL whose path equals the allowlisted entry's path or
continues it after a ``/``. A ``fhirServer`` with a query or fragment is refused with 400 (issue 16, item 4: with
``urljoin`` the base ``.../fhir/r4?x=1`` passed the allowlist and the token went to ``.../fhir/Patient/...``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service import create_app
HOOK_INSTANCE = "5b3c1e5e-9a53-4b39-9d8b-1d1d2b8f6a10"
ENTRY_PATH = "/fhir/r4"
TOKEN = "secret-fhir-token"
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1951-02-03"}


def obeys_rule(request_target: str, entry_path: str = ENTRY_PATH) -> bool:
    """The path of a received request target equals the entry's path or continues it after '/'."""
    path = request_target.split("?", 1)[0]
    return path == entry_path or path.startswith(entry_path + "/")


class FhirRoutes(dict):  # type: ignore[type-arg]
    """Any path: a Patient for an instance read, else a searchset; Observation searches may carry a next link."""

    def __init__(self, next_link: str | None = None) -> None:
        super().__init__()
        self.next_link = next_link

    def get(self, path: str, default: Any = None) -> Any:
        if "/Patient/" in path:
            body: dict[str, Any] = {**PATIENT, "id": path.split("?")[0].rsplit("/", 1)[-1]}
        else:
            body = {"resourceType": "Bundle", "type": "searchset", "total": 0}
            if self.next_link and "/Observation" in path and "page=2" not in path:
                body["link"] = [{"relation": "next", "url": self.next_link}]
        return (200, {"Content-Type": "application/fhir+json"}, json.dumps(body).encode())


def hook(fhir_server: str, patient_id: str = "p1", prefetch: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": "patient-view",
        "hookInstance": HOOK_INSTANCE,
        "context": {"userId": "Practitioner/1", "patientId": patient_id},
        "fhirServer": fhir_server,
        "fhirAuthorization": {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300,
                              "scope": "patient/*.read", "subject": "cds"},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def make_app(tmp_path: Path, allowlist: str) -> Any:
    return create_app({"AUTH": "none", "DATABASE_URL": f"sqlite:///{tmp_path / 'cds.sqlite3'}",
                       "FHIR_TIMEOUT_S": 2.0, "FHIR_TOTAL_BUDGET_S": 4.0, "ALLOWED_FHIR_SERVERS": allowlist})


def post(app: Any, body: dict[str, Any]) -> Any:
    return app.test_client().post("/cds-services/leg-pain-causes", json=body)


@pytest.mark.parametrize("suffix", ["?x=1", "?", "#", "#frag", "/?x=1", "?x=1#y", "/#", "?_format=json"])
def test_a_fhir_server_with_a_query_or_fragment_is_refused(tmp_path: Path, http_server: Any, suffix: str) -> None:
    fhir = http_server()
    fhir.routes = FhirRoutes()
    app = make_app(tmp_path, fhir.url(ENTRY_PATH))
    resp = post(app, hook(fhir.url(ENTRY_PATH) + suffix))
    outcome = resp.get_json()
    received = [p for p, _ in fhir.requests]
    assert all(obeys_rule(p) for p in received), received  # urljoin sent the token to /fhir/Patient/p1
    assert resp.status_code == 400, (resp.status_code, received)
    assert outcome["resourceType"] == "OperationOutcome"
    assert "fhirServer" in outcome["issue"][0]["diagnostics"] and "query" in outcome["issue"][0]["diagnostics"]
    assert fhir.connections == []


@pytest.mark.parametrize("base", ["/fhir/r4?x=1", "/fhir/r4?", "/fhir/r4#", "/fhir/r4/../admin", "/fhir/r4/%2E%2E"])
def test_the_fetcher_itself_sends_nothing_for_a_base_with_a_query(http_server: Any, base: str) -> None:
    """Below the request schema too (the CLI, a future caller): a base that would swallow the path is not used."""
    from cards import registry

    from cds_service.fhir import gather as fhir_data
    fhir = http_server()
    fhir.routes = FhirRoutes()
    key = registry.service("leg-pain-causes").data_key("patient")
    fetcher = fhir_data._Fetcher(fhir.url(base), TOKEN, fhir_data.FetchSettings(timeout_s=2, total_budget_s=4),
                                 pool=1)
    try:
        with pytest.raises(fhir_data.FetchFailed):
            fetcher.fetch_key(key, "Patient/p1")
    finally:
        fetcher.close()
    assert fhir.connections == [], [p for p, _ in fhir.requests]


def test_queries_are_appended_to_the_base_path(http_server: Any) -> None:
    from cds_service.fhir import gather as fhir_data
    fetcher = fhir_data._Fetcher("https://EHR.example.org:443/fhir/r4", None, fhir_data.FetchSettings(), pool=1)
    try:
        assert fetcher.url_for("Patient/p1") == "https://ehr.example.org/fhir/r4/Patient/p1"
        assert fetcher.url_for("Observation?patient=p1&code=a|b") == \
            "https://ehr.example.org/fhir/r4/Observation?patient=p1&code=a|b"
    finally:
        fetcher.close()


@pytest.mark.parametrize("server_path", [ENTRY_PATH, ENTRY_PATH + "/", ENTRY_PATH + "/tenant-a"])
def test_every_request_stays_under_the_allowlisted_path(tmp_path: Path, http_server: Any, server_path: str) -> None:
    fhir = http_server()
    fhir.routes = FhirRoutes()
    app = make_app(tmp_path, fhir.url(ENTRY_PATH))
    resp = post(app, hook(fhir.url(server_path)))
    assert resp.status_code == 200, resp.get_json()
    received = [p for p, _ in fhir.requests]
    assert received and all(obeys_rule(p, server_path.rstrip("/")) for p in received), received
    assert f"{server_path.rstrip('/')}/Patient/p1" in received
    assert all(h.get("Authorization") == f"Bearer {TOKEN}" for _, h in fhir.requests)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(patient_id=st.text(min_size=1, max_size=12).filter(lambda s: s.strip()))
def test_no_patient_id_takes_a_request_outside_the_allowlisted_path(tmp_path: Path, http_server: Any,
                                                                     patient_id: str) -> None:
    fhir = http_server()
    fhir.routes = FhirRoutes()
    app = make_app(tmp_path, fhir.url(ENTRY_PATH))
    resp = post(app, hook(fhir.url(ENTRY_PATH), patient_id=patient_id))
    assert resp.status_code in (200, 400, 412), resp.get_json()
    received = [p for p, _ in fhir.requests]
    assert all(obeys_rule(p) for p in received), (patient_id, received)


@pytest.mark.parametrize(
    ("link", "followed"),
    [
        ("{fhir}/fhir/r4/Observation?page=2", True),  # same server, under the entry
        ("Observation?page=2", True),  # relative: resolved against the page, still under the entry
        ("{fhir}/fhir/r4-admin/Observation?page=2", False),  # continues the entry without '/'
        ("{fhir}/fhir/Observation?page=2", False),  # above the entry
        ("../../admin?page=2", False),  # relative, resolves above the entry
        ("{fhir}/fhir/r4/../admin?page=2", False),  # dot segments (the HTTP client would remove them)
        ("{fhir}/fhir/r4/%2e%2e/admin?page=2", False),
        ("{other}/fhir/r4/Observation?page=2", False),  # another server, even an allowlisted one
        ("https://127.0.0.1:{port}/fhir/r4/Observation?page=2", False),  # another scheme
    ],
)
def test_next_links_are_followed_only_on_the_same_server_and_under_the_entry(
        tmp_path: Path, http_server: Any, link: str, followed: bool) -> None:
    fhir, other = http_server(), http_server()
    target = link.format(fhir=fhir.url(""), other=other.url(""), port=fhir.port)
    fhir.routes = FhirRoutes(next_link=target)
    other.routes = FhirRoutes()
    app = make_app(tmp_path, f"{fhir.url(ENTRY_PATH)},{other.url(ENTRY_PATH)}")
    resp = post(app, hook(fhir.url(ENTRY_PATH)))
    assert resp.status_code == 200, resp.get_json()
    received = [p for p, _ in fhir.requests]
    assert all(obeys_rule(p) for p in received), received
    assert any("page=2" in p for p in received) is followed, received
    assert other.connections == []


@pytest.mark.parametrize(
    ("link", "followed"),
    [("{fhir}/fhir/r4/Observation?page=2", True), ("{fhir}/fhir/r4-admin/Observation?page=2", False),
     ("{fhir}/admin/Observation?page=2", False)],
)
def test_a_prefetched_bundle_is_continued_only_under_the_entry(tmp_path: Path, http_server: Any, link: str,
                                                               followed: bool) -> None:
    from cards import registry

    fhir = http_server()
    fhir.routes = FhirRoutes()
    prefetch: dict[str, Any] = {k.key: {"resourceType": "Bundle", "type": "searchset", "total": 0}
                                for k in registry.service("leg-pain-causes").data_keys}
    prefetch["patient"] = PATIENT
    prefetch["observations"]["link"] = [{"relation": "next", "url": link.format(fhir=fhir.url(""))}]
    app = make_app(tmp_path, fhir.url(ENTRY_PATH))
    resp = post(app, hook(fhir.url(ENTRY_PATH), prefetch=prefetch))
    assert resp.status_code == 200, resp.get_json()
    received = [p for p, _ in fhir.requests]
    assert all(obeys_rule(p) for p in received), received
    assert bool(received) is followed, received
