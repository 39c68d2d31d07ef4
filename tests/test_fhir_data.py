"""The fhirServer fallback against a real HTTP server on 127.0.0.1 (a ThreadingHTTPServer in a fixture)."""
from __future__ import annotations

import io

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import pytest
from cards.projection import Resource
from cds_service import create_app
from cds_service.fhir import decode as projected_json
from flask.testing import FlaskClient

SERVICE = "/cds-services/leg-pain-causes"
TOKEN = "s3cret-token-value"
Reply = tuple[int, Any, dict[str, str]]


class FakeFhir:
    """A minimal FHIR server: answers by resource type, records every request, can stall or misbehave."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.routes: dict[str, Callable[[str], Reply]] = {}
        self.stall = 0.0
        self.inflight = 0
        self.max_inflight = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                with fake.lock:
                    fake.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                    fake.inflight += 1
                    fake.max_inflight = max(fake.max_inflight, fake.inflight)
                try:
                    if fake.stall:
                        fake.stop.wait(fake.stall)
                    rtype = urlsplit(self.path).path.strip("/").split("/")[-2 if "?" not in self.path
                                                                                and self.path.count("/") > 1
                                                                                else -1].split("?")[0]
                    route = fake.routes.get(rtype) or fake.routes.get("*") or fake.default
                    status, body, headers = route(self.path)
                    data = body if isinstance(body, bytes) else json.dumps(body).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", headers.pop("Content-Type", "application/fhir+json"))
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with fake.lock:
                        fake.inflight -= 1

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_port}/fhir"
        self.observations: list[dict[str, Any]] = []
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def default(self, path: str) -> Reply:
        kind = urlsplit(path).path.split("/")[2]
        if kind == "Patient":
            return 200, {"resourceType": "Patient", "id": "pat-1", "gender": "male"}, {}
        if kind == "Observation":
            return 200, {"resourceType": "Bundle", "type": "searchset",
                         "entry": [{"resource": o} for o in self.observations]}, {}
        return 200, {"resourceType": "Bundle", "type": "searchset"}, {}

    def paths(self, kind: str | None = None) -> list[str]:
        return [p for p, _ in self.requests if kind is None or urlsplit(p).path.split("/")[2] == kind]

    def close(self) -> None:
        if self.stop.is_set():
            return
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fhir() -> Iterator[FakeFhir]:
    server = FakeFhir()
    yield server
    server.close()


@pytest.fixture
def other() -> Iterator[FakeFhir]:
    server = FakeFhir()
    yield server
    server.close()


def _call(client: FlaskClient, build: Any, fhir: FakeFhir, prefetch: dict[str, Any] | None = None,
          token: bool = True) -> Any:
    body = build.hook_request(prefetch, fhirServer=fhir.base)
    if token:
        body["fhirAuthorization"] = {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300,
                                     "scope": "patient/*.read", "subject": "cds-service"}
    return client.post(SERVICE, json=body)


def _diagnostics(resp: Any) -> str:
    return " ".join(i["diagnostics"] for i in resp.get_json()["issue"])


def test_no_prefetch_fetches_every_key_with_the_bearer_token(client: FlaskClient, build: Any,
                                                              fhir: FakeFhir) -> None:
    fhir.observations = [build.potassium(2.9)]
    resp = _call(client, build, fhir)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert [c["source"]["topic"]["code"] for c in resp.get_json()["cards"]] == ["electrolyte-imbalance"]
    kinds = sorted(urlsplit(p).path.split("/")[2] for p in fhir.paths())
    from cards import registry
    # Every key but the Encounter, which is read only when context.encounterId names one.
    assert kinds == sorted(k.resource_type for k in registry.service("leg-pain-causes").data_keys
                           if k.context_field == "patientId")
    for _, headers in fhir.requests:
        assert headers["authorization"] == f"Bearer {TOKEN}"
        assert headers["accept"] == "application/fhir+json"


def test_the_encounter_of_context_encounter_id_is_read_and_its_reason_is_context(client: FlaskClient, build: Any,
                                                                                fhir: FakeFhir) -> None:
    """No Encounter prefetched: the fallback reads Encounter/<context.encounterId>; its reasonCode (night cramps)
    is leg-symptom context, so a possible cause (a statin with no abnormal value) shows."""
    def encounter(path: str) -> Reply:
        return 200, {"resourceType": "Encounter", "id": "enc/1", "status": "in-progress",
                     "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G47.62"}]}]}, {}

    def medications(path: str) -> Reply:
        return 200, {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {
            "resourceType": "MedicationStatement", "id": "ms-1", "status": "active",
            "subject": {"reference": "Patient/pat-1"}, "medicationCodeableConcept": {"coding": [
                {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "617312"}]}}}]}, {}

    fhir.routes["Encounter"] = encounter
    fhir.routes["MedicationStatement"] = medications
    body = build.hook_request(None, fhirServer=fhir.base)
    body["context"]["encounterId"] = "enc/1"
    resp = client.post(SERVICE, json=body)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert [c["source"]["topic"]["code"] for c in resp.get_json()["cards"]] == ["statin-muscle-symptoms"]
    assert fhir.paths("Encounter") == ["/fhir/Encounter/enc%2F1"]  # the id as one path segment


def test_an_unknown_encounter_changes_no_card(client: FlaskClient, build: Any, fhir: FakeFhir) -> None:
    """The Sandbox and EHRs may name an encounter the server does not have: a 404 only means no encounter reason,
    never "Not evaluated" on the cards."""
    fhir.routes["Encounter"] = lambda path: (404, {"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "not-found"}]}, {})
    fhir.observations = [build.potassium(2.4)]
    body = build.hook_request(None, fhirServer=fhir.base)
    body["context"]["encounterId"] = "no-such-encounter"
    resp = client.post(SERVICE, json=body)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    cards = resp.get_json()["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == ["electrolyte-imbalance"]
    assert "encounter" not in json.dumps(cards).lower()


def test_search_responses_are_decoded_as_the_projection(client: FlaskClient, build: Any, fhir: FakeFhir,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The fetched Observations reach the builder as cards.projection structs, as prefetched ones do."""
    decoded: list[Any] = []
    decode = projected_json.fhir_resource
    monkeypatch.setattr(projected_json, "fhir_resource", lambda raw: decoded.append(decode(raw)) or decoded[-1])
    fhir.observations = [build.potassium(2.9)]
    resp = _call(client, build, fhir)
    assert resp.status_code == 200
    assert len(decoded) == 5 and None not in decoded
    bundles = [d for d in decoded if d["resourceType"] == "Bundle" and d.get("entry")]
    assert any(type(e["resource"]) is Resource for b in bundles for e in b["entry"])


