"""Schema migrations (Alembic), run from Python: no alembic.ini, the scripts ship inside the package.

Every table on the one MetaData (persistence/db.py) is created and changed only by the revisions in ``versions/``.
``upgrade(engine)`` brings a database to the newest revision (``leg-pain-cds db upgrade``), ``downgrade(engine, rev)``
takes it back to an older one before a rollback (``db downgrade REV``); ``status(engine)`` says where it is;
``prepare(engine)`` is what start-up does:

* SQLite (one host): a new file, an older one or one made before migrations existed is upgraded in place, under
  SQLite's write lock (``BEGIN IMMEDIATE``), so several workers or processes starting at once migrate it once;
* any other database (PostgreSQL, several replicas): nothing is changed; a schema that is not the newest revision
  raises SchemaNotCurrent, and the service does not start (an operator runs ``leg-pain-cds db upgrade``, or the
  Helm chart's init container does, before each new pod serves).

A database made before migrations existed (tables from ``metadata.create_all``, no ``alembic_version`` table) is
recognised by its tables: the baseline revision keeps each of them with its rows and adds what is missing.

A new revision is written by hand as ``versions/rNNNN_<what>.py`` (the shape of script.py.mako; ``down_revision`` the
previous one) together with the change to the tables' declarations: tests/test_migrations.py checks that a database
upgraded through every revision has exactly the declared schema, on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

from cds_service.config import ConfigError
from cds_service.persistence.db import METADATA

HERE = Path(__file__).resolve().parent
VERSION_TABLE = "alembic_version"
# The tables of the baseline revision: any of them without a version table is a database made before migrations.
BASELINE_TABLES = frozenset({"issued_card", "withheld_card", "feedback", "audit_event", "auth_seen_jti"})
# PostgreSQL advisory lock key held while migrating (any constant; "lpcdsmig" in ASCII, truncated to 63 bits).
_PG_LOCK_KEY = 0x6C7063_64736D69


# Alembic's `context` and `op` are module-level proxies: two migrations running at once in one process (two databases,
# two threads) would share them. The database lock orders migrators of one database; this orders those of a process.
_ALEMBIC = threading.Lock()


class SchemaNotCurrent(ConfigError):
    """The database's schema is not the revision this version of the service runs on."""


def alembic_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration, built in code: the scripts beside this module, the connection to run on."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")  # script_location may hold spaces; nothing else is split
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The newest revision: the schema this version of the service runs on."""
    revision = _scripts().get_current_head()
    if revision is None:  # no scripts shipped: a broken install, not a database problem
        raise RuntimeError(f"no migration scripts in {HERE / 'versions'}")
    return revision


def known(revision: str) -> bool:
    """Whether this version of the service ships `revision` (older revisions than head included)."""
    return revision in {script.revision for script in _scripts().walk_revisions()}


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database stands against this version's migrations."""

    revision: str | None  # what alembic_version holds; None: no version table (empty, or made before migrations)
    head: str
    tables: frozenset[str]  # the baseline tables present (looked up only when there is no version table)

    @property
    def state(self) -> str:
        """current | empty | unversioned (made before migrations) | behind (an older revision) | unknown (newer)."""
        if self.revision == self.head:
            return "current"
        if self.revision is None:
            return "unversioned" if self.tables else "empty"
        return "behind" if known(self.revision) else "unknown"

    @property
    def current(self) -> bool:
        return self.state == "current"

    def describe(self) -> str:
        """One sentence for an operator: where the schema is and what to do."""
        state = self.state
        if state == "current":
            return f"the database schema is at revision {self.head} (current)"
        if state == "empty":
            return f"the database has no schema yet (this version needs revision {self.head}): " \
                   "run `leg-pain-cds db upgrade`"
        if state == "unversioned":
            return (f"the database was made before schema migrations existed (tables {', '.join(sorted(self.tables))},"
                    f" no {VERSION_TABLE}); this version needs revision {self.head}: run `leg-pain-cds db upgrade`"
                    " (it keeps every row)")
        if state == "behind":
            return f"the database schema is at revision {self.revision}, this version needs {self.head}: " \
                   "run `leg-pain-cds db upgrade`"
        return (f"this version does not know revision {self.revision} (its newest is {self.head}): "
                "upgrade the service or roll the database back")


