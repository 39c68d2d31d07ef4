"""Feedback is validated, written to a real SQLite file and read back joined to the issued card."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from cds_service.store import Store
from flask import Flask
from flask.testing import FlaskClient

FEEDBACK = "/cds-services/leg-pain-causes/feedback"


def _issue_card(client: FlaskClient, build: Any) -> dict[str, Any]:
    resp = client.post("/cds-services/leg-pain-causes", json=build.hook_request(build.full_prefetch(
        build.potassium(2.9))))
    return dict(resp.get_json()["cards"][0])


def test_accepted_feedback_is_stored_and_joined(client: FlaskClient, build: Any, db_path: Path) -> None:
    card = _issue_card(client, build)
    suggestion = card["suggestions"][0]["uuid"]
    resp = client.post(FEEDBACK, json={"feedback": [{
        "card": card["uuid"], "outcome": "accepted", "acceptedSuggestions": [{"id": suggestion}],
        "outcomeTimestamp": "2026-11-25T12:05:00Z"}]})
    assert resp.status_code == 200 and resp.get_json() == {"stored": 1}
    assert db_path.exists()
    # Read back through a fresh store on the same file: it really is on disk.
    records = Store(f"sqlite:///{db_path}").feedback_for(card["uuid"])
    assert len(records) == 1
    rec = records[0]
    assert rec.card_known and rec.outcome == "accepted" and rec.accepted_suggestions == [suggestion]
    assert rec.suggestions_known is True
    assert rec.issued_topic == card["source"]["topic"]["code"]
    assert rec.issued_rule_ids and rec.issued_rule_ids[0].startswith("electrolyte-imbalance@")
    assert rec.issued_hook_instance == build.HOOK_INSTANCE
    assert rec.outcome_timestamp.isoformat() == "2026-11-25T12:05:00+00:00"


def test_overridden_feedback_keeps_reason_and_comment(client: FlaskClient, build: Any, db_path: Path) -> None:
    card = _issue_card(client, build)
    reason = card["overrideReasons"][0]
    resp = client.post(FEEDBACK, json={"feedback": [{
        "card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-25T12:06:00Z",
        "overrideReason": {"reason": reason, "userComment": "repleted yesterday"}}]})
    assert resp.status_code == 200
    rows = sqlite3.connect(db_path).execute(
        "SELECT f.outcome, f.override_code, f.override_system, f.user_comment, i.topic FROM feedback f "
        "JOIN issued_card i ON i.uuid = f.card_uuid").fetchall()
    assert rows == [("overridden", reason["code"], reason["system"], "repleted yesterday",
                     "electrolyte-imbalance")]


def test_issued_cards_hold_ids_not_patient_values(client: FlaskClient, build: Any, db_path: Path) -> None:
    _issue_card(client, build)
    db = sqlite3.connect(db_path)
    dump = "\n".join(db.iterdump())
    assert "issued_card" in dump and build.HOOK_INSTANCE in dump
    assert build.PATIENT_ID not in dump
    # The potassium value, looked for in the issued-card rows only: the audit rows carry the wall-clock time and
    # the latency, in which "2.9" turns up by chance (e.g. 12:00:52.9...), which made this test fail now and then.
    issued = repr(db.execute("SELECT * FROM issued_card").fetchall())
    assert build.HOOK_INSTANCE in issued and "2.9" not in issued


def test_unknown_card_is_stored_but_flagged(client: FlaskClient, app: Flask) -> None:
    resp = client.post(FEEDBACK, json={"feedback": [{"card": "never-issued", "outcome": "overridden",
                                                     "outcomeTimestamp": "2026-11-25T12:06:00Z"}]})
    assert resp.status_code == 200
    assert resp.get_json() == {"stored": 1, "unknownCards": ["never-issued"]}
    [record] = app.extensions["cds_store"].feedback_for("never-issued")
    assert not record.card_known and record.issued_topic is None


def test_several_items_and_repeated_feedback(client: FlaskClient, build: Any, app: Flask) -> None:
    card = _issue_card(client, build)
    item = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-25T12:06:00+01:00"}
    assert client.post(FEEDBACK, json={"feedback": [item, item]}).get_json() == {"stored": 2}
    assert len(app.extensions["cds_store"].feedback_for(card["uuid"])) == 2


@pytest.mark.parametrize("body", [
    {},
    {"feedback": []},
    {"feedback": "x"},
    {"feedback": [{"outcome": "accepted", "outcomeTimestamp": "2026-11-25T12:00:00Z"}]},
    {"feedback": [{"card": "c", "outcome": "ignored", "outcomeTimestamp": "2026-11-25T12:00:00Z"}]},
    {"feedback": [{"card": "c", "outcome": "accepted"}]},
    {"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "yesterday"}]},
    {"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-11-25T12:00:00"}]},
    {"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-11-25T12:00:00Z",
                   "overrideReason": {"userComment": "x"}}]},
    {"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-11-25T12:00:00Z",
                   "overrideReason": {"reason": {"code": "x"}}}]},
    {"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-11-25T12:00:00Z",
                   "acceptedSuggestions": [{"uuid": "s"}]}]},
    [1],
])
def test_invalid_feedback_is_400_and_not_stored(client: FlaskClient, app: Flask, body: Any, db_path: Path) -> None:
    resp = client.post(FEEDBACK, json=body)
    assert resp.status_code == 400 and resp.get_json()["resourceType"] == "OperationOutcome"
    assert sqlite3.connect(db_path).execute("SELECT count(*) FROM feedback").fetchone() == (0,)


def test_feedback_needs_json_content_type(client: FlaskClient) -> None:
    assert client.post(FEEDBACK, data="{}", content_type="text/plain").status_code == 415


def test_schema_is_created_in_a_new_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "new.sqlite3"
    store = Store(f"sqlite:///{path}")
    store.create()
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"issued_card", "feedback"} <= tables
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_failing_database_does_not_withhold_cards(client: FlaskClient, build: Any, app: Flask,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    attempts: list[str] = []

    def locked(*_a: Any, **_k: Any) -> None:
        attempts.append("begin")
        raise OperationalError("BEGIN", {}, Exception("database is locked"))

    # Every write of the call (issued cards and audit row share one transaction) meets a locked database, on the
    # Core path and on the SQLite DBAPI path alike.
    monkeypatch.setattr(app.extensions["cds_store"].engine, "begin", locked)
    monkeypatch.setattr(app.extensions["cds_store"].engine, "raw_connection", locked)
    resp = client.post("/cds-services/leg-pain-causes", json=build.hook_request(build.full_prefetch(
        build.potassium(2.9))))
    assert resp.status_code == 200 and resp.get_json()["cards"]
    assert attempts  # the write was tried and failed, and the cards were still answered


def test_concurrent_writers_on_one_sqlite_file(tmp_path: Path) -> None:
    """Separate engines (as in separate gunicorn workers) write at once: WAL + busy timeout, no 'locked'."""
    import threading
    from datetime import datetime, timezone

    from cds_service.schemas import IssuedCard

    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    Store(url).create()
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        store = Store(url)
        try:
            for i in range(40):
                store.record_issued("leg-pain-causes", f"hook-{n}", [IssuedCard(f"c-{n}-{i}", "t", "info",
                                                                                ("r@1",), ())],
                                    datetime.now(timezone.utc))
                store.record_feedback("leg-pain-causes", [{"card": f"c-{n}-{i}", "outcome": "overridden",
                                                           "outcomeTimestamp": datetime.now(timezone.utc)}],
                                      datetime.now(timezone.utc))
        except BaseException as err:  # collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    con = sqlite3.connect(tmp_path / "shared.sqlite3")
    assert con.execute("SELECT count(*) FROM issued_card").fetchone() == (160,)
    assert con.execute("SELECT count(*) FROM feedback WHERE card_known").fetchone() == (160,)


def test_accepting_a_suggestion_the_card_never_offered_is_flagged(client: FlaskClient, build: Any,
                                                                  app: Flask) -> None:
    card = _issue_card(client, build)
    client.post(FEEDBACK, json={"feedback": [{"card": card["uuid"], "outcome": "accepted",
                                              "acceptedSuggestions": [{"id": "made-up"}],
                                              "outcomeTimestamp": "2026-11-25T12:05:00Z"}]})
    [record] = app.extensions["cds_store"].feedback_for(card["uuid"])
    assert record.card_known and record.suggestions_known is False


def test_a_locked_sqlite_file_rolls_the_call_back_and_still_answers(app_overrides: dict[str, Any], db_path: Path,
                                                                     build: Any, monkeypatch: pytest.MonkeyPatch,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    """A real lock, not a patched method: another process's writer holds the file while the call is answered."""
    from cds_service import create_app, store

    monkeypatch.setattr(store, "SQLITE_BUSY_TIMEOUT_MS", 50)
    client = create_app(app_overrides).test_client()
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        resp = client.post("/cds-services/leg-pain-causes", json=build.hook_request(build.full_prefetch(
            build.potassium(2.9))))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert resp.status_code == 200 and resp.get_json()["cards"]
    assert "record write failed" in caplog.text
    with sqlite3.connect(db_path) as db:  # all or nothing: neither the audit row nor any issued card
        assert db.execute("SELECT count(*) FROM issued_card").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM audit_event WHERE endpoint = 'service'").fetchone() == (0,)


