"""Logging that keeps PHI and secrets out: a redacting filter for handlers and the process log set-up.

Our own code logs only request ids, hookInstance, issuer, service ids, rule ids, card uuids, counts and timings
(tests/security/test_no_phi_in_logs.py holds it to that). This module is the second line of defence, for text
that reaches a handler from anywhere (third-party libraries included):

* JWTs and ``Bearer`` credentials are replaced by ``[redacted-token]``;
* URLs with a query or a FHIR resource segment keep only scheme://host[:port] — they carry patient ids
  (``/Patient/123``, ``?patient=123``); plain base URLs (``https://hapi.fhir.org/baseR4``) stay readable;
* records below WARNING from libraries outside this service are dropped (urllib3's DEBUG lines print full
  request paths).
"""

from __future__ import annotations

import logging
import re

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
OWN_LOGGERS = ("cds_service", "cards", "terminology", "gunicorn", "werkzeug")

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
# An RFC 6750 b64token after the scheme name, which stands as a word of its own: "reason=not-bearer" is a reason
# code, and "issuer=..." after it is the next key=value, not a token ("=" only pads a token's end).
_BEARER = re.compile(r"(?i)(?<![\w-])bearer\s+[A-Za-z0-9._~+/-]+=*(?![\w=])")
_URL = re.compile(r"(?i)\b(https?://[^/\s?#\"'<>,]+)([^\s\"'<>,]*)")
# A path segment naming a FHIR resource type (CamelCase: Patient, Observation) may be followed by an id.
_RESOURCE_SEGMENT = re.compile(r"/[A-Z][A-Za-z]+(?:/|$)")


def _url(match: re.Match[str]) -> str:
    origin, rest = match.group(1), match.group(2)
    if not rest or (not any(c in rest for c in "?#;@%") and not _RESOURCE_SEGMENT.search(rest)):
        return match.group(0)  # a base URL such as https://hapi.fhir.org/baseR4: useful, not identifying
    return origin + "/…"


def redact(text: str) -> str:
    """Remove tokens and FHIR resource paths/queries from a log line (base URLs stay readable)."""
    text = _BEARER.sub("Bearer [redacted-token]", text)
    text = _JWT.sub("[redacted-token]", text)
    return _URL.sub(_url, text)


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
        for name, value in list(vars(record).items()):  # key=value extras are rendered too
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, redact(value))
        if record.exc_info and not _is_own(record.name):
            # Third-party exception text may quote URLs or headers; keep the type only.
            record.msg = f"{record.msg} [{record.exc_info[0].__name__ if record.exc_info[0] else 'exception'}]"
            record.exc_info, record.exc_text = None, None
        return True
