"""The store on a real PostgreSQL server: issued cards, feedback, audit and replay tables through CDS_DATABASE_URL.

The server is a throwaway cluster made with initdb in a temporary folder, listening on 127.0.0.1 on a free port,
started and stopped by the fixture. PostgreSQL refuses to run as root, so as root the cluster runs as the
`postgres` system user. Skipped, with the reason, only where no PostgreSQL server binaries are installed.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Any, Iterator

import pytest
from flask.testing import FlaskClient

from cds_service import create_app
from cds_service.store import Store

pytestmark = pytest.mark.integration
psycopg = pytest.importorskip("psycopg", reason="psycopg is in the test extra: pip install '.[test]'")


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    base = tmp_path_factory.mktemp("pg")
    data = base / "data"
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as an unprivileged user")
        prefix = ["runuser", "-u", "postgres", "--"]
        os.chmod(base, 0o777)
        for parent in base.parents:  # the postgres user must be able to reach the folder
            if str(parent).startswith(tempfile.gettempdir()):
                os.chmod(parent, os.stat(parent).st_mode | 0o011)
    port = _free_port()
    subprocess.run([*prefix, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True, timeout=120)
    log = base / "server.log"
    subprocess.run([*prefix, pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
                    f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off", "start"],
                   check=True, capture_output=True, timeout=90)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres").close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)


@pytest.fixture
def pg_client(postgres_url: str, app_overrides: dict[str, Any]) -> Iterator[FlaskClient]:
    app = create_app({**app_overrides, "DATABASE_URL": postgres_url})
    try:
        yield app.test_client()
    finally:
        app.extensions["cds_store"].close()


def test_feedback_round_trip_on_postgresql(pg_client: FlaskClient, build: Any, postgres_url: str) -> None:
    resp = pg_client.post("/cds-services/leg-pain-causes",
                          json=build.hook_request(build.full_prefetch(build.potassium(2.9))))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    card = resp.get_json()["cards"][0]
    suggestion = card["suggestions"][0]["uuid"]
    feedback = {"feedback": [{"card": card["uuid"], "outcome": "accepted",
                              "acceptedSuggestions": [{"id": suggestion}],
                              "outcomeTimestamp": "2026-11-25T12:05:00Z"}]}
    assert pg_client.post("/cds-services/leg-pain-causes/feedback", json=feedback).status_code == 200
    store = Store(postgres_url)  # a fresh engine: the rows are in the server
    try:
        [record] = store.feedback_for(card["uuid"])
    finally:
        store.close()
    assert record.card_known and record.accepted_suggestions == [suggestion]
    assert record.issued_topic == "electrolyte-imbalance"
    assert record.outcome_timestamp.isoformat() == "2026-11-25T12:05:00+00:00"


def test_schema_tables_exist_on_postgresql(pg_client: FlaskClient, postgres_url: str) -> None:
    pg_client.get("/cds-services")
    dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        tables = {r[0] for r in conn.execute("select tablename from pg_tables where schemaname = 'public'")}
    assert {"issued_card", "feedback", "audit_event"} <= tables, tables
