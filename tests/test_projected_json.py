"""The hook route's body decoder (cds_service/fhir/decode.py): the cards projection where it applies, the whole-dict
parse with its checks and messages everywhere else, and the same facts either way."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson
import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cards.facts import DataNotes, build_facts
from cards.projection import ELEMENTS, Resource, as_dict
from cds_service.fhir import gather as fhir_data, decode as projected_json
from cds_service import limits
from leg_pain_cds_bench import workload

NOW = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)
DEPTH = 64


def _projected(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k in ELEMENTS and k != "entry"}


def _same_as_whole(decoded: Any, whole: Any) -> None:
    """`decoded` is `whole` with every resource projected (Observations in Bundles as Resource structs)."""
    if isinstance(decoded, Resource):
        assert decoded.resourceType == "Observation"
        assert as_dict(decoded) == _projected(whole)
        return
    assert type(decoded) is dict and type(whole) is dict
    if whole.get("resourceType") == "Bundle":
        assert _projected(decoded) == _projected(whole)
        assert len(decoded.get("entry", [])) == len(whole.get("entry", []))
        for got, sent in zip(decoded.get("entry", []), whole.get("entry", [])):
            assert got.keys() == sent.keys() & {"resource"}
            if sent.get("resource") is not None:
                _same_as_whole(got["resource"], sent["resource"])
            else:
                assert got.get("resource") is None
    else:
        assert decoded == _projected(whole)


@pytest.mark.parametrize("size", ["small", "typical"])
def test_a_generated_request_is_decoded_as_the_projection_of_its_whole_parse(size: str,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    raw = orjson.dumps(workload.hook_request(size, now=NOW, seed=3))
    monkeypatch.setattr(limits, "parse_json_body", pytest.fail)  # the projection must not fall back here
    body = projected_json.hook_body(raw, DEPTH)
    whole = orjson.loads(raw)
    assert body.keys() == whole.keys()
    assert {k: v for k, v in body.items() if k != "prefetch"} == {k: v for k, v in whole.items() if k != "prefetch"}
    assert body["prefetch"].keys() == whole["prefetch"].keys()
    observations = 0
    for key, value in whole["prefetch"].items():
        _same_as_whole(body["prefetch"][key], value)
        if value.get("resourceType") == "Bundle":
            observations += sum(isinstance(e["resource"], Resource) for e in body["prefetch"][key]["entry"])
    assert observations >= 20
    # The unread elements are gone, not merely hidden.
    assert not any("meta" in v or "identifier" in v for v in body["prefetch"].values())


def test_nested_bundles_null_values_and_entries_without_a_resource() -> None:
    obs = {"resourceType": "Observation", "id": "o1", "status": "final", "meta": {"versionId": "2"}}
    inner = {"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "urn:x", "resource": obs}]}
    body = {"hook": "patient-view", "hookInstance": "h", "context": {"patientId": "p"},
            "prefetch": {"a": None, "b": {"resourceType": "Bundle", "entry": [
                {"resource": inner}, {"fullUrl": "urn:no-resource"}, {"resource": None},
                {"resource": {"resourceType": "Condition", "id": "c1", "note": [{"text": "x"}]}}]}}}
    decoded = projected_json.hook_body(orjson.dumps(body), DEPTH)
    assert decoded["prefetch"]["a"] is None
    entries = decoded["prefetch"]["b"]["entry"]
    assert entries[0]["resource"]["entry"][0]["resource"] == Resource(resourceType="Observation", id="o1",
                                                                       status="final")
    assert entries[1:] == [{}, {"resource": None}, {"resource": {"resourceType": "Condition", "id": "c1"}}]


def _outcome(parse: Any, raw: bytes) -> Any:
    try:
        return "ok", parse(raw, DEPTH)
    except limits.CdsError as err:
        return type(err).__name__, str(err), getattr(err, "status", None)


def _deep(depth: int) -> bytes:
    return b'{"hook":"patient-view","context":{"x":' + b"[" * depth + b"]" * depth + b"}}"


@pytest.mark.parametrize("raw", [
    b'{"hook": "patient-view", "unknownMember": 1, "prefetch": {"p": {"resourceType": "Patient", "id": "p"}}}',
    b'{"prefetch": {"p": ["not", "a", "resource"]}}',
    b'{"prefetch": {"p": "Patient/1"}}',
    b'{"prefetch": ["p"]}',
    b'{"prefetch": {"o": {"resourceType": "Bundle", "entry": {"resource": {}}}}}',
    b'{"prefetch": {"o": {"resourceType": "Bundle", "entry": [1, "x", null]}}}',
    b'{"prefetch": {"o": {"resourceType": "Bundle", "entry": [{"resource": "Observation/1"}]}}}',
    b'[]', b'"text"', b'{"hook": NaN}', b'{"hook": "patient-view"', b'not json', b'',
    b'{"prefetch": {"p": {"resourceType": "Patient", "text": {"div": "\\ud800"}}}}',
    b'{"prefetch": {"p": {"resourceType": "Patient", "text": {"div": "\xff\xfe"}}}}',  # invalid UTF-8, unread
    _deep(70), _deep(3000),
])
def test_what_the_projection_does_not_describe_meets_the_whole_parse(raw: bytes) -> None:
    assert _outcome(projected_json.hook_body, raw) == _outcome(limits.parse_json_body, raw)


def test_a_fhir_server_response_is_projected_or_left_to_the_whole_parse() -> None:
    bundle = {"resourceType": "Bundle", "type": "searchset", "link": [{"relation": "next", "url": "https://x/p2"}],
              "entry": [{"fullUrl": "https://x/Observation/o", "search": {"mode": "match"},
                         "resource": {"resourceType": "Observation", "id": "o", "status": "final"}},
                        {"resource": {"resourceType": "OperationOutcome", "issue": []}}]}
    got = projected_json.fhir_resource(orjson.dumps(bundle))
    assert got is not None
    _same_as_whole(got, bundle)
    assert projected_json.fhir_resource(b'{"resourceType": "Patient", "id": "p", "gender": "male"}') == {
        "resourceType": "Patient", "id": "p", "gender": "male"}
    for odd in (b"[1, 2]", b"{not json", b'{"resourceType": "Bundle", "entry": "x"}', b'{"a": "\xff"}'):
        assert projected_json.fhir_resource(odd) is None


def test_the_depth_limit_holds_on_the_projected_path() -> None:
    """Nesting in the envelope and in the Bundle skeleton is checked as before; a resource's insides are not."""
    deep_context = orjson.dumps({"hook": "patient-view", "context": {"a": [[[[[[1]]]]]]}})
    with pytest.raises(limits.InputLimitExceeded, match="CDS_MAX_JSON_DEPTH"):
        projected_json.hook_body(deep_context, 5)
    bundle: dict[str, Any] = {"resourceType": "Observation", "id": "o"}
    for _ in range(4):
        bundle = {"resourceType": "Bundle", "entry": [{"resource": bundle}]}
    raw = orjson.dumps({"prefetch": {"b": bundle}})
    assert _outcome(projected_json.hook_body, raw)[0] == _outcome(limits.parse_json_body, raw)[0] == "ok"
    with pytest.raises(limits.InputLimitExceeded):
        projected_json.hook_body(raw, 8)
    with pytest.raises(limits.InputLimitExceeded):
        limits.parse_json_body(raw, 8)


