"""The pages with client authentication on (``CDS_AUTH=jwt``, ``CDS_PAGES=on``, ``CDS_ANALYTICS_TOKEN``), in headless
Chromium: ``/`` explains instead of calling the hooks, and ``/analytics`` asks for the token, keeps it in the tab's
sessionStorage and sends it only as a header, never in a URL."""
from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from cds_service.runtime.serve import serve_subprocess

from . import a11y
from .conftest import PageWatch, Served

pytestmark = pytest.mark.server

TOKEN_KEY = "leg-pain-cds.analytics-token"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str]]:
    """A service with client JWT auth on, the pages forced on, and an analytics token; (server, token)."""
    workdir = tmp_path_factory.mktemp("browser-guarded")
    jwk = json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP384R1()).public_key()))
    jwk.update(kid="browser-test", alg="ES384", use="sig")
    clients = workdir / "clients.json"
    clients.write_text(json.dumps({"clients": [{"iss": "https://ehr.example.org", "jwks": {"keys": [jwk]},
                                                "algorithms": ["ES384"]}]}))
    db_path = workdir / "cds.sqlite3"
    token = secrets.token_hex(32)
    settings = {"CDS_AUTH": "jwt", "CDS_TRUSTED_CLIENTS": str(clients), "CDS_PAGES": "on",
                "CDS_ANALYTICS_TOKEN": token, "CDS_DATABASE_URL": f"sqlite:///{db_path}", "CDS_WORKERS": "1",
                "CDS_LOG_LEVEL": "WARNING"}
    with serve_subprocess(workdir, settings) as (_proc, base):
        yield Served(base, db_path, workdir), token


def test_demo_page_explains_that_trying_cards_needs_auth_off(guarded: tuple[Served, str], page: Any,
                                                             page_watch: PageWatch) -> None:
    server, _token = guarded
    page.goto(server.url("/"))
    note = page.locator('[data-testid="auth-note"]')
    assert note.is_visible() and "CDS_AUTH=none" in note.inner_text()
    assert page.locator("#demo-form").count() == 0
    assert {a.get_attribute("href") for a in note.locator("a").all()} >= {"/rules", "/analytics"}
    page_watch.assert_quiet()


def test_analytics_asks_for_the_token_and_never_puts_it_in_a_url(guarded: tuple[Served, str], page: Any,
                                                                  page_watch: PageWatch) -> None:
    server, token = guarded
    urls: list[str] = []
    page.on("request", lambda req: urls.append(req.url))
    page.goto(server.url("/analytics"))
    form = page.locator('[data-testid="analytics-token-form"]')
    assert form.is_visible()
    assert page.locator('[data-testid="section-feedback-per-rule"]').count() == 0
    assert a11y.unlabelled_controls(page) == []

    page.fill("#analytics-token", "not-the-token")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('analytics-status').textContent.includes('refused')")
    assert form.is_visible()

    page.fill("#analytics-token", token)
    page.keyboard.press("Enter")
    page.locator('[data-testid="section-feedback-per-rule"]').wait_for()
    assert page.evaluate(f"() => sessionStorage.getItem('{TOKEN_KEY}')") == token
    with page.expect_download() as download_info:  # the CSV link is fetched with the header too
        page.click('[data-testid="csv-feedback-per-rule"]')
    assert download_info.value.path().read_text(encoding="utf-8").startswith("rule,")

    page.reload()  # the tab remembers it
    page.locator('[data-testid="section-feedback-per-rule"]').wait_for()
    page.click("#analytics-forget")
    assert form.is_visible()
    assert page.evaluate(f"() => sessionStorage.getItem('{TOKEN_KEY}')") is None
    assert not [u for u in urls if token in u or "not-the-token" in u], "a token went into a URL"
    # the browser logs the refused wrong token's 401 as a failed resource; nothing else
    assert len(page_watch.console_errors) == 1 and "401" in page_watch.console_errors[0], page_watch.console_errors
    assert not page_watch.page_errors and not page_watch.dialogs
