"""The leg-pain-cds console script: evaluate, example-request, and serve as a real subprocess."""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sqlite3
import sys
import urllib.request
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest
from cds_service import cli
from cds_service.runtime.serve import serve_subprocess

EXAMPLES = Path(cli.__file__).parent / "examples"
AS_OF = "2026-11-25T12:00:00+00:00"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_examples_ship_with_the_package() -> None:
    assert {"low-potassium", "normal-labs"} <= set(cli.example_names())


def test_tests_run_against_the_installed_package() -> None:
    if not os.environ.get("LEG_PAIN_CDS_EXPECT_INSTALLED"):
        pytest.skip("only meaningful under scripts/test.sh (non-editable install)")
    assert "site-packages" in cli.__file__, cli.__file__


def test_evaluate_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "evaluate", str(EXAMPLES / "low-potassium.json"), "--format", "json",
                        "--now", AS_OF)
    assert code == 0
    cards = json.loads(out)["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == ["electrolyte-imbalance"]
    assert "2.9 mmol/L" in cards[0]["summary"]


def test_evaluate_text_is_a_table_with_evidence(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "evaluate", str(EXAMPLES / "low-potassium.json"), "--now", AS_OF)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["INDICATOR", "TOPIC", "SUMMARY"]
    assert lines[2].startswith("WARNING") and "electrolyte-imbalance" in lines[2]
    assert "Potassium (LOINC 2823-3)" in out and "2026-11-20" in out


def test_evaluate_quiet_patient(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "evaluate", str(EXAMPLES / "normal-labs.json"), "--now", AS_OF)
    assert code == 0 and out.startswith("No cards")


def test_evaluate_a_fhir_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str], build: Any) -> None:
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": build.patient()}, {"resource": build.potassium(6.9)}]}
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    code, out, _ = _run(capsys, "evaluate", str(path), "--format", "json", "--now", AS_OF)
    assert code == 0
    [card] = json.loads(out)["cards"]
    assert card["indicator"] == "critical"


def test_evaluate_examples_go_stale_without_now_but_example_request_redates(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "example-request", "low-potassium")
    assert code == 0
    path = tmp_path / "req.json"
    path.write_text(out)
    code, out, _ = _run(capsys, "evaluate", str(path), "--format", "json")  # real "now"
    assert code == 0 and json.loads(out)["cards"]


def test_evaluate_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], build: Any) -> None:
    """Every refusal names the file; 2 for input that cannot be used, 1 for required data that cannot be had."""
    missing = tmp_path / "missing.json"
    code, _, err = _run(capsys, "evaluate", str(missing))
    assert code == 2 and err == f"leg-pain-cds: {missing}: no such file\n"
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    code, _, err = _run(capsys, "evaluate", str(bad))
    assert code == 2 and f"{bad}: not valid JSON" in err
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps({**build.hook_request(), "hookInstance": "not-a-uuid"}))
    code, _, err = _run(capsys, "evaluate", str(invalid))
    assert code == 2 and f"{invalid}: not a valid CDS Hooks request" in err and "hookInstance" in err
    offline = tmp_path / "offline.json"
    offline.write_text(json.dumps(build.hook_request(fhirServer="http://127.0.0.1:9/fhir")))
    code, _, err = _run(capsys, "evaluate", str(offline))
    assert code == 1 and f"{offline}: cannot evaluate (HTTP 412)" in err and "--fetch" in err


