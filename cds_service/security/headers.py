"""The headers every response carries: no sniffing, no caching, no framing, no referrer; HSTS over https."""
from __future__ import annotations

from flask import Response, request

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",  # answers carry clinical advice about one patient: never cache them
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
HSTS = "max-age=31536000; includeSubDomains"


def apply_security_headers(response: Response, *, https: bool | None = None) -> Response:
    """Add the security headers (keeping any a view set deliberately); HSTS only when served over https."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if https is None:
        https = request.is_secure
    if https:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response