def test_invalid_utf8_in_an_element_no_rule_reads_is_still_a_400(client: FlaskClient) -> None:
    body = (b'{"hook":"patient-view","hookInstance":"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",'
            b'"context":{"userId":"Practitioner/1","patientId":"pat-1"},"prefetch":{"patient":'
            b'{"resourceType":"Patient","id":"pat-1","text":{"div":"caf\xe9"}}}}')
    resp = client.post("/cds-services/leg-pain-causes", data=body, content_type="application/json")
    assert resp.status_code == 400
    assert "not valid JSON" in resp.get_json()["issue"][0]["diagnostics"]


# ------------------------------------------------------------------------------ same facts either way

PATIENT = "p1"
POTASSIUM = {"coding": [{"system": "http://loinc.org", "code": "2823-3"}], "text": "Potassium"}
_VALUES: dict[str, list[Any]] = {  # JSON values only (both decoders must be able to read the body)
    "resourceType": ["Observation", "Observation", "Observation", "Condition", "Patient", None, 7],
    "id": ["a", "a", "b", None, 5, ["x"]],
    "code": [POTASSIUM, {"text": "Ankle brachial index, left"}, {"coding": [{"code": "2777-1"}]}, None, [], 3,
             {"coding": 1}],
    "status": ["final", "amended", "cancelled", None, ["final"], 3],
    "effectiveDateTime": ["2026-11-01T08:00:00Z", "2026-11-01T08:00:00", "2026-10", "2027-06-01T00:00:00Z", "", 5],
    "effectivePeriod": [{"start": "2026-09-01", "end": "2026-09-02"}, "2026", None],
    "issued": ["2026-11-02T00:00:00Z", None],
    "subject": [{"reference": f"Patient/{PATIENT}"}, {"reference": "Patient/other"}, "Patient/other", None],
    "modifierExtension": [[{"url": "https://example.org/x"}], None],
    "valueQuantity": [{"value": 3.1, "unit": "mmol/L"}, {"value": "high"}],
    "clinicalStatus": [{"coding": [{"code": "active"}]}, None],
    "abatementString": ["2020"],
    "meta": [{"versionId": "1"}],
    "entry": [[], "x"],
}


def _state(facts: Any) -> Any:
    return ({a: [(when, None if raw is None else as_dict(raw)) for when, raw in c]
             for a, c in facts._obs_candidates.items() if c},
            sorted(facts.notes.skipped.items()), [as_dict(c) for c in facts._conditions_raw], facts.sex)


def _facts(body: dict[str, Any]) -> Any:
    notes = DataNotes()
    resources = fhir_data._entries(body["prefetch"]["all"], notes)
    return build_facts(resources, now=NOW, patient_id=PATIENT, notes=notes)


@given(st.lists(st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in _VALUES.items()}),
                max_size=20))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_builder_decides_the_same_on_the_projection_as_on_whole_dicts(resources: list[dict[str, Any]]) -> None:
    raw = orjson.dumps({"prefetch": {"all": {"resourceType": "Bundle", "entry": [{"resource": r}
                                                                                  for r in resources]}}})
    projected = projected_json.hook_body(raw, DEPTH)
    whole = limits.parse_json_body(raw, DEPTH)
    assert _state(_facts(projected)) == _state(_facts(whole))
