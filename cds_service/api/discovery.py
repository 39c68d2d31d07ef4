"""GET /cds-services: discovery, rendered from the rule registry (never written by hand)."""
from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from cards import registry
from flask import Blueprint, Response
from flask.typing import ResponseReturnValue

from cds_service import schemas
bp = Blueprint("discovery", __name__)


@cache
def _document() -> bytes:
    # The registry is fixed for the life of the process, so the document is rendered once.
    body: dict[str, Any] = schemas.dump_discovery(registry.services())
    return orjson.dumps(body)


@bp.get("/cds-services")
def discovery() -> ResponseReturnValue:
    return Response(_document(), mimetype="application/json")
