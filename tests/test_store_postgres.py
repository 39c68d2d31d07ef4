"""The store on a real PostgreSQL server: issued cards, feedback, audit and replay tables through CDS_DATABASE_URL.

The server is a throwaway cluster (tests/postgres_server.py), started and stopped by the fixture. Skipped, with the
reason, only where no PostgreSQL server binaries are installed. The feedback tests (tests/test_feedback.py) run on
it too.
"""
from __future__ import annotations

from typing import Any, Iterator

import pytest
from flask.testing import FlaskClient

from cds_service import create_app
from cds_service.store import Store
from tests.postgres_server import running_postgres

pytestmark = pytest.mark.integration
psycopg = pytest.importorskip("psycopg", reason="psycopg is in the test extra: pip install '.[test]'")


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_postgres(tmp_path_factory.mktemp("pg")) as url:
        yield url


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
