"""Any element a reader touches may arrive with any JSON type: never a 5xx, on every service.

One rich chart per service (resources of every type the service reads, each carrying every element a reader uses:
ids, codes and codings, statuses, dates, values and units, reference ranges, interpretation, components, body
sites, dosage, dispense request, medication concepts and references, contained and referenced Medications,
clinical and verification statuses, abatement, encounter reasons, draft orders) makes most rules fire, so that the
code that keys, hashes or formats these elements runs. Then every element of that chart, at every depth, is replaced
by each JSON type - null, boolean, integer, float, string, array, object - and the call must answer without a 5xx:
200 with cards, or an OperationOutcome. The n-th element of every resource is replaced in the same request (resources
are read one by one); Bundle and Patient elements, which may rightly make the whole call a 4xx, one at a time.
Deterministic: the same requests on every run (the random counterpart is tests/test_fuzz.py).
"""
from __future__ import annotations

import copy
import json
from typing import Any, Iterator

import orjson
import pytest
from cards.projection import ELEMENTS
from flask.testing import FlaskClient

LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
PATIENT = {"reference": "Patient/pat-1"}
# One value of each JSON type. The array and the object are not empty and hold values of other types, so that a reader
# that only checks "a list" or "a dict" still meets the wrong thing inside.
JSON_VALUES: tuple[Any, ...] = (None, True, 7, 0.5, "x", [1, {"a": 1}], {"a": [1]})
SERVICES = ("leg-pain-causes", "leg-pain-workup", "leg-pain-order-select", "leg-pain-order-sign")
HOOKS = {"leg-pain-causes": "patient-view", "leg-pain-workup": "patient-view", "leg-pain-order-select": "order-select",
         "leg-pain-order-sign": "order-sign"}


def _without(resource: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k not in keys}


def _concept(system: str | None, code: str, display: str) -> dict[str, Any]:
    coding = {"code": code, "display": display, **({"system": system} if system else {})}
    return {"coding": [coding], "text": display}


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _lab(rid: str, loinc: str, name: str, when: str = "2026-11-20T08:00:00Z", **more: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": rid, "status": "final", "code": _concept(LOINC, loinc, name),
            "subject": PATIENT, "effectiveDateTime": when, **more}


def _statement(rid: str, rxcui: str | None, display: str, **more: Any) -> dict[str, Any]:
    drug = {"medicationCodeableConcept": _concept(RXNORM if rxcui else None, rxcui or display, display)} \
        if display else {}
    return {"resourceType": "MedicationStatement", "id": rid, "status": "active", "subject": PATIENT, **drug, **more}


def _request(rid: str, rxcui: str, display: str, status: str = "active", **more: Any) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": rid, "status": status, "intent": "order", "subject": PATIENT,
            "authoredOn": "2026-11-01", "medicationCodeableConcept": _concept(RXNORM, rxcui, display), **more}


def _condition(rid: str, system: str | None, code: str, display: str, **more: Any) -> dict[str, Any]:
    out = {"resourceType": "Condition", "id": rid, "subject": PATIENT, "code": _concept(system, code, display),
           "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                          "code": "active"}]},
           "verificationStatus": {"coding": [{
               "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
           "onsetDateTime": "2026-06-01", "recordedDate": "2026-11-01"}
    out.update(more)
    return out


DOSAGE = [{"text": "40 mg twice a day", "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
           "doseAndRate": [{"doseQuantity": {"value": 40, "unit": "mg", "system": UCUM, "code": "mg"}}]}]
RANGE = [{"low": _quantity(3.5, "mmol/L"), "high": _quantity(5.1, "mmol/L"),
          "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/referencerange-meaning",
                               "code": "normal"}], "text": "Normal range"},
          "appliesTo": [{"coding": [{"system": SNOMED, "code": "248153007", "display": "Male"}], "text": "men"}],
          "age": {"low": {"value": 18, "unit": "a", "system": UCUM, "code": "a"},
                  "high": {"value": 120, "unit": "a", "system": UCUM, "code": "a"}},
          "text": "3.5-5.1"}]
LOW_FLAG = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                         "code": "L"}], "text": "Low"}]


