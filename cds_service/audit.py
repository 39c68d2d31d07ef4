"""The audit trail: one database row per call to discovery, a service or feedback — rejected calls included.

What a hospital's security team asks for, and nothing that identifies a patient: time, verified issuer,
service id, hookInstance, HTTP status, outcome (cards returned and how many, or the 4xx reason code) and
latency. No patient id, no names, no values, no token, no request body.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any, Sequence

from sqlalchemy import Column, DateTime, Float, Integer, MetaData, String, Table, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

METADATA = MetaData()  # our own, so store.py's tables and ours never collide

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

_AUDIT_INSERT = insert(AUDIT_EVENT)  # built once, executed with a dict of values per call

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


class AuditLog:
    """Writes and reads audit rows."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        METADATA.create_all(engine)

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
        if values is None and not any(rows for _, rows in also):
            return
        try:
            with self.engine.begin() as conn:
                if values is not None:
                    conn.execute(_AUDIT_INSERT, values)
                for statement, rows in also:
                    if rows:
                        conn.execute(statement, rows)
        except SQLAlchemyError:  # logged with the request id; re-raising would turn an answer into a 500
            log.exception("record write failed (audit row and issued cards) request_id=%s",
                          event.request_id if event else "-")

    def recent(self, limit: int = 100) -> list[AuditEvent]:
        """The latest rows, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(AUDIT_EVENT).order_by(AUDIT_EVENT.c.id.desc()).limit(limit)).mappings()
            return [AuditEvent(**{k: row[k] for k in AuditEvent.__dataclass_fields__}) for row in rows]
