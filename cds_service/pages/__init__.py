"""Pages people look at in a browser, served by the same app: ``/`` (try the cards) and the pages it links.

Owns: the access decision (``CDS_PAGES``), the blueprint registration (:func:`init_app`, called once by create_app),
the pages' Content-Security-Policy, the base template (``templates/base.html``) and the shared stylesheet
(``static/pages.css``). One module per page, each with its own blueprint made by :func:`page_blueprint`.

Access (docs/api.md, Pages): ``CDS_PAGES=auto`` (default) serves the pages when ``CDS_AUTH=none`` and not when
client authentication is on; ``on``/``off`` force it. When off no page route exists: every page path answers the
service's 404 OperationOutcome and the API is unchanged. The pages show no patient data (the SMART app excepted,
which shows only what the FHIR server gives its token).

Must not be imported by anything below it (api/, pipeline, fhir/, persistence/, security/): it sits on top.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from cds_service.security.headers import SECURITY_HEADERS

log = logging.getLogger(__name__)

#: Self-hosted scripts and styles only: no inline script or style attribute, no CDN, no framing; fetch() only to
#: this service. The API keeps its own ``default-src 'none'`` (security/headers.py).
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
API_CSP = SECURITY_HEADERS["Content-Security-Policy"]

#: The shared blueprint: base template, stylesheet and vendored files under /pages/static/.
bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/pages/static")
#: Names of the blueprints that serve pages (filled by page_blueprint and init_app): they get PAGE_CSP.
PAGE_BLUEPRINTS: set[str] = {"pages"}


def enabled(conf: Mapping[str, Any]) -> bool:
    """Whether the pages are served: ``CDS_PAGES`` on, or auto with ``CDS_AUTH=none``."""
    mode = str(conf.get("PAGES") or "auto").lower()
    if mode in ("on", "off"):
        return mode == "on"
    return str(conf.get("AUTH") or "jwt").lower() == "none"


def hooks_callable_from_browser(conf: Mapping[str, Any]) -> bool:
    """Whether a page may POST to /cds-services/*: only without client authentication (a page cannot sign a JWT)."""
    return str(conf.get("AUTH") or "jwt").lower() == "none"


def page_csp(connect_src: tuple[str, ...] = ()) -> str:
    """PAGE_CSP, with extra ``connect-src`` origins (the SMART app reads its FHIR server from the browser)."""
    if not connect_src:
        return PAGE_CSP
    return PAGE_CSP.replace("connect-src 'self'", "connect-src 'self' " + " ".join(connect_src))


#: (blueprint name, path, label) of the pages in the navigation bar, in the order their modules were imported.
NAV: list[tuple[str, str, str]] = []


def page_blueprint(name: str, import_name: str, nav: tuple[str, str] | None = None) -> Blueprint:
    """A blueprint for one page module: its templates come from the shared folder, its responses get PAGE_CSP;
    ``nav`` = (path, label) puts the page in the navigation bar of base.html."""
    PAGE_BLUEPRINTS.add(name)
    if nav is not None and all(entry[0] != name for entry in NAV):
        NAV.append((name, *nav))
    return Blueprint(name, import_name)


@bp.app_context_processor
def _navigation() -> dict[str, Any]:
    """``pages_nav``: [(path, label)] of the page blueprints registered on this app."""
    registered = current_app.blueprints
    return {"pages_nav": [(path, label) for name, path, label in NAV if name in registered]}


def _page_headers(response: Response) -> Response:
    """Pages get PAGE_CSP instead of the API's; a view that set its own page CSP (page_csp(...)) keeps it.

    Order-independent: security.web adds the API's headers with setdefault after each request, before or after
    this runs, and this replaces only the API's CSP (or none)."""
    if request.blueprint in PAGE_BLUEPRINTS:
        current = response.headers.get("Content-Security-Policy")
        if current is None or current == API_CSP:
            response.headers["Content-Security-Policy"] = PAGE_CSP
        if response.mimetype == "text/html":
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def _page_blueprints() -> list[Blueprint]:
    """Every page's blueprint. A new page adds its module here (one line each)."""
    from cds_service.pages import demo
    blueprints = [demo.bp]
    from cds_service.pages import rules
    blueprints.append(rules.bp)
    from cds_service.pages import analytics
    blueprints.append(analytics.bp)
    from cds_service.pages import trend
    blueprints.append(trend.bp)
    return blueprints


def init_app(app: Flask) -> bool:
    """Register the pages when :func:`enabled`; return whether they are served. Call once from create_app."""
    app.extensions["cds_pages"] = on = enabled(app.config)
    if not on:
        log.info("pages off (CDS_PAGES=%s, CDS_AUTH=%s): page paths answer 404", app.config.get("PAGES"),
                 app.config.get("AUTH"))
        return False
    app.register_blueprint(bp)
    for blueprint in _page_blueprints():
        app.register_blueprint(blueprint)
    app.after_request(_page_headers)
    if not hooks_callable_from_browser(app.config):
        log.info("pages on with client authentication: / shows how to try cards, it cannot call the hooks")
    return True
