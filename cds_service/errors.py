"""The CdsError family and the handlers that turn every failure into a JSON OperationOutcome.

Raise where the problem is known; translate only here. No client input may produce a 500, and no stack trace ever
reaches a client: the last-resort handler logs the trace server-side and answers with a fixed text.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping

import orjson
from cards.registry import UnknownService
from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

JSON = "application/json"


class CdsError(Exception):
    """A failure with an HTTP status and an OperationOutcome issue code."""

    status = 500
    code = "exception"

    def __init__(self, diagnostics: str) -> None:
        super().__init__(diagnostics)
        self.diagnostics = diagnostics


class BadHookRequest(CdsError):
    """Body not JSON, schema fails, or the hook is not the one this service answers."""

    status = 400
    code = "invalid"


class UnsupportedMediaType(CdsError):
    status = 415
    code = "not-supported"


#: Missing.server when the call gave no fhirServer to fetch from.
NO_SERVER = "no fhirServer given"


@dataclass(frozen=True)
class Missing:
    """Why one data key could not be had: what was wrong with its prefetch, and what stopped fetching it instead.

    ``prefetch`` is the prefetch side ("not prefetched", "prefetch held an OperationOutcome", ...); ``server`` is
    None when no fetch was possible or needed (a null prefetch), NO_SERVER without a fhirServer, else what went
    wrong with it ("fhirServer is not on the allowlist", "fetching it failed: HTTP 500"). The CLI, which leaves a
    request's fhirServer out unless told to fetch, shows ``prefetch`` alone.
    """

    prefetch: str
    server: str | None = None

    def __str__(self) -> str:
        if self.server is None:
            return self.prefetch
        if self.server == NO_SERVER:
            return f"{self.prefetch} and {NO_SERVER}"
        return f"{self.prefetch}; {self.server}"


class DataUnavailable(CdsError):
    """Required data could be neither prefetched nor fetched (CDS Hooks 2.0: 412)."""

    status = 412
    code = "processing"

    def __init__(self, missing: Mapping[str, Missing]) -> None:
        self.missing = dict(missing)
        text = "; ".join(f"{key}: {why}" for key, why in self.missing.items())
        super().__init__(f"Required data unavailable - {text}")


class StorageUnavailable(CdsError):
    """A write the service must not acknowledge: the database file is gone or replaced, the disk is full, the
    database is locked or unreachable (503 with Retry-After: the client may send it again later)."""

    status = 503
    code = "no-store"
    retry_after_s = 30


def operation_outcome(status: int, code: str, diagnostics: str, details: list[str] | None = None) -> Response:
    """A FHIR R4 OperationOutcome (one issue per detail, else one) as a JSON response."""
    severity = "error" if status < 500 else "fatal"
    issues: list[dict[str, Any]] = [{"severity": severity, "code": code, "diagnostics": d}
                                    for d in (details or [diagnostics])]
    body = {"resourceType": "OperationOutcome", "issue": issues}
    return Response(orjson.dumps(body), status=status, mimetype=JSON)


# werkzeug status -> OperationOutcome issue code (FHIR R4 issue-type value set).
_HTTP_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
               413: "too-costly", 415: "not-supported", 429: "throttled"}


def _cds_error(err: CdsError) -> Response:
    log.info("request failed", extra={"status": err.status, "path": request.path, "reason": err.code})
    details = [f"{k}: {v}" for k, v in err.missing.items()] if isinstance(err, DataUnavailable) else None
    if details:
        details.insert(0, "Required data could not be obtained from prefetch or fhirServer.")
    response = operation_outcome(err.status, err.code, err.diagnostics, details)
    if isinstance(err, StorageUnavailable):
        response.headers["Retry-After"] = str(err.retry_after_s)
    return response


def _unknown_service(err: UnknownService) -> Response:
    return operation_outcome(404, "not-found", f"No CDS service with id {err.args[0]!r}; see GET /cds-services.")


def _http_error(err: HTTPException) -> Response:
    status = err.code or 500
    if status == 413:
        limit = current_app.config.get("MAX_BODY_MB")
        text = f"Request body is larger than {limit} MB, the configured limit (CDS_MAX_BODY_MB)."
    elif status == 404:
        text = "No such endpoint; CDS services are listed at GET /cds-services."
    elif status == 405:
        text = f"Method {request.method} is not allowed on {request.path}."
    else:
        text = err.description or err.name
    response = operation_outcome(status, _HTTP_CODES.get(status, "exception"), text)
    valid_methods = getattr(err, "valid_methods", None)
    if status == 405 and valid_methods:
        response.headers["Allow"] = ", ".join(valid_methods)
    return response


def _unexpected(err: Exception) -> Response:
    # The trace goes to the server log only; it names code locations, never request values.
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=err)
    return operation_outcome(500, "exception", "Internal error; the service could not evaluate this request.")


def register(app: Flask) -> None:
    """Install the handlers: CdsError family, unknown service, werkzeug HTTP errors, last resort."""
    app.register_error_handler(CdsError, _cds_error)
    app.register_error_handler(UnknownService, _unknown_service)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
