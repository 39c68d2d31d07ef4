"""CDS Hooks 2.0 protocol: discovery, request validation, error answers, response shape."""
from __future__ import annotations

import json
from typing import Any

import pytest
from cards import registry
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SERVICE = "/cds-services/leg-pain-causes"


def assert_outcome(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"] and all(i["code"] == code and i["diagnostics"] for i in body["issue"])
    assert "Traceback" not in resp.get_data(as_text=True)
    return body


def assert_no_null_or_empty(value: Any, path: str = "$") -> None:
    """CDS Hooks 'Use of JSON': no null, '', [] or {} anywhere (the caller exempts cards: [])."""
    assert value is not None and value != "" and value != [] and value != {}, path
    if isinstance(value, dict):
        for key, sub in value.items():
            assert_no_null_or_empty(sub, f"{path}.{key}")
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            assert_no_null_or_empty(sub, f"{path}[{i}]")


# ---------------------------------------------------------------------------------------------- discovery


def test_discovery_is_rendered_from_the_registry(client: FlaskClient) -> None:
    resp = client.get("/cds-services")
    assert resp.status_code == 200
    services = resp.get_json()["services"]
    expected = registry.services()
    assert [s["id"] for s in services] == [s.id for s in expected]
    for got, want in zip(services, expected):
        assert got["hook"] == want.hook and got["title"] == want.title and got["description"] == want.description
        assert got["prefetch"] == want.prefetch
    assert_no_null_or_empty(resp.get_json())


def test_discovery_names_the_required_prefetch_keys(client: FlaskClient) -> None:
    service = next(s for s in client.get("/cds-services").get_json()["services"] if s["id"] == "leg-pain-causes")
    assert service["hook"] == "patient-view"
    assert {"patient", "observations", "medications"} <= set(service["prefetch"])
    assert service["prefetch"]["patient"] == "Patient/{{context.patientId}}"
    assert "_include=MedicationStatement:medication" in service["prefetch"]["medications"]
    assert "http://loinc.org|2823-3" in service["prefetch"]["observations"]


# ---------------------------------------------------------------------------------------------- success


def test_complete_prefetch_gives_cards_without_nulls_or_empties(client: FlaskClient, build: Any) -> None:
    resp = client.post(SERVICE, json=build.hook_request(build.full_prefetch(build.potassium(2.9))))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["cards"], "low potassium should give a card"
    assert_no_null_or_empty(body)
    for card in body["cards"]:
        assert len(card["summary"]) < 140
        assert card["indicator"] in {"info", "warning", "critical"}
        assert card["source"]["label"] and card["source"]["topic"]["code"]
        assert card["uuid"]
        if "suggestions" in card:
            assert card["selectionBehavior"] in {"at-most-one", "any"}
            assert all(s["uuid"] and s["label"] for s in card["suggestions"])
        for link in card.get("links", ()):
            # CDS Hooks 2.0 Link: "absolute", or "smart" (the lab-trend app on electrolyte/diuretic/statin cards)
            assert link["type"] in {"absolute", "smart"} and link["url"].startswith("http")
        assert all(r["display"] for r in card.get("overrideReasons", ()))


def test_no_findings_is_an_empty_card_list(client: FlaskClient, build: Any) -> None:
    resp = client.post(SERVICE, json=build.hook_request(build.full_prefetch(build.potassium(4.2))))
    assert resp.status_code == 200
    assert resp.get_json() == {"cards": []}


def test_uuids_come_from_the_injected_factory_fresh_per_response(client: FlaskClient, build: Any) -> None:
    body = build.hook_request(build.full_prefetch(build.potassium(2.9)))
    first = client.post(SERVICE, json=body).get_json()["cards"][0]
    second = client.post(SERVICE, json=body).get_json()["cards"][0]
    assert first["uuid"] == second["uuid"] == "00000000-0000-4000-8000-000000000001"


def test_extension_and_unknown_fields_are_accepted(client: FlaskClient, build: Any) -> None:
    body = build.hook_request(build.full_prefetch(), extension={"com.example.x": {"a": 1}}, newField=[1, 2])
    body["context"]["extension"] = {"com.example.y": True}
    assert client.post(SERVICE, json=body).status_code == 200


def test_charset_parameter_is_accepted(client: FlaskClient, build: Any) -> None:
    data = json.dumps(build.hook_request(build.full_prefetch()))
    resp = client.post(SERVICE, data=data, headers={"Content-Type": "application/json; charset=utf-8"})
    assert resp.status_code == 200


def test_healthz(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_the_service_has_no_benchmark_route(client: FlaskClient) -> None:
    """The benchmark's parse-only baseline is the bench tool's (leg_pain_cds_bench.baseline), never the service's."""
    assert_outcome(client.post("/_bench/parse", json={}), 404, "not-found")


# ---------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("data", ["{", "not json", "", "[1,", '{"hook": }', "\x00"])
def test_malformed_json_is_400(client: FlaskClient, data: str) -> None:
    assert_outcome(client.post(SERVICE, data=data, content_type="application/json"), 400, "invalid")


@pytest.mark.parametrize("mutate, field", [
    (lambda b: b.pop("hook"), "hook"),
    (lambda b: b.pop("hookInstance"), "hookInstance"),
    (lambda b: b.update(hookInstance="not-a-uuid"), "hookInstance"),
    (lambda b: b.pop("context"), "context"),
    (lambda b: b.update(context="Patient/1"), "context"),
    (lambda b: b["context"].pop("patientId"), "patientId"),
    (lambda b: b["context"].update(patientId=""), "patientId"),
    (lambda b: b["context"].update(patientId=17), "patientId"),
    (lambda b: b.update(fhirAuthorization={"access_token": "t", "token_type": "Bearer"}), "fhirServer"),
    (lambda b: b.update(fhirServer="ftp://x.example", fhirAuthorization={"access_token": "t",
                                                                          "token_type": "Bearer"}), "fhirServer"),
    (lambda b: b.update(fhirServer="https://x.example", fhirAuthorization={"token_type": "Bearer"}),
     "access_token"),
    (lambda b: b.update(fhirServer="https://x.example", fhirAuthorization={"access_token": "t",
                                                                            "token_type": "MAC"}), "token_type"),
    (lambda b: b.update(prefetch=["x"]), "prefetch"),
    (lambda b: b.update(prefetch={"patient": "Patient/1"}), "prefetch"),
    (lambda b: b.update(extension="not an object"), "extension"),
])
def test_schema_errors_are_400_naming_the_field(client: FlaskClient, build: Any, mutate: Any, field: str) -> None:
    body = build.hook_request(build.full_prefetch())
    mutate(body)
    outcome = assert_outcome(client.post(SERVICE, json=body), 400, "invalid")
    assert field in outcome["issue"][0]["diagnostics"]


def test_body_that_is_not_an_object_is_400(client: FlaskClient) -> None:
    assert_outcome(client.post(SERVICE, json=[1, 2]), 400, "invalid")


def test_wrong_hook_is_400(client: FlaskClient, build: Any) -> None:
    body = build.hook_request(build.full_prefetch())
    body["hook"] = "order-sign"
    outcome = assert_outcome(client.post(SERVICE, json=body), 400, "invalid")
    assert "patient-view" in outcome["issue"][0]["diagnostics"]


def test_unknown_service_is_404(client: FlaskClient, build: Any) -> None:
    assert_outcome(client.post("/cds-services/no-such-service", json=build.hook_request()), 404, "not-found")
    assert_outcome(client.post("/cds-services/no-such/feedback", json={"feedback": []}), 404, "not-found")


def test_unknown_path_and_method_are_outcomes(client: FlaskClient) -> None:
    assert_outcome(client.get("/nothing-here"), 404, "not-found")
    resp = client.get(SERVICE)
    assert_outcome(resp, 405, "not-supported")
    assert "POST" in resp.headers["Allow"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml",
                                          "application/json; charset=latin-1", None])
def test_wrong_content_type_is_415(client: FlaskClient, build: Any, content_type: str | None) -> None:
    data = json.dumps(build.hook_request(build.full_prefetch()))
    headers = {"Content-Type": content_type} if content_type else {}
    assert_outcome(client.post(SERVICE, data=data, headers=headers), 415, "not-supported")


def test_body_over_the_limit_is_413(app_overrides: dict[str, Any], build: Any) -> None:
    from cds_service import create_app
    client = create_app({**app_overrides, "MAX_BODY_MB": 16}).test_client()
    padding = "x" * (16 * 1024 * 1024)
    body = json.dumps(build.hook_request(build.full_prefetch(), extension={"pad": padding}))
    assert_outcome(client.post(SERVICE, data=body, content_type="application/json"), 413, "too-costly")


def test_a_body_shorter_than_its_content_length_is_a_400(client: FlaskClient, build: Any) -> None:
    body = json.dumps(build.hook_request(build.full_prefetch())).encode()
    resp = client.post(SERVICE, data=body, content_type="application/json",
                       environ_overrides={"CONTENT_LENGTH": str(len(body) + 100)})  # the client went away early
    assert resp.status_code == 400 and resp.is_json


def test_a_body_of_several_mb_is_accepted(client: FlaskClient, build: Any) -> None:
    observations = [build.potassium(4.0 + (i % 10) / 10, rid=f"k{i}") for i in range(6000)]
    body = build.hook_request(build.full_prefetch(*observations))
    assert len(json.dumps(body)) > 2_000_000
    assert client.post(SERVICE, json=body).status_code == 200


def test_a_bug_is_a_500_outcome_without_a_trace(app: Any, build: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from cds_service import pipeline

    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(pipeline.engine, "evaluate", broken)
    resp = app.test_client().post(SERVICE, json=build.hook_request(build.full_prefetch()))
    assert_outcome(resp, 500, "exception")
    assert "secret internal detail" not in resp.get_data(as_text=True)


# ---------------------------------------------------------------------------------------------- fuzz

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)
request_like = st.fixed_dictionaries(
    {},
    optional={"hook": st.sampled_from(["patient-view", "order-sign"]) | json_values,
              "hookInstance": st.uuids().map(str) | json_values,
              "context": st.fixed_dictionaries({}, optional={"patientId": st.text(max_size=8) | json_values,
                                                             "draftOrders": json_values}) | json_values,
              "prefetch": st.dictionaries(st.sampled_from(["patient", "observations", "medications", "x"]),
                                          json_values | st.just({"resourceType": "Bundle", "entry": [1, None]})),
              "fhirServer": st.text(max_size=20) | json_values,
              "fhirAuthorization": json_values,
              "extension": json_values},
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=request_like | json_values)
def test_no_client_input_causes_a_500(client: FlaskClient, body: Any) -> None:
    resp = client.post(SERVICE, data=json.dumps(body), content_type="application/json")
    assert resp.status_code in {200, 400, 412}, resp.get_data(as_text=True)
    if resp.status_code == 200:
        cards = resp.get_json()["cards"]
        if cards:
            assert_no_null_or_empty(cards)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200))
def test_garbage_bytes_never_cause_a_500(client: FlaskClient, data: bytes) -> None:
    resp = client.post(SERVICE, data=data, content_type="application/json")
    assert resp.status_code in {200, 400, 412}


@pytest.mark.parametrize("context, count", [
    ({"draftOrders": {"resourceType": "Bundle", "entry": [
        {"resource": {"resourceType": "MedicationRequest", "status": "draft", "category": "not-a-list"}},
        {"resource": None}, "junk", {"fullUrl": "x"}]}}, 1),
    ({"draftOrders": "not a bundle"}, 0),
    ({"draftOrders": {"resourceType": "Bundle", "entry": "x"}}, 0),
    ({}, 0),
])
def test_draft_orders_are_read_leniently(context: dict[str, Any], count: int) -> None:
    from cds_service.schemas import draft_orders

    assert len(draft_orders(context)) == count


def test_null_optional_fields_are_read_as_absent(client: FlaskClient, build: Any) -> None:
    body = build.hook_request(build.full_prefetch(), fhirServer=None, fhirAuthorization=None, extension=None)
    assert client.post(SERVICE, json=body).status_code == 200
