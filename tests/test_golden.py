"""Golden request/response pairs, found by directory scan: golden/<service_id>/<case>.request.json.

Expected files change only through `pytest --update-golden`, with the JSON diff reviewed like code.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

CASES = sorted((Path(__file__).parent / "golden").glob("*/*.request.json"))


def test_golden_cases_exist() -> None:
    assert CASES, "no golden cases found"


@pytest.mark.parametrize("req", CASES, ids=lambda p: f"{p.parent.name}/{p.name.split('.')[0]}")
def test_golden(client: FlaskClient, req: Path, update_golden: bool) -> None:
    expected = req.with_name(req.name.replace(".request.", ".response."))
    resp = client.post(f"/cds-services/{req.parent.name}", json=json.loads(req.read_text()))
    got = {"status": resp.status_code, "body": resp.get_json()}
    if update_golden:
        expected.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n")
    assert expected.exists(), f"{expected.name} missing: run pytest --update-golden and review it"
    assert got == json.loads(expected.read_text())