def chart() -> dict[str, list[dict[str, Any]]]:
    """A patient whose chart makes most rules of every service fire, with every element a reader uses."""
    observations = [
        _lab("k", "2823-3", "Potassium", valueQuantity=_quantity(2.9, "mmol/L"), referenceRange=RANGE,
             interpretation=LOW_FLAG),
        _lab("na", "2951-2", "Sodium", valueString="127 mmol/L",
             effectivePeriod={"start": "2026-11-19T08:00:00Z", "end": "2026-11-19T09:00:00Z"}),
        _without(_lab("ck", "2157-6", "Creatine kinase", valueQuantity=_quantity(2400, "U/L"),
                      issued="2026-11-21T10:00:00Z"), "effectiveDateTime"),
        _lab("mg", "19123-9", "Magnesium", dataAbsentReason={"coding": [{"code": "error"}], "text": "Haemolysed"}),
        _lab("ca", "17861-6", "Calcium", valueCodeableConcept={"text": "see comment"}),
        _lab("ferritin", "2276-4", "Ferritin", valueQuantity=_quantity(20, "ng/mL")),
        _lab("creat", "2160-0", "Creatinine", valueQuantity=_quantity(2.5, "mg/dL")),
        _lab("bun", "3094-0", "Urea nitrogen", valueQuantity=_quantity(60, "mg/dL")),
        _without(_lab("glucose", "2345-7", "Glucose", valueQuantity=_quantity(110, "mg/dL"), patient=PATIENT),
                 "subject"),
        _lab("b12", "2132-9", "Vitamin B12", valueQuantity={"value": 150, "comparator": "<", "unit": "pg/mL"}),
        _without(_lab("abi", "77194-9", "Ankle brachial index", bodySite=_concept(SNOMED, "7569003", "left leg"),
                      component=[{"code": _concept(None, "abi-left", "ABI left"),
                                  "valueQuantity": {"value": 0.65, "unit": "{ratio}"}, "referenceRange": RANGE,
                                  "interpretation": LOW_FLAG},
                                 {"code": {"text": "ABI right"}, "valueQuantity": {"value": 0.8}}],
                      effectiveInstant="2026-11-18T09:00:00Z"), "effectiveDateTime"),
    ]
    medication = {"resourceType": "Medication", "id": "med-simva", "code": _concept(RXNORM, "312961",
                                                                                      "simvastatin 20 MG Oral Tablet"),
                  "ingredient": [{"itemCodeableConcept": _concept(RXNORM, "36567", "simvastatin")}]}
    statements = [
        _statement("st-furo", "313988", "furosemide 40 MG Oral Tablet", dosage=DOSAGE,
                   effectivePeriod={"start": "2026-01-01"}, dateAsserted="2026-11-01"),
        _statement("st-simva", None, "", medicationReference={"reference": "Medication/med-simva",
                                                               "display": "simvastatin"}),
        _statement("st-sert", None, "", medicationReference={"reference": "#sert"},
                   contained=[{"resourceType": "Medication", "id": "sert",
                               "code": _concept(RXNORM, "312941", "sertraline 50 MG Oral Tablet")}]),
        _statement("st-metformin", None, "metformin 1000 mg tablet"),
        _statement("st-prami", "746741", "pramipexole", _modifierExtension=[{"id": "m"}],
                   modifierExtension=[{"url": "http://example.org/not-taken", "valueBoolean": True}]),
        medication,
    ]
    requests = [
        _request("rq-clari", "197517", "clarithromycin 500 MG Oral Tablet", dosageInstruction=DOSAGE,
                 courseOfTherapyType={"coding": [{"code": "acute"}]},
                 dispenseRequest={"validityPeriod": {"start": "2026-11-01", "end": "2026-12-01"},
                                  "expectedSupplyDuration": {"value": 14, "unit": "days", "code": "d"},
                                  "numberOfRepeatsAllowed": 1}),
        _request("rq-spiro", "313096", "spironolactone 25 MG Oral Tablet"),
    ]
    conditions = [
        _condition("c-rls", ICD10CM, "G25.81", "Restless legs syndrome"),
        _condition("c-stenosis", ICD10CM, "M48.062", "Spinal stenosis, lumbar region with neurogenic claudication"),
        _condition("c-radic", ICD10CM, "M5416", "Radiculopathy, lumbar region"),
        _condition("c-mets", ICD10CM, "C79.51", "Secondary malignant neoplasm of bone"),
        _condition("c-back", ICD10CM, "M54.50", "Low back pain, unspecified"),
        _condition("c-cancer", ICD10CM, "Z85.3", "Personal history of malignant neoplasm of breast"),
        _condition("c-saddle", None, "Saddle anaesthesia", "Saddle anaesthesia"),
        _condition("c-gangrene", ICD10CM, "I70.262", "Atherosclerosis of native arteries with gangrene, left leg"),
        _condition("c-pad", ICD10CM, "I70.213", "Atherosclerosis of native arteries with intermittent claudication"),
        _condition("c-hf", ICD10CM, "I50.22", "Chronic systolic (congestive) heart failure"),
        _condition("c-esrd", ICD10CM, "N18.6", "End stage renal disease"),
        _condition("c-pts", ICD10CM, "I87.012", "Postthrombotic syndrome with ulcer of left lower extremity"),
        _condition("c-rhabdo", SNOMED, "240131006", "Rhabdomyolysis"),
        _condition("c-cramp", ICD10CM, "R25.2", "Cramp and spasm"),
        _without(_condition("c-old", ICD10CM, "M54.31", "Sciatica, right side", abatementDateTime="2025-01-01",
                            abatementString="resolved", abatementPeriod={"end": "2025-01-01"},
                            abatementAge={"value": 70}, abatementRange={"low": {"value": 70}}), "clinicalStatus"),
    ]
    patient = {"resourceType": "Patient", "id": "pat-1", "gender": "male", "birthDate": "1950-01-01",
               "_birthDate": {"id": "bd"}, "_gender": {"id": "g"}, "_id": {"id": "i"},
               "implicitRules": "http://example.org/rules", "_implicitRules": {"id": "r"}}
    encounter = {"resourceType": "Encounter", "id": "enc-1", "status": "in-progress", "subject": PATIENT,
                 "reasonCode": [_concept(ICD10CM, "R25.2", "Cramp and spasm")]}
    drafts = [
        _request("d-hctz", "310798", "hydrochlorothiazide 25 MG Oral Tablet", status="draft",
                 dosageInstruction=DOSAGE),
        _request("d-simva", "200345", "simvastatin 80 MG Oral Tablet", status="draft"),
        _request("d-dulox", "596926", "duloxetine 20 MG Delayed Release Oral Capsule", status="draft"),
        _request("d-albu", "745752", "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler [ProAir]", status="draft"),
        _request("d-cilo", "21107", "cilostazol", status="draft"),
        _request("d-quet", "312744", "quetiapine 25 MG Oral Tablet", status="draft"),
        _without(_request("d-spiro", "313096", "spironolactone 25 MG Oral Tablet", status="draft",
                          medicationReference={"reference": "#spiro"},
                          contained=[{"resourceType": "Medication", "id": "spiro",
                                      "code": _concept(RXNORM, "313096", "spironolactone 25 MG Oral Tablet")}]),
                 "medicationCodeableConcept"),
    ]
    return {"patient": [patient], "observations": observations, "medications": statements,
            "medicationRequests": requests, "conditions": conditions, "encounter": [encounter], "drafts": drafts}


