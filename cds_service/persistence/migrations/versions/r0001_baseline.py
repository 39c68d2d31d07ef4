"""Baseline: the five tables as the service made them before migrations existed (``metadata.create_all``).

Revision ID: 0001
Revises: (none)

On an empty database this creates today's schema exactly: issued_card, withheld_card, feedback, audit_event and
auth_seen_jti, with their indexes. A database made before migrations existed already holds some or all of these
tables, with rows: each table that exists is left as it is (rows included) and only what is missing is created, so
that running this revision brings such a database under migrations. The one column added to an existing table
before migrations existed, ``feedback.suggestions_known`` (nullable), is added when absent. Whether the tables that
were kept have every column the service reads is checked after the upgrade (migrations.upgrade).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _tables() -> list[sa.Table]:
    """The tables of this revision, on a MetaData of their own (never the service's: that one moves with head)."""
    meta = sa.MetaData()
    tz = sa.DateTime(timezone=True)
    return [
        sa.Table(
            "issued_card", meta,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("uuid", sa.String(64), nullable=False, index=True),
            sa.Column("service_id", sa.String(100), nullable=False, index=True),
            sa.Column("hook_instance", sa.String(64), nullable=False, index=True),
            sa.Column("topic", sa.String(64), nullable=True),
            sa.Column("indicator", sa.String(16), nullable=False),
            sa.Column("rule_ids", sa.Text, nullable=False),
            sa.Column("suggestion_uuids", sa.Text, nullable=False),
            sa.Column("issued_at", tz, nullable=False, index=True),
        ),
        sa.Table(
            "withheld_card", meta,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("service_id", sa.String(100), nullable=False, index=True),
            sa.Column("hook_instance", sa.String(64), nullable=False, index=True),
            sa.Column("topic", sa.String(64), nullable=True),
            sa.Column("indicator", sa.String(16), nullable=False),
            sa.Column("rule_ids", sa.Text, nullable=False),
            sa.Column("reason", sa.String(64), nullable=False),
            sa.Column("withheld_at", tz, nullable=False, index=True),
        ),
        sa.Table(
            "feedback", meta,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("service_id", sa.String(100), nullable=False, index=True),
            sa.Column("card_uuid", sa.String(200), nullable=False, index=True),
            sa.Column("card_known", sa.Boolean, nullable=False),
            sa.Column("outcome", sa.String(16), nullable=False),
            sa.Column("accepted_suggestions", sa.Text, nullable=True),
            sa.Column("suggestions_known", sa.Boolean, nullable=True),
            sa.Column("override_system", sa.String(300), nullable=True),
            sa.Column("override_code", sa.String(100), nullable=True),
            sa.Column("override_display", sa.Text, nullable=True),
            sa.Column("user_comment", sa.Text, nullable=True),
            sa.Column("outcome_timestamp", tz, nullable=False),
            sa.Column("received_at", tz, nullable=False, index=True),
        ),
        sa.Table(
            "audit_event", meta,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("at", tz, nullable=False, index=True),
            sa.Column("request_id", sa.String(64), nullable=False),
            sa.Column("endpoint", sa.String(16), nullable=False),
            sa.Column("method", sa.String(8), nullable=False),
            sa.Column("service_id", sa.String(128), nullable=True),
            sa.Column("issuer", sa.String(512), nullable=True),
            sa.Column("hook_instance", sa.String(128), nullable=True),
            sa.Column("status", sa.Integer, nullable=False),
            sa.Column("outcome", sa.String(32), nullable=False),
            sa.Column("card_count", sa.Integer, nullable=True),
            sa.Column("reason", sa.String(64), nullable=True),
            sa.Column("latency_ms", sa.Float, nullable=False),
        ),
        sa.Table(
            "auth_seen_jti", meta,
            sa.Column("digest", sa.String(64), primary_key=True),
            sa.Column("expires_at", sa.Float, nullable=False, index=True),
        ),
    ]


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    for table in _tables():
        if table.name not in existing:
            table.create(bind)  # the table and its indexes (ix_<table>_<column>, as create_all named them)
    if "feedback" in existing:
        columns = {c["name"] for c in sa.inspect(bind).get_columns("feedback")}
        if "suggestions_known" not in columns:  # databases made before accepted suggestions were checked
            op.add_column("feedback", sa.Column("suggestions_known", sa.Boolean, nullable=True))


def downgrade() -> None:
    for table in reversed(_tables()):
        op.drop_table(table.name)
