"""What a client sees from outside the app, through the real server (`leg-pain-cds serve`, gunicorn, on 127.0.0.1).

Every error is a JSON OperationOutcome, also those gunicorn answers before the app runs (414, 431, 400); no redirect
is built from the Host header; an oversized bearer token is a 401 with its audit row; an oversized body announced
with ``Expect: 100-continue`` is refused without ``100 Continue``; SIGTERM answers or refuses every connection and
resets none.
"""
from __future__ import annotations

import http.client
import json
import signal
import socket
import sqlite3
import threading
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest
from cds_service import create_app
from cds_service.runtime.serve import serve_subprocess

pytestmark = pytest.mark.server

SERVICE = "/cds-services/leg-pain-causes"


def _exchange(base: str, raw: bytes) -> tuple[bytes, dict[str, str], bytes]:
    """Send raw bytes, read until the server closes: (status line, headers, body) of the first response."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.decode("latin-1").partition(":") for line in lines)}
    return status, headers, body


def _outcome(status: bytes, headers: dict[str, str], body: bytes, expected: int) -> dict[str, Any]:
    assert status.split()[1] == str(expected).encode(), (status, body[:300])
    assert headers["content-type"] == "application/json" and b"<html" not in body.lower()
    outcome = json.loads(body)
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["diagnostics"]
    return outcome  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def jwt_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A server with client authentication on (tokens sent here are refused before any key is fetched)."""
    tmp = tmp_path_factory.mktemp("edges")
    trusted = tmp / "trusted-clients.json"
    trusted.write_text(json.dumps({"clients": [{
        "name": "test EHR", "iss": "https://ehr.example.org", "algorithms": ["ES384"],
        "jwks_urls": ["https://ehr.example.org/jwks.json"]}]}))
    db = tmp / "cds.sqlite3"
    settings = {"CDS_AUTH": "jwt", "CDS_TRUSTED_CLIENTS": str(trusted), "CDS_DATABASE_URL": f"sqlite:///{db}",
                "CDS_WARMUP": "false", "CDS_PUBLIC_BASE_URL": "https://cds.example.org"}
    with serve_subprocess(tmp, settings, args=("--workers", "1")) as (_, base):
        yield base, db


@pytest.mark.parametrize("size", [16 * 1024, 1_000_000])
def test_an_oversized_bearer_token_is_a_401_with_its_audit_row(jwt_server: tuple[str, Path], size: int) -> None:
    base, db = jwt_server
    request_id = f"oversized-token-{size}"
    status, headers, body = _exchange(base, (
        f"GET /cds-services HTTP/1.1\r\nHost: cds.example.org\r\nX-Request-ID: {request_id}\r\n"
        f"Connection: close\r\nAuthorization: Bearer {'a' * size}\r\n\r\n").encode())
    assert _outcome(status, headers, body, 401)["issue"][0]["code"] == "login"
    assert headers["www-authenticate"].startswith("Bearer")
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT status, reason FROM audit_event WHERE request_id = ?", (request_id,)).fetchall()
    assert rows == [(401, "auth-malformed-token")]


@pytest.mark.parametrize(("raw", "status"), [
    (b"GET /cds-services/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),  # request line too long
    (b"GET /cds-services HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * (2 * 1024 * 1024) + b"\r\n\r\n", 431),
    (b"GET /cds-services HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: 1\r\n" % i for i in range(40)) + b"\r\n", 431),
    (b"NOT HTTP AT ALL\r\n\r\n", 400),
    (b"GET /cds-services HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400),
])
def test_errors_answered_before_the_app_are_operation_outcomes(jwt_server: tuple[str, Path], raw: bytes,
                                                               status: int) -> None:
    _outcome(*_exchange(jwt_server[0], raw), status)


def test_those_errors_are_logged_by_type_never_with_what_the_client_sent(jwt_server: tuple[str, Path]) -> None:
    base, db = jwt_server
    _exchange(base, b"GET /cds-services/Patient/" + b"p" * 4000 + b"\r\nHost: x\r\n\r\n")  # no version
    _exchange(base, b"GET /cds-services HTTP/1.1\r\nHost: x\r\nX-Secret: " + b"s" * (2 * 1024 * 1024) + b"\r\n\r\n")
    log = (db.parent / "serve.log").read_text()
    assert "request refused before the app status=400 error=InvalidRequestLine" in log
    assert "status=431 error=LimitRequestHeaders" in log
    assert "p" * 100 not in log and "s" * 100 not in log and "<html" not in log


def test_no_route_can_redirect(tmp_path: Path) -> None:
    app = create_app({"AUTH": "none", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    assert app.url_map.merge_slashes is False
    # werkzeug's other redirect (strict_slashes) adds a trailing slash to a rule that has one: none may.
    assert not [r.rule for r in app.url_map.iter_rules() if r.rule.endswith("/") and r.rule != "/"]
    response = app.test_client().post("/cds-services//leg-pain-causes", json={}, headers={"Host": "evil.example"})
    assert response.status_code == 404 and "Location" not in response.headers


@pytest.fixture
def open_server(tmp_path: Path) -> Iterator[tuple[Any, str]]:
    settings = {"CDS_AUTH": "none", "CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'cds.sqlite3'}",
                "CDS_WARMUP": "false"}
    with serve_subprocess(tmp_path, settings, args=("--workers", "2")) as served:
        yield served


def test_a_double_slash_is_a_404_never_a_redirect_built_from_host(open_server: tuple[Any, str]) -> None:
    status, headers, body = _exchange(open_server[1], (
        f"POST /cds-services//leg-pain-causes HTTP/1.1\r\nHost: evil.example\r\nContent-Type: application/json\r\n"
        f"Content-Length: 2\r\nConnection: close\r\n\r\n{{}}").encode())
    assert "location" not in headers
    assert _outcome(status, headers, body, 404)["issue"][0]["code"] == "not-found"


def test_an_oversized_body_with_expect_100_continue_is_refused_before_it_is_sent(
        open_server: tuple[Any, str]) -> None:
    status, headers, body = _exchange(open_server[1], (
        f"POST {SERVICE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {40 * 1024 * 1024}\r\nExpect: 100-continue\r\n\r\n").encode())
    # The first (and only) answer is final: the client never sends the 40 MB, and the connection is closed.
    assert _outcome(status, headers, body, 413)["issue"][0]["code"] == "too-costly"
    assert headers["connection"] == "close"


def test_sigterm_answers_or_refuses_every_keep_alive_client_and_resets_none(open_server: tuple[Any, str]) -> None:
    """16 keep-alive clients call in a loop; each reconnects when answered "Connection: close" and stops when its
    connection is refused. Nothing may be reset or dropped: requests either get an answer or were never sent."""
    proc, base = open_server
    host, port = base.removeprefix("http://").split(":")
    seen: Counter[str] = Counter()
    lock = threading.Lock()
    warmed = threading.Semaphore(0)

    def client() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        first = True
        while True:
            try:
                conn.request("GET", "/cds-services")
                response = conn.getresponse()
                response.read()
                outcome = str(response.status)
                if (response.getheader("Connection") or "").lower() == "close":
                    conn.close()
            except ConnectionRefusedError:
                outcome = "refused"
            except Exception as err:  # ConnectionResetError, RemoteDisconnected, ...: what must not happen
                outcome = type(err).__name__
                conn.close()
            with lock:
                seen[outcome] += 1
            if first:
                warmed.release()
                first = False
            if outcome != "200":
                break
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    for _ in threads:
        warmed.acquire()
    proc.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join(timeout=60)
    assert proc.wait(timeout=30) == 0
    assert set(seen) == {"200", "refused"}, seen
