"""WSGI entry point for any WSGI server: ``gunicorn 'cds_service.wsgi:app'``. The one import-time create_app()."""
from __future__ import annotations

from cds_service import create_app

app = create_app()