def _bundle(resources: list[dict[str, Any]], kind: str = "searchset") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "total": len(resources),
            "link": [{"relation": "self", "url": "http://127.0.0.1:9/fhir/Observation"}],
            "entry": [{"fullUrl": f"urn:uuid:{r.get('id')}", "resource": r} for r in resources]}


def hook_call(service: str) -> dict[str, Any]:
    """The rich chart as a hook call of `service` (every prefetch key filled; draft orders for the order hooks)."""
    data = chart()
    body: dict[str, Any] = {"hook": HOOKS[service], "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
                            "context": {"userId": "Practitioner/1", "patientId": "pat-1"},
                            "prefetch": {"patient": data["patient"][0], "observations": _bundle(data["observations"]),
                                         "medications": _bundle(data["medications"]),
                                         "medicationRequests": _bundle(data["medicationRequests"]),
                                         "conditions": _bundle(data["conditions"])}}
    if HOOKS[service] == "patient-view":
        body["context"]["encounterId"] = "enc-1"
        body["prefetch"]["encounter"] = data["encounter"][0]
    else:
        body["context"]["draftOrders"] = _bundle(data["drafts"], "collection")
        if HOOKS[service] == "order-select":
            body["context"]["selections"] = [f"MedicationRequest/{d['id']}" for d in data["drafts"]]
    return body


