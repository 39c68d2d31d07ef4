"""The pre-filter's inlined loop (cards.facts.builder.Builder.add_all) decides as add() does, resource by resource,
and the web layer frees what no rule reads while the builder passes it (fhir_data.Gathered.drain)."""
from __future__ import annotations

import gc
from collections import UserString
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cards import facts, registry
from cards.facts import analytes, builder
from cards.facts import DataNotes, PatientFacts, build_facts
from cards.projection import as_dict
from cds_service.fhir import gather as fhir_data, decode as projected_json
from leg_pain_cds_bench import workload

NOW = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)
PATIENT = "p1"
POTASSIUM = {"coding": [{"system": "http://loinc.org", "code": "2823-3"}], "text": "Potassium"}
UNRELATED = {"coding": [{"system": "http://loinc.org", "code": "2777-1"}], "text": "Phosphate"}
ABI_BY_TEXT = {"text": "Ankle brachial index, left"}


class _Sub(UserString):
    pass


_VALUES: dict[str, list[Any]] = {
    "resourceType": ["Observation", "Observation", "Observation", "Condition", None, 7],
    "id": ["a", "a", "b", "c", None, 5, ["x"], _Sub("a")],
    "code": [POTASSIUM, POTASSIUM, UNRELATED, ABI_BY_TEXT, None, [], 3, {"coding": 1}, {"coding": [{"code": 2**70}]},
             {"coding": [{"system": {"x": 1}, "code": "2823-3"}]}],
    "status": ["final", "final", "amended", "cancelled", None, ["final"], 3, "preliminary"],
    "effectiveDateTime": ["2026-11-01T08:00:00Z", "2026-11-01T08:00:00", "2026-10", "2026", "2026-02-30T00:00:00Z",
                          "2027-06-01T00:00:00Z", "", None, 5, "not a date"],
    "effectivePeriod": [{"start": "2026-09-01", "end": "2026-09-02"}, {"start": "2026-09-01"}, "2026", None],
    "issued": ["2026-11-02T00:00:00Z", None, 3],
    "subject": [{"reference": f"Patient/{PATIENT}"}, {"reference": "Patient/other"},
                {"reference": f"https://ehr.example/fhir/Patient/{PATIENT}"}, {"reference": 5}, "Patient/other", None],
    "patient": [{"reference": "Patient/other"}, None],
    "modifierExtension": [[{"url": "https://example.org/x"}], None],
}


def _resources() -> Any:
    field = {name: st.sampled_from(values) for name, values in _VALUES.items()}
    resource = st.fixed_dictionaries({}, optional=field)
    return st.lists(st.one_of(resource, st.sampled_from([None, "text", ["Observation"]])), max_size=25)


def _state(f: PatientFacts) -> Any:
    return ({a: [(when, None if raw is None else as_dict(raw)) for when, raw in c] for a, c in f._obs_candidates.items() if c},
            sorted(f.notes.skipped.items()), f._conditions_raw)


@given(resources=_resources())
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_inlined_loop_decides_as_add_does(resources: list[Any]) -> None:
    inlined = PatientFacts(now=NOW, patient_id=PATIENT, notes=DataNotes())
    one_by_one = PatientFacts(now=NOW, patient_id=PATIENT, notes=DataNotes())
    builder.Builder(inlined).add_all(resources)
    one_at_a_time = builder.Builder(one_by_one)
    for resource in resources:
        one_at_a_time.add(resource)
    assert _state(inlined) == _state(one_by_one)


