"""Log formatting: one line per event with the ids passed in ``extra`` (never patient data).

CDS_LOG_FORMAT=text (the default) writes ``time LEVEL logger: message key=value ...``; CDS_LOG_FORMAT=json writes one
JSON object per line (JsonFormatter), gunicorn's own lines included (GunicornLogger). Either way the handler's
RedactingFilter runs first (security/log_privacy.py).

Values can come from a client (an id, a code, a status a rule skipped): each ``key=value`` is cut at
MAX_VALUE_CHARS and the message at MAX_MESSAGE_CHARS, and the cut says how many characters it dropped
(``…[+999488 chars]``), so one request cannot add megabytes to the log.
"""
from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from typing import Any

import orjson
from flask import g, has_request_context
# gunicorn ships no type stubs.
from gunicorn.glogging import Logger as _GunicornBaseLogger  # type: ignore[import-untyped]

from cds_service.security.log_privacy import RedactingFilter

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
MAX_VALUE_CHARS = 300
MAX_MESSAGE_CHARS = 2000  # before the key=value extras; a traceback after it is kept whole (code locations only)


def cap(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters and how many were cut."""
    return text if len(text) <= limit else f"{text[:limit]}…[+{len(text) - limit} chars]"


class KeyValueFormatter(logging.Formatter):
    """Appends ``key=value`` for every attribute given through ``extra=``; caps each value and the message."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.message = cap(record.message, MAX_MESSAGE_CHARS)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if extras:
            text += " " + " ".join(f"{k}={cap(str(v), MAX_VALUE_CHARS)}" for k, v in sorted(extras.items()))
        return text


MAX_ITEMS = 100  # of a list or mapping given in ``extra`` (a JSON log line)
# extra= names -> JSON keys: one name for the latency and the request id whichever module logged them.
_JSON_KEYS = {"ms": "latencyMs", "latency_ms": "latencyMs", "request_id": "requestId"}


def _json_value(value: Any) -> Any:
    """`value` as JSON: strings capped like the text format's, containers cut at MAX_ITEMS, other types as text."""
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else str(value)  # JSON numbers past 64 bits: as text
    if isinstance(value, str):
        return cap(value, MAX_VALUE_CHARS)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_json_value(v) for _, v in zip(range(MAX_ITEMS), value)]
        if len(value) > MAX_ITEMS:
            items.append(f"…[+{len(value) - MAX_ITEMS} items]")
        return items
    if isinstance(value, dict):
        out = {cap(str(k), MAX_VALUE_CHARS): _json_value(v) for _, (k, v) in zip(range(MAX_ITEMS), value.items())}
        if len(value) > MAX_ITEMS:
            out["…"] = f"+{len(value) - MAX_ITEMS} items"
        return out
    return cap(str(value), MAX_VALUE_CHARS)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, event (the message), requestId (inside a request: the
    X-Request-ID of its response), then every ``extra=`` id (hookInstance, service, rules, latencyMs, ...)."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = cap(record.getMessage(), MAX_MESSAGE_CHARS)
        when = datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
        out: dict[str, Any] = {"time": when.replace("+00:00", "Z"), "level": record.levelname,
                               "logger": record.name, "event": record.message}
        if has_request_context() and "cds_request_id" in g:
            out["requestId"] = g.cds_request_id
        for key, value in vars(record).items():
            if key not in _STANDARD:  # never over time, level, logger, event or requestId
                out.setdefault(_JSON_KEYS.get(key, key), _json_value(value))
        if record.exc_info:  # code locations only, kept whole as in the text format
            out["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(out, default=str).decode()


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")


def formatter(fmt: str) -> logging.Formatter:
    """The formatter of CDS_LOG_FORMAT `fmt` (text or json)."""
    return JsonFormatter() if fmt == "json" else KeyValueFormatter(TEXT_FORMAT)


def format_from_environment() -> str:
    """CDS_LOG_FORMAT as given, for the lines logged before the settings are validated; text unless it says json."""
    given = os.environ.get("CDS_LOG_FORMAT", "").strip().strip('"').strip().lower()
    return "json" if given == "json" else "text"


def configure(level: str, fmt: str = "text") -> None:
    """Root logging for the CLI and servers: stderr, key=value extras (``fmt`` text) or JSON lines (json).

    Called again (serve configures logging before and after reading the settings), it changes level and format.
    """
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_leg_pain_cds", False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler._leg_pain_cds = True  # type: ignore[attr-defined]
        # Second line of defence: redact tokens and FHIR paths, drop third-party chatter below WARNING.
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    handler.setFormatter(formatter(fmt))
    root.setLevel(level)
    # urllib3 logs "GET /fhir/Patient/123?..." at DEBUG: never let it produce those records at all.
    logging.getLogger("urllib3").setLevel(logging.WARNING)


class GunicornLogger(_GunicornBaseLogger):  # type: ignore[misc]
    """gunicorn's logger (its ``logger_class``) with CDS_LOG_FORMAT=json: its own lines ("Booting worker", a worker
    timeout) are JSON objects too, and pass the redacting filter. Text: gunicorn's own format, as before."""

    log_format = "text"  # set by `serve` (cli.py) before gunicorn starts

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if self.log_format != "json":
            return
        for handler in self.error_log.handlers:
            if getattr(handler, "_gunicorn", False):
                handler.setFormatter(JsonFormatter())
                handler.addFilter(RedactingFilter())
