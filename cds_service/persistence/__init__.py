"""The service's records (SQLAlchemy 2, one MetaData in db): issued and withheld cards with clinician feedback
(store), and the audit trail (audit). SQLite by default, PostgreSQL for several hosts. The schema is made and changed
only by the Alembic revisions in migrations/ (`leg-pain-cds db upgrade`, db_cli)."""
