"""Prometheus metrics: their definitions, the calls that record them, and ``GET /metrics`` (deploy/README.md).

Labels carry bounded, non-patient values only: the endpoint kind, a service id this service defines (any other id
is ``unknown``), the HTTP status, rule ids, card indicators, a FHIR request's outcome, a JWT rejection's reason code
and a feedback outcome. Never a patient id, a URL, a hookInstance or a value from the request.

Processes. ``leg-pain-cds serve`` builds the app in gunicorn's master and forks the workers. Each worker counts into
its own files in ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode), which serve points at a fresh
private directory per start (:func:`multiprocess_dir`) unless the operator set it; a scrape, answered by whichever
worker accepts it, adds up the files of every worker, exited ones included (a restarted worker's counts stay in the
totals, as counters must). With Flask's development server or a test client the process's own registry is served.

The metric objects are built when the first app is (:func:`init_app`), not when this module is imported:
prometheus_client chooses between in-memory values and the per-process files when it is first imported, which has
to come after serve has set PROMETHEUS_MULTIPROC_DIR, and this module is imported before (the CLI's plugins import
the hook route).

Where the facts are known: the hook and feedback routes call :func:`cards_decided` and :func:`feedback_stored`;
fhir/ and security/ sit below runtime/ (tests/test_architecture.py), so fhir/gather.py is handed :func:`fhir_request`
(the app's FHIR_REQUEST_OBSERVER) and the 401 reason is read back from security.web after the request.

Cost per hook call: one histogram observation and one counter increment per rule of each card issued or withheld.
"""
from __future__ import annotations

import hmac
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cards import registry
from flask import Flask, Response, current_app, g, request

from cds_service.errors import operation_outcome
from cds_service.security import web as security

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Histogram

log = logging.getLogger(__name__)

EXTENSION = "cds_metrics"
PATH = "/metrics"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNKNOWN = "unknown"

# Flask endpoint -> the `endpoint` label; other routes (/healthz, /metrics, ...) are not timed.
ENDPOINTS = {"hooks.call_service": "hook", "feedback.post_feedback": "feedback", "discovery.discovery": "discovery"}
# Seconds. A typical hook call takes 5-30 ms, a multi-megabyte prefetch a few hundred; FHIR fallbacks wait up to
# CDS_FHIR_TIMEOUT_S per request and CDS_FHIR_TOTAL_BUDGET_S per call.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
FHIR_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class Metrics:
    """The service's metrics, in one registry (never prometheus_client's global one)."""

    registry: CollectorRegistry
    requests: Histogram
    cards_issued: Counter
    cards_withheld: Counter
    fhir_requests: Histogram
    auth_rejections: Counter
    feedback: Counter


def _build() -> Metrics:
    from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

    # No `_created` samples: the same exposition with one process or with workers.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    reg = CollectorRegistry(auto_describe=True)
    return Metrics(
        registry=reg,
        requests=Histogram(
            "cds_http_request_duration_seconds",
            "Time to answer a CDS Hooks request (hook call, feedback, discovery), by service and HTTP status.",
            ("endpoint", "service", "status"), buckets=LATENCY_BUCKETS, registry=reg),
        cards_issued=Counter(
            "cds_cards_issued", "Cards returned to clients, counted once per rule behind each card.",
            ("service", "rule", "indicator"), registry=reg),
        cards_withheld=Counter(
            "cds_cards_withheld", "Possible-cause cards held back for want of leg-symptom context, per rule.",
            ("service", "rule"), registry=reg),
        fhir_requests=Histogram(
            "cds_fhir_request_duration_seconds",
            "Requests to a client's fhirServer for data that was not prefetched, by outcome.",
            ("outcome",), buckets=FHIR_BUCKETS, registry=reg),
        auth_rejections=Counter(
            "cds_auth_rejections", "Calls refused with 401 by client JWT authentication, by reason code.",
            ("reason",), registry=reg),
        feedback=Counter(
            "cds_feedback_items", "Feedback items stored, by outcome and whether this database issued the card.",
            ("service", "outcome", "card"), registry=reg),
    )


_lock = threading.Lock()
_metrics: Metrics | None = None


def metrics() -> Metrics:
    """The process's metrics, built on first use (module docstring: why not at import)."""
    global _metrics
    with _lock:
        if _metrics is None:
            _metrics = _build()
        return _metrics


# ---------------------------------------------------------------------------------------------- processes


def multiprocess_dir() -> tuple[str, bool]:
    """Make the workers of one `serve` count into shared files: (directory, whether it was created here).

    PROMETHEUS_MULTIPROC_DIR as the operator set it (it must be private to this server and empty at start: files left
    by an earlier run would be added to the totals), else a fresh private directory, set for this process and its
    workers. Call it before the app is built. OSError when the directory cannot be created.
    """
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        os.makedirs(given, mode=0o700, exist_ok=True)
        if os.listdir(given):
            log.warning("%s (%s) is not empty: counts left by an earlier run are added to the totals; give each "
                        "start an empty directory", MULTIPROC_ENV, given)
        path, created = given, False
    else:
        path, created = tempfile.mkdtemp(prefix="leg-pain-cds-metrics-"), True  # mode 0700
        os.environ[MULTIPROC_ENV] = path
    _follow_environment()
    return path, created


