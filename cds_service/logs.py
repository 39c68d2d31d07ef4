"""Log formatting: one line per event with the ids passed in ``extra`` (never patient data)."""
from __future__ import annotations

import logging

from cds_service.log_privacy import RedactingFilter

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class KeyValueFormatter(logging.Formatter):
    """Appends ``key=value`` for every attribute given through ``extra=``."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if extras:
            text += " " + " ".join(f"{k}={v}" for k, v in sorted(extras.items()))
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
