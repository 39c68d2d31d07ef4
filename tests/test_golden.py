"""Golden request/response pairs, found by directory scan (tests/golden_cases.py describes the layout).

Every stored call is posted to its service; an order case, stored once as its order-select call, is posted to
order-sign too and must get the same answer unless a <case>.<service id>.response.json says otherwise.
Expected files change only through `pytest --update-golden`, with the JSON diff reviewed like code.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service import limits
from cds_service.fhir import decode as projected_json
from tests import golden_cases

WHOLE_BY_DESIGN = "protocol-fires-messy-prefetch."  # its envelope carries an unknown member
CASES = golden_cases.request_paths()


def test_golden_cases_exist() -> None:
    assert CASES, "no golden cases found"


def _write_expected(req: Path, answers: dict[str, dict[str, Any]]) -> None:
    """--update-golden: the stored call's own service writes the shared answer; a service run on the same call
    writes its own file only where its answer differs (and loses a stale one where it no longer does)."""
    home = answers[req.parent.name]
    golden_cases.shared_expected_path(req).write_text(json.dumps(home, indent=2, sort_keys=True) + "\n")
    for service_id, got in answers.items():
        if service_id == req.parent.name:
            continue
        own = golden_cases.own_expected_path(req, service_id)
        if got != home:
            own.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n")
        else:
            own.unlink(missing_ok=True)


def test_an_order_service_that_answers_differently_gets_its_own_expected_file(tmp_path: Path) -> None:
    select, sign = golden_cases.ORDER_SELECT_SERVICE, golden_cases.ORDER_SIGN_SERVICE
    req = tmp_path / select / "fires-x.request.json"
    req.parent.mkdir()
    quiet, warned = {"status": 200, "body": {"cards": []}}, {"status": 200, "body": {"cards": [{"summary": "x"}]}}
    _write_expected(req, {select: quiet, sign: warned})
    assert json.loads(golden_cases.expected_path(req, select).read_text()) == quiet
    assert json.loads(golden_cases.expected_path(req, sign).read_text()) == warned
    _write_expected(req, {select: quiet, sign: quiet})  # answering alike again: one shared file
    assert golden_cases.expected_path(req, sign) == golden_cases.shared_expected_path(req)
    assert sorted(p.name for p in req.parent.iterdir()) == ["fires-x.response.json"]


@pytest.mark.parametrize("decode", ["projection", "whole"])
@pytest.mark.parametrize("req", CASES, ids=lambda p: f"{p.parent.name}/{golden_cases.case_name(p)}")
def test_golden(client: FlaskClient, req: Path, update_golden: bool, decode: str,
                monkeypatch: pytest.MonkeyPatch) -> None:
    """Every case gives the same answer whether the body is decoded as the cards projection (the hook route's
    fast path, cds_service/fhir/decode.py) or whole with orjson (its fallback for bodies the projection does not
    describe): skipping the elements no reader uses must not change a single card."""
    whole_parses: list[bytes] = []
    parse_whole = limits.parse_json_body

    def counted(raw: bytes, max_depth: int) -> Any:
        whole_parses.append(raw)
        return parse_whole(raw, max_depth)

    monkeypatch.setattr(limits, "parse_json_body", counted)
    if decode == "whole":
        monkeypatch.setattr(projected_json, "hook_body", counted)
    calls = golden_cases.calls_of(req)
    answers: dict[str, dict[str, Any]] = {}
    for call in calls:
        whole_parses.clear()
        resp = client.post(f"/cds-services/{call.service_id}", json=call.request)
        answers[call.service_id] = {"status": resp.status_code, "body": resp.get_json()}
        # The projection decodes every golden request but the one with a member CDS Hooks does not define.
        decoded_whole = decode == "whole" or req.name.startswith(WHOLE_BY_DESIGN)
        assert len(whole_parses) == (1 if decoded_whole else 0), call.name
    if update_golden and decode == "projection":
        _write_expected(req, answers)
    for call in calls:
        expected = call.expected_path
        assert expected.exists(), f"{expected.name} missing: run pytest --update-golden and review it"
        assert answers[call.service_id] == json.loads(expected.read_text()), call.name
