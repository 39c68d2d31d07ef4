"""The store on both databases: issued cards, feedback, audit and replay tables through CDS_DATABASE_URL.

Every test runs on a SQLite file and on a real PostgreSQL server (a throwaway cluster, tests/postgres_server.py,
started and stopped by the fixture; skipped, with the reason, only where no PostgreSQL server binaries are
installed). The feedback tests (tests/test_feedback.py), the replay and audit tests (tests/security/
test_client_auth.py) and the migration tests (tests/test_migrations.py) run on both too.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, inspect, select

from cds_service import create_app
from cds_service.persistence import migrations
from cds_service.persistence.store import WithheldCardRow, Store
from cds_service.schemas import IssuedCard

AT = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def db_client(database_url: str, app_overrides: dict[str, Any]) -> Iterator[FlaskClient]:
    app = create_app({**app_overrides, "DATABASE_URL": database_url})
    try:
        yield app.test_client()
    finally:
        app.extensions["cds_store"].close()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = Store(database_url)
    s.create()
    yield s
    s.close()


def test_feedback_round_trip(db_client: FlaskClient, build: Any, database_url: str) -> None:
    resp = db_client.post("/cds-services/leg-pain-causes",
                          json=build.hook_request(build.full_prefetch(build.potassium(2.9))))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    card = resp.get_json()["cards"][0]
    suggestion = card["suggestions"][0]["uuid"]
    feedback = {"feedback": [{"card": card["uuid"], "outcome": "accepted",
                              "acceptedSuggestions": [{"id": suggestion}],
                              "outcomeTimestamp": "2026-11-25T12:05:00Z"}]}
    assert db_client.post("/cds-services/leg-pain-causes/feedback", json=feedback).status_code == 200
    store = Store(database_url)  # a fresh engine: the rows are in the database
    try:
        [record] = store.feedback_for(card["uuid"])
    finally:
        store.close()
    assert record.card_known and record.accepted_suggestions == [suggestion]
    assert record.issued_topic == "electrolyte-imbalance"
    assert record.outcome_timestamp.isoformat() == "2026-11-25T12:05:00+00:00"


def test_schema_tables_exist_at_the_current_revision(db_client: FlaskClient, database_url: str) -> None:
    db_client.get("/cds-services")
    engine = create_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert migrations.status(engine).current
    finally:
        engine.dispose()
    assert {"issued_card", "withheld_card", "feedback", "audit_event", "auth_seen_jti", "alembic_version"} <= tables


def test_store_records_issued_and_feedback_directly(store: Store) -> None:
    store.record_issued("leg-pain-causes", "hook-1", [IssuedCard("c-1", "pad", "warning", ("pad-abi@1",), ("s-1",)),
                                                      IssuedCard("c-2", None, "info", ("x@1",), ())], AT)
    unknown = store.record_feedback("leg-pain-causes", [
        {"card": "c-1", "outcome": "accepted", "acceptedSuggestions": [{"id": "s-9"}], "outcomeTimestamp": AT},
        {"card": "c-404", "outcome": "overridden", "outcomeTimestamp": AT}], AT)
    assert unknown == ["c-404"]
    [known] = store.feedback_for("c-1")
    assert known.card_known and known.suggestions_known is False  # s-9 was never offered
    assert (known.issued_topic, known.issued_rule_ids, known.issued_hook_instance) == ("pad", ["pad-abi@1"], "hook-1")
    [stray] = store.feedback_for("c-404")
    assert not stray.card_known and stray.issued_topic is None
    # Feedback for another service's card is not matched to it.
    assert store.record_feedback("leg-pain-workup", [{"card": "c-2", "outcome": "overridden",
                                                      "outcomeTimestamp": AT}], AT) == ["c-2"]


def test_withheld_rows_are_written(store: Store) -> None:
    from cds_service.persistence.store import WITHHELD_INSERT
    with store.engine.begin() as conn:
        conn.execute(WITHHELD_INSERT, [{"service_id": "leg-pain-causes", "hook_instance": "h", "topic": "statin",
                                        "indicator": "info", "rule_ids": '["r@1"]', "reason": "no-leg-symptom-context",
                                        "withheld_at": AT}])
    with store.engine.connect() as conn:
        [row] = conn.execute(select(WithheldCardRow.__table__)).all()
    assert row.topic == "statin" and row.withheld_at.astimezone(timezone.utc) == AT