def test_no_authorization_header_without_fhir_authorization(client: FlaskClient, build: Any,
                                                             fhir: FakeFhir) -> None:
    assert _call(client, build, fhir, token=False).status_code == 200
    assert fhir.requests and all("authorization" not in h for _, h in fhir.requests)


def test_search_queries_are_bounded_by_code_date_and_count(client: FlaskClient, build: Any,
                                                           fhir: FakeFhir) -> None:
    _call(client, build, fhir)
    assert fhir.paths("Patient") == ["/fhir/Patient/pat-1"]
    [obs] = fhir.paths("Observation")
    assert "patient=pat-1" in obs and "2823-3" in obs and "date=ge" in obs and "_count=" in obs
    [meds] = fhir.paths("MedicationStatement")
    assert "_include=MedicationStatement" in meds


def test_keys_are_fetched_concurrently(client: FlaskClient, build: Any, fhir: FakeFhir) -> None:
    fhir.stall = 0.3  # each request waits; concurrent requests overlap on the server
    assert _call(client, build, fhir).status_code == 200
    assert fhir.max_inflight >= 2


def test_complete_prefetch_makes_no_request(client: FlaskClient, build: Any, fhir: FakeFhir) -> None:
    resp = _call(client, build, fhir, prefetch=build.full_prefetch(build.potassium(2.9)))
    assert resp.status_code == 200 and resp.get_json()["cards"]
    assert fhir.requests == []


def test_missing_keys_are_fetched_and_only_those(client: FlaskClient, build: Any, fhir: FakeFhir) -> None:
    """A null search key is the client saying it has no data (CDS Hooks 2.0): an empty result, not fetched."""
    prefetch = build.full_prefetch(build.potassium(2.9))
    prefetch["medications"] = None
    del prefetch["medicationRequests"]
    resp = _call(client, build, fhir, prefetch=prefetch)
    assert resp.status_code == 200 and resp.get_json()["cards"]
    assert sorted(urlsplit(p).path.split("/")[2] for p in fhir.paths()) == ["MedicationRequest"]
    assert "medications (" not in resp.get_json()["cards"][0]["detail"]  # not "Not evaluated": it was answered


