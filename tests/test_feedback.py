"""Feedback is validated, written to a real database and read back joined to the issued card.

Every test that goes through the app runs twice: on a SQLite file and on a real PostgreSQL server
(tests/postgres_server.py; skipped with the reason where none can run), so that what one database accepts and the
other refuses is caught at the boundary, identically.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Iterator

import pytest
from cds_service import create_app
from cds_service.persistence.store import Store
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import MetaData, create_engine, func, select


FEEDBACK = "/cds-services/leg-pain-causes/feedback"


@pytest.fixture
def app_overrides(app_overrides: dict[str, Any], database_url: str) -> dict[str, Any]:
    return {**app_overrides, "DATABASE_URL": database_url}


@pytest.fixture
def app(app_overrides: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(app_overrides)
    yield app
    app.extensions["cds_store"].close()  # PostgreSQL: no connections left open across tests


def _rows(url: str, table: str) -> list[Any]:
    """Every row of `table`, read through a fresh engine (the rows really are in the database)."""
    engine = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine, only=[table])
        with engine.connect() as conn:
            return list(conn.execute(select(meta.tables[table])).all())
    finally:
        engine.dispose()


def _count(url: str, table: str) -> int:
    engine = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine, only=[table])
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(meta.tables[table])).scalar_one())
    finally:
        engine.dispose()


def _issue_card(client: FlaskClient, build: Any) -> dict[str, Any]:
    resp = client.post("/cds-services/leg-pain-causes", json=build.hook_request(build.full_prefetch(
        build.potassium(2.9))))
    return dict(resp.get_json()["cards"][0])


def test_accepted_feedback_is_stored_and_joined(client: FlaskClient, build: Any, database_url: str) -> None:
    card = _issue_card(client, build)
    suggestion = card["suggestions"][0]["uuid"]
    resp = client.post(FEEDBACK, json={"feedback": [{
        "card": card["uuid"], "outcome": "accepted", "acceptedSuggestions": [{"id": suggestion}],
        "outcomeTimestamp": "2026-11-25T12:05:00Z"}]})
    assert resp.status_code == 200 and resp.get_json() == {"stored": 1}
    # Read back through a fresh store on the same database: it really is stored.
    store = Store(database_url)
    records = store.feedback_for(card["uuid"])
    store.close()
    assert len(records) == 1
    rec = records[0]
    assert rec.card_known and rec.outcome == "accepted" and rec.accepted_suggestions == [suggestion]
    assert rec.suggestions_known is True
    assert rec.issued_topic == card["source"]["topic"]["code"]
    assert rec.issued_rule_ids and rec.issued_rule_ids[0].startswith("electrolyte-imbalance@")
    assert rec.issued_hook_instance == build.HOOK_INSTANCE
    assert rec.outcome_timestamp.isoformat() == "2026-11-25T12:05:00+00:00"


def test_overridden_feedback_keeps_reason_and_comment(client: FlaskClient, build: Any, database_url: str) -> None:
    card = _issue_card(client, build)
    reason = card["overrideReasons"][0]
    resp = client.post(FEEDBACK, json={"feedback": [{
        "card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-25T12:06:00Z",
        "overrideReason": {"reason": reason, "userComment": "repleted yesterday"}}]})
    assert resp.status_code == 200
    [row] = _rows(database_url, "feedback")
    assert (row.outcome, row.override_code, row.override_system, row.user_comment) == (
        "overridden", reason["code"], reason["system"], "repleted yesterday")
    assert [r.topic for r in _rows(database_url, "issued_card") if r.uuid == row.card_uuid] == [
        "electrolyte-imbalance"]


def test_issued_cards_hold_ids_not_patient_values(client: FlaskClient, build: Any, database_url: str) -> None:
    _issue_card(client, build)
    meta = MetaData()
    engine = create_engine(database_url)
    meta.reflect(engine)
    engine.dispose()
    dump = "\n".join(repr(_rows(database_url, table)) for table in meta.tables)
    assert "issued_card" in meta.tables and build.HOOK_INSTANCE in dump
    assert build.PATIENT_ID not in dump
    # The potassium value, looked for in the issued-card rows only: the audit rows carry the wall-clock time and
    # the latency, in which "2.9" turns up by chance (e.g. 12:00:52.9...), which made this test fail now and then.
    issued = repr(_rows(database_url, "issued_card"))
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
def test_invalid_feedback_is_400_and_not_stored(client: FlaskClient, app: Flask, body: Any,
                                                database_url: str) -> None:
    resp = client.post(FEEDBACK, json=body)
    assert resp.status_code == 400 and resp.get_json()["resourceType"] == "OperationOutcome"
    assert _count(database_url, "feedback") == 0


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
    from cds_service.persistence import store
    if not app_overrides["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("a lock on the SQLite file: SQLite only")
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

    from cds_service.persistence import audit
    from cds_service.persistence.store import ISSUED_INSERT, issued_rows
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

    from cds_service.persistence import audit
    from cds_service.persistence.store import ISSUED_INSERT, issued_rows
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


# ---------------------------------------------------------------------------------------------- issue 16

_AT = "2026-11-25T12:06:00Z"


def _overridden(**reason: Any) -> dict[str, Any]:
    coding = {"system": "https://example.org/reasons", "code": "not-relevant", "display": "Not relevant"}
    return {"card": "never-issued", "outcome": "overridden", "outcomeTimestamp": _AT,
            "overrideReason": {"reason": {**coding, **reason.pop("coding", {})}, **reason}}


@pytest.mark.parametrize(("item", "field"), [
    # Longer than the columns (store.FeedbackRow): PostgreSQL refused these with a 500, SQLite stored them.
    (_overridden(coding={"code": "c" * 101}), "feedback.0.overrideReason.reason.code"),
    (_overridden(coding={"system": "https://example.org/" + "s" * 300}), "feedback.0.overrideReason.reason.system"),
    ({"card": "c" * 201, "outcome": "overridden", "outcomeTimestamp": _AT}, "feedback.0.card"),
    # NUL (U+0000): PostgreSQL text cannot hold it.
    ({"card": "card\x00uuid", "outcome": "overridden", "outcomeTimestamp": _AT}, "feedback.0.card"),
    (_overridden(userComment="repleted\x00yesterday"), "feedback.0.overrideReason.userComment"),
    (_overridden(coding={"display": "x\x00"}), "feedback.0.overrideReason.reason.display"),
    (_overridden(coding={"code": "\x00"}), "feedback.0.overrideReason.reason.code"),
    ({"card": "c", "outcome": "accepted", "outcomeTimestamp": _AT, "acceptedSuggestions": [{"id": "s\x00"}]},
     "feedback.0.acceptedSuggestions.0.id"),
])
def test_values_a_database_cannot_hold_are_400_naming_the_field(client: FlaskClient, database_url: str,
                                                                item: dict[str, Any], field: str) -> None:
    resp = client.post(FEEDBACK, json={"feedback": [item]})
    assert resp.status_code == 400, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["resourceType"] == "OperationOutcome" and body["issue"][0]["code"] == "invalid"
    assert field in body["issue"][0]["diagnostics"]
    assert _count(database_url, "feedback") == 0


def test_values_at_the_limits_are_stored_on_both_databases(client: FlaskClient, app: Flask) -> None:
    # Lengths are counted in characters (code points), as PostgreSQL's varchar counts them.
    item = _overridden(coding={"code": "\U0001f600" * 100, "system": "s" * 300, "display": "\u00e9\u4e2d"},
                       userComment="line\nbreak\ttab \u2028 and \U0001f600")
    resp = client.post(FEEDBACK, json={"feedback": [{**item, "card": "u" * 200}]})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    [record] = app.extensions["cds_store"].feedback_for("u" * 200)
    assert record.override_code == "\U0001f600" * 100 and record.override_system == "s" * 300
    assert record.user_comment == "line\nbreak\ttab \u2028 and \U0001f600"


def test_the_limits_are_the_column_lengths() -> None:
    from cds_service import schemas
    from cds_service.persistence.store import FeedbackRow

    columns = FeedbackRow.__table__.c
    assert (schemas.CARD_MAX, schemas.OVERRIDE_CODE_MAX, schemas.OVERRIDE_SYSTEM_MAX) == (
        columns.card_uuid.type.length, columns.override_code.type.length, columns.override_system.type.length)


@pytest.mark.parametrize(("item", "said"), [
    # CDS Hooks 2.0 "Feedback": acceptedSuggestions is required when the outcome is accepted.
    ({"card": "c", "outcome": "accepted", "outcomeTimestamp": _AT},
     "feedback.0.acceptedSuggestions: acceptedSuggestions is required with outcome 'accepted'"),
    # A misspelt member would be dropped, and the clinician's reason lost with it.
    ({"card": "c", "outcome": "overridden", "outcomeTimestamp": _AT,
      "overriddeReason": {"userComment": "seen by cardiology"}}, "feedback.0.overriddeReason: Unknown field"),
    ({**_overridden(), "overrideReason": {"userComent": "x"}}, "feedback.0.overrideReason.userComent: Unknown field"),
    ({**_overridden(), "overrideReason": {"reason": {"system": "s", "code": "c", "dispaly": "d"}}},
     "feedback.0.overrideReason.reason.dispaly: Unknown field"),
    ({"card": "c", "outcome": "accepted", "outcomeTimestamp": _AT, "acceptedSuggestions": [{"id": "s", "uid": 1}]},
     "feedback.0.acceptedSuggestions.0.uid: Unknown field"),
])
def test_feedback_that_breaks_the_spec_is_400_saying_what(client: FlaskClient, database_url: str,
                                                          item: dict[str, Any], said: str) -> None:
    resp = client.post(FEEDBACK, json={"feedback": [item]})
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert said in resp.get_json()["issue"][0]["diagnostics"]
    assert _count(database_url, "feedback") == 0


def test_extension_members_are_allowed_in_feedback(client: FlaskClient) -> None:
    """CDS Hooks 2.0 "Extensions": `extension` is reserved for exactly this and is not an unknown member."""
    item = {**_overridden(), "extension": {"com.example.shift": "night"}}
    item["overrideReason"]["extension"] = {"com.example.why": 1}
    resp = client.post(FEEDBACK, json={"feedback": [item], "extension": {"com.example.batch": "7"}})
    assert resp.status_code == 200, resp.get_data(as_text=True)