def _resources(value: Any) -> Iterator[dict[str, Any]]:
    """Every resource (an object with a string resourceType) in `value`, Bundles included, outermost first."""
    if isinstance(value, dict):
        if isinstance(value.get("resourceType"), str):
            yield value
        for sub in value.values():
            yield from _resources(sub)
    elif isinstance(value, list):
        for sub in value:
            yield from _resources(sub)


def resources(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The resources of a hook call that readers see: prefetched ones and draft orders, in document order."""
    return list(_resources([body["prefetch"], body["context"].get("draftOrders")]))


Path = tuple[Any, ...]  # member names and array indexes, from a resource down to one element


def _element_paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every element below `value`, outermost first; a nested resource (contained, a Bundle entry's) is not entered:
    it is a resource of its own."""
    members = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, sub in members:
        if key == "resourceType" and not prefix:
            continue  # what a resource is, not an element of it (a different type is a different resource)
        yield prefix + (key,)
        if not (isinstance(sub, dict) and isinstance(sub.get("resourceType"), str)):
            yield from _element_paths(sub, prefix + (key,))


# Resources whose every change is sent alone: a malformed Bundle or Patient may rightly make the whole call a 4xx,
# which would hide what the same request changed elsewhere.
ALONE = frozenset({"Bundle", "Patient"})


def mutation_plan(body: dict[str, Any]) -> list[list[tuple[int, Path]]]:
    """Which elements each request changes, as (resource index in resources(body), path): every element of every
    resource exactly once (of a Bundle, its own and those of its first entry). The n-th element of each resource is
    changed in the same request (each resource is read on its own, so they do not hide each other); Bundle and
    Patient elements one per request."""
    plan: list[list[tuple[int, Path]]] = []
    rounds: list[list[tuple[int, Path]]] = []
    for index, resource in enumerate(resources(body)):
        paths = list(_element_paths(resource))
        if resource["resourceType"] in ALONE:
            # Alike entries of a Bundle are changed in the first one only (the others hold other resources)
            shapes = {tuple("*" if isinstance(k, int) else k for k in path): path for path in reversed(paths)}
            plan += [[(index, path)] for path in reversed(shapes.values())]
            continue
        for n, path in enumerate(paths):
            if n == len(rounds):
                rounds.append([])
            rounds[n].append((index, path))
    return plan + rounds


def changed(body: dict[str, Any], changes: list[tuple[int, Path]], value: Any) -> dict[str, Any]:
    """A copy of `body` with each (resource index, path) of `changes` set to `value`."""
    out = orjson.loads(orjson.dumps(body))  # a deep copy, several times faster than copy.deepcopy
    targets = resources(out)  # listed before any change: indexes refer to the unchanged call
    for index, path in changes:
        node = targets[index]
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = copy.deepcopy(value)
    return out


def with_element(body: dict[str, Any], rtype: str, name: str, value: Any) -> dict[str, Any]:
    """A copy of `body` whose top-level element `name` is `value` in every resource of type `rtype`."""
    return changed(body, [(i, (name,)) for i, r in enumerate(resources(body)) if r["resourceType"] == rtype], value)


def _answer_problem(resp: Any) -> str | None:
    """None when the answer is acceptable: 200 with a card list, or a 4xx OperationOutcome; else what is wrong."""
    text = resp.get_data(as_text=True)
    if resp.status_code >= 500:
        return f"{resp.status_code}: {text[:200]}"
    body = json.loads(text)
    if resp.status_code == 200:
        return None if isinstance(body.get("cards"), list) else f"200 without cards: {text[:200]}"
    if body.get("resourceType") != "OperationOutcome":
        return f"{resp.status_code} without an OperationOutcome: {text[:200]}"
    return None


@pytest.mark.parametrize("service", SERVICES)
def test_the_rich_chart_makes_cards(client: FlaskClient, service: str) -> None:
    """The baseline: unchanged, the chart is read and several rules fire (else the changes below test little)."""
    resp = client.post(f"/cds-services/{service}", json=hook_call(service))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert len(resp.get_json()["cards"]) >= 3


def test_the_chart_carries_every_element_the_readers_project() -> None:
    """A reader that starts using an element adds it to the projection (cards/projection.py): then it must be in the
    chart too, or its JSON types go untested here."""
    sent = {key for service in SERVICES for resource in resources(hook_call(service)) for key in resource}
    assert ELEMENTS <= sent, sorted(ELEMENTS - sent)


def test_the_plan_changes_every_element_once() -> None:
    body = hook_call("leg-pain-order-select")
    planned = [change for changes in mutation_plan(body) for change in changes]
    every = [(i, path) for i, resource in enumerate(resources(body)) for path in _element_paths(resource)
             if resource["resourceType"] != "Bundle" or not any(isinstance(k, int) and k > 0 for k in path)]
    assert sorted(planned, key=repr) == sorted(every, key=repr) and len(set(map(repr, planned))) == len(planned)


@pytest.mark.parametrize("service", SERVICES)
def test_any_json_type_in_any_element_is_never_a_5xx(client: FlaskClient, service: str) -> None:
    """Each element of the chart, at any depth, replaced by each JSON type: 200 with cards or a 4xx
    OperationOutcome, never a 5xx (issue 16, item 1: an object or array as a resource id gave 500)."""
    base = hook_call(service)
    listed = resources(base)
    failures = []
    for changes in mutation_plan(base):
        for value in JSON_VALUES:
            sent = orjson.dumps(changed(base, changes, value))
            problem = _answer_problem(client.post(f"/cds-services/{service}", data=sent,
                                                  content_type="application/json"))
            if problem:
                where = ", ".join(f"{listed[i]['resourceType']}/{listed[i].get('id')}.{'.'.join(map(str, path))}"
                                  for i, path in changes)
                failures.append(f"{json.dumps(value)} in {where}: {problem}")
    assert not failures, "\n".join(failures[:20])


@pytest.mark.parametrize("rtype", ["Condition", "MedicationStatement", "MedicationRequest", "Observation",
                                   "Encounter", "Medication"])
@pytest.mark.parametrize("rid", [{"a": 1}, [1], [{"a": 1}], 1.5, True])
def test_a_resource_id_of_any_type_is_read_as_no_id(client: FlaskClient, rtype: str, rid: Any) -> None:
    """The reported case: a non-string id (object, array, number, boolean) is no id; the rest is still read."""
    for service in SERVICES:
        base = hook_call(service)
        if not any(r["resourceType"] == rtype for r in resources(base)):
            continue  # the order services read no Encounter
        resp = client.post(f"/cds-services/{service}", json=with_element(base, rtype, "id", rid))
        assert resp.status_code == 200, f"{service}: {resp.get_data(as_text=True)[:300]}"
        assert resp.get_json()["cards"], service


def test_an_encounter_reason_with_codings_of_another_type_is_no_reason(client: FlaskClient) -> None:
    """reasonCode[].coding sent as a number, boolean or object: read as no coding (the text still counts)."""
    for coding in (True, 3, 2.5, {"code": "R25.2"}):
        body = hook_call("leg-pain-causes")
        body["prefetch"]["encounter"]["reasonCode"][0]["coding"] = coding
        resp = client.post("/cds-services/leg-pain-causes", json=body)
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]