def test_operation_outcome_prefetch_is_fetched_instead(client: FlaskClient, build: Any, fhir: FakeFhir) -> None:
    fhir.observations = [build.potassium(2.9)]
    prefetch = build.full_prefetch()
    prefetch["observations"] = {"resourceType": "OperationOutcome",
                                "issue": [{"severity": "error", "code": "timeout"}]}
    resp = _call(client, build, fhir, prefetch=prefetch)
    assert resp.status_code == 200 and resp.get_json()["cards"]
    assert len(fhir.paths("Observation")) == 1 and len(fhir.paths()) == 1


def test_next_links_are_followed_on_the_same_server(client: FlaskClient, build: Any, fhir: FakeFhir) -> None:
    def pages(path: str) -> Reply:
        if "page=2" in path:
            return 200, {"resourceType": "Bundle", "type": "searchset",
                         "entry": [{"resource": build.potassium(2.7, rid="k2")}]}, {}
        return 200, {"resourceType": "Bundle", "type": "searchset", "entry": [],
                     "link": [{"relation": "next", "url": f"{fhir.base}/Observation?page=2"}]}, {}

    fhir.routes["Observation"] = pages
    resp = _call(client, build, fhir)
    assert resp.status_code == 200
    assert "2.7 mmol/L" in resp.get_json()["cards"][0]["summary"]
    assert len(fhir.paths("Observation")) == 2


def test_next_link_to_another_server_is_not_followed(client: FlaskClient, build: Any, fhir: FakeFhir,
                                                     other: FakeFhir) -> None:
    fhir.routes["Observation"] = lambda _p: (200, {
        "resourceType": "Bundle", "type": "searchset", "entry": [{"resource": build.potassium(2.9)}],
        "link": [{"relation": "next", "url": f"{other.base}/Observation?page=2"}]}, {})
    resp = _call(client, build, fhir)
    assert resp.status_code == 200
    assert other.requests == []
    assert "next page on another server" in resp.get_json()["cards"][0]["detail"]


def test_endless_next_chain_stops_at_max_pages(app_overrides: dict[str, Any], build: Any, fhir: FakeFhir) -> None:
    client = create_app({**app_overrides, "FHIR_MAX_PAGES": 3}).test_client()
    fhir.routes["Observation"] = lambda path: (200, {
        "resourceType": "Bundle", "type": "searchset", "entry": [{"resource": build.potassium(2.9)}],
        "link": [{"relation": "next", "url": f"{fhir.base}/Observation?page=again"}]}, {})
    resp = _call(client, build, fhir)
    assert resp.status_code == 200
    assert len(fhir.paths("Observation")) == 3
    assert "first 3 pages" in resp.get_json()["cards"][0]["detail"]


def test_redirects_are_not_followed(client: FlaskClient, build: Any, fhir: FakeFhir, other: FakeFhir) -> None:
    fhir.routes["Patient"] = lambda _p: (302, b"", {"Location": f"{other.base}/Patient/pat-1"})
    resp = _call(client, build, fhir)
    assert resp.status_code == 412
    assert "redirect" in _diagnostics(resp) and "patient" in _diagnostics(resp)
    assert other.requests == []


def test_timeout_is_412_naming_the_key(app_overrides: dict[str, Any], build: Any, fhir: FakeFhir) -> None:
    client = create_app({**app_overrides, "FHIR_TIMEOUT_S": 0.3, "FHIR_TOTAL_BUDGET_S": 1.0}).test_client()
    fhir.stall = 30  # released when the fixture closes
    resp = _call(client, build, fhir)
    assert resp.status_code == 412
    text = _diagnostics(resp)
    assert "observations" in text and "patient" in text and ("timeout" in text or "time budget" in text)


@pytest.mark.parametrize("status, reason", [(401, "rejected the access token (HTTP 401)"),
                                            (403, "rejected the access token (HTTP 403)"),
                                            (500, "fhirServer error (HTTP 500)"),
                                            (404, "fhirServer error (HTTP 404)")])
def test_server_errors_on_required_data_are_412(client: FlaskClient, build: Any, fhir: FakeFhir,
                                                status: int, reason: str) -> None:
    fhir.routes["Observation"] = lambda _p: (status, {"resourceType": "OperationOutcome", "issue": []}, {})
    resp = _call(client, build, fhir)
    assert resp.status_code == 412
    assert reason in _diagnostics(resp) and "observations" in _diagnostics(resp)
    assert TOKEN not in resp.get_data(as_text=True)


