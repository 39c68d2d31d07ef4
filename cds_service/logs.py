"""Log formatting: one line per event with the ids passed in ``extra`` (never patient data).

Values can come from a client (an id, a code, a status a rule skipped): each ``key=value`` is cut at
MAX_VALUE_CHARS and the message at MAX_MESSAGE_CHARS, and the cut says how many characters it dropped
(``…[+999488 chars]``), so one request cannot add megabytes to the log.
"""
from __future__ import annotations

import logging

from cds_service.log_privacy import RedactingFilter

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


def configure(level: str) -> None:
    """Root logging for the CLI and servers: stderr, key=value extras."""
    root = logging.getLogger()
    if not any(getattr(h, "_leg_pain_cds", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(KeyValueFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._leg_pain_cds = True  # type: ignore[attr-defined]
        # Second line of defence: redact tokens and FHIR paths, drop third-party chatter below WARNING.
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    root.setLevel(level)
    # urllib3 logs "GET /fhir/Patient/123?..." at DEBUG: never let it produce those records at all.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
