"""One-time use of client JWTs: seen ``jti`` values kept in the database until their token expires.

Several gunicorn worker processes (and several hosts) answer calls, so an in-memory set would let a captured
token be replayed against another worker. A table with a unique key on (issuer, jti) makes the database the
arbiter: the first INSERT wins, a second one fails with IntegrityError. Expired rows are purged as we go.
The jti is stored as a SHA-256 digest so the row has a fixed size whatever the client sends.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Column, Float, String, Table, delete, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from cds_service.persistence import migrations
from cds_service.persistence.db import METADATA

log = logging.getLogger(__name__)


SEEN_JTI = Table(
    "auth_seen_jti",
    METADATA,
    Column("digest", String(64), primary_key=True),  # sha256(iss NUL jti)
    Column("expires_at", Float, nullable=False, index=True),  # epoch seconds; purge after this
)

PURGE_INTERVAL_S = 60.0


class ReplayGuard:
    """Records each (issuer, jti) once; a second use within its lifetime is a replay."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self._clock = clock
        self._last_purge = 0.0
        self._lock = threading.Lock()
        migrations.prepare(engine)  # the schema is the current revision (SQLite: upgraded; others: checked)

    @staticmethod
    def digest(issuer: str, jti: str) -> str:
        """Fixed-size key for an (issuer, jti) pair."""
        return hashlib.sha256(f"{issuer}\x00{jti}".encode()).hexdigest()

    def first_use(self, issuer: str, jti: str, expires_at: float) -> bool:
        """Record the jti; True on its first use, False when it was already used (a replay)."""
        now = self._clock()
        self._maybe_purge(now)
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(SEEN_JTI).values(digest=self.digest(issuer, jti), expires_at=expires_at))
        except IntegrityError:
            # The row may be an expired one not yet purged: then this is a legitimate new use (only possible
            # when a client reuses jtis across tokens, which the spec forbids, but honour the lifetime rule).
            with self.engine.begin() as conn:
                removed = conn.execute(
                    delete(SEEN_JTI).where(SEEN_JTI.c.digest == self.digest(issuer, jti), SEEN_JTI.c.expires_at < now)
                ).rowcount
            if not removed:
                return False
            return self.first_use(issuer, jti, expires_at)
        return True

    def _maybe_purge(self, now: float) -> None:
        with self._lock:
            if now - self._last_purge < PURGE_INTERVAL_S:
                return
            self._last_purge = now
        with self.engine.begin() as conn:
            purged = conn.execute(delete(SEEN_JTI).where(SEEN_JTI.c.expires_at < now)).rowcount
        if purged:
            log.debug("purged expired jti rows count=%d", purged)

    def count(self) -> int:
        """Rows currently held (for tests and operators)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(SEEN_JTI)).scalar_one())
