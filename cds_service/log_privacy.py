"""Logging that keeps PHI and secrets out: a redacting filter for handlers and the process log set-up.

Our own code logs only request ids, hookInstance, issuer, service ids, rule ids, card uuids, counts and timings
(tests/security/test_no_phi_in_logs.py holds it to that). This module is the second line of defence, for text
that reaches a handler from anywhere (third-party libraries included):

* JWTs and ``Bearer`` credentials are replaced by ``[redacted-token]``;
* URLs keep only scheme://host[:port] — FHIR paths and queries carry patient ids (``/Patient/123``,
  ``?patient=123``);
* records below WARNING from libraries outside this service are dropped (urllib3's DEBUG lines print full
  request paths).
"""

from __future__ import annotations

import logging
import re

OWN_LOGGERS = ("cds_service", "cards", "terminology", "gunicorn", "werkzeug")

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")
_URL = re.compile(r"(?i)\b(https?://[^/\s?#\"'<>]+)[^\s\"'<>]*")


def redact(text: str) -> str:
    """Remove tokens and URL paths/queries from a log line."""
    text = _BEARER.sub("Bearer [redacted-token]", text)
    text = _JWT.sub("[redacted-token]", text)
    return _URL.sub(lambda m: m.group(1) + ("/…" if len(m.group(0)) > len(m.group(1)) else ""), text)


def _is_own(name: str) -> bool:
    return any(name == own or name.startswith(own + ".") for own in OWN_LOGGERS)


class RedactingFilter(logging.Filter):
    """Attach to handlers: redacts every record, drops third-party chatter below WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _is_own(record.name) and record.levelno < logging.WARNING:
            return False
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not _is_own(record.name):
            # Third-party exception text may quote URLs or headers; keep the type only.
            record.msg = f"{record.msg} [{record.exc_info[0].__name__ if record.exc_info[0] else 'exception'}]"
            record.exc_info, record.exc_text = None, None
        return True


def configure_logging(level: str | int = "INFO") -> logging.Handler:
    """Install one stderr handler on the root logger with the redacting filter; idempotent."""
    root = logging.getLogger()
    for handler in root.handlers:
        if any(isinstance(f, RedactingFilter) for f in handler.filters):
            return handler
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(level)
    # urllib3 logs "GET /fhir/Patient/123?..." at DEBUG: never let it produce those records at all.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    return handler
