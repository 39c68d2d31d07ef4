"""A client's bug is a 400 naming the field, never ``200 {"cards": []}``, which reads as "nothing to say".

Prefetch values that are not FHIR data, ``null`` prefetch (CDS Hooks 2.0: the client has no data for the key), and
the context each hook requires (CDS Hooks hook library: order-select needs ``selections`` and ``draftOrders``,
order-sign ``draftOrders``). Odd but valid content (drafts without ids, entries without a resource) is still read.
"""
from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from tests import golden_cases
from tests.test_fhir_data import FakeFhir

SERVICE = "/cds-services/leg-pain-causes"


@pytest.fixture
def fhir() -> Iterator[FakeFhir]:
    server = FakeFhir()
    yield server
    server.close()


def _outcome(resp: Any, status: int) -> str:
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["resourceType"] == "OperationOutcome"
    return " ".join(i["diagnostics"] for i in body["issue"])


# ---------------------------------------------------------------------------------------------- prefetch values


@pytest.mark.parametrize("key", ["observations", "medications", "conditions"])
@pytest.mark.parametrize(("value", "said"), [
    ({}, "is not a FHIR resource: it has no resourceType"),
    ({"resourceType": 7}, "is not a FHIR resource: it has no resourceType"),
    ({"resourceType": "Bundle", "type": "searchset", "entry": "x"}, "Bundle.entry must be an array"),
    ({"resourceType": "Bundle", "type": "searchset", "entry": {"resource": {}}}, "Bundle.entry must be an array"),
    ({"resourceType": "Bundle", "type": "searchset", "entry": ["x", 1, None]}, "Bundle.entry[0] is not an object"),
    ({"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Observation", "id": "o"}}, 1]},
     "Bundle.entry[1] is not an object"),
    ({"resourceType": "Bundle", "entry": [{"resource": "Observation/1"}]},
     "Bundle.entry[0] holds a resource that is not an object"),
    ({"resourceType": "Bundle", "entry": [{"resource": {"id": "o1", "status": "final"}}]},
     "Bundle.entry[0] holds a resource without a resourceType"),
])
def test_garbage_in_a_prefetch_key_is_400_naming_the_key(client: FlaskClient, build: Any, key: str, value: Any,
                                                         said: str) -> None:
    prefetch = build.full_prefetch(build.potassium(2.9))
    prefetch[key] = value
    text = _outcome(client.post(SERVICE, json=build.hook_request(prefetch)), 400)
    assert f"prefetch.{key}" in text and said in text


@pytest.mark.parametrize("value", [{}, {"resourceType": ""}, {"resourceType": ["Patient"]}, {"id": "pat-1"}])
def test_a_patient_that_is_not_a_resource_is_400_naming_the_key(client: FlaskClient, build: Any,
                                                                value: Any) -> None:
    prefetch = build.full_prefetch(build.potassium(2.9))
    prefetch["patient"] = value
    text = _outcome(client.post(SERVICE, json=build.hook_request(prefetch)), 400)
    assert "prefetch.patient is not a FHIR resource" in text
    assert "a no resource type" not in text


def test_a_patient_key_holding_another_type_says_which(client: FlaskClient, build: Any) -> None:
    prefetch = build.full_prefetch(build.potassium(2.9))
    prefetch["patient"] = build.potassium(3.0)
    text = _outcome(client.post(SERVICE, json=build.hook_request(prefetch)), 412)
    assert "patient: prefetch held a resource of type Observation, not a Patient" in text


@pytest.mark.parametrize("value", [
    {"resourceType": "Bundle", "type": "searchset"},  # no entry: an empty result
    {"resourceType": "Bundle", "type": "searchset", "entry": []},
    {"resourceType": "Bundle", "type": "searchset", "entry": None},
    {"resourceType": "Bundle", "type": "searchset", "entry": [{"fullUrl": "urn:uuid:1"}, {"resource": None}]},
])
def test_odd_but_valid_bundles_are_read(client: FlaskClient, build: Any, value: Any) -> None:
    prefetch = build.full_prefetch(build.potassium(2.9))
    prefetch["medications"] = value
    resp = client.post(SERVICE, json=build.hook_request(prefetch))
    assert resp.status_code == 200 and resp.get_json()["cards"], resp.get_data(as_text=True)


# ---------------------------------------------------------------------------------------------- null prefetch


