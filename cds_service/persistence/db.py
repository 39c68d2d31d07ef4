"""The one SQLAlchemy MetaData of the service: every table (issued cards, withheld cards, feedback, audit events,
seen JWT ids) is declared on it, so that the schema is one thing to create, inspect or migrate. It is created and
changed only by the revisions in migrations/versions (never ``create_all``); tests/test_migrations.py checks that a
database at the newest revision matches these declarations exactly."""
from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

METADATA = MetaData()


class Base(DeclarativeBase):
    """Declarative base of the ORM-mapped tables (store.py); Core tables (audit.py, replay.py) use METADATA."""

    metadata = METADATA
