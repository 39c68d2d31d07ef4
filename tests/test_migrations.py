"""Schema migrations on SQLite and on a real PostgreSQL server (tests/postgres_server.py).

A new database gets exactly the declared schema; a database made before migrations existed (tables from
``metadata.create_all``, rows in them, no alembic_version) is brought under migrations with every row kept; SQLite is
upgraded at start-up, PostgreSQL refuses to start on a schema that is not the current revision (exit 2, a sentence,
no traceback); ``leg-pain-cds db upgrade | current | check``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, Table, create_engine, insert, inspect, select, text
from sqlalchemy.engine import Engine

import cds_service.security.replay  # noqa: F401  # declares auth_seen_jti on the one MetaData
from cds_service import cli, config, create_app
from cds_service.persistence import migrations
from cds_service.persistence.db import METADATA
from cds_service.persistence.store import Store
from tests.postgres_server import emptied

AT = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.server)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no tables at all."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'cds.sqlite3'}"
    return emptied(request.getfixturevalue("postgres_url"), migrate=False)


@pytest.fixture
def engine(empty_url: str) -> Iterator[Engine]:
    store = Store(empty_url)  # SQLite: the folder is created, WAL pragmas as the service sets them
    yield store.engine
    store.close()


def schema_diff(engine: Engine) -> list[Any]:
    """What differs between the database and the declared tables (Alembic's autogenerate comparison)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, METADATA))


def version(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]


# ------------------------------------------------------------------------------ the schema made before migrations


def pre_migration_metadata(*, oldest: bool) -> MetaData:
    """The tables as ``metadata.create_all`` made them before migrations existed.

    oldest=False: as of the last version without migrations (today's tables). oldest=True: a database first made
    before withheld cards were stored and before feedback recorded whether accepted suggestions were offered (no
    withheld_card table, no feedback.suggestions_known), as the first releases made it.
    """
    old = MetaData()
    for table in METADATA.sorted_tables:
        if oldest and table.name == "withheld_card":
            continue
        skip = {"suggestions_known"} if oldest and table.name == "feedback" else set()
        Table(table.name, old, *[c._copy() for c in table.columns if c.name not in skip])
    return old


ROWS: dict[str, list[dict[str, Any]]] = {
    "issued_card": [
        {"uuid": f"card-{i}", "service_id": "leg-pain-causes", "hook_instance": f"hook-{i}", "topic": "pad",
         "indicator": "warning", "rule_ids": '["pad-abi@1"]', "suggestion_uuids": f'["s-{i}"]', "issued_at": AT}
        for i in range(3)],
    "withheld_card": [
        {"service_id": "leg-pain-causes", "hook_instance": "hook-0", "topic": "statin", "indicator": "info",
         "rule_ids": '["statin-muscle-symptoms@2"]', "reason": "no-leg-symptom-context", "withheld_at": AT}],
    "feedback": [
        {"service_id": "leg-pain-causes", "card_uuid": "card-0", "card_known": True, "outcome": "accepted",
         "accepted_suggestions": '["s-0"]', "override_system": None, "override_code": None,
         "override_display": None, "user_comment": None, "outcome_timestamp": AT, "received_at": AT},
        {"service_id": "leg-pain-causes", "card_uuid": "card-x", "card_known": False, "outcome": "overridden",
         "accepted_suggestions": None, "override_system": "http://example.org/reasons", "override_code": "r1",
         "override_display": "already treated", "user_comment": "seen last week", "outcome_timestamp": AT,
         "received_at": AT}],
    "audit_event": [
        {"at": AT, "request_id": f"req-{i}", "endpoint": "service", "method": "POST", "service_id": "leg-pain-causes",
         "issuer": "https://ehr.test", "hook_instance": f"hook-{i}", "status": 200, "outcome": "cards",
         "card_count": 1, "reason": None, "latency_ms": 12.5} for i in range(3)],
    "auth_seen_jti": [{"digest": "a" * 64, "expires_at": 4102444800.0},
                      {"digest": "b" * 64, "expires_at": 4102444900.0}],
}


def make_pre_migration_database(engine: Engine, *, oldest: bool) -> dict[str, list[dict[str, Any]]]:
    """Create the old tables, fill them, and return every row as read back (the reference for 'nothing lost')."""
    old = pre_migration_metadata(oldest=oldest)
    old.create_all(engine)
    with engine.begin() as conn:
        for name, table in old.tables.items():
            columns = set(table.columns.keys())
            conn.execute(insert(table), [{k: v for k, v in row.items() if k in columns} for row in ROWS[name]])
    return read_rows(engine, old)


def read_rows(engine: Engine, meta: MetaData) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table of `meta`, by table, in key order, with only `meta`'s columns."""
    out = {}
    with engine.connect() as conn:
        for name, table in meta.tables.items():
            key = list(table.primary_key.columns)
            out[name] = [dict(r) for r in conn.execute(select(table).order_by(*key)).mappings()]
    return out


# ------------------------------------------------------------------------------------------------------- tests


def test_a_new_database_gets_exactly_the_declared_schema(engine: Engine) -> None:
    assert migrations.status(engine).state == "empty"
    before, after = migrations.upgrade(engine)
    assert (before.state, after.state) == ("empty", "current")
    assert version(engine) == [migrations.head()]
    assert schema_diff(engine) == []
    # A second upgrade changes nothing.
    before, after = migrations.upgrade(engine)
    assert before.current and after.current and version(engine) == [migrations.head()]


@pytest.mark.parametrize("oldest", [False, True], ids=["last-create_all", "oldest"])
def test_a_database_made_before_migrations_keeps_every_row(engine: Engine, oldest: bool) -> None:
    rows = make_pre_migration_database(engine, oldest=oldest)
    assert sum(map(len, rows.values())) >= 10
    found = migrations.status(engine)
    assert found.state == "unversioned" and found.tables
    assert "run `leg-pain-cds db upgrade`" in found.describe() and "keeps every row" in found.describe()

    before, after = migrations.upgrade(engine)

    assert (before.state, after.state) == ("unversioned", "current")
    assert read_rows(engine, pre_migration_metadata(oldest=oldest)) == rows  # every row, every value
    assert schema_diff(engine) == []  # missing tables and columns added, indexes as declared
    if oldest:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM feedback WHERE suggestions_known IS NULL")).scalar() == 2
    # The service reads and writes the upgraded database.
    store = Store(str(engine.url.render_as_string(hide_password=False)))
    try:
        store.create()
        [record] = store.feedback_for("card-0")
        assert record.card_known and record.accepted_suggestions == ["s-0"] and record.issued_topic == "pad"
    finally:
        store.close()


def test_tables_of_another_shape_are_refused_and_left_alone(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE feedback (id INTEGER PRIMARY KEY, note TEXT)"))
        conn.execute(text("INSERT INTO feedback (id, note) VALUES (1, 'not ours')"))
    with pytest.raises(migrations.SchemaNotCurrent, match="not made by this service.*feedback.service_id"):
        migrations.upgrade(engine)
    assert set(inspect(engine).get_table_names()) == {"feedback"}  # nothing created, no alembic_version
    with engine.connect() as conn:
        assert conn.execute(text("SELECT note FROM feedback")).scalar() == "not ours"


def test_an_older_sqlite_file_is_upgraded_at_start_up(tmp_path: Path, app_overrides: dict[str, Any]) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = create_engine(url)
    rows = make_pre_migration_database(engine, oldest=True)
    engine.dispose()
    app = create_app({**app_overrides, "DATABASE_URL": url})  # one host: no operator step
    try:
        assert app.test_client().get("/readyz").status_code == 200
    finally:
        app.extensions["cds_store"].close()
    engine = create_engine(url)
    try:
        assert version(engine) == [migrations.head()]
        assert read_rows(engine, pre_migration_metadata(oldest=True)) == rows
    finally:
        engine.dispose()


def test_sqlite_processes_starting_together_migrate_once(tmp_path: Path) -> None:
    """Several workers or processes open one new file at once: BEGIN IMMEDIATE lets one migrate, the rest wait."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    stores = [Store(url) for _ in range(4)]
    errors: list[BaseException] = []

    def start(store: Store) -> None:
        try:
            store.create()
        except BaseException as err:  # collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=start, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert version(stores[0].engine) == [migrations.head()]
        assert schema_diff(stores[0].engine) == []
    finally:
        for s in stores:
            s.close()


def test_concurrent_upgrades_migrate_once(empty_url: str) -> None:
    """Two `db upgrade` at once (a migration Job retried, two operators): the migration lock lets one do the work,
    the other finds the schema current. Without the lock PostgreSQL fails the second (duplicate alembic_version)."""
    engines = [Store(empty_url) for _ in range(3)]
    results: list[Any] = []

    def run(store: Store) -> None:
        try:
            results.append(migrations.upgrade(store.engine))
        except BaseException as err:  # collected and asserted below
            results.append(err)

    threads = [threading.Thread(target=run, args=(s,)) for s in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not [r for r in results if isinstance(r, BaseException)], results
        assert sorted(before.state for before, _ in results) == ["current", "current", "empty"]
        assert all(after.current for _, after in results)
        assert version(engines[0].engine) == [migrations.head()] and schema_diff(engines[0].engine) == []
    finally:
        for s in engines:
            s.close()


@pytest.mark.server
@pytest.mark.parametrize("state", ["empty", "unversioned"])
def test_postgresql_start_refuses_a_schema_behind_and_says_to_upgrade(postgres_url: str, state: str,
                                                                      app_overrides: dict[str, Any]) -> None:
    url = emptied(postgres_url, migrate=False)
    if state == "unversioned":
        engine = create_engine(url)
        make_pre_migration_database(engine, oldest=False)
        engine.dispose()
    with pytest.raises(config.ConfigError, match=r"run `leg-pain-cds db upgrade`"):
        create_app({**app_overrides, "DATABASE_URL": url})
    engine = create_engine(url)
    try:
        assert "alembic_version" not in inspect(engine).get_table_names()  # start-up changed nothing
    finally:
        engine.dispose()


def _set_version(url: str, revision: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    finally:
        engine.dispose()


@pytest.mark.server
def test_postgresql_start_refuses_an_unknown_revision_with_exit_2(postgres_url: str, tmp_path: Path) -> None:
    url = emptied(postgres_url)
    _set_version(url, "0999")  # made by a newer version of the service
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
    env.update({"CDS_DATABASE_URL": url, "CDS_AUTH": "none", "CDS_WARMUP": "false"})
    done = subprocess.run([sys.executable, "-m", "cds_service.cli", "serve", "--host", "127.0.0.1", "--port", "9"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "this version does not know revision 0999" in done.stderr
    assert "upgrade the service or roll the database back" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_sqlite_start_refuses_an_unknown_revision_too(tmp_path: Path, app_overrides: dict[str, Any]) -> None:
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    Store(url).create()
    _set_version(url, "0999")
    with pytest.raises(migrations.SchemaNotCurrent, match="does not know revision 0999"):
        create_app({**app_overrides, "DATABASE_URL": url})


# ----------------------------------------------------------------------------------------------- the CLI


def db(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str, *args: str
       ) -> tuple[int, str, str]:
    monkeypatch.setenv("CDS_DATABASE_URL", url)
    status = cli.main(["db", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_db_check_upgrade_current(empty_url: str, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = db(monkeypatch, capsys, empty_url, "check")
    assert status == 1 and "run `leg-pain-cds db upgrade`" in out
    status, out, _ = db(monkeypatch, capsys, empty_url, "upgrade")
    assert status == 0 and f"upgraded from an empty database to revision {migrations.head()}" in out
    status, out, _ = db(monkeypatch, capsys, empty_url, "check")
    assert status == 0 and "(current)" in out
    status, out, _ = db(monkeypatch, capsys, empty_url, "current")
    assert status == 0 and f"revision: {migrations.head()}; this version's head: {migrations.head()}" in out
    status, out, _ = db(monkeypatch, capsys, empty_url, "upgrade")
    assert status == 0 and "nothing to do" in out


def test_db_upgrade_brings_a_pre_migration_database_under_migrations(
        engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    rows = make_pre_migration_database(engine, oldest=True)
    url = engine.url.render_as_string(hide_password=False)
    status, out, _ = db(monkeypatch, capsys, url, "check")
    assert status == 1 and "made before schema migrations existed" in out
    status, out, _ = db(monkeypatch, capsys, url, "upgrade")
    assert status == 0 and "upgraded from tables made before migrations" in out
    assert read_rows(engine, pre_migration_metadata(oldest=True)) == rows


def test_db_check_names_an_unknown_revision(empty_url: str, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert db(monkeypatch, capsys, empty_url, "upgrade")[0] == 0
    _set_version(empty_url, "0999")
    status, out, _ = db(monkeypatch, capsys, empty_url, "check")
    assert status == 1 and "does not know revision 0999" in out
    status, _, err = db(monkeypatch, capsys, empty_url, "upgrade")
    assert status == 2 and "does not know revision 0999" in err


def test_db_commands_without_a_database_exit_2_without_the_password(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("psycopg")
    url = "postgresql+psycopg://cds:s3cret-pw@127.0.0.1:9/cds"  # port 9 (discard): nothing listens
    for command in ("upgrade", "current", "check"):
        status, out, err = db(monkeypatch, capsys, url, command)
        assert status == 2, (command, out, err)
        assert "cannot use the database" in err and "s3cret-pw" not in out + err
        assert "cds:***@127.0.0.1:9/cds" in out


def test_db_downgrade_refuses_what_it_cannot_do_safely(empty_url: str, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = db(monkeypatch, capsys, empty_url, "downgrade", migrations.head())
    assert status == 2 and "at no revision (empty)" in err
    assert db(monkeypatch, capsys, empty_url, "upgrade")[0] == 0
    status, out, _ = db(monkeypatch, capsys, empty_url, "downgrade", migrations.head())
    assert status == 0 and "nothing to do" in out
    status, _, err = db(monkeypatch, capsys, empty_url, "downgrade", "base")
    assert status == 2 and "refusing to downgrade to base: it would drop every table" in err
    status, _, err = db(monkeypatch, capsys, empty_url, "downgrade", "0999")
    assert status == 2 and "does not know revision '0999'" in err
    assert db(monkeypatch, capsys, empty_url, "check")[0] == 0  # nothing changed


def test_db_with_a_malformed_url_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
                                         ) -> None:
    status, _, err = db(monkeypatch, capsys, "not a url", "check")
    assert status == 2 and "CDS_DATABASE_URL" in err


def test_the_migration_scripts_ship_with_the_package() -> None:
    """Alembic reads env.py and versions/*.py as files, from the package as imported (scripts/test.sh imports the
    installed wheel): without them as package data the head could not be found."""
    assert (migrations.HERE / "env.py").is_file()
    assert (migrations.HERE / "versions" / "r0001_baseline.py").is_file()
    assert migrations.head() == "0001" and migrations.known("0001") and not migrations.known("0999")


def test_the_baseline_declares_every_table_of_the_metadata() -> None:
    """A table added to the MetaData needs a revision (and a place in BASELINE_TABLES only if it predates them)."""
    assert migrations.BASELINE_TABLES == set(METADATA.tables)
