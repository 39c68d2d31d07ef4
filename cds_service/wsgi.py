"""WSGI entry point for any WSGI server: ``gunicorn 'cds_service.wsgi:app'``. The one import-time create_app().

``leg-pain-cds serve`` is the supported way to run the service (it sets workers, timeouts and fork handling);
this module is for platforms that insist on importing a WSGI callable themselves.
"""
from __future__ import annotations

import atexit

from cds_service import create_app
from cds_service.runtime import logs
app = create_app()
logs.configure(app.config["LOG_LEVEL"])
# A clean exit checkpoints SQLite's write-ahead log into the database file (as `serve` does when it stops).
atexit.register(app.extensions["cds_store"].shutdown)