def test_the_sqlite_dbapi_writer_stores_what_core_stores(tmp_path: Path) -> None:
    """_SqliteWriter (the hot path) and Core's insert give the same stored rows, read back the same."""
    from datetime import datetime, timezone

    from cds_service import audit
    from cds_service.store import ISSUED_INSERT, issued_rows
    from cds_service.schemas import IssuedCard
    from sqlalchemy import select

    rows = issued_rows("leg-pain-causes", "hi-1", [IssuedCard("u1", "topic", "warning", ("r@1",), ("s1", "s2")),
                                                   IssuedCard("u2", None, "info", (), ())],
                       datetime(2026, 11, 25, 12, 30, 1, 123456, tzinfo=timezone.utc))
    event = audit.AuditEvent(at=datetime(2026, 11, 25, 12, 30, 1, 5, tzinfo=timezone.utc), request_id="r",
                             endpoint="service", method="POST", service_id="leg-pain-causes", issuer=None,
                             hook_instance="hi-1", status=200, outcome="cards", card_count=2, reason=None,
                             latency_ms=1.5)
    stored = []
    for name, use_dbapi in (("core", False), ("dbapi", True)):
        s = Store(f"sqlite:///{tmp_path / name}.sqlite3")
        s.create()
        log = audit.AuditLog(s.engine)
        if not use_dbapi:
            log._sqlite = None
        log.record(event, also=[(ISSUED_INSERT, rows)])
        with sqlite3.connect(tmp_path / f"{name}.sqlite3") as db:
            raw = (db.execute("SELECT * FROM issued_card ORDER BY id").fetchall(),
                   db.execute("SELECT * FROM audit_event").fetchall())
        with s.engine.connect() as conn:
            typed = conn.execute(select(ISSUED_INSERT.table)).all()
        stored.append((raw, typed, log.recent()))
    assert stored[0] == stored[1]
    assert stored[1][1][0].issued_at.replace(tzinfo=timezone.utc) == rows[0]["issued_at"]


def test_a_value_the_sqlite_writer_cannot_take_is_logged_not_raised(tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    """A wrong value type fails the write as Core's StatementError would: logged, nothing half-written, no 500."""
    from datetime import datetime, timezone

    from cds_service import audit
    from cds_service.store import ISSUED_INSERT, issued_rows
    from cds_service.schemas import IssuedCard

    s = Store(f"sqlite:///{tmp_path / 'w.sqlite3'}")
    s.create()
    log = audit.AuditLog(s.engine)
    rows = issued_rows("leg-pain-causes", "hi", [IssuedCard("u1", "t", "info", (), ())],
                       datetime(2026, 11, 25, tzinfo=timezone.utc))
    rows[0]["issued_at"] = "not a datetime"
    log.record(None, also=[(ISSUED_INSERT, rows)])
    assert "record write failed" in caplog.text
    with sqlite3.connect(tmp_path / "w.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM issued_card").fetchone() == (0,)
