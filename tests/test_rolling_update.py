"""Zero-downtime rolling update: an instance stopped (SIGTERM) under load answers every call it accepted.

What a rolling update does to one instance, with real servers: two `leg-pain-cds serve` instances run, the old
one and its replacement. Clients call hooks on the old one, half over kept-alive connections and half over a new
connection per call, and one call is held inside the old instance (its FHIR fallback waits on a FHIR server the
test controls) when the old instance gets SIGTERM. Its listener closes; the held call is released only once
connections to the old instance are refused, and must still be answered. A client whose connection is refused does
what a load balancer does: sends the call to the new instance.

Counted: calls answered (200, a complete CDS Hooks response), connections refused (expected after the listener
closed; the call was never accepted, and is sent again), and anything else (a reset, a connection closed before the
answer, a truncated body, an error status): none allowed. The old instance's audit trail (every call its app handled)
must hold exactly the calls its clients got answers for: nothing handled and then lost on the way out.
(tests/test_server_edges.py checks the same stop for plain keep-alive GETs; this adds hook calls, new connections,
a call in flight and the server's own record.)
"""
from __future__ import annotations

import http.client
import json
import signal
import sqlite3
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import orjson
import pytest

from cds_service import samples
from cds_service.runtime.serve import serve_subprocess
from tests.http_servers import RecordingServer, Reply, recording_server

pytestmark = pytest.mark.server

SERVICE = "/cds-services/leg-pain-causes"
CLIENTS = 8  # half keep-alive, half a new connection per call
AFTER_SWITCH = 3  # calls each client completes on the new instance before it stops
MAX_CALLS = 3000  # per client: the loops are bounded whatever happens
DEADLINE_S = 120.0
NOW = datetime.now(timezone.utc)


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    answered: dict[str, set[str]] = field(default_factory=lambda: {"old": set(), "new": set()})

    def record(self, where: str, outcome: str, hook_instance: str) -> None:
        with self.lock:
            self.outcomes[f"{where} {outcome}"] += 1
            if outcome == "200":
                self.answered[where].add(hook_instance)
            elif outcome != "refused":
                self.failures.append(f"{where}: {outcome}")


def _hook_body(hook_instance: str, **kwargs: Any) -> bytes:
    request = samples.hook_request(samples.list_samples()[0].id, NOW, **kwargs)
    request["hookInstance"] = hook_instance
    return orjson.dumps(request)


def _call(conn: http.client.HTTPConnection, body: bytes, *, close: bool) -> tuple[str, bool]:
    """One hook call: (outcome, whether the server asked to close the connection). Outcome "200" only for a
    complete CDS Hooks answer; "refused" when the connection was refused; otherwise what went wrong."""
    headers = {"Content-Type": "application/json"}
    if close:
        headers["Connection"] = "close"
    try:
        conn.request("POST", SERVICE, body=body, headers=headers)
    except ConnectionRefusedError:
        return "refused", True
    except OSError as err:
        return f"sending: {type(err).__name__}", True
    try:
        response = conn.getresponse()
        data = response.read()
    except (OSError, http.client.HTTPException) as err:  # reset, closed before the answer, truncated
        return f"answer: {type(err).__name__}", True
    closing = (response.getheader("Connection") or "").lower() == "close"
    if response.status != 200:
        return f"status {response.status}", closing
    try:
        cards = json.loads(data)["cards"]
        assert isinstance(cards, list)
    except (ValueError, KeyError, AssertionError):
        return "incomplete body", closing
    return "200", closing


@pytest.fixture
def slow_fhir() -> Iterator[tuple[RecordingServer, threading.Event, threading.Event]]:
    """A FHIR server that holds every request until `release` is set (bounded), after setting `received`."""
    received, release = threading.Event(), threading.Event()

    def reply(path: str) -> Reply:
        received.set()
        release.wait(timeout=30)
        if "/Patient/" in path:
            body = {"resourceType": "Patient", "id": path.rsplit("/", 1)[-1].split("?")[0], "gender": "female"}
        else:
            body = {"resourceType": "Bundle", "type": "searchset", "total": 0, "entry": []}
        return 200, {"Content-Type": "application/fhir+json"}, json.dumps(body).encode()

    with recording_server(reply) as server:
        yield server, received, release
        release.set()