def test_the_fast_path_sees_each_branch() -> None:
    """Spot checks of the branches the property test relies on, with the expected notes."""
    own = {"reference": f"Patient/{PATIENT}"}
    resources = [
        {"resourceType": "Observation", "id": "1", "code": POTASSIUM, "status": "final", "subject": own,
         "effectiveDateTime": "2026-11-01T08:00:00+01:00"},
        {"resourceType": "Observation", "id": "1", "code": POTASSIUM, "status": "final", "subject": own,
         "effectiveDateTime": "2026-11-01T08:00:00+01:00"},  # duplicate id: dropped silently
        {"resourceType": "Observation", "id": "2", "code": UNRELATED, "status": "final", "subject": own},
        {"resourceType": "Observation", "id": "3", "code": POTASSIUM, "status": "cancelled", "subject": own},
        {"resourceType": "Observation", "id": "4", "code": POTASSIUM, "status": "final",
         "subject": {"reference": "Patient/other"}, "effectiveDateTime": "2026-11-01"},
        {"resourceType": "Observation", "id": "5", "code": POTASSIUM, "status": "final", "subject": own,
         "effectivePeriod": {"end": "2026-10-01"}},
        {"resourceType": "Observation", "id": "6", "code": POTASSIUM, "status": "final", "subject": own,
         "effectiveDateTime": "2027-01-01T00:00:00Z"},
        {"resourceType": "Observation", "id": "7", "code": POTASSIUM, "status": "final", "subject": own},
    ]
    f = PatientFacts(now=NOW, patient_id=PATIENT, notes=DataNotes())
    builder.Builder(f).add_all(resources)
    assert [raw.id for _, raw in f._obs_candidates["potassium"]] == ["1", "5"]
    assert f._obs_candidates["potassium"][0][0] == datetime(2026, 11, 1, 7, tzinfo=timezone.utc)
    assert dict(f.notes.skipped) == {"observation-status-cancelled": 1, "other-patient": 1,
                                     "observation-future-date": 1, "observation-no-date": 1}


