"""The one SQLAlchemy MetaData of the service: every table (issued cards, withheld cards, feedback, audit events,
seen JWT ids) is declared on it, so that the schema is one thing to create, inspect or migrate."""
from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

METADATA = MetaData()


class Base(DeclarativeBase):
    """Declarative base of the ORM-mapped tables (store.py); Core tables (audit.py, replay.py) use METADATA."""

    metadata = METADATA
