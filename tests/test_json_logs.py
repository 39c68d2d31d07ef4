"""CDS_LOG_FORMAT=json (runtime/logs.py): one JSON object per line, from gunicorn and from Flask's dev server, that
carries the request id the response showed in X-Request-ID; and still no patient data in it."""
from __future__ import annotations

import json
import logging
import re
import signal
from pathlib import Path
from typing import Any, Callable

import pytest
import requests
from flask.testing import FlaskClient

from cds_service import cli, config
from cds_service.runtime import logs
from cds_service.runtime.serve import serve_subprocess
from tests import golden_cases
from tests.log_capture import rendered_log
from tests.security.test_no_phi_in_logs import phi_strings

from .conftest import GOLDEN_NOW

HOOK = "/cds-services/leg-pain-causes"


def _lines(text: str) -> list[dict[str, Any]]:
    """Every line of `text` as a JSON object (the test fails on the first line that is not one)."""
    out = []
    for line in text.splitlines():
        if line.strip():
            record = json.loads(line)
            assert isinstance(record, dict), line
            assert {"time", "level", "logger", "event"} <= set(record), line
            out.append(record)
    return out


@pytest.mark.server
@pytest.mark.parametrize("args", [("--workers", "2"), ("--dev",)], ids=["gunicorn", "dev"])
def test_every_line_is_json_and_carries_the_request_id_of_the_response(tmp_path: Path,
                                                                       args: tuple[str, ...]) -> None:
    settings = {"CDS_AUTH": "none", "CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'cds.sqlite3'}",
                "CDS_WARMUP": "false", "CDS_LOG_FORMAT": "json"}
    request = cli.example_request("low-potassium", GOLDEN_NOW.date())
    with serve_subprocess(tmp_path, settings, args=args) as (proc, base):
        given = requests.post(f"{base}{HOOK}", json=request, headers={"X-Request-ID": "ehr-call-42"}, timeout=30)
        generated = requests.post(f"{base}{HOOK}", json=request, timeout=30)
        refused = requests.post(f"{base}/cds-services/no-such-service", json=request, timeout=30)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    assert given.status_code == generated.status_code == 200 and refused.status_code == 404
    assert given.headers["X-Request-ID"] == "ehr-call-42"
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["X-Request-ID"])
    records = _lines((tmp_path / "serve.log").read_text())
    for response in (given, generated):
        request_id = response.headers["X-Request-ID"]
        answered = [r for r in records if r["event"] == "hook answered" and r.get("requestId") == request_id]
        assert len(answered) == 1, request_id
        line = answered[0]
        assert line["hookInstance"] == request["hookInstance"] and line["service"] == "leg-pain-causes"
        assert line["rules"] and all(isinstance(rule, str) for rule in line["rules"])
        assert isinstance(line["latencyMs"], (int, float)) and line["level"] == "INFO"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    assert any(r.get("requestId") == refused.headers["X-Request-ID"] for r in records)  # errors too
    assert request["context"]["patientId"] not in (tmp_path / "serve.log").read_text()
    if args[0] != "--dev":
        assert any(r["logger"] == "gunicorn.error" and "Booting worker" in r["event"] for r in records)


@pytest.mark.parametrize("incoming", ["x" * 129, "has space", "semi;colon", "é"])
def test_a_malformed_incoming_request_id_is_replaced(client: FlaskClient, incoming: str) -> None:
    response = client.get("/cds-services", headers={"X-Request-ID": incoming.encode().decode("latin-1")})
    assert response.headers["X-Request-ID"] != incoming
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_errors_carry_a_request_id_too(client: FlaskClient) -> None:
    for response in (client.post(HOOK, data=b"{", content_type="application/json"),  # 400
                     client.post(HOOK, data=b"{}", content_type="text/plain"),  # 415
                     client.get("/no-such-path"), client.delete(HOOK)):  # 404, 405
        assert response.status_code >= 400 and response.headers.get("X-Request-ID")


def test_the_format_is_checked_at_start() -> None:
    conf: dict[str, Any] = {**config.DEFAULTS, "AUTH": "none", "LOG_FORMAT": "xml"}
    with pytest.raises(config.ConfigError, match="CDS_LOG_FORMAT"):
        config.validate(conf)


def _json_log(emit: Callable[[], object]) -> str:
    """What production writes in json format for the records `emit()` produces, at DEBUG."""
    return rendered_log(emit, logs.formatter("json"), logging.DEBUG)


# Fields whose numbers are no patient values (a latency or a clock can coincide with a lab value).
TIMING = re.compile(r'"(?:time|latencyMs|ms)":(?:"[^"]*"|[\d.]+)|latency_ms=[\d.]+|\d{4}-\d\d-\d\dT[\d:.]+Z')


@pytest.mark.parametrize("call", golden_cases.calls(), ids=lambda c: c.name)
def test_golden_request_leaves_no_phi_in_json_logs(client: FlaskClient, call: golden_cases.GoldenCall) -> None:
    """As tests/security/test_no_phi_in_logs.py does for the text format."""
    body = call.request
    texts, numbers = phi_strings(body)
    captured = _json_log(lambda: client.post(f"/cds-services/{call.service_id}", json=body))
    assert _lines(captured), "nothing was logged: the test would prove nothing"
    for text in texts:
        assert text not in captured, f"{text!r} from {call.name} reached the log"
    scrubbed = TIMING.sub("", captured)
    for number in numbers:
        assert not re.search(rf"(?<![\w.\-]){re.escape(number)}(?![\w.\-])", scrubbed), (
            f"value {number} from {call.name} reached the log")


def test_json_values_are_capped_like_text_values() -> None:
    text = _json_log(lambda: logging.getLogger("cds_service.test").info(
        "x" * 10_000, extra={"status": "s" * 1_000_000, "codes": [str(i) for i in range(10_000)],
                             "token": "Authorization: Bearer abc.DEF-ghi_jkl"}))
    (record,) = _lines(text)
    assert len(text) < 20_000
    assert record["status"].endswith("chars]") and record["codes"][-1].endswith("items]")
    assert "abc.DEF" not in text  # the redacting filter ran first