def _tagged(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource with its `code` marked (element id and an extension) so that _live_observations can find it.

    The builder holds Observations as projection structs, which the collector does not track (gc=False); their
    `code` dict, holding a list, is tracked, and lives exactly as long as the Observation's projection does.
    """
    if resource.get("resourceType") == "Observation":
        code = resource.get("code") if isinstance(resource.get("code"), dict) else {}
        resource["code"] = {**code, "id": f"obs:{resource['id']}", "extension": [{"url": "urn:test:tag"}]}
    return resource


def _live_observations() -> set[str]:
    return {o["id"][4:] for o in gc.get_objects()
            if type(o) is dict and isinstance(o.get("id"), str) and o["id"].startswith("obs:")}


def _gathered(resources: list[dict[str, Any]]) -> fhir_data.Gathered:
    """The resources as the hook route hands them to the builder: decoded as the projection, the only reference."""
    raw = orjson.dumps({"prefetch": {"all": {"resourceType": "Bundle",
                                             "entry": [{"resource": _tagged(r)} for r in resources]}}})
    decoded = projected_json.hook_body(raw, 64)
    return fhir_data.Gathered(resources=fhir_data._entries(decoded["prefetch"].pop("all"), DataNotes()))


def test_drained_resources_no_rule_reads_are_freed_as_the_builder_passes_them() -> None:
    body = workload.hook_request("small", now=NOW, seed=4)
    resources = [e["resource"] for v in body["prefetch"].values() if v.get("resourceType") == "Bundle"
                 for e in v["entry"]]
    read = {r["id"] for r in resources
            if r["resourceType"] == "Observation" and analytes.concept_analyte(r.get("code")) is not None}
    unread = {r["id"] for r in resources if r["resourceType"] == "Observation"} - read
    assert read and unread
    patient_id = body["context"]["patientId"]
    data = _gathered(resources)
    del body, resources
    was = gc.isenabled()
    gc.disable()  # reference counting alone must do it
    try:
        assert _live_observations() >= unread  # the marker works
        built = build_facts(data.drain(), now=NOW, patient_id=patient_id, notes=data.notes)
        live = _live_observations()
        kept = {raw.id for c in built._obs_candidates.values() for _, raw in c if raw is not None}
        assert data.resources == []
        assert not live & unread, "an Observation no rule reads outlived the pre-filter"
        assert kept and live >= kept
    finally:
        if was:
            gc.enable()


def test_drain_hands_over_every_resource_in_order() -> None:
    data = fhir_data.Gathered(resources=[{"id": str(i)} for i in range(5)])
    assert [r["id"] for r in data.drain()] == ["0", "1", "2", "3", "4"]
    assert data.resources == []


def _potassium(rid: str, when: str, value: float) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": rid, "status": "final", "code": POTASSIUM,
            "subject": {"reference": f"Patient/{PATIENT}"}, "effectiveDateTime": when,
            "valueQuantity": {"value": value, "unit": "mmol/L", "system": "http://unitsofmeasure.org",
                              "code": "mmol/L"}}


def test_results_older_than_the_read_window_keep_their_date_only() -> None:
    """Past READ_WINDOW (the longest lookback, as the FHIR fallback searches) a result keeps its date, for 'last seen'
    notes, and its resource is let go in the pre-filter; the results a rule reads are unchanged."""
    data = _gathered([_potassium("recent", "2026-11-20T08:00:00Z", 3.1),
                      _potassium("last-year", "2025-12-01T08:00:00Z", 4.0),
                      _potassium("old", "2024-03-01T08:00:00Z", 2.5)])
    was = gc.isenabled()
    gc.disable()
    try:
        assert "old" in _live_observations()
        f = build_facts(data.drain(), now=NOW, patient_id=PATIENT)
        assert "old" not in _live_observations() and {"recent", "last-year"} <= _live_observations()
    finally:
        if was:
            gc.enable()
    assert [r.observation_id for r in f.results("potassium", facts.READ_WINDOW)] == ["recent", "last-year"]
    assert f.older_than("potassium", timedelta(days=365)) == datetime(2024, 3, 1, 8, tzinfo=timezone.utc)
    assert [r.value for r in f.results_on("potassium", datetime(2025, 12, 1).date())] == [4.0]


def test_no_rule_can_look_further_back_than_the_read_window() -> None:
    f = build_facts([], now=NOW, patient_id=PATIENT)
    with pytest.raises(ValueError, match="READ_WINDOW"):
        f.results("potassium", facts.READ_WINDOW + timedelta(days=1))
    with pytest.raises(ValueError, match="READ_WINDOW"):
        f.results_on("potassium", (NOW - facts.READ_WINDOW - timedelta(days=1)).date())
    assert registry.FALLBACK_LOOKBACK == facts.READ_WINDOW  # the FHIR searches cover the same window


def test_every_lookback_a_rule_declares_is_within_the_read_window() -> None:
    """Static check of the clinical modules (rules, shared rule code, facts): each timedelta (days/weeks) fits
    READ_WINDOW, so a new rule with a longer window fails here and not only when a patient happens to reach it."""
    import ast
    from pathlib import Path

    import cards

    found = 0
    for path in Path(cards.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "timedelta":
                days = sum(kw.value.value * {"days": 1, "weeks": 7}.get(str(kw.arg), 0)
                           for kw in node.keywords if isinstance(kw.value, ast.Constant))
                found += 1
                assert timedelta(days=days) <= facts.READ_WINDOW, f"{path.name}: timedelta of {days} days"
    # Windows written as knowledge data (cards/knowledge, unit "days"), which is where the rules' windows live.
    from cards import knowledge

    windows = [t for t in knowledge.all_thresholds().values() if t.unit == "days"]
    longest = max(facts.LONG_READ_WINDOWS.values(), default=facts.READ_WINDOW)
    for window in windows:
        # A window beyond READ_WINDOW is allowed only as a per-analyte LONG_READ_WINDOWS entry (the ABI history).
        allowed = longest if window.days in facts.LONG_READ_WINDOWS.values() else facts.READ_WINDOW
        assert window.days <= allowed, f"{window.id}: {window.value:g} days"
    assert found + len(windows) >= 5 and len(windows) >= 4


def test_candidates_sorted_by_timestamp_are_in_datetime_order() -> None:
    """builder._instant (a float) orders aware datetimes of any offsets exactly as comparing them does, ties kept."""
    from hypothesis import strategies as st

    offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
    when = st.builds(lambda dt, tz: dt.replace(tzinfo=tz),
                     st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)), offsets)

    @given(st.lists(st.tuples(when, st.integers()), max_size=30))
    @settings(max_examples=300, deadline=None)
    def same(candidates: list[tuple[datetime, int]]) -> None:
        by_float = sorted(candidates, key=builder._instant, reverse=True)
        by_datetime = sorted(candidates, key=lambda c: c[0], reverse=True)
        assert by_float == by_datetime

    same()