@pytest.mark.parametrize("body, reason", [(b"{not json", "malformed JSON"),
                                          ({"resourceType": "OperationOutcome", "issue": []}, "OperationOutcome"),
                                          ([1, 2], "not a FHIR resource"),
                                          ({"resourceType": 5}, "not a FHIR resource")])
def test_bad_server_bodies_are_412(client: FlaskClient, build: Any, fhir: FakeFhir, body: Any,
                                   reason: str) -> None:
    fhir.routes["MedicationStatement"] = lambda _p: (200, body, {})
    resp = _call(client, build, fhir)
    assert resp.status_code == 412 and reason in _diagnostics(resp)


def test_optional_key_failure_is_noted_not_fatal(client: FlaskClient, build: Any, fhir: FakeFhir) -> None:
    fhir.observations = [build.potassium(2.9)]
    fhir.routes["MedicationRequest"] = lambda _p: (500, {}, {})
    resp = _call(client, build, fhir)
    assert resp.status_code == 200
    assert "**Not evaluated:** medicationRequests" in resp.get_json()["cards"][0]["detail"]


def _thiazide_order() -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": "mr-1", "status": "active", "intent": "order",
            "subject": {"reference": "Patient/pat-1"}, "authoredOn": "2025-01-10",
            "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                      "code": "316049", "display": "Hydrochlorothiazide 25 MG"}],
                                          "text": "Hydrochlorothiazide 25 MG"}}


def _details(resp: Any) -> list[str]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    cards = resp.get_json()["cards"]
    assert cards
    return [c["detail"] for c in cards]


def test_medication_requests_under_the_medications_key_are_not_reported_missing(client: FlaskClient,
                                                                               build: Any) -> None:
    """Synthea-style records hold MedicationRequests only; a client may send them as `medications`."""
    prefetch = build.full_prefetch(build.potassium(2.9))
    del prefetch["medicationRequests"]
    prefetch["medications"] = build.bundle(_thiazide_order())
    details = _details(client.post(SERVICE, json=build.hook_request(prefetch)))  # no fhirServer to ask
    assert not any("Not evaluated" in d for d in details)
    assert any("Hydrochlorothiazide 25 MG" in d for d in details)  # and they were read


def test_medication_requests_under_medications_count_when_their_own_key_fails(
        client: FlaskClient, build: Any, fhir: FakeFhir) -> None:
    prefetch = build.full_prefetch(build.potassium(2.9))
    del prefetch["medicationRequests"]
    prefetch["medications"] = build.bundle(_thiazide_order())
    fhir.routes["MedicationRequest"] = lambda _p: (500, {}, {})
    details = _details(_call(client, build, fhir, prefetch))
    assert fhir.paths("MedicationRequest")  # still asked for: the server may hold more
    assert not any("Not evaluated" in d for d in details)


def test_a_key_whose_type_came_nowhere_is_still_not_evaluated(client: FlaskClient, build: Any) -> None:
    prefetch = build.full_prefetch(build.potassium(2.9))
    del prefetch["medicationRequests"]
    details = _details(client.post(SERVICE, json=build.hook_request(prefetch)))
    assert all("**Not evaluated:** medicationRequests (not prefetched and no fhirServer given)" in d
               for d in details)


def test_unreachable_server_is_412(client: FlaskClient, build: Any, fhir: FakeFhir) -> None:
    base = fhir.base
    fhir.close()
    body = build.hook_request(fhirServer=base)
    resp = client.post(SERVICE, json=body)
    assert resp.status_code == 412 and "could not connect" in _diagnostics(resp)


def test_response_size_is_capped(app_overrides: dict[str, Any], build: Any, fhir: FakeFhir) -> None:
    client = create_app({**app_overrides, "FHIR_MAX_RESPONSE_MB": 1}).test_client()
    fhir.observations = [build.potassium(4.0, rid=f"k{i}") for i in range(6000)]
    resp = _call(client, build, fhir)
    assert resp.status_code == 412 and "larger than 1 MB" in _diagnostics(resp)


def test_resource_cap_truncates_and_notes(app_overrides: dict[str, Any], build: Any, fhir: FakeFhir) -> None:
    client = create_app({**app_overrides, "FHIR_MAX_RESOURCES": 3}).test_client()
    fhir.observations = [build.potassium(2.9, rid=f"k{i}") for i in range(10)]
    resp = _call(client, build, fhir)
    assert resp.status_code == 200
    assert "only the first 3 resources" in resp.get_json()["cards"][0]["detail"]