@pytest.mark.parametrize("key", ["medications", "medicationRequests", "conditions"])
def test_a_null_search_key_is_an_empty_result(client: FlaskClient, build: Any, key: str) -> None:
    """CDS Hooks 2.0: null = the client has no data for the key. Without a fhirServer: no 412, no "Not evaluated"."""
    prefetch = build.full_prefetch(build.potassium(2.9))
    prefetch[key] = None
    resp = client.post(SERVICE, json=build.hook_request(prefetch))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    [card] = resp.get_json()["cards"]
    assert "Not evaluated" not in card["detail"]


def test_null_observations_is_an_empty_result(client: FlaskClient, build: Any) -> None:
    prefetch = build.full_prefetch()
    prefetch["observations"] = None
    resp = client.post(SERVICE, json=build.hook_request(prefetch))
    assert resp.status_code == 200 and resp.get_json() == {"cards": []}


def test_a_null_search_key_is_not_fetched(client: FlaskClient, build: Any, fhir: FakeFhir) -> None:
    prefetch = build.full_prefetch(build.potassium(2.9))
    prefetch["medications"] = None
    del prefetch["conditions"]  # missing: still fetched
    resp = client.post(SERVICE, json=build.hook_request(prefetch, fhirServer=fhir.base))
    assert resp.status_code == 200
    assert [urlsplit(p).path for p in fhir.paths()] == ["/fhir/Condition"]


def test_a_null_patient_cannot_be_evaluated(client: FlaskClient, build: Any, fhir: FakeFhir) -> None:
    prefetch = build.full_prefetch(build.potassium(2.9))
    prefetch["patient"] = None
    text = _outcome(client.post(SERVICE, json=build.hook_request(prefetch, fhirServer=fhir.base)), 412)
    assert "patient: prefetch was null (the client has no data for it)" in text
    assert fhir.requests == []


# ---------------------------------------------------------------------------------------------- hook context


def _order_call(hook: str) -> dict[str, Any]:
    service = f"leg-pain-{hook}"
    return next(c.request for c in golden_cases.calls() if c.service_id == service and c.case.startswith("fires-"))


@pytest.mark.parametrize(("hook", "change", "said"), [
    ("order-select", lambda c: c.pop("selections"), "context.selections (the ids of the selected orders) is required"),
    ("order-select", lambda c: c.pop("draftOrders"), "context.draftOrders (a FHIR Bundle of the draft orders) is "
                                                     "required for order-select"),
    ("order-sign", lambda c: c.pop("draftOrders"), "context.draftOrders (a FHIR Bundle of the draft orders) is "
                                                   "required for order-sign"),
    ("order-sign", lambda c: c.update(draftOrders={"foo": 1}), "context.draftOrders must be a FHIR Bundle"),
    ("order-select", lambda c: c.update(draftOrders=[]), "context.draftOrders must be a FHIR Bundle"),
    ("order-sign", lambda c: c.update(draftOrders={"resourceType": "MedicationRequest"}),
     "context.draftOrders must be a FHIR Bundle"),
    ("order-sign", lambda c: c.update(draftOrders={"resourceType": "Bundle", "entry": {"resource": {}}}),
     "context.draftOrders.entry must be an array"),
    ("order-select", lambda c: c.update(selections="MedicationRequest/1"), "context.selections must be an array"),
    ("order-select", lambda c: c.update(selections=[1]), "context.selections must be an array of strings"),
])
def test_missing_or_malformed_hook_context_is_400_naming_the_field(client: FlaskClient, hook: str, change: Any,
                                                                   said: str) -> None:
    body = _order_call(hook)
    change(body["context"])
    text = _outcome(client.post(f"/cds-services/leg-pain-{hook}", json=body), 400)
    assert said in text


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
def test_an_empty_draft_bundle_is_a_valid_call(client: FlaskClient, hook: str) -> None:
    body = _order_call(hook)
    body["context"]["draftOrders"] = {"resourceType": "Bundle", "type": "collection"}
    resp = client.post(f"/cds-services/leg-pain-{hook}", json=body)
    assert resp.status_code == 200, resp.get_data(as_text=True)


def test_a_call_for_another_hook_says_so_first(client: FlaskClient, build: Any) -> None:
    body = build.hook_request(build.full_prefetch())  # patient-view context, sent to the order-sign service
    text = _outcome(client.post("/cds-services/leg-pain-order-sign", json=body), 400)
    assert "answers the 'order-sign' hook, not 'patient-view'" in text


def test_patient_view_without_patient_id_is_400(client: FlaskClient, build: Any) -> None:
    body = build.hook_request(build.full_prefetch())
    del body["context"]["patientId"]
    assert "context.patientId" in _outcome(client.post(SERVICE, json=body), 400)
