"""Alembic's environment for the service's migrations: online only, on the connection the caller passes.

Run through ``leg-pain-cds db upgrade`` (or cds_service.persistence.migrations.upgrade), which opens the connection,
takes the migration lock and commits; there is no alembic.ini and no URL here.
"""
from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

import cds_service.persistence.store  # noqa: F401  # declares the ORM tables on METADATA
import cds_service.persistence.audit  # noqa: F401
from cds_service.persistence.db import METADATA

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("the migrations run on a connection given by cds_service.persistence.migrations "
                       "(`leg-pain-cds db upgrade`), not through the alembic command with an alembic.ini")
context.configure(connection=connection, target_metadata=METADATA, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
