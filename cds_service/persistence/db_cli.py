"""`leg-pain-cds db upgrade | current | check`: the schema migrations against CDS_DATABASE_URL.

``upgrade`` brings the database to the revision this version runs on (a database made before migrations existed is
brought under them, every row kept); ``current`` shows where it is; ``check`` exits 1 when it is not current (a
deployment step or a readiness gate); ``downgrade REV`` takes it back to an older revision before a rollback. Exit 2: no database to talk to, or a revision this version does not know.
The URL is shown without its password.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, TextIO

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from cds_service import config
from cds_service.persistence import migrations
from cds_service.persistence.store import Store


def database_url() -> str:
    """CDS_DATABASE_URL as the service reads it (the per-user SQLite file when unset); ConfigError when malformed."""
    value = os.environ.get("CDS_DATABASE_URL", "").strip()
    if not value:
        return config.default_database_url()
    [setting] = [s for s in config.SETTINGS if s.name == "DATABASE_URL"]
    try:
        return str(setting.check(value))
    except ValueError as err:
        raise config.ConfigError(f"CDS_DATABASE_URL: {err}") from None


def shown(url: str) -> str:
    """The URL without its password."""
    return make_url(url).render_as_string(hide_password=True)


def _run(action: Callable[[Store, TextIO], int], out: TextIO | None = None, err: TextIO | None = None) -> int:
    stdout, stderr = out or sys.stdout, err or sys.stderr
    try:
        url = database_url()
        store = Store(url)
    except (config.ConfigError, SQLAlchemyError, ImportError, OSError) as error:
        print(f"leg-pain-cds db: {_first_line(error)}", file=stderr)
        return 2
    try:
        print(f"database: {shown(url)}", file=stdout)
        return action(store, stdout)
    except migrations.SchemaNotCurrent as error:
        print(f"leg-pain-cds db: {error}", file=stderr)
        return 2
    except (SQLAlchemyError, OSError) as error:  # the server does not answer, the file cannot be opened
        print(f"leg-pain-cds db: cannot use the database ({type(error).__name__}: {_first_line(error)})",
              file=stderr)
        return 2
    finally:
        store.close()


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0][:300]


def upgrade(store: Store, out: TextIO) -> int:
    before, after = migrations.upgrade(store.engine)
    if before.current:
        print(f"already at revision {after.head} (current): nothing to do", file=out)
    else:
        was = {"empty": "an empty database", "unversioned": "tables made before migrations"}.get(
            before.state, f"revision {before.revision}")
        print(f"upgraded from {was} to revision {after.revision} (current)", file=out)
    return 0


def current(store: Store, out: TextIO) -> int:
    found = migrations.status(store.engine)
    print(f"revision: {found.revision or 'none'}; this version's head: {found.head}", file=out)
    print(found.describe(), file=out)
    return 0


def check(store: Store, out: TextIO) -> int:
    found = migrations.status(store.engine)
    print(found.describe(), file=out)
    return 0 if found.current else 1


def downgrade(revision: str) -> Callable[[Store, TextIO], int]:
    def run(store: Store, out: TextIO) -> int:
        before, after = migrations.downgrade(store.engine, revision)
        if before.revision == after.revision:
            print(f"already at revision {after.revision}: nothing to do", file=out)
        else:
            print(f"downgraded from revision {before.revision} to {after.revision}", file=out)
        return 0
    return run


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("db", help="database schema migrations (CDS_DATABASE_URL)")
    sub = parser.add_subparsers(dest="db_command", required=True)
    sub.add_parser("upgrade", help="bring the database to this version's schema (keeps every row)") \
        .set_defaults(func=lambda args: _run(upgrade))
    sub.add_parser("current", help="show the database's schema revision and this version's") \
        .set_defaults(func=lambda args: _run(current))
    sub.add_parser("check", help="exit 0 when the schema is current, 1 when it is not, 2 when it cannot be read") \
        .set_defaults(func=lambda args: _run(check))
    down = sub.add_parser("downgrade", help="take the schema back to an older revision before rolling the service "
                                            "back (run with the newer version; never to 'base')")
    down.add_argument("revision", help="the revision the older version runs on (its `db current` head)")
    down.set_defaults(func=lambda args: _run(downgrade(args.revision)))
