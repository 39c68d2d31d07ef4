"""``/rules`` in headless Chromium: find the rules that read a LOINC code, follow one to its catalogue entry."""
from __future__ import annotations

from typing import Any, Callable

import pytest
import requests

from . import a11y
from .conftest import PageWatch, Served

pytestmark = pytest.mark.server

POTASSIUM = "2823-3"  # LOINC: Potassium [Moles/volume] in Serum or Plasma


def test_find_rules_by_a_loinc_code(page: Any, cds_server: Served, page_watch: PageWatch,
                                    screenshot: Callable[..., Any]) -> None:
    expected = requests.get(cds_server.url("/rules/codes.json"), params={"code": POTASSIUM}, timeout=30).json()
    assert expected["rules"], "some rule reads potassium"
    page.goto(cds_server.url("/rules"))
    assert a11y.unlabelled_controls(page) == []
    focused = a11y.tab_through(page, 8)
    assert "code" in [f["id"] for f in focused] and all(f["visible"] for f in focused), focused
    page.fill("#code", POTASSIUM)
    with page.expect_navigation():
        page.keyboard.press("Enter")  # the search is a plain GET form
    results = page.locator('[data-testid="code-results"]')
    assert results.get_attribute("data-code") == POTASSIUM
    found = [li.get_attribute("data-rule-id") for li in results.locator('[data-testid="code-result-rule"]').all()]
    refs = [li.inner_text() for li in results.locator('[data-testid="code-result-rule"]').all()]
    assert refs == expected["rules"]
    assert "electrolyte-imbalance" in found
    assert page.locator('[data-testid="code-hit"]').count() == len(expected["hits"])
    assert all(POTASSIUM in row.inner_text() for row in page.locator('[data-testid="code-hit"]').all())
    screenshot(page, "rules", readme=True, full_page=False)
    # follow the first hit to its catalogue entry: the rule's section, with its thresholds
    results.locator('[data-testid="code-result-rule"] a').first.click()
    section = page.locator(f'section#rule-{found[0]}')
    assert section.is_visible()
    assert section.get_attribute("data-rule-ref") == expected["rules"][0]
    assert section.locator('[data-testid="rule-fires-when"]').inner_text().strip()
    page_watch.assert_quiet()


def test_unknown_code_says_no_rule_reads_it(page: Any, cds_server: Served) -> None:
    page.goto(cds_server.url("/rules"))
    page.fill("#code", "0000-0")
    with page.expect_navigation():
        page.click('[data-testid="code-submit"]')
    assert page.locator('[data-testid="code-no-rules"]').is_visible()
