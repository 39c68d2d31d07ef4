"""Persistence (SQLAlchemy 2): issued cards and clinician feedback, joined on the card uuid.

Any SQLAlchemy URL works (PostgreSQL with its driver installed); the default is a SQLite file, created and brought
to the current schema revision at start-up (persistence/migrations), in WAL mode with a busy timeout so that several
gunicorn workers can write to it at once. Other databases are migrated by ``leg-pain-cds db upgrade`` and only
checked at start-up. Nothing here holds patient values: an issued card is its uuid, service, topic, indicator, rule ids,
suggestion uuids, hookInstance and time.

Feedback for a card uuid this database never issued is still stored, with ``card_known = false``: the client
may have been answered by another replica with its own database, or the database may have been reset, and
dropping a clinician's feedback silently is worse than keeping a row that reports can filter out.
"""
from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import (Boolean, DateTime, Integer, String, Text, create_engine, event, select)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from cds_service.persistence.audit import DatabaseFile, describe_write_error, plain_insert, register_file
from cds_service.persistence import migrations
from cds_service.persistence.db import Base
from cds_service.errors import StorageUnavailable
from cds_service.schemas import IssuedCard

log = logging.getLogger(__name__)

# How long a writer waits for SQLite's lock before failing; concurrent workers commit in well under this.
SQLITE_BUSY_TIMEOUT_MS = 5000
# How long a new PostgreSQL connection may take (libpq connect_timeout; a `connect_timeout` in the URL wins).
POSTGRES_CONNECT_TIMEOUT_S = 5




class IssuedCardRow(Base):
    __tablename__ = "issued_card"

    # A surrogate key: uuid uniqueness is the uuid factory's job, and tests inject repeating counters.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(64), index=True)
    service_id: Mapped[str] = mapped_column(String(100), index=True)
    hook_instance: Mapped[str] = mapped_column(String(64), index=True)
    topic: Mapped[str | None] = mapped_column(String(64))
    indicator: Mapped[str] = mapped_column(String(16))
    rule_ids: Mapped[str] = mapped_column(Text)  # JSON array of "rule-id@version"
    suggestion_uuids: Mapped[str] = mapped_column(Text)  # JSON array
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class FeedbackRow(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(100), index=True)
    card_uuid: Mapped[str] = mapped_column(String(200), index=True)  # joined to issued_card.uuid, not enforced
    card_known: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(String(16))
    accepted_suggestions: Mapped[str | None] = mapped_column(Text)  # JSON array of suggestion uuids
    # False when an accepted suggestion uuid is not one the (known) card offered; None when nothing to check.
    suggestions_known: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    override_system: Mapped[str | None] = mapped_column(String(300))
    override_code: Mapped[str | None] = mapped_column(String(100))
    override_display: Mapped[str | None] = mapped_column(Text)
    user_comment: Mapped[str | None] = mapped_column(Text)
    outcome_timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class WithheldCardRow(Base):
    """A possible-cause card a hook call did not show for want of leg-symptom context (cards/relevance.py).

    One row per card, by rule and topic only: never its text or any patient data. Written with the call's audit
    row, so "how often were cards withheld, by which rule" is a count over this table.
    """

    __tablename__ = "withheld_card"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(100), index=True)
    hook_instance: Mapped[str] = mapped_column(String(64), index=True)
    topic: Mapped[str | None] = mapped_column(String(64))
    indicator: Mapped[str] = mapped_column(String(16))
    rule_ids: Mapped[str] = mapped_column(Text)  # JSON array of "rule-id@version"
    reason: Mapped[str] = mapped_column(String(64))  # no-leg-symptom-context
    withheld_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


ISSUED_INSERT = plain_insert(IssuedCardRow.__table__)  # built once: executed with a list of rows (executemany)
WITHHELD_INSERT = plain_insert(WithheldCardRow.__table__)
WITHHELD_NO_CONTEXT = "no-leg-symptom-context"


@dataclass(frozen=True)
class FeedbackRecord:
    """A stored feedback item joined to the card it answers (card fields None when the card is unknown)."""

    card_uuid: str
    card_known: bool
    suggestions_known: bool | None
    outcome: str
    accepted_suggestions: list[str]
    override_code: str | None
    override_system: str | None
    override_display: str | None
    user_comment: str | None
    outcome_timestamp: datetime
    received_at: datetime
    service_id: str
    issued_topic: str | None
    issued_rule_ids: list[str] | None
    issued_hook_instance: str | None


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def issued_rows(service_id: str, hook_instance: str, cards: Iterable[IssuedCard],
                issued_at: datetime) -> list[dict[str, Any]]:
    """The issued_card rows of one answer, for ISSUED_INSERT.

    Core executemany, not ORM objects: this runs on every hook call, where the unit-of-work machinery cost ~1 ms a
    request (docs/performance.md); same table, same columns.
    """
    return [{"uuid": c.uuid, "service_id": service_id, "hook_instance": hook_instance, "topic": c.topic,
             "indicator": c.indicator, "rule_ids": json.dumps(list(c.rule_ids)),
             "suggestion_uuids": json.dumps(list(c.suggestion_uuids)), "issued_at": _utc(issued_at)}
            for c in cards]


