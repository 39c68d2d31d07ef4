"""HTTP endpoints (Flask blueprints): discovery, hook calls, feedback, and what every request passes through (CORS,
input limits, response headers). The routes are thin: a hook call is one call to cds_service.pipeline."""
