"""Never break on messy data: any shape of value in the elements the rules read gives 200 with valid cards.

Hypothesis fills the elements the service reads (status, code, value, dates, reference ranges, interpretation,
components, medication concepts and references, condition codes and statuses) with arbitrary JSON, mixed with
realistic values, for every resource type the service reads, on every service.
"""
from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=12))
anything = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                        max_leaves=8)
codes = st.sampled_from(["2823-3", "2951-2", "19123-9", "17861-6", "1751-7", "2157-6", "77194-9", "2276-4",
                         "3094-0", "2160-0", "2692-2", "2502-3"])
coding = st.fixed_dictionaries({"system": st.one_of(st.sampled_from([LOINC, SNOMED, RXNORM, "urn:local",
                                                                     "http://hl7.org/fhir/sid/icd-10-cm"]),
                                                    anything),
                                 "code": st.one_of(codes, st.sampled_from(["I739", "G25.81", "M48.062"]))})
concept = st.one_of(anything, st.fixed_dictionaries({"coding": st.lists(coding, min_size=1, max_size=2)}),
                    st.fixed_dictionaries({"text": st.sampled_from(["Lasix 40 mg", "simvastatin", "ABI left",
                                                                    "restless legs", "sciatica"])}))
quantity = st.one_of(anything, st.fixed_dictionaries({
    "value": st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(), st.text(max_size=4)),
    "unit": st.sampled_from(["mmol/L", "mg/dL", "mEq/L", "U/L", "{ratio}", "%", "", "furlong"]),
    "code": st.sampled_from(["mmol/L", "mg/dL", "meq/L", "U/L", "{ratio}", "1"])}))
when = st.one_of(anything, st.sampled_from(["2026-11-20", "2026-11-20T08:00:00Z", "2026-11", "2026", "yesterday",
                                            "2026-13-45", "2026-11-20T08:00:00+14:00"]))
status = st.one_of(anything, st.sampled_from(["final", "amended", "corrected", "cancelled", "active"]))


def _resource(rtype: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": rtype, "id": "r1", "subject": {"reference": "Patient/pat-1"},
            **{k: v for k, v in fields.items() if v is not None}}


observation = st.fixed_dictionaries({
    "status": status, "code": concept, "valueQuantity": quantity, "effectiveDateTime": when, "issued": when,
    "effectivePeriod": anything, "referenceRange": st.one_of(anything, st.lists(st.fixed_dictionaries(
        {"low": quantity, "high": quantity, "appliesTo": anything, "age": anything}), max_size=2)),
    "interpretation": st.one_of(anything, st.lists(concept, max_size=2)),
    "component": st.one_of(anything, st.lists(st.fixed_dictionaries(
        {"code": concept, "valueQuantity": quantity}), max_size=2)),
}).map(lambda f: _resource("Observation", f))
medication = st.fixed_dictionaries({
    "resourceType": st.sampled_from(["MedicationStatement", "MedicationRequest"]), "status": status,
    "intent": st.sampled_from(["order", "plan", "proposal"]), "medicationCodeableConcept": concept,
    "medicationReference": st.one_of(anything, st.sampled_from([{"reference": "#m"}, {"reference": "Medication/x"}])),
    "contained": st.one_of(anything, st.just([{"resourceType": "Medication", "id": "m", "code": {"text": "Lasix"}}])),
    "authoredOn": when, "effectiveDateTime": when,
}).map(lambda f: _resource(str(f.pop("resourceType")), f))
condition = st.fixed_dictionaries({
    "code": concept, "clinicalStatus": st.one_of(anything, st.just({"coding": [{"code": "active"}]})),
    "verificationStatus": anything, "onsetDateTime": when, "recordedDate": when, "abatementDateTime": anything,
}).map(lambda f: _resource("Condition", f))
patient = st.fixed_dictionaries({"birthDate": when, "gender": anything}).map(
    lambda f: {"resourceType": "Patient", "id": "pat-1", **{k: v for k, v in f.items() if v is not None}})


def _bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


@given(obs=st.lists(observation, max_size=4), meds=st.lists(medication, max_size=3),
       conds=st.lists(condition, max_size=3), pat=patient, drafts=st.lists(medication, max_size=2),
       hook=st.sampled_from(["patient-view", "order-select", "order-sign"]))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
def test_messy_resources_never_break_the_service(client: FlaskClient, build: Any, obs: list[dict[str, Any]],
                                                 meds: list[dict[str, Any]], conds: list[dict[str, Any]],
                                                 pat: dict[str, Any], drafts: list[dict[str, Any]],
                                                 hook: str) -> None:
    for i, resource in enumerate(obs + meds + conds + drafts):
        resource["id"] = f"r{i}"
    prefetch = {"patient": pat, "observations": _bundle(obs), "conditions": _bundle(conds),
                "medications": _bundle([m for m in meds if m["resourceType"] == "MedicationStatement"]),
                "medicationRequests": _bundle([m for m in meds if m["resourceType"] == "MedicationRequest"])}
    body = build.hook_request(prefetch)
    body["hook"] = hook
    service = {"patient-view": "leg-pain-causes", "order-select": "leg-pain-order-select",
               "order-sign": "leg-pain-order-sign"}[hook]
    if hook != "patient-view":
        for draft in drafts:
            draft["status"], draft["resourceType"] = "draft", "MedicationRequest"
        body["context"]["draftOrders"] = _bundle(drafts)
        if hook == "order-select":
            body["context"]["selections"] = [f"MedicationRequest/{d['id']}" for d in drafts] or ["MedicationRequest/x"]
    resp = client.post(f"/cds-services/{service}", json=body)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    for card in resp.get_json()["cards"]:
        assert card["indicator"] in {"info", "warning", "critical"} and len(card["summary"]) < 140


def test_a_number_where_an_array_belongs_is_skipped_not_a_500(client: FlaskClient, build: Any) -> None:
    """Found by the property test above: `contained: 1` on a draft order was iterated and raised TypeError."""
    draft = {"resourceType": "MedicationRequest", "id": "d1", "status": "draft", "intent": "order",
             "subject": {"reference": "Patient/pat-1"}, "medicationReference": {"reference": "#m"}, "contained": 1}
    med = {"resourceType": "MedicationStatement", "id": "s1", "status": "active",
           "subject": {"reference": "Patient/pat-1"}, "medicationReference": {"reference": "Medication/m1"}}
    medication = {"resourceType": "Medication", "id": "m1", "code": {"coding": 7}, "ingredient": 3}
    observations = {**_bundle([]), "link": 9}  # a Bundle whose entry is not an array is a 400 (test_request_validation)
    prefetch = {"patient": {"resourceType": "Patient", "id": "pat-1"}, "observations": observations,
                "medications": _bundle([med, medication]), "conditions": _bundle([])}
    for hook, service in (("patient-view", "leg-pain-causes"), ("order-select", "leg-pain-order-select")):
        body = build.hook_request(prefetch)
        body["hook"] = hook
        if hook == "order-select":
            body["context"]["draftOrders"] = _bundle([draft])
            body["context"]["selections"] = ["MedicationRequest/d1"]
        resp = client.post(f"/cds-services/{service}", json=body)
        assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
