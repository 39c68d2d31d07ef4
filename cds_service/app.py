"""The Flask application: create_app() loads the settings, opens the store, and wires the blueprints, CORS, the
error handlers, security and the garbage-collector pause together; GET /healthz (liveness) and /readyz (readiness)."""
from __future__ import annotations

import functools
import logging
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

import orjson
from flask import Flask, Response
from sqlalchemy.exc import SQLAlchemyError

from cds_service import config, errors, pages, pipeline
from cds_service.api import cors, discovery, feedback, hooks
from cds_service.security import web as security
from cds_service.runtime import metrics
from cds_service.runtime.gc_pause import GcPause
from cds_service.persistence.store import Store

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def random_uuids() -> Callable[[], str]:
    """UUID_FACTORY default: called once per request, returns the source of that request's uuids."""
    return lambda: str(uuid.uuid4())


# Injection points that are objects, not environment values (tests and the security module set them):
#   CLOCK              () -> aware datetime, the "now" of every rule
#   UUID_FACTORY       () -> (() -> str), called once per response; golden tests count from 1 per request
#   ALLOW_FHIR_SERVER  (url) -> bool, consulted before any request to a fhirServer. None (the default): the
#                      security module's allowlist for the calling issuer (security.fhir_server_policy); tests
#                      may inject a predicate, which then replaces the allowlist.
#   FHIR_REQUEST_OBSERVER  (outcome, seconds) -> None, told of every request to a fhirServer (fhir/gather.py). None
#                      (the default): runtime/metrics.py's when CDS_METRICS is on, else nothing.
INJECTED: dict[str, Any] = {"CLOCK": utc_now, "UUID_FACTORY": random_uuids, "ALLOW_FHIR_SERVER": None,
                            "FHIR_REQUEST_OBSERVER": None}


def health(store: Store) -> Response:
    """GET /healthz: 200 ``{"status": "ok"}``; 503 when the database file was removed or replaced (writes are refused
    until a restart); 200 ``degraded`` with the reason while the last write failed (disk full, I/O error)."""
    writable, note = store.health()
    if writable and note is None:
        return Response(b'{"status":"ok"}', mimetype="application/json")
    body = {"status": "degraded" if writable else "unavailable", "database": note}
    return Response(orjson.dumps(body), status=200 if writable else 503, mimetype="application/json")


@functools.lru_cache(maxsize=1)
def terminology_loaded() -> bool:
    """Every value set, unit table and drug mapping loads (cached by terminology: the first call loads, ~0.2 s)."""
    from terminology import drugs, units, valuesets
    for slug in valuesets.slugs():
        valuesets.load(slug)
    units.analytes()
    drugs.ingredients()
    return True


def ready(store: Store) -> Response:
    """GET /readyz (readiness, not liveness: /healthz): 200 ``{"status": "ready"}`` when the database answers, its
    schema is the current revision and the terminology is loaded; else 503 naming the reason (a fixed code and a
    sentence: never a URL, password or driver message). Not behind client authentication, like /healthz."""
    problem = store.readiness()
    if problem is None:
        try:
            terminology_loaded()
        except Exception as err:  # a missing or broken data file: the service cannot evaluate a call
            log.error("readiness: terminology not loaded (%s)", type(err).__name__)
            problem = "terminology-unavailable", f"the terminology data did not load ({type(err).__name__})"
    if problem is None:
        return Response(b'{"status":"ready"}', mimetype="application/json")
    reason, detail = problem
    return Response(orjson.dumps({"status": "not-ready", "reason": reason, "detail": detail}), status=503,
                    mimetype="application/json")


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build a configured app; tests pass overrides instead of touching os.environ."""
    app = Flask(__name__)
    # No redirects from routing: werkzeug answers '//' in a path with a 308 whose Location it builds from the Host
    # header. Such a path is a 404 OperationOutcome instead. (Its other redirect, to add a trailing slash, needs a
    # rule that ends in '/': there is none, and tests/test_server_edges.py checks that.)
    app.url_map.merge_slashes = False
    app.config.from_mapping(config.DEFAULTS)
    app.config.from_mapping(INJECTED)
    app.config.from_prefixed_env("CDS")  # CDS_FHIR_TIMEOUT_S=5 -> FHIR_TIMEOUT_S (JSON-decoded)
    app.config.update(overrides or {})
    config.validate(app.config)  # a bad value fails at start-up, not mid-shift
    for name in ("cds_service", "cards", "terminology"):
        logging.getLogger(name).setLevel(app.config["LOG_LEVEL"])
    # urllib3 logs every request URL at DEBUG, and FHIR URLs carry the patient id: keep it at WARNING.
    logging.getLogger("urllib3").setLevel(logging.WARNING)

    store: Store | None = None
    try:
        store = Store(app.config["DATABASE_URL"])
        # The schema: SQLite is brought to the current revision; any other database must be at it already
        # (`leg-pain-cds db upgrade`), else migrations.SchemaNotCurrent (a ConfigError: exit 2 with its sentence).
        store.create()
    except (SQLAlchemyError, ImportError, OSError, config.ConfigError) as err:
        if store is not None:
            store.close()
        if isinstance(err, config.ConfigError):
            raise
        # An unknown dialect, a driver that is not installed, a folder that cannot be created, a server that does
        # not answer: the service cannot keep its records, so it must not start (no credentials in the message).
        raise config.ConfigError(f"CDS_DATABASE_URL: cannot open the database ({type(err).__name__}: "
                                 f"{str(err).splitlines()[0][:200]})") from err
    app.extensions["cds_store"] = store

    for blueprint in (discovery.bp, hooks.bp, feedback.bp):
        app.register_blueprint(blueprint)
    app.add_url_rule("/healthz", "healthz", lambda: health(store))
    app.add_url_rule("/readyz", "readyz", lambda: ready(store))
    # CDS_METRICS: GET /metrics, request timing (before security's hooks, so that it includes them), FHIR fallbacks.
    metrics.init_app(app)
    if app.config["METRICS"] and app.config["FHIR_REQUEST_OBSERVER"] is None:
        app.config["FHIR_REQUEST_OBSERVER"] = metrics.fhir_request
    cors.init_app(app)  # CDS_CORS_ORIGINS; a refused browser origin is logged (cds_service/api/cors.py)
    errors.register(app)
    # Client authentication, FHIR server allowlist, security headers, audit (warns loudly when CDS_AUTH=none).
    security.init_app(app, engine=store.engine)
    # What bounds each hook evaluation, derived once from the validated settings (they do not change while serving).
    app.extensions[pipeline.SETTINGS_EXTENSION] = pipeline.Settings.from_config(app.config)
    pages.init_app(app)  # CDS_PAGES: the browser pages (cds_service/pages), by default only when CDS_AUTH=none
    if app.config["GC_PAUSE"]:  # the request's JSON tree is freed by reference counting (cds_service/runtime/gc_pause.py)
        pause = GcPause()
        app.extensions["cds_gc_pause"] = pause
        app.wsgi_app = pause.wrap(app.wsgi_app)  # type: ignore[method-assign,assignment]
    return app
