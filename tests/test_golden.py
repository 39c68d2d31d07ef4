"""Golden request/response pairs, found by directory scan: golden/<service_id>/<case>.request.json.

Expected files change only through `pytest --update-golden`, with the JSON diff reviewed like code.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service import hardening, projected_json

WHOLE_BY_DESIGN = "protocol-fires-messy-prefetch."  # its envelope carries an unknown member
CASES = sorted((Path(__file__).parent / "golden").glob("*/*.request.json"))


def test_golden_cases_exist() -> None:
    assert CASES, "no golden cases found"


@pytest.mark.parametrize("decode", ["projection", "whole"])
@pytest.mark.parametrize("req", CASES, ids=lambda p: f"{p.parent.name}/{p.name.split('.')[0]}")
def test_golden(client: FlaskClient, req: Path, update_golden: bool, decode: str,
                monkeypatch: pytest.MonkeyPatch) -> None:
    """Every case gives the same answer whether the body is decoded as the cards projection (the hook route's
    fast path, cds_service/projected_json.py) or whole with orjson (its fallback for bodies the projection does not
    describe): skipping the elements no reader uses must not change a single card."""
    whole_parses: list[bytes] = []
    parse_whole = hardening.parse_json_body

    def counted(raw: bytes, max_depth: int) -> Any:
        whole_parses.append(raw)
        return parse_whole(raw, max_depth)

    monkeypatch.setattr(hardening, "parse_json_body", counted)
    if decode == "whole":
        monkeypatch.setattr(projected_json, "hook_body", counted)
    expected = req.with_name(req.name.replace(".request.", ".response."))
    resp = client.post(f"/cds-services/{req.parent.name}", json=json.loads(req.read_text()))
    got = {"status": resp.status_code, "body": resp.get_json()}
    # The projection decodes every golden request but the one with a member CDS Hooks does not define.
    decoded_whole = decode == "whole" or req.name.startswith(WHOLE_BY_DESIGN)
    assert len(whole_parses) == (1 if decoded_whole else 0)
    if update_golden and decode == "projection":
        expected.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n")
    assert expected.exists(), f"{expected.name} missing: run pytest --update-golden and review it"
    assert got == json.loads(expected.read_text())
