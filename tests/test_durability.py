"""Acknowledged writes are never lost: a removed or replaced database file, a full disk, a clean stop.

Real SQLite files throughout. The full disk is SQLite's own SQLITE_FULL, reached with ``PRAGMA max_page_count`` on
the service's connections after every table's last page has been filled (no tiny filesystem needs root here).
"""
from __future__ import annotations

import logging
import shutil
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import requests
from cds_service import cli
from cds_service.runtime.serve import serve_subprocess
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from .conftest import GOLDEN_NOW

SERVICE = "/cds-services/leg-pain-causes"


def _feedback(card: str = "card-1", comment: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-11-25T12:05:00Z"}
    if comment is not None:
        item["overrideReason"] = {"userComment": comment}
    return {"feedback": [item]}


def _is_outcome(body: Any, code: str) -> bool:
    return bool(body["resourceType"] == "OperationOutcome" and body["issue"][0]["code"] == code)


def _hook_call(client: FlaskClient) -> Any:
    response = client.post(SERVICE, json=cli.example_request("low-potassium", GOLDEN_NOW.date()))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_feedback_is_refused_when_the_database_folder_was_removed(
        client: FlaskClient, db_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert client.post(f"{SERVICE}/feedback", json=_feedback()).get_json() == {"stored": 1, "unknownCards": ["card-1"]}
    assert client.get("/healthz").get_json() == {"status": "ok"}

    shutil.rmtree(db_path.parent)  # the service keeps running with its connections open on the unlinked file

    response = client.post(f"{SERVICE}/feedback", json=_feedback("card-2"))
    assert response.status_code == 503 and response.headers["Retry-After"].isdigit()
    body = response.get_json()
    assert _is_outcome(body, "no-store") and "removed" in body["issue"][0]["diagnostics"]
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["status"] == "unavailable"
    # A hook call still answers with its cards; the audit row it could not write is logged and counted.
    with caplog.at_level(logging.ERROR, logger="cds_service.persistence.audit"):
        assert _hook_call(client)["cards"]
    assert "record write failed" in caplog.text and "removed" in caplog.text and "unwritten_total=" in caplog.text


def test_feedback_is_refused_when_the_database_file_was_replaced(client: FlaskClient, db_path: Path) -> None:
    assert client.post(f"{SERVICE}/feedback", json=_feedback()).status_code == 200
    replacement = db_path.with_name("other.sqlite3")
    sqlite3.connect(replacement).close()
    replacement.replace(db_path)
    response = client.post(f"{SERVICE}/feedback", json=_feedback("card-2"))
    assert response.status_code == 503 and _is_outcome(response.get_json(), "no-store")
    assert "replaced" in client.get("/healthz").get_json()["database"]


def _fill_the_disk(app: Flask, db_path: Path) -> None:
    """Cap the database at its current size on every connection of the service, then fill the last page of each
    table, so that any further row needs a page the "disk" does not have (SQLITE_FULL)."""
    store = app.extensions["cds_store"]

    def cap(dbapi_conn: Any, _record: Any) -> None:
        size = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count={size}")

    event.listen(store.engine, "connect", cap)
    store.engine.dispose()  # every connection from now on is capped
    with store.engine.connect() as conn:  # one capped connection fills the tables, row by row, until refused
        raw = conn.connection.dbapi_connection
        assert raw is not None
        tables = [name for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            info = list(raw.execute(f"PRAGMA table_info({table})"))
            # Required columns, and a primary key that is not an integer rowid (auth_seen_jti.digest): a unique text.
            columns = [(name, kind.upper(), bool(pk)) for _, name, kind, notnull, _, pk in info
                       if (notnull and not pk) or (pk and "INT" not in kind.upper())]
            sql = (f"INSERT INTO {table} ({', '.join(n for n, _, _ in columns)}) "
                   f"VALUES ({', '.join('?' * len(columns))})")
            with pytest.raises(sqlite3.OperationalError, match="full"):
                for n in range(100_000):
                    values = [f"key-{n}" if pk else 1 if "INT" in kind or "BOOL" in kind
                              else 0.5 if "FLOAT" in kind or "REAL" in kind
                              else "2026-11-25 12:00:00.000000" if "DATE" in kind else "x" * 40
                              for _, kind, pk in columns]
                    raw.execute(sql, values)
                    raw.commit()
            raw.rollback()


def test_disk_full_feedback_503_and_hook_calls_still_answer(
        app: Flask, client: FlaskClient, db_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert _hook_call(client)["cards"]
    _fill_the_disk(app, db_path)

    response = client.post(f"{SERVICE}/feedback", json=_feedback(comment="not relevant today"))
    assert response.status_code == 503, response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0
    body = response.get_json()
    assert _is_outcome(body, "no-store") and "disk is full" in body["issue"][0]["diagnostics"]

    with caplog.at_level(logging.ERROR, logger="cds_service.persistence.audit"):
        assert _hook_call(client)["cards"]  # the clinician still gets the advice
    assert "record write failed" in caplog.text and "disk is full" in caplog.text
    assert "unwritten_total=" in caplog.text
    health = client.get("/healthz")  # still serving (cards), but says what is wrong
    assert health.status_code == 200 and health.get_json() == {
        "status": "degraded", "database": "write refused by the database: the disk is full"}


@pytest.mark.server
def test_a_clean_stop_leaves_every_write_in_the_database_file(tmp_path: Path) -> None:
    db = tmp_path / "data" / "cds.sqlite3"
    settings = {"CDS_AUTH": "none", "CDS_DATABASE_URL": f"sqlite:///{db}", "CDS_WARMUP": "false"}
    with serve_subprocess(tmp_path, settings, args=("--workers", "2")) as (proc, base):
        for i in range(40):
            assert requests.post(f"{base}{SERVICE}/feedback", json=_feedback(f"card-{i}"),
                                 timeout=10).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    wal = db.with_name(db.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0, "the stop left data in the -wal file"
    copy = tmp_path / "copy.sqlite3"  # a copy of the database file alone, as a naive backup would take it
    shutil.copyfile(db, copy)
    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT count(*) FROM feedback").fetchone()[0] == 40
    assert "checkpoint" not in (tmp_path / "serve.log").read_text()  # no warning: the checkpoint completed
