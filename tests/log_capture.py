"""What production writes to its log for some records: a formatter plus the redacting filter on the root logger, as
runtime/logs.configure sets them up, around a call that logs."""
from __future__ import annotations

import io
import logging
from typing import Callable

from cds_service.security.log_privacy import RedactingFilter


def rendered_log(emit: Callable[[], object], formatter: logging.Formatter, level: int = logging.INFO) -> str:
    """The text the records of `emit()` become with `formatter` and the redacting filter, at `level`."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    saved = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        emit()
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)
    return stream.getvalue()