def test_bad_configuration_stops_serve(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CDS_MAX_BODY_MB", "8")
    monkeypatch.setenv("CDS_AUTH", "none")
    code, _, err = _run(capsys, "serve")
    assert code == 2 and "CDS_MAX_BODY_MB" in err and "at least 16" in err


# ---------------------------------------------------------------------------------------------- serve


def _command() -> list[str]:
    script = Path(sys.executable).parent / "leg-pain-cds"  # the console script itself, when installed
    return [str(script)] if script.exists() else [sys.executable, "-m", "cds_service.cli"]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    settings = {"CDS_AUTH": "none", "CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'serve' / 'db.sqlite3'}",
                "CDS_LOG_LEVEL": "INFO"}
    with serve_subprocess(tmp_path, settings, args=("--workers", "2"), command=_command()) as served_:
        yield served_


@pytest.mark.server
def test_serve_answers_and_stops_cleanly_on_sigterm(served: tuple[subprocess.Popen[bytes], str],
                                                    tmp_path: Path) -> None:
    proc, base = served
    assert proc.poll() is None, (tmp_path / "serve.log").read_text()
    discovery = json.loads(urllib.request.urlopen(f"{base}/cds-services", timeout=5).read())
    assert discovery["services"][0]["id"] == "leg-pain-causes"
    body = json.dumps(cli.example_request("low-potassium")).encode()
    req = urllib.request.Request(f"{base}/cds-services/leg-pain-causes", data=body,
                                 headers={"Content-Type": "application/json"})
    cards = json.loads(urllib.request.urlopen(req, timeout=10).read())["cards"]
    assert cards and cards[0]["source"]["topic"]["code"] == "electrolyte-imbalance"

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0  # the bound: a clean exit within 10 s
    log = (tmp_path / "serve.log").read_text()
    assert "effective configuration" in log and "CDS_AUTH=none" in log
    # The sample patients were evaluated before the workers forked (CDS_WARMUP), and nothing of it was recorded:
    # the only issued cards are those of the one call above.
    assert re.search(r"warm-up: [1-9]\d* sample patients evaluated", log), log
    with sqlite3.connect(tmp_path / "serve" / "db.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM issued_card").fetchone()[0] == len(cards)


def test_warm_up_evaluates_every_sample_and_a_failure_does_not_stop_the_start(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from cds_service import pipeline, samples
    seen: list[str] = []
    evaluate = pipeline.evaluate

    def spy(read_body: Any, *a: Any, **kw: Any) -> Any:
        def read() -> Any:
            body = read_body()
            seen.append(body["hookInstance"])
            return body
        return evaluate(read, *a, **kw)

    monkeypatch.setattr(pipeline, "evaluate", spy)
    with caplog.at_level("INFO", logger="cds_service.cli"):
        cli.warm_up(64)
    assert len(set(seen)) == len(samples.list_samples()) and "warm-up: " in caplog.text

    def broken(*_a: Any, **_kw: Any) -> Any:
        raise RuntimeError("a bug in a rule")

    monkeypatch.setattr(pipeline, "evaluate", broken)
    caplog.clear()
    with caplog.at_level("INFO", logger="cds_service.cli"):
        cli.warm_up(64)  # logged, not raised
    assert "warm-up failed" in caplog.text


def _connection_header_of_two_calls(base: str) -> list[str]:
    """Two calls on one HTTP/1.1 connection (the client asks for nothing: keep-alive is HTTP/1.1's default)."""
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    headers = []
    try:
        for _ in range(2):
            connection.request("GET", "/cds-services")
            resp = connection.getresponse()
            assert resp.status == 200
            resp.read()
            headers.append(str(resp.getheader("Connection", "")).lower())
            if headers[-1] == "close":
                connection.close()  # the next request opens a new connection
    finally:
        connection.close()
    return headers


@pytest.mark.server
def test_keepalive_zero_closes_each_connection_after_its_answer(tmp_path: Path) -> None:
    settings = {"CDS_AUTH": "none", "CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    with serve_subprocess(tmp_path, {**settings, "CDS_KEEPALIVE_S": "0", "CDS_WARMUP": "false"},
                          args=("--workers", "1"), command=_command()) as (_, base):
        assert _connection_header_of_two_calls(base) == ["close", "close"]
    assert "warm-up" not in (tmp_path / "serve.log").read_text()  # CDS_WARMUP=false: none
    with serve_subprocess(tmp_path, settings, args=("--workers", "1"), command=_command()) as (_, base):
        assert "close" not in _connection_header_of_two_calls(base)  # the default keeps the connection
