"""The audit trail: one database row per call to discovery, a service or feedback — rejected calls included.

What a hospital's security team asks for, and nothing that identifies a patient: time, verified issuer,
service id, hookInstance, HTTP status, outcome (cards returned and how many, or the 4xx reason code) and
latency. No patient id, no names, no values, no token, no request body.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import sqlite3
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from sqlalchemy import Column, DateTime, Float, Integer, String, Table, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError, StatementError
from sqlalchemy.sql.dml import Insert

from cds_service.persistence import migrations
from cds_service.persistence.db import METADATA

log = logging.getLogger(__name__)


AUDIT_EVENT = Table(
    "audit_event",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("request_id", String(64), nullable=False),
    Column("endpoint", String(16), nullable=False),  # discovery | service | feedback | other
    Column("method", String(8), nullable=False),
    Column("service_id", String(128)),
    Column("issuer", String(512)),  # verified issuer only; None when auth is off or the token was rejected
    Column("hook_instance", String(128)),
    Column("status", Integer, nullable=False),
    Column("outcome", String(32), nullable=False),  # cards | no-cards | rejected | error | ok
    Column("card_count", Integer),
    Column("reason", String(64)),  # a fixed reason code for 4xx/5xx (e.g. auth-expired, invalid, not-found)
    Column("latency_ms", Float, nullable=False),
)


# hookInstance is a client-chosen string; keep it only when it looks like the UUID/ID the spec intends, so a
# client cannot push free text (or PHI) into the audit table.
_SAFE_TOKEN = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def safe_token(value: object) -> str | None:
    """The value when it is a short id-like string, else None."""
    return value if isinstance(value, str) and _SAFE_TOKEN.match(value) else None


@dataclass(frozen=True)
class AuditEvent:
    """One call, as recorded."""

    at: dt.datetime
    request_id: str
    endpoint: str
    method: str
    service_id: str | None
    issuer: str | None
    hook_instance: str | None
    status: int
    outcome: str
    card_count: int | None
    reason: str | None
    latency_ms: float


class DatabaseFile:
    """Whether a SQLite database file is still the one the service opened, and how its last write went.

    Deleting the database's folder (or replacing the file) while the service runs leaves every open connection
    writing to an unlinked file: commits succeed and are gone at the next restart. ``problem()`` compares the
    path's device and inode with those remembered at start-up (one ``stat``, about a microsecond; called before each
    write and after each feedback commit), so such writes are refused instead of acknowledged (503 for feedback, a
    logged and counted missing audit row for hook calls) and /healthz reports it. A write the database refuses
    (disk full, I/O error) is noted too, until a write succeeds again.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.identity: tuple[int, int] | None = None
        self.last_write_error: str | None = None

    def remember(self) -> None:
        """Note the file's identity: call once the schema exists (the file has been created)."""
        st = os.stat(self.path)
        self.identity = (st.st_dev, st.st_ino)

    def problem(self) -> str | None:
        """Why writes must be refused (the file is gone or replaced), else None."""
        if self.identity is None:
            return None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return "the database file was removed while the service runs; restart it"
        except OSError as err:
            return f"the database file cannot be checked ({type(err).__name__}); restart the service"
        if (st.st_dev, st.st_ino) != self.identity:
            return "the database file was replaced while the service runs; restart it"
        return None

    def note_write(self, error: BaseException | None) -> None:
        """Record how the last write went (None: it succeeded)."""
        self.last_write_error = None if error is None else describe_write_error(error)


def describe_write_error(error: BaseException) -> str:
    """A short, fixed description of a failed write (the DBAPI message names no value, but is not shown whole)."""
    text = str(getattr(error, "orig", None) or error).lower()
    for needle, said in (("full", "the disk is full"), ("no space", "the disk is full"), ("disk i/o", "disk I/O error"),
                         ("readonly", "read-only"),
                         ("read-only", "read-only"), ("locked", "the database is locked"), ("busy", "busy")):
        if needle in text:
            return f"write refused by the database: {said}"
    return f"write refused by the database ({type(getattr(error, 'orig', None) or error).__name__})"


_FILES: weakref.WeakKeyDictionary[Engine, DatabaseFile] = weakref.WeakKeyDictionary()


def register_file(engine: Engine, database_file: DatabaseFile) -> None:
    """Tie a SQLite database file's guard to its engine (store.Store does; AuditLog looks it up)."""
    _FILES[engine] = database_file


def database_file(engine: Engine) -> DatabaseFile | None:
    """The guard of an engine's SQLite database file (None: not a file database)."""
    return _FILES.get(engine)


_PLAIN_INSERTS: list[tuple[Insert, Table]] = []


def plain_insert(table: Any) -> Insert:
    """``insert(table)``, registered as one _SqliteWriter may write (rows of column values, nothing else)."""
    if not isinstance(table, Table):
        raise TypeError(f"plain_insert needs a Table, got {type(table).__name__}")
    statement = insert(table)
    _PLAIN_INSERTS.append((statement, table))
    return statement