def test_policy_refusal_makes_no_request(app_overrides: dict[str, Any], build: Any, fhir: FakeFhir) -> None:
    client = create_app({**app_overrides, "ALLOW_FHIR_SERVER": lambda _url: False}).test_client()
    resp = _call(client, build, fhir)
    assert resp.status_code == 412 and "allowlist" in _diagnostics(resp)
    assert fhir.requests == []


def test_paged_prefetch_is_completed_from_the_server(client: FlaskClient, build: Any, fhir: FakeFhir) -> None:
    fhir.routes["Observation"] = lambda _p: (200, {"resourceType": "Bundle", "type": "searchset",
                                                   "entry": [{"resource": build.potassium(2.6, rid="k9")}]}, {})
    prefetch = build.full_prefetch()
    prefetch["observations"] = build.bundle(build.potassium(4.0, when="2026-10-01T00:00:00Z"),
                                            next_url=f"{fhir.base}/Observation?page=2")
    resp = _call(client, build, fhir, prefetch=prefetch)
    assert resp.status_code == 200
    assert "2.6 mmol/L" in resp.get_json()["cards"][0]["summary"]
    assert fhir.paths() == ["/fhir/Observation?page=2"]


def test_token_never_reaches_the_log(client: FlaskClient, build: Any, fhir: FakeFhir,
                                     caplog: pytest.LogCaptureFixture) -> None:
    fhir.routes["Observation"] = lambda _p: (401, {}, {})
    with caplog.at_level("DEBUG"):
        _call(client, build, fhir)
    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert TOKEN not in logged and "pat-1" not in logged


@pytest.mark.parametrize("patient", [
    {"resourceType": "Patient", "id": "someone-else"},
    {"resourceType": "Observation", "id": "pat-1", "status": "final", "code": {"text": "x"}},
])
def test_a_patient_prefetch_that_is_not_this_patient_is_412(client: FlaskClient, build: Any,
                                                            patient: dict[str, Any]) -> None:
    prefetch = build.full_prefetch(build.potassium(2.9))
    prefetch["patient"] = patient
    resp = client.post("/cds-services/leg-pain-causes", json=build.hook_request(prefetch))
    assert resp.status_code == 412
    assert "patient" in resp.get_data(as_text=True)


def test_chunked_body_over_the_limit_is_413_not_truncated(app_overrides: dict[str, Any]) -> None:
    from cds_service import create_app
    app = create_app({**app_overrides, "MAX_BODY_MB": 16})
    body = b'{"hook": "patient-view"' + b" " * (17 * 1024 * 1024) + b"}"
    # No Content-Length, as gunicorn presents a chunked upload (wsgi.input_terminated).
    resp = app.test_client().post("/cds-services/leg-pain-causes", input_stream=io.BytesIO(body),
                                  headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                                  environ_overrides={"wsgi.input_terminated": True})
    assert resp.status_code == 413
    assert "16 MB" in resp.get_json()["issue"][0]["diagnostics"]


def test_bundle_entries_taken_in_bulk_match_the_entry_by_entry_reading() -> None:
    """fhir_data._entries takes plain entries without a Python loop; any odd entry falls back to the loop, which
    notes what it leaves out. Both give the same resources and notes."""
    from cards.facts import DataNotes
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from cds_service.fhir import gather as fhir_data
    class Sub(dict):  # type: ignore[type-arg]
        pass

    obs = {"resourceType": "Observation", "id": "o"}
    resource = st.sampled_from([obs, {"resourceType": "OperationOutcome"}, {"resourceType": ["x"]}, {}, None, "x",
                                [obs], Sub(obs)])
    entry = st.one_of(st.builds(lambda r: {"resource": r, "fullUrl": "u"}, resource),
                      st.sampled_from([{}, None, 3, [obs], Sub(resource=obs)]))

    @given(entries=st.lists(entry, max_size=8))
    @settings(max_examples=300, deadline=None)
    def same(entries: list[Any]) -> None:
        bulk, loop = DataNotes(), DataNotes()
        assert fhir_data._entries({"entry": entries}, bulk) == list(fhir_data._each_entry(entries, loop))
        assert bulk.skipped == loop.skipped

    same()


def test_fetch_defaults_are_the_service_defaults() -> None:
    """One set of defaults: the CLI's FetchSettings() waits as long as a hook call on the default configuration."""
    from cds_service import config
    from cds_service.fhir import gather as fhir_data
    assert fhir_data.FetchSettings() == fhir_data.FetchSettings.from_config(config.DEFAULTS)