def test_text_of_another_type_is_not_read_as_text(client: FlaskClient) -> None:
    """A coding display sent as an object is no display: its repr ("{'x': 'Restless legs'}") does not match a value
    set by text, for a Condition or a Medication's ingredient."""
    body = hook_call("leg-pain-causes")
    body["prefetch"]["conditions"]["entry"] = [{"resource": {
        "resourceType": "Condition", "id": "c1", "subject": PATIENT,
        "code": {"coding": [{"system": "http://example.org/local", "code": "X1", "display": {"x": "Restless legs"}}]}}}]
    body["prefetch"]["observations"]["entry"] = []
    body["prefetch"]["medications"]["entry"] = [{"resource": {
        "resourceType": "MedicationStatement", "id": "s1", "status": "active", "subject": PATIENT,
        "medicationReference": {"reference": "Medication/m1"}}}, {"resource": {
            "resourceType": "Medication", "id": "m1", "code": {"coding": [{"system": "http://example.org/local",
                                                                           "code": "X2"}]},
            "ingredient": [{"itemCodeableConcept": {"coding": [{"display": {"x": "furosemide"}}]}}]}}]
    body["prefetch"]["medicationRequests"]["entry"] = []
    resp = client.post("/cds-services/leg-pain-causes", json=body)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    text = json.dumps(resp.get_json()).lower()
    assert "restless" not in text and "furosemide" not in text, text[:500]
