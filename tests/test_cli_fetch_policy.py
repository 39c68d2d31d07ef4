"""The console script's contract (issue 16, item 13): `evaluate --fetch` obeys the FHIR-server allowlist, offline
messages say why a fhirServer was not used, bad options exit 2, and `--version` exists.

`--fetch` is checked against a real HTTP server on 127.0.0.1 that records every connection and path.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from cds_service import cli
from tests.http_servers import RecordingServer, Reply, recording_server

AS_OF = "2026-11-25T12:00:00+00:00"


def _fhir_answer(path: str) -> Reply:
    """A FHIR server stand-in: a Patient for an instance read, an empty searchset for any search."""
    if "/Patient/" in path:
        body: dict[str, Any] = {"resourceType": "Patient", "id": path.rsplit("/", 1)[-1], "gender": "male",
                                "birthDate": "1950-01-01"}
    else:
        body = {"resourceType": "Bundle", "type": "searchset", "total": 0}
    return 200, {"Content-Type": "application/fhir+json"}, json.dumps(body).encode()


@pytest.fixture
def fhir() -> Iterator[RecordingServer]:
    with recording_server(fallback=_fhir_answer) as rec:
        yield rec


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """The exit status a shell would see (SystemExit included), stdout and stderr."""
    try:
        code = cli.main(list(argv))
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def request_file(tmp_path: Path, fhir: RecordingServer, build: Any) -> Path:
    """A hook request without prefetch that names the recording server as its fhirServer."""
    path = tmp_path / "request.json"
    path.write_text(json.dumps(build.hook_request(fhirServer=fhir.url("/fhir"))))
    return path


def test_fetch_does_not_contact_a_server_on_no_allowlist(capsys: pytest.CaptureFixture[str], fhir: RecordingServer,
                                                         request_file: Path) -> None:
    code, _, err = run(capsys, "evaluate", str(request_file), "--fetch", "--now", AS_OF)
    assert fhir.connections == [], fhir.paths
    assert code == 1
    assert "CDS_ALLOWED_FHIR_SERVERS" in err and "--allow-any-fhir-server" in err
    assert fhir.url() in err  # the refused origin, so the user knows what to list


def test_fetch_uses_a_server_on_the_allowlist(capsys: pytest.CaptureFixture[str], fhir: RecordingServer,
                                              request_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_ALLOWED_FHIR_SERVERS", f"https://other.example.org/fhir, {fhir.url('/fhir')}")
    code, out, err = run(capsys, "evaluate", str(request_file), "--fetch", "--now", AS_OF)
    assert code == 0, err
    assert out.startswith("No cards")
    assert fhir.paths and all(p.startswith("/fhir/") for p in fhir.paths)


def test_the_allowlist_path_rule_applies_to_fetch(capsys: pytest.CaptureFixture[str], fhir: RecordingServer,
                                                  request_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_ALLOWED_FHIR_SERVERS", fhir.url("/fhir/r4"))  # /fhir is above the entry
    code, _, err = run(capsys, "evaluate", str(request_file), "--fetch", "--now", AS_OF)
    assert code == 1 and "CDS_ALLOWED_FHIR_SERVERS" in err
    assert fhir.connections == []


def test_allow_any_fhir_server_bypasses_the_allowlist_and_says_so(
        capsys: pytest.CaptureFixture[str], fhir: RecordingServer, request_file: Path) -> None:
    code, out, err = run(capsys, "evaluate", str(request_file), "--fetch", "--allow-any-fhir-server",
                         "--now", AS_OF)
    assert code == 0, err
    assert fhir.paths
    assert "--allow-any-fhir-server" in err and "bypassed" in err


def test_allow_any_fhir_server_needs_fetch(capsys: pytest.CaptureFixture[str], fhir: RecordingServer,
                                           request_file: Path) -> None:
    code, _, err = run(capsys, "evaluate", str(request_file), "--allow-any-fhir-server", "--now", AS_OF)
    assert code == 2 and "--fetch" in err
    assert fhir.connections == []


def test_a_bad_allowlist_is_bad_input(capsys: pytest.CaptureFixture[str], request_file: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_ALLOWED_FHIR_SERVERS", "http://ehr.example.org/fhir")  # http beyond loopback
    code, _, err = run(capsys, "evaluate", str(request_file), "--fetch", "--now", AS_OF)
    assert code == 2 and "CDS_ALLOWED_FHIR_SERVERS" in err


def test_offline_says_the_fhir_server_was_not_used(capsys: pytest.CaptureFixture[str], fhir: RecordingServer,
                                                   request_file: Path) -> None:
    code, _, err = run(capsys, "evaluate", str(request_file), "--now", AS_OF)
    assert code == 1
    assert "no fhirServer given" not in err  # the request gives one
    assert "fhirServer was not used" in err and "offline without --fetch" in err
    assert fhir.connections == []


def test_offline_without_a_fhir_server_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               build: Any) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(build.hook_request()))
    code, _, err = run(capsys, "evaluate", str(path), "--now", AS_OF)
    assert code == 1 and "no fhirServer given" in err and "--fetch" in err


@pytest.mark.parametrize("argv", [
    ("evaluate", "{file}", "--now", "yesterday"),
    ("samples", "request", "lpc-rls-iron", "--now", "yesterday"),
    ("example-request", "no-such-example"),
    ("samples", "request", "no-such-sample"),
])
def test_bad_options_exit_2(capsys: pytest.CaptureFixture[str], request_file: Path, argv: tuple[str, ...]) -> None:
    code, out, err = run(capsys, *(a.format(file=request_file) for a in argv))
    assert code == 2, (code, err)
    assert out == ""
    assert err.startswith("leg-pain-cds") or err.startswith("error:"), err
    assert "Traceback" not in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"leg-pain-cds {version('leg-pain-cds')}"