def _plain_table(statement: Any, rows: list[dict[str, Any]]) -> Table | None:
    """The table of a registered plain insert given rows of the same columns (what _SqliteWriter writes as Core
    would), else None."""
    for registered, table in _PLAIN_INSERTS:
        if statement is registered:
            return table if all(row.keys() == rows[0].keys() for row in rows) else None
    return None


_AUDIT_INSERT = plain_insert(AUDIT_EVENT)  # built once, executed with a dict of values per call


class _SqliteWriter:
    """Inserts rows of the call's tables in one transaction through the pooled SQLite DBAPI connection.

    It stands in for Core's ``conn.execute(insert(table), rows)`` on the hot path of every hook call: same tables,
    same columns, each value converted by its column type's own SQLAlchemy bind processor (so a DateTime is stored
    exactly as Core stores it and reads back the same). Writing a call's audit row and four issued cards took
    0.45-0.49 ms through Core and takes 0.33-0.36 ms this way (docs/performance.md). Other databases keep the
    Core path.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._plans: dict[tuple[str, tuple[str, ...]], tuple[str, list[Any]]] = {}

    def _plan(self, table: Table, names: tuple[str, ...]) -> tuple[str, list[Any]]:
        key = (table.name, names)
        plan = self._plans.get(key)
        if plan is None:
            dialect = self.engine.dialect
            columns = [table.columns[name] for name in names]  # KeyError: not a column - a bug, not a write error
            processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
            quote = dialect.identifier_preparer.quote
            sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in columns)}) "
                   f"VALUES ({', '.join('?' for _ in columns)})")
            plan = self._plans[key] = (sql, processors)
        return plan

    def write(self, batches: list[tuple[Table, list[dict[str, Any]]]]) -> None:
        """Raises sqlite3.Error when the database refuses, and StatementError for a value or column it cannot take
        (what Core raises for those), after rolling back."""
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            for table, rows in batches:
                names = tuple(rows[0])
                try:
                    sql, processors = self._plan(table, names)
                    params = [tuple(p(v) if p else v for p, v in zip(processors, map(row.get, names))) for row in rows]
                except (KeyError, TypeError, ValueError) as err:  # an unknown column, a value of the wrong type
                    raise StatementError(f"cannot write {table.name}: {err!r}", None, None, err) from err
                cursor.executemany(sql, params)
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            connection.close()  # back to the pool


class AuditLog:
    """Writes and reads audit rows."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        migrations.prepare(engine)  # the schema is the current revision (SQLite: upgraded; others: checked)
        self._sqlite = _SqliteWriter(engine) if engine.dialect.name == "sqlite" else None
        self._file = database_file(engine)
        self.unwritten = 0  # calls of this process whose audit row (and issued cards) could not be written
        self._lock = threading.Lock()

    def record(self, event: AuditEvent | None, also: Sequence[tuple[Any, list[dict[str, Any]]]] = ()) -> None:
        """Insert one row (none when `event` is None), and `also` (statement, rows) pairs of the same call, in one
        transaction.

        A hook call writes its issued-card rows here, so that a call costs one commit, not two (with SQLite one
        write lock taken, not two, which is what several busy workers queue for). A failure is logged, never
        raised: record keeping must not turn an answer into a 500 or withhold cards from the clinician.
        """
        values = None
        if event is not None:
            values = {k: getattr(event, k) for k in AuditEvent.__dataclass_fields__}
            values["issuer"] = (event.issuer or None) and event.issuer[:512]
        batches = [(_AUDIT_INSERT, [values])] if values is not None else []
        batches += [(statement, rows) for statement, rows in also if rows]
        if not batches:
            return
        request_id = event.request_id if event else "-"
        problem = self._file.problem() if self._file is not None else None
        if problem is not None:  # the rows would go to an unlinked file and be lost: do not pretend
            self._unwritten(request_id, problem)
            return
        try:
            plain = [(_plain_table(s, rows), rows) for s, rows in batches] if self._sqlite is not None else []
            if self._sqlite is not None and all(table is not None for table, _ in plain):
                self._sqlite.write([(table, rows) for table, rows in plain if table is not None])
            else:
                with self.engine.begin() as conn:
                    for statement, rows in batches:
                        conn.execute(statement, rows if len(rows) > 1 else rows[0])
        except (SQLAlchemyError, sqlite3.Error) as err:  # logged with the request id; raising would turn an answer
            if self._file is not None:  # into a 500 or withhold the cards
                self._file.note_write(err)
            self._unwritten(request_id, describe_write_error(err), trace=True)
            return
        if self._file is not None and self._file.last_write_error is not None:
            self._file.note_write(None)

    def _unwritten(self, request_id: str, why: str, *, trace: bool = False) -> None:
        with self._lock:
            self.unwritten += 1
            count = self.unwritten
        log.error("record write failed (audit row and issued cards) request_id=%s reason=%s unwritten_total=%d",
                  request_id, why, count, exc_info=trace)

    def recent(self, limit: int = 100) -> list[AuditEvent]:
        """The latest rows, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(AUDIT_EVENT).order_by(AUDIT_EVENT.c.id.desc()).limit(limit)).mappings()
            return [AuditEvent(**{k: row[k] for k in AuditEvent.__dataclass_fields__}) for row in rows]
