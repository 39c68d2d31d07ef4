"""CORS for browser clients (the CDS Hooks Sandbox), and a log line when a browser's origin is refused.

A refused origin is invisible to the operator otherwise: the browser drops the answer, the page shows nothing (the
Sandbox: no services, "All clear! No cards"), and the service answered 200. So the first refusal of each origin is
logged at WARNING (later ones at DEBUG, so a page retrying cannot flood the log), with the configured origins and,
when it is the usual mistake, a hint that ``localhost`` and ``127.0.0.1`` are different origins. The Origin header
names a web page's scheme, host and port, never patient data; it is logged only when it looks like one.
"""
from __future__ import annotations

import logging
import re
import threading

from flask import Flask, Response, request
from flask_cors import CORS

log = logging.getLogger(__name__)

ENV = "CDS_CORS_ORIGINS"
#: Distinct refused origins remembered per process for the WARNING-once rule; beyond it every refusal is DEBUG.
MAX_REMEMBERED = 256
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]{1,253}(?::\d{1,5})?$|^https?://\[[0-9A-Fa-f:.]{2,45}\](?::\d{1,5})?$")
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def init_app(app: Flask) -> None:
    """CORS per CDS_CORS_ORIGINS (``*`` or a list), and the refused-origin log line."""
    origins = app.config["CORS_ORIGINS"]
    if origins != "*":
        # Registered before flask_cors: Flask runs after_request functions last-registered first, so this one sees
        # the response once flask_cors has (or has not) added Access-Control-Allow-Origin.
        app.after_request(_RefusedOrigins(list(origins)))
    CORS(app, origins=origins, allow_headers=["Authorization", "Content-Type"], methods=["GET", "POST", "OPTIONS"],
         max_age=app.config["CORS_MAX_AGE_S"], supports_credentials=False)


def loggable_origin(value: str) -> str:
    """The Origin header when it looks like an origin (scheme://host[:port]), else a placeholder with its length."""
    return value if _ORIGIN.match(value) else f"<not an origin, {len(value)} chars>"


def localhost_hint(origin: str, allowed: list[str]) -> str:
    """A hint when ``origin`` differs from an allowed origin only in its loopback host name."""
    for name in _LOOPBACK_NAMES:
        if f"://{name}" not in origin:
            continue
        for other in _LOOPBACK_NAMES:
            if other != name and origin.replace(f"://{name}", f"://{other}", 1) in allowed:
                return (f" hint: {name} and {other} are different origins to a browser; open the page as "
                        f"{origin.replace(f'://{name}', f'://{other}', 1)} or add {origin} to {ENV}")
    return ""


class _RefusedOrigins:
    """after_request: log a request whose Origin flask_cors did not allow."""

    def __init__(self, allowed: list[str]) -> None:
        self.allowed = allowed
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin is None or "Access-Control-Allow-Origin" in response.headers:
            return response
        shown = loggable_origin(origin)
        with self.lock:
            first = shown not in self.seen and len(self.seen) < MAX_REMEMBERED
            if first:
                self.seen.add(shown)
        preflight = request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
        log.log(logging.WARNING if first else logging.DEBUG,
                "CORS origin refused origin=%s method=%s preflight=%s status=%d allowed=%s (%s): the browser "
                "drops this answer%s", shown, request.method[:8], "yes" if preflight else "no", response.status_code,
                ",".join(self.allowed), ENV, localhost_hint(shown, self.allowed))
        return response
