"""The benchmark's baseline: the service's app plus ``POST /_bench/parse``, which parses a body and answers no cards.

Case 1 and case 2 of the benchmark compare a hook call with this route given the same body: the ratio is what the
service adds to the parse any JSON service does. The route lives here, not in the service, so that no deployment can
turn it on. Served with ``leg-pain-cds serve --app leg_pain_cds_bench.baseline:create_app``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from cds_service import create_app as create_service_app
from cds_service.api.hooks import json_body
from flask import Blueprint, Flask, Response

PARSE_PATH = "/_bench/parse"

bp = Blueprint("bench", __name__)


@bp.post(PARSE_PATH)
def bench_parse() -> Response:
    """The whole parse a JSON service does (content type, body limit, orjson and the depth check), no cards.

    The hook route decodes only the elements its readers use (cds_service.fhir.decode.hook_body), which is part of
    what is being measured against this route.
    """
    json_body()
    return Response(orjson.dumps({"cards": []}), mimetype="application/json")


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """The service's app, configured as usual (CDS_* settings, `overrides`), with the baseline route added."""
    app = create_service_app(overrides)
    app.register_blueprint(bp)
    return app