def _follow_environment() -> None:
    """Make prometheus_client count as PROMETHEUS_MULTIPROC_DIR now says (in files or in memory), and rebuild the
    metric objects on next use.

    prometheus_client decides when it is first imported. Something may have imported it before serve set the
    directory (each worker would then count in memory, and a scrape would show one worker's share), or a server run
    in this process may have removed its directory since (every new label would then fail to open its file).
    """
    global _metrics
    values = sys.modules.get("prometheus_client.values")
    if values is not None:
        setattr(values, "ValueClass", values.get_value_class())
    with _lock:
        _metrics = None


def worker_exited(pid: int) -> None:
    """gunicorn child_exit: prometheus_client's bookkeeping for a dead worker (its live gauges dropped)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def remove_dir(path: str) -> None:
    """At server exit: the directory multiprocess_dir created (never one the operator gave), and its variable."""
    shutil.rmtree(path, ignore_errors=True)
    if os.environ.get(MULTIPROC_ENV) == path:
        del os.environ[MULTIPROC_ENV]
        _follow_environment()


# ---------------------------------------------------------------------------------------------- the app


def init_app(app: Flask) -> None:
    """With CDS_METRICS on: time every hook, feedback and discovery request, count 401s, serve GET /metrics."""
    if not app.config["METRICS"]:
        return
    app.extensions[EXTENSION] = metrics()
    known = frozenset(s.id for s in registry.services())
    token = app.config["METRICS_TOKEN"]

    def started() -> None:
        g.cds_metrics_started = time.perf_counter()

    def finished(response: Response) -> Response:
        rule = request.url_rule
        endpoint = ENDPOINTS.get(rule.endpoint) if rule is not None else None
        if endpoint is not None:
            m: Metrics = app.extensions[EXTENSION]
            named = (request.view_args or {}).get("service_id")
            service = "" if named is None else named if named in known else UNKNOWN
            spent = time.perf_counter() - g.get("cds_metrics_started", time.perf_counter())
            try:
                m.requests.labels(endpoint, service, str(response.status_code)).observe(spent)
                if response.status_code == 401:
                    m.auth_rejections.labels(security.rejection_reason() or UNKNOWN).inc()
            except OSError as err:
                _lost(err)
        return response

    # Registered before the security module's hooks: the time includes authentication and the audit write.
    app.before_request(started)
    app.after_request(finished)
    app.add_url_rule(PATH, "metrics", lambda: scrape(token))
    if token is None:
        log.info("GET %s is open: expose it only on a cluster-internal network, or set CDS_METRICS_TOKEN", PATH)


def scrape(token: str | None) -> Response:
    """GET /metrics: the Prometheus text format; with CDS_METRICS_TOKEN, only for ``Authorization: Bearer <it>``."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    if token is not None:
        given = request.headers.get("Authorization", "")
        scheme, _, credential = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(credential.strip().encode(), token.encode()):
            response = operation_outcome(401, "login",
                                         "GET /metrics needs 'Authorization: Bearer <CDS_METRICS_TOKEN>'.")
            response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    if os.environ.get(MULTIPROC_ENV):  # gunicorn workers: add up every worker's files
        reg = CollectorRegistry()
        MultiProcessCollector(reg)  # type: ignore[no-untyped-call]
    else:
        reg = metrics().registry
    return Response(generate_latest(reg), mimetype=None, content_type=CONTENT_TYPE_LATEST)


def _recording() -> Metrics | None:
    return current_app.extensions.get(EXTENSION)  # None: CDS_METRICS=off


_warned = False


def _lost(err: OSError) -> None:
    """A count that could not be written (the workers' directory removed, the disk full): the answer matters more
    than the count, so the request goes on; said once per process."""
    global _warned
    if not _warned:
        _warned = True
        log.warning("metrics are not being recorded: %s (%s); check %s", type(err).__name__, err.strerror,
                    MULTIPROC_ENV)


def cards_decided(service_id: str, issued: Iterable[Any], withheld: Iterable[Any]) -> None:
    """The hook route: each card shown (rule_ids, indicator) and each possible-cause card withheld (rule_ids)."""
    m = _recording()
    if m is None:
        return
    try:
        for card in issued:
            for rule in card.rule_ids:
                m.cards_issued.labels(service_id, rule, str(card.indicator)).inc()
        for card in withheld:
            for rule in card.rule_ids:
                m.cards_withheld.labels(service_id, rule).inc()
    except OSError as err:
        _lost(err)


def feedback_stored(service_id: str, items: Iterable[Mapping[str, Any]], unknown: Iterable[str]) -> None:
    """The feedback route: each item stored (its outcome is one of the two the schema admits)."""
    m = _recording()
    if m is None:
        return
    never_issued = set(unknown)
    try:
        for item in items:
            m.feedback.labels(service_id, str(item["outcome"]),
                              UNKNOWN if item["card"] in never_issued else "known").inc()
    except OSError as err:
        _lost(err)


def fhir_request(outcome: str, seconds: float) -> None:
    """fhir/gather.py, through the FHIR_REQUEST_OBSERVER injection point (create_app sets it when metrics are on)."""
    try:
        metrics().fhir_requests.labels(outcome).observe(seconds)
    except OSError as err:
        _lost(err)