def withheld_rows(service_id: str, hook_instance: str, cards: Iterable[Any], at: datetime) -> list[dict[str, Any]]:
    """The withheld_card rows of one answer (cards.model.Card objects), for WITHHELD_INSERT."""
    return [{"service_id": service_id, "hook_instance": hook_instance, "topic": c.topic,
             "indicator": c.indicator.value, "rule_ids": json.dumps(list(c.rule_ids)),
             "reason": WITHHELD_NO_CONTEXT, "withheld_at": _utc(at)} for c in cards]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    try:
        # The busy timeout first: switching a new file to WAL takes its write lock, and several processes opening
        # one new file at once (workers, replicas' `db upgrade`) must wait for each other, not fail "locked".
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer across workers
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; a power cut loses at most the last commits
    finally:
        cursor.close()


class Store:
    """Engine + session factory for one database URL; ``create()`` makes the schema."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"pool_pre_ping": not self.is_sqlite}
        if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
            # A server that does not answer (host down, packets dropped) fails a connection in seconds, not after the
            # system's TCP timeout: start-up, `db` commands and /readyz say so while a probe still waits for them.
            kwargs["connect_args"] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S}
        self.file: DatabaseFile | None = None
        self._newer_schema_noted = False  # readiness logs a newer schema once
        if self.is_sqlite and parsed.database and parsed.database != ":memory:" and \
                not parsed.database.startswith("file:"):
            path = Path(parsed.database).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            self.file = DatabaseFile(path.resolve())
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if self.file is not None:
            register_file(self.engine, self.file)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def create(self) -> None:
        """Make sure the schema is the current revision: SQLite is upgraded in place, any other database must have
        been upgraded already (``leg-pain-cds db upgrade``; migrations.SchemaNotCurrent otherwise)."""
        migrations.prepare(self.engine)
        if self.file is not None:
            self.file.remember()

    def close(self) -> None:
        """Close every pooled connection (tests, a stopping worker)."""
        self.engine.dispose()

    def shutdown(self) -> None:
        """A clean stop: checkpoint SQLite's write-ahead log into the database file, then close.

        In WAL mode a commit lands in ``<db>-wal`` first; after this the database file alone holds every write, so
        a copy of it is a complete copy (for a copy while the service runs, use ``sqlite3 <db> ".backup ..."``:
        README, backups). Never raises: the process is stopping either way.
        """
        if self.is_sqlite and (self.file is None or self.file.problem() is None):
            try:
                with self.engine.connect() as conn:
                    busy, _, _ = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
                if busy:
                    log.warning("WAL checkpoint at shutdown incomplete: another process still reads the database")
            except (SQLAlchemyError, sqlite3.Error) as err:
                log.warning("WAL checkpoint at shutdown failed (%s)", type(err).__name__)
        self.close()

    def health(self) -> tuple[bool, str | None]:
        """(writable, what is wrong): False when the database file is gone or replaced (writes are refused); True with
        a note when the last write failed (disk full, I/O error) - the next one may succeed."""
        if self.file is None:
            return True, None
        problem = self.file.problem()
        if problem is not None:
            return False, problem
        return True, self.file.last_write_error

    def readiness(self) -> tuple[str, str] | None:
        """Why this instance should get no traffic yet, as (reason code, sentence without secrets), or None: the
        database answers, its schema is the current revision and (SQLite) the file is still the one opened."""
        writable, note = self.health()
        if not writable:
            return "database-file-replaced", str(note)
        try:
            found = migrations.status(self.engine)
        except (SQLAlchemyError, sqlite3.Error, OSError) as err:  # the server is down, refuses us, the file is gone
            return "database-unavailable", f"the database does not answer ({type(err).__name__})"
        if found.state == "unknown":
            # A newer version has migrated the shared database during a rolling update. Migrations only add (tables,
            # nullable columns: docs/deployment.md), so this instance, which started against its own revision, keeps
            # serving until it is replaced; were it to go not-ready, every old pod would drop out at the first
            # migration. A newer schema still stops a *start* (migrations.prepare).
            if not self._newer_schema_noted:
                log.info("readiness: %s; still serving (rolling update)", found.describe())
                self._newer_schema_noted = True
            return None
        if not found.current:
            return f"schema-{found.state}", found.describe()
        return None

    def _refuse_if_gone(self) -> None:
        problem = self.file.problem() if self.file is not None else None
        if problem is not None:
            log.error("write refused: %s", problem)
            raise StorageUnavailable(f"Feedback was not stored: {problem}.")

    def after_fork(self) -> None:
        """Drop connections inherited from a parent process (gunicorn preload) without closing them there."""
        self.engine.dispose(close=False)

    def record_issued(self, service_id: str, hook_instance: str, cards: Iterable[IssuedCard],
                      issued_at: datetime) -> None:
        """Insert the issued-card rows in their own transaction (a hook call writes them with its audit row)."""
        rows = issued_rows(service_id, hook_instance, cards, issued_at)
        if rows:
            with self.engine.begin() as conn:
                conn.execute(ISSUED_INSERT, rows)

    def record_feedback(self, service_id: str, items: Iterable[dict[str, Any]], received_at: datetime) -> list[str]:
        """Store feedback items; return the card uuids this database never issued for `service_id`.

        StorageUnavailable (503) when the write is refused or cannot be trusted to last: the database file was
        removed or replaced (checked before and after the commit), the disk is full, the database is locked or
        unreachable. Only a write that is on the database file is acknowledged.
        """
        items = list(items)
        self._refuse_if_gone()
        try:
            known = self._insert_feedback(service_id, items, received_at)
        except OperationalError as err:  # disk full, I/O error, locked past the busy timeout, server gone
            why = describe_write_error(err)
            if self.file is not None:
                self.file.note_write(err)
            log.error("feedback not stored: %s (%s)", why, type(err.orig).__name__)
            raise StorageUnavailable(f"Feedback was not stored: {why}.") from err
        self._refuse_if_gone()  # removed during the commit: the rows may be on an unlinked file
        if self.file is not None and self.file.last_write_error is not None:
            self.file.note_write(None)
        return sorted({i["card"] for i in items} - known)

    def _insert_feedback(self, service_id: str, items: list[dict[str, Any]], received_at: datetime) -> set[str]:
        uuids = {i["card"] for i in items}
        with self._sessions.begin() as session:
            offered: dict[str, set[str]] = {}
            for card_uuid, suggestion_uuids in session.execute(
                    select(IssuedCardRow.uuid, IssuedCardRow.suggestion_uuids).where(
                        IssuedCardRow.uuid.in_(uuids), IssuedCardRow.service_id == service_id)):
                offered.setdefault(card_uuid, set()).update(json.loads(suggestion_uuids))
            known = set(offered)
            for item in items:
                reason = (item.get("overrideReason") or {}).get("reason") or {}
                accepted = [s["id"] for s in item.get("acceptedSuggestions") or ()]
                checked = set(accepted) <= offered[item["card"]] if accepted and item["card"] in known else None
                session.add(FeedbackRow(
                    service_id=service_id, card_uuid=item["card"], card_known=item["card"] in known,
                    suggestions_known=checked,
                    outcome=item["outcome"], accepted_suggestions=json.dumps(accepted) if accepted else None,
                    override_system=reason.get("system"), override_code=reason.get("code"),
                    override_display=reason.get("display"),
                    user_comment=(item.get("overrideReason") or {}).get("userComment"),
                    outcome_timestamp=_utc(item["outcomeTimestamp"]), received_at=_utc(received_at)))
        return known

    def feedback_for(self, card_uuid: str) -> list[FeedbackRecord]:
        """Feedback on one card, oldest first, joined (outer) to the issued card."""
        stmt = (select(FeedbackRow, IssuedCardRow)
                .join(IssuedCardRow, IssuedCardRow.uuid == FeedbackRow.card_uuid, isouter=True)
                .where(FeedbackRow.card_uuid == card_uuid).order_by(FeedbackRow.id))
        with self._sessions() as session:
            rows = session.execute(stmt).all()
            return [FeedbackRecord(
                card_uuid=f.card_uuid, card_known=f.card_known, suggestions_known=f.suggestions_known,
                outcome=f.outcome,
                accepted_suggestions=json.loads(f.accepted_suggestions) if f.accepted_suggestions else [],
                override_code=f.override_code, override_system=f.override_system,
                override_display=f.override_display, user_comment=f.user_comment,
                outcome_timestamp=_utc(f.outcome_timestamp), received_at=_utc(f.received_at),
                service_id=f.service_id, issued_topic=c.topic if c else None,
                issued_rule_ids=json.loads(c.rule_ids) if c else None,
                issued_hook_instance=c.hook_instance if c else None,
            ) for f, c in rows]

