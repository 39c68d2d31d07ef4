"""The validation memo: shared across requests for the elements that repeat across charts, bounded, never hiding
an invalid element, never changing a card; and PatientFacts.release leaves no reference cycle behind."""
from __future__ import annotations

import gc
import weakref
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import orjson
import pytest
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.quantity import Quantity
from fhir.resources.R4B.reference import Reference

from cards import engine, registry
from cards.facts import INVALID, Validator, build_facts
from cards.facts.analytes import CONCEPTS
from cards.facts.memo import BoundedMemo
from cards.facts.validation import SHARED_KEY_MAX, VALIDATED
from leg_pain_cds_bench import workload

NOW = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)
K = {"coding": [{"system": "http://loinc.org", "code": "2823-3", "display": "Potassium"}]}


@pytest.fixture
def empty_memo() -> Iterator[BoundedMemo[Any, Any]]:
    VALIDATED.forget()
    yield VALIDATED
    VALIDATED.forget()


def test_a_repeated_code_is_validated_once_across_requests(empty_memo: BoundedMemo[Any, Any]) -> None:
    first = Validator()(CodeableConcept, K)
    second = Validator()(CodeableConcept, dict(K))  # another request, an equal element
    assert second is first and empty_memo.entries() == 1


def test_references_are_not_kept_across_requests(empty_memo: BoundedMemo[Any, Any]) -> None:
    v = Validator()
    ref = {"reference": "Medication/m-1"}
    assert v(Reference, ref) is v(Reference, ref)  # within a request: once
    assert not empty_memo.entries()  # chart-specific: not shared


def test_an_invalid_element_is_rejected_every_time(empty_memo: BoundedMemo[Any, Any]) -> None:
    bad = {"value": "four", "unit": "mmol/L"}
    for _ in range(3):
        with pytest.raises(INVALID):
            Validator()(Quantity, bad)
    assert not empty_memo.entries()


def test_a_value_orjson_cannot_write_is_validated_but_not_shared(empty_memo: BoundedMemo[Any, Any]) -> None:
    huge = {"value": 2**70, "unit": "mmol/L"}  # not from a JSON body (orjson reads 64-bit integers), but possible
    assert Validator()(Quantity, huge).unit == "mmol/L"
    assert not empty_memo.entries()


def test_large_elements_are_not_kept(empty_memo: BoundedMemo[Any, Any]) -> None:
    Validator()(CodeableConcept, {"text": "x" * (SHARED_KEY_MAX + 1)})
    assert not empty_memo.entries()


def _cards(request: dict[str, Any]) -> list[Any]:
    service = registry.service("leg-pain-causes")
    found = build_facts(workload.resources_of(orjson.loads(orjson.dumps(request))), now=NOW,
                        patient_id=workload.PATIENT_ID)
    return [(c.topic, c.indicator, c.summary, c.detail) for c in engine.evaluate(service, found)]


def test_cards_are_the_same_with_a_cold_or_warm_memo(empty_memo: BoundedMemo[Any, Any]) -> None:
    requests = [workload.hook_request("small", seed=seed, now=NOW) for seed in (1, 2, 3)]
    cold = []
    for request in requests:
        empty_memo.forget()
        cold.append(_cards(request))
    warm = [_cards(request) for request in requests + requests]
    assert cold and all(cold)  # the benchmark patients make cards fire
    assert warm == cold + cold


def test_released_facts_are_freed_without_the_cycle_collector() -> None:
    service = registry.service("leg-pain-causes")
    request = workload.hook_request("small", now=NOW)
    found = build_facts(workload.resources_of(request), now=NOW, patient_id=workload.PATIENT_ID)
    engine.evaluate(service, found)
    found.release()
    ref = weakref.ref(found)
    enabled = gc.isenabled()
    gc.disable()
    try:
        del found
        assert ref() is None  # reference counting alone freed it: no cycle was left
    finally:
        if enabled:
            gc.enable()


def test_facts_still_answer_after_release() -> None:
    request = workload.hook_request("small", now=NOW)
    found = build_facts(workload.resources_of(request), now=NOW, patient_id=workload.PATIENT_ID)
    before = found.latest("potassium", timedelta(days=365))
    found.release()
    assert found.latest("potassium", timedelta(days=365)) == before


def _condition(cid: str, code: dict[str, Any], onset: str) -> dict[str, Any]:
    return {"resourceType": "Condition", "id": cid, "subject": {"reference": f"Patient/{workload.PATIENT_ID}"},
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": "active"}]},
            "code": code, "onsetDateTime": onset}


def test_condition_matches_are_memoised_per_content_not_per_patient() -> None:
    pad = {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I739"}], "text": "PAD"}
    first = build_facts([_condition("c-1", pad, "2020-01-01")], now=NOW, patient_id=workload.PATIENT_ID)
    second = build_facts([_condition("c-2", pad, "2024-05-06")], now=NOW, patient_id=workload.PATIENT_ID)
    a, b = first.conditions("cond-pad"), second.conditions("cond-pad")
    assert [m.condition_id for m in a] == ["c-1"] and [m.condition_id for m in b] == ["c-2"]
    assert a[0].date != b[0].date and (a[0].matched_by, a[0].code) == (b[0].matched_by, b[0].code)


def test_a_condition_system_that_is_not_a_string_is_read_as_absent() -> None:
    """Found while adding the memo: an object as coding.system reached terminology and raised AttributeError."""
    odd = {"coding": [{"system": {"not": "a string"}, "code": "I739"}]}
    found = build_facts([_condition("c-3", odd, "2020-01-01")], now=NOW, patient_id=workload.PATIENT_ID)
    assert found.conditions("cond-pad") == []  # no code match without a system, and no crash


def test_an_observation_code_is_decided_once_and_exactly() -> None:
    """The pre-filter decides each distinct `code` element once (analytes.CONCEPTS), with the same answer."""
    codes = {
        "potassium": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}]},
        "abi": {"coding": [{"system": "urn:local", "code": "X1"}], "text": "Ankle-brachial index, left"},
        "heart-rate": {"coding": [{"system": "urn:local", "code": "HR"}], "text": "Heart rate"},
        "huge-code": {"coding": [{"code": 2**70}]},  # not a JSON value: decided without the memo
        "text-code": "2823-3",
    }
    resources = [{"resourceType": "Observation", "id": name, "status": "final", "code": code,
                  "subject": {"reference": "Patient/p"}, "effectiveDateTime": "2026-11-20T08:00:00Z"}
                 for name, code in codes.items()]
    for _ in range(2):  # the second time from the memo
        built = build_facts(resources, now=datetime(2026, 11, 25, tzinfo=timezone.utc), patient_id="p")
        assert {a: [raw.id for _, raw in c] for a, c in built._obs_candidates.items() if c} == {
            "potassium": ["potassium"], "abi": ["abi"]}
        for name, analyte in (("potassium", "potassium"), ("heart-rate", None)):
            key = orjson.dumps(codes[name])
            assert CONCEPTS.kept(key) and CONCEPTS[key] == analyte