def _audited(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT hook_instance FROM audit_event WHERE endpoint = 'service' AND status = 200")
        return {row[0] for row in rows}


def test_sigterm_under_load_answers_every_accepted_call(
        tmp_path: Path, slow_fhir: tuple[RecordingServer, threading.Event, threading.Event]) -> None:
    fhir, fhir_received, fhir_release = slow_fhir
    fhir_base = fhir.url("/fhir")
    dirs = {name: tmp_path / name for name in ("old", "new")}
    settings = {}
    for name, folder in dirs.items():
        folder.mkdir()
        settings[name] = {"CDS_AUTH": "none", "CDS_DATABASE_URL": f"sqlite:///{folder / 'cds.sqlite3'}",
                          "CDS_WARMUP": "false", "CDS_ALLOWED_FHIR_SERVERS": fhir_base,
                          "CDS_FHIR_TIMEOUT_S": "20", "CDS_FHIR_TOTAL_BUDGET_S": "30"}
    tally = Tally()
    stop = threading.Event()
    warmed = threading.Semaphore(0)

    with serve_subprocess(dirs["new"], settings["new"], args=("--workers", "2")) as (_, new_base), \
            serve_subprocess(dirs["old"], settings["old"], args=("--workers", "2")) as (old_proc, old_base):
        ports = {"old": int(old_base.rsplit(":", 1)[1]), "new": int(new_base.rsplit(":", 1)[1])}

        def client(keep_alive: bool) -> None:
            where, conn, calls, on_new, first = "old", None, 0, 0, True
            while calls < MAX_CALLS and not (stop.is_set() and on_new >= AFTER_SWITCH):
                hook_instance = str(uuid.uuid4())
                body = _hook_body(hook_instance)
                while True:  # the same call until an instance accepts it: refused -> the new instance
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", ports[where], timeout=60)
                    outcome, closing = _call(conn, body, close=not keep_alive)
                    tally.record(where, outcome, hook_instance)
                    if closing or not keep_alive:
                        conn.close()
                        conn = None
                    if outcome == "refused" and where == "old":
                        where = "new"
                        continue
                    break
                calls += 1
                on_new += where == "new"
                if first:
                    warmed.release()
                    first = False
                if tally.failures:
                    break
            if conn is not None:
                conn.close()

        threads = [threading.Thread(target=client, args=(i % 2 == 0,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for _ in threads:
            assert warmed.acquire(timeout=60), "a client got no answer from the old instance"

        # One call held inside the old instance: its data comes from the FHIR server, which answers only later.
        held_instance = str(uuid.uuid4())
        held: dict[str, Any] = {}

        def held_call() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", ports["old"], timeout=60)
            held["outcome"], _ = _call(conn, _hook_body(held_instance, with_prefetch=False, fhir_server=fhir_base),
                                       close=True)
            conn.close()

        holder = threading.Thread(target=held_call)
        holder.start()
        assert fhir_received.wait(timeout=60), "the held call never reached the FHIR server"

        old_proc.send_signal(signal.SIGTERM)
        # Release the held call only once the old listener refuses connections: it is then answered by a stopping
        # server.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            probe = http.client.HTTPConnection("127.0.0.1", ports["old"], timeout=5)
            try:
                probe.connect()
            except ConnectionRefusedError:
                break
            finally:
                probe.close()
            time.sleep(0.02)
        else:
            pytest.fail("the old instance still accepted connections 30 s after SIGTERM")
        fhir_release.set()
        holder.join(timeout=60)
        assert old_proc.wait(timeout=30) == 0
        stop.set()
        for thread in threads:
            thread.join(timeout=DEADLINE_S)
        assert not any(thread.is_alive() for thread in threads)

    assert held.get("outcome") == "200", held
    assert tally.failures == [], (tally.failures[:10], tally.outcomes)
    # Each client moved to the new instance on its first refused connection, and only then.
    assert tally.outcomes["old refused"] == CLIENTS, tally.outcomes
    # Every client moved to the new instance and was answered there.
    assert tally.outcomes["new 200"] >= CLIENTS * AFTER_SWITCH, tally.outcomes
    # What each instance's app handled is exactly what its clients got answers for: nothing accepted was lost.
    assert _audited(dirs["old"] / "cds.sqlite3") == tally.answered["old"] | {held_instance}
    assert _audited(dirs["new"] / "cds.sqlite3") == tally.answered["new"]