def status(connectable: Engine | Connection) -> SchemaStatus:
    """Read the schema's revision, and which baseline tables exist when there is none (changes nothing)."""
    if isinstance(connectable, Engine):
        with connectable.connect() as conn:
            return status(conn)
    revision = MigrationContext.configure(connectable).get_current_revision()
    tables = frozenset(inspect(connectable).get_table_names()) & BASELINE_TABLES if revision is None else frozenset()
    return SchemaStatus(revision=revision, head=head(), tables=tables)


def _lock(conn: Connection) -> None:
    """Begin the migration transaction holding the database's migration lock (one migrator at a time)."""
    if conn.dialect.name == "sqlite":
        # pysqlite starts no transaction before DDL; an explicit BEGIN IMMEDIATE takes the write lock now (waiting
        # up to the busy timeout for another process migrating the same file) and makes the DDL transactional.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")


def _missing_columns(conn: Connection) -> list[str]:
    """Columns the service reads that the database's tables lack ("table.column")."""
    inspector = inspect(conn)
    missing = []
    for table in METADATA.sorted_tables:
        if inspector.has_table(table.name):
            have = {c["name"] for c in inspector.get_columns(table.name)}
            missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in have]
    return missing


def upgrade(engine: Engine) -> tuple[SchemaStatus, SchemaStatus]:
    """Bring the database to head in one transaction; return (before, after).

    SchemaNotCurrent when the database is at a revision this version does not know (newer), or when a table made
    before migrations lacks a column the service reads (nothing is changed then).
    """
    with engine.connect() as conn:
        _lock(conn)
        before = status(conn)
        if before.state == "unknown":
            raise SchemaNotCurrent(before.describe())
        if before.state != "current":
            with _ALEMBIC:
                command.upgrade(alembic_config(conn), "head")
            if before.state == "unversioned":
                missing = _missing_columns(conn)
                if missing:
                    conn.rollback()
                    raise SchemaNotCurrent("the database's tables were not made by this service (missing "
                                           f"{', '.join(missing[:5])}): nothing was changed")
        after = status(conn)
        conn.commit()
    return before, after


def downgrade(engine: Engine, revision: str) -> tuple[SchemaStatus, SchemaStatus]:
    """Take the database back to `revision` (an older revision this version ships) in one transaction, before rolling
    the service back to the version that runs on it; return (before, after).

    Never to "base": that would drop every table with its rows (restore a backup instead). SchemaNotCurrent when
    `revision` or the database's own revision is one this version does not know.
    """
    if revision == "base":
        raise SchemaNotCurrent("refusing to downgrade to base: it would drop every table with its rows "
                               "(restore a backup instead)")
    if not known(revision):
        raise SchemaNotCurrent(f"this version does not know revision {revision!r}: "
                               "downgrade with the version that made the newer revision")
    with engine.connect() as conn:
        _lock(conn)
        before = status(conn)
        if before.state == "unknown":
            raise SchemaNotCurrent(before.describe())
        if before.revision is None:
            raise SchemaNotCurrent(f"the database is at no revision ({before.state}): nothing to downgrade")
        if before.revision != revision:
            with _ALEMBIC:
                command.downgrade(alembic_config(conn), revision)
        after = status(conn)
        conn.commit()
    return before, after


_PREPARED: weakref.WeakSet[Engine] = weakref.WeakSet()


def prepare(engine: Engine) -> SchemaStatus:
    """At start-up: SQLite is upgraded to head; any other database must already be at head (SchemaNotCurrent).

    Checked once per engine (the store, the audit log and the replay guard share one).
    """
    if engine in _PREPARED:
        return SchemaStatus(revision=head(), head=head(), tables=frozenset())
    found = status(engine)
    if not found.current:
        if engine.dialect.name != "sqlite" or found.state == "unknown":
            raise SchemaNotCurrent(f"CDS_DATABASE_URL: {found.describe()}")
        _, found = upgrade(engine)
    _PREPARED.add(engine)
    return found
