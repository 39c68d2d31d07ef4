"""No PHI in logs: every golden request, logged at DEBUG, is searched for every name, birth date, identifier and value.

The captured records are rendered the way production renders them (message + key=value extras), without the
timestamp/line-number noise of caplog.text; timing fields are dropped before the numeric search because a
latency can coincide with a lab value.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from cds_service.runtime.logs import KeyValueFormatter
from tests import golden_cases
from tests.log_capture import rendered_log

CASES = golden_cases.calls()
TIMING = re.compile(r"\b(?:ms|latency_ms|elapsed_ms)=[\d.]+")


def _walk(value: Any) -> Iterator[tuple[str, Any]]:
    """(key, value) for every member of nested JSON."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k, v
            yield from _walk(v)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def phi_strings(request: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(texts, numbers) a log must never contain: names, birth dates, identifiers, ids and values."""
    texts: set[str] = set()
    numbers: set[str] = set()
    for key, value in _walk(request):
        if key == "name" and isinstance(value, list):  # HumanName
            for name in value:
                if isinstance(name, dict):
                    texts.update(n for n in name.get("given", []) if isinstance(n, str))
                    texts.update(v for k, v in name.items() if k in ("family", "text") and isinstance(v, str))
        elif key in ("birthDate", "patientId") and isinstance(value, str):
            texts.add(value)
        elif key == "identifier" and isinstance(value, list):
            texts.update(i["value"] for i in value if isinstance(i, dict) and isinstance(i.get("value"), str))
        elif key == "reference" and isinstance(value, str) and value.startswith("Patient/"):
            texts.add(value)
        elif key == "valueQuantity" and isinstance(value, dict) and isinstance(value.get("value"), (int, float)):
            numbers.add(str(value["value"]))
        elif key in ("valueString",) and isinstance(value, str):
            texts.add(value)
    return {t for t in texts if len(t) >= 3}, numbers


def test_golden_cases_found() -> None:
    assert CASES


@pytest.mark.parametrize("call", CASES, ids=lambda c: c.name)
def test_golden_request_leaves_no_phi_in_logs(client: Any, call: golden_cases.GoldenCall,
                                              caplog: pytest.LogCaptureFixture) -> None:
    body = call.request
    texts, numbers = phi_strings(body)
    assert texts or numbers or not body.get("prefetch"), "the PHI extractor found nothing to look for"
    with caplog.at_level(logging.DEBUG):
        client.post(f"/cds-services/{call.service_id}", json=body)
    formatter = KeyValueFormatter("%(levelname)s %(name)s %(message)s")
    captured = "\n".join(formatter.format(r) for r in caplog.records)
    assert captured, "nothing was logged: the test would prove nothing"
    for text in texts:
        assert text not in captured, f"{text!r} from {call.name} reached the log"
    scrubbed = TIMING.sub("", captured)
    for number in numbers:
        assert not re.search(rf"(?<![\w.\-]){re.escape(number)}(?![\w.\-])", scrubbed), (
            f"value {number} from {call.name} reached the log"
        )


def test_the_check_would_catch_a_leak(caplog: pytest.LogCaptureFixture) -> None:
    """Guard against a test that cannot fail: a logged name and value are found by the same search."""
    body = {"prefetch": {"patient": {"resourceType": "Patient", "name": [{"family": "Testperson", "given": ["Alma"]}],
                                     "birthDate": "1944-05-06"}}}
    texts, _ = phi_strings(body)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("cds_service.test").info("oops %s", "Testperson")
    captured = "\n".join(r.getMessage() for r in caplog.records)
    assert any(t in captured for t in texts)


def _rendered_log(emit: Any) -> str:
    """What production writes for the records `emit()` produces: logs.configure's formatter and redacting filter."""
    return rendered_log(emit, KeyValueFormatter("%(levelname)s %(name)s: %(message)s"))


def test_client_strings_are_capped_and_the_cut_is_counted(client: Any) -> None:
    """Five 1 MB Observation.status values once added 5 MB of log from one request; now a few hundred bytes."""
    from cds_service import cli
    body = cli.example_request("low-potassium")
    observations = [e["resource"] for v in body["prefetch"].values() if isinstance(v, dict)
                    for e in v.get("entry", []) if e.get("resource", {}).get("resourceType") == "Observation"]
    assert observations
    for i, observation in enumerate(observations):
        observation["status"] = f"{i}" + "x" * 1_000_000
    text = _rendered_log(lambda: client.post("/cds-services/leg-pain-causes", json=body))
    assert "hook answered" in text, text[:2000]
    assert len(text) < 20_000, f"{len(text)} characters of log from one request"
    assert re.search(r"…\[\+\d{6,} chars\]", text), text[:2000]


def test_a_long_message_is_capped_too() -> None:
    text = _rendered_log(lambda: logging.getLogger("cds_service.test").warning("value %s", "v" * 100_000))
    assert len(text) < 3000 and "…[+" in text


@pytest.mark.parametrize(("line", "expected"), [
    ("auth rejected reason=not-bearer issuer=https://ehr.example.org request_id=r1",
     "auth rejected reason=not-bearer issuer=https://ehr.example.org request_id=r1"),
    ("header Authorization: Bearer abc.DEF-ghi_jkl~mno+pqr/stu== seen",
     "header Authorization: Bearer [redacted-token] seen"),
    ("bearer   opaque-token-123 issuer=x", "Bearer [redacted-token] issuer=x"),
    ("authorization=Bearer opaque-token-123", "authorization=Bearer [redacted-token]"),
])
def test_redaction_removes_tokens_and_keeps_the_next_field(line: str, expected: str) -> None:
    from cds_service.security.log_privacy import redact

    assert redact(line) == expected
