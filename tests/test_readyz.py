"""GET /readyz: ready only when the database answers at the current schema revision and the terminology loads;
otherwise 503 naming the reason, with no URL or password. Not behind client authentication, like /healthz (which
stays 200 meanwhile: the process is alive, it just should get no traffic)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from cds_service import app as app_module
from cds_service import create_app
from tests.postgres_server import emptied, running_postgres


@pytest.fixture
def app(app_overrides: dict[str, Any], database_url: str) -> Iterator[Flask]:
    app = create_app({**app_overrides, "DATABASE_URL": database_url})
    yield app
    app.extensions["cds_store"].close()


def _execute(url: str, sql: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def test_ready_when_the_database_is_current_and_the_terminology_loads(app: Flask) -> None:
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ready"}
    assert resp.mimetype == "application/json"


def test_readyz_needs_no_client_token(app_overrides: dict[str, Any], tmp_path: Path) -> None:
    trusted = tmp_path / "trusted.json"
    trusted.write_text(json.dumps({"clients": [{"iss": "https://ehr.test", "jwks_urls": ["https://ehr.test/jwks"]}]}))
    app = create_app({**app_overrides, "AUTH": "jwt", "TRUSTED_CLIENTS": str(trusted),
                      "PUBLIC_BASE_URL": "https://cds.test"})
    try:
        client = app.test_client()
        assert client.get("/cds-services").status_code == 401  # the service itself is protected
        assert client.get("/readyz").status_code == 200
        assert client.get("/healthz").status_code == 200
    finally:
        app.extensions["cds_store"].close()


def test_a_newer_schema_keeps_a_running_instance_ready(app: Flask, database_url: str,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """A newer version migrated the shared database (a rolling update): migrations only add, so the old instance keeps
    taking traffic until it is replaced (were it to go not-ready, every old pod would drop out at once)."""
    _execute(database_url, "UPDATE alembic_version SET version_num = '0999'")
    with caplog.at_level("INFO", logger="cds_service.persistence.store"):
        for _ in range(2):
            resp = app.test_client().get("/readyz")
            assert resp.status_code == 200 and resp.get_json()["status"] == "ready"
    assert caplog.text.count("does not know revision 0999") == 1  # said once, not on every probe


def test_not_ready_when_the_version_table_is_gone(app: Flask, database_url: str) -> None:
    _execute(database_url, "DROP TABLE alembic_version")
    body = app.test_client().get("/readyz").get_json()
    assert body["reason"] == "schema-unversioned" and "run `leg-pain-cds db upgrade`" in body["detail"]


def test_not_ready_when_the_sqlite_file_was_replaced(app_overrides: dict[str, Any], db_path: Path) -> None:
    app = create_app(app_overrides)
    try:
        os.replace(db_path, db_path.with_name("moved.sqlite3"))
        db_path.write_bytes(b"")
        resp = app.test_client().get("/readyz")
        assert resp.status_code == 503 and resp.get_json()["reason"] == "database-file-replaced"
    finally:
        app.extensions["cds_store"].close()


def test_not_ready_when_the_terminology_does_not_load(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from terminology import valuesets
    app_module.terminology_loaded.cache_clear()
    monkeypatch.setattr(valuesets, "slugs", lambda: ["no-such-value-set"])  # its data file does not exist
    try:
        resp = app.test_client().get("/readyz")
        assert resp.status_code == 503 and resp.get_json()["reason"] == "terminology-unavailable"
    finally:
        monkeypatch.undo()
        app_module.terminology_loaded.cache_clear()
    assert app.test_client().get("/readyz").status_code == 200  # loads once the data is there


@pytest.mark.server
def test_not_ready_when_postgresql_does_not_answer_and_no_secret_is_shown(
        tmp_path: Path, app_overrides: dict[str, Any]) -> None:
    pytest.importorskip("psycopg")
    with running_postgres(tmp_path) as url:
        app = create_app({**app_overrides, "DATABASE_URL": emptied(url)})
        assert app.test_client().get("/readyz").status_code == 200
    try:  # the server is stopped now
        resp = app.test_client().get("/readyz")
        assert resp.status_code == 503
        body = resp.get_json()
        assert body["reason"] == "database-unavailable" and body["status"] == "not-ready"
        raw = resp.get_data(as_text=True)
        assert "postgres@" not in raw and "127.0.0.1" not in raw and "postgresql" not in raw
        assert app.test_client().get("/healthz").status_code == 200  # liveness does not depend on the database
    finally:
        app.extensions["cds_store"].close()
