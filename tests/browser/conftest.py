"""Fixtures for the browser tests: a real `leg-pain-cds serve` and headless Chromium driven by Playwright.

* ``cds_server`` (session) — gunicorn via ``serve_subprocess`` with ``CDS_AUTH=none`` (so the pages are on, as for a
  local try) and a SQLite file in a temporary directory; ``cds_server.feedback()`` reads the stored feedback rows.
* ``browser`` (session) — Debian's Chromium (``/usr/bin/chromium``, installed by ``scripts/test.sh``; Playwright's own
  browser download is not used: it fetches builds from a CDN). Without a Chromium these tests are skipped, unless
  ``LEG_PAIN_CDS_REQUIRE_BROWSER`` is set (``scripts/test.sh`` sets it where Chromium is installed): then they fail.
* ``page`` — a fresh browser context and page; ``page_watch`` records its console errors, page errors and dialogs.
* ``demo_feedback`` (session) — on ``/``, one sample patient's cards with a suggestion accepted on one card and
  another card dismissed with an override reason: the feedback the demo test checks in the database and the
  analytics test finds in the plots.
* ``screenshot(page, name)`` — saves ``.test-artifacts/screenshots/<name>.png`` (the folder is printed at the end of
  the run); ``screenshot(page, name, readme=True)`` also rewrites ``docs/screenshots/<name>.png`` when
  ``LEG_PAIN_CDS_UPDATE_SCREENSHOTS=1`` (so a normal run never touches tracked files).

Every test here starts servers and a browser: each module sets ``pytestmark = pytest.mark.server``.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cds_service.runtime.serve import serve_subprocess

from .demo_flow import HookRun, accept_first_suggestion, dismiss, run_sample

#: Flags as for any headless Chromium on a machine without a network: no background connections, no GPU.
CHROMIUM_ARGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
VIEWPORT = {"width": 1280, "height": 900}
ARTIFACTS = Path(".test-artifacts") / "screenshots"
README_SHOTS = Path("docs") / "screenshots"
README_MAX_HEIGHT = 1400
_saved: list[Path] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _saved:
        terminalreporter.write_line(f"browser screenshots ({len(_saved)}): {_saved[0].parent}")


def chromium_path() -> str | None:
    """The Chromium to drive: LEG_PAIN_CDS_CHROMIUM, else `chromium` (Debian) or `chromium-browser` on PATH."""
    explicit = os.environ.get("LEG_PAIN_CDS_CHROMIUM")
    if explicit:
        return explicit
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Served:
    """A running `leg-pain-cds serve` and its SQLite database."""

    base_url: str
    db_path: Path
    workdir: Path

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def query(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        with sqlite3.connect(self.db_path) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute(sql, params)]

    def feedback(self) -> list[dict[str, Any]]:
        """Every stored feedback row, oldest first."""
        return self.query("SELECT * FROM feedback ORDER BY id")


def serve_settings(db_path: Path, **extra: str) -> dict[str, str]:
    """The CDS_* environment of a browser-test server: auth off (pages on), one worker, SQLite at db_path."""
    return {"CDS_AUTH": "none", "CDS_DATABASE_URL": f"sqlite:///{db_path}", "CDS_WORKERS": "1",
            "CDS_THREADS": "4", "CDS_LOG_LEVEL": "WARNING", **extra}


@pytest.fixture(scope="session")
def cds_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("browser-serve")
    db_path = workdir / "cds.sqlite3"
    with serve_subprocess(workdir, serve_settings(db_path)) as (_proc, base):
        yield Served(base, db_path, workdir)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        if os.environ.get("LEG_PAIN_CDS_REQUIRE_BROWSER"):
            pytest.fail("LEG_PAIN_CDS_REQUIRE_BROWSER is set but no Chromium was found (apt-get install chromium)")
        pytest.skip("no Chromium (Debian package `chromium`; scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class PageWatch:
    """What a page said that a user would not see: console errors, uncaught exceptions, dialogs opened."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def assert_quiet(self) -> None:
        assert not self.dialogs, f"dialogs opened: {self.dialogs}"
        assert not self.page_errors, f"uncaught errors: {self.page_errors}"
        assert not self.console_errors, f"console errors: {self.console_errors}"


@pytest.fixture
def page_watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def page(browser: Any, page_watch: PageWatch) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(20_000)
    pg = context.new_page()
    def on_console(msg: Any) -> None:
        where = (msg.location or {}).get("url", "")
        # the browser's own favicon request is not the page's doing
        if msg.type == "error" and not where.endswith("/favicon.ico"):
            page_watch.console_errors.append(f"{msg.text} ({where})")

    pg.on("console", on_console)
    pg.on("pageerror", lambda err: page_watch.page_errors.append(str(err)))

    def on_dialog(dialog: Any) -> None:
        page_watch.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshot(pytestconfig: pytest.Config) -> Callable[..., Path]:
    root = Path(pytestconfig.rootpath)
    update = os.environ.get("LEG_PAIN_CDS_UPDATE_SCREENSHOTS") == "1"

    def save(pg: Any, name: str, *, readme: bool = False, full_page: bool = True) -> Path:
        out = root / ARTIFACTS / f"{name}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(out), full_page=full_page)
        _saved.append(out)
        if readme and update:  # the README's copy: the top of the page, at most README_MAX_HEIGHT pixels
            target = root / README_SHOTS / f"{name}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            height = min(README_MAX_HEIGHT, int(pg.evaluate("() => document.documentElement.scrollHeight")))
            pg.screenshot(path=str(target), full_page=True,
                          clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height})
        return out

    return save


@dataclass
class DemoFeedback:
    """What ``demo_feedback`` did on ``/``: the hook call, the card accepted (and its suggestion), the card dismissed."""

    run: HookRun
    accepted_card: dict[str, Any]
    accepted_suggestion: dict[str, Any]
    dismissed_card: dict[str, Any]
    reason_code: str
    comment: str


FEEDBACK_SAMPLE = "lpc-multiple-causes"  # four cards, several with suggestions


@pytest.fixture(scope="session")
def demo_feedback(browser: Any, cds_server: Served) -> Iterator[DemoFeedback]:
    context = browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(20_000)
    try:
        pg = context.new_page()
        run = run_sample(pg, cds_server.base_url, FEEDBACK_SAMPLE)
        with_suggestion = next(c for c in run.cards if c.get("suggestions"))
        other = next(c for c in run.cards if c is not with_suggestion)
        accept_first_suggestion(pg, with_suggestion["uuid"])
        reason = other["overrideReasons"][1]["code"]
        comment = "Seen in clinic last week"
        dismiss(pg, other["uuid"], reason, comment)
        yield DemoFeedback(run, with_suggestion, with_suggestion["suggestions"][0], other, reason, comment)
    finally:
        context.close()
