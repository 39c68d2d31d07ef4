"""Driving ``/`` (the demo page, cds_service/pages/static/demo.js) from a test: run a hook, accept, dismiss."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class HookRun:
    """One "Get cards" click: the request the page posted to the hook endpoint and the JSON it got back."""

    service: str
    request: dict[str, Any]
    response: dict[str, Any]

    @property
    def cards(self) -> list[dict[str, Any]]:
        return list(self.response.get("cards", []))


def run_sample(page: Any, base_url: str, sample: str, service: str = "leg-pain-causes", *,
               drug: str | None = None) -> HookRun:
    """Open ``/`` (if not there), pick `sample` and `service` (and `drug`), click "Get cards", wait until done."""
    if page.url != f"{base_url}/":
        page.goto(f"{base_url}/")
    page.check("#source-sample")
    page.select_option("#sample", sample)
    page.select_option("#service", service)
    if drug is not None:
        page.select_option("#drug", drug)
    hook_url = f"{base_url}/cds-services/{service}"
    with page.expect_response(lambda r: r.url == hook_url and r.request.method == "POST") as answer:
        page.click("#run")
    response = answer.value
    page.wait_for_selector("#demo-form[data-state=done]")
    return HookRun(service, response.request.post_data_json, response.json())


def card(page: Any, uuid: str) -> Any:
    return page.locator(f'article[data-testid="card"][data-card-uuid="{uuid}"]')


def accept_first_suggestion(page: Any, uuid: str) -> None:
    box = card(page, uuid)
    box.locator('[data-testid="accept-suggestion"]').first.click()
    box.locator('[data-testid="feedback-status"][data-state="stored"]').wait_for()


def dismiss(page: Any, uuid: str, reason_code: str, comment: str = "") -> None:
    box = card(page, uuid)
    box.locator('[data-testid="dismiss"]').click()
    box.locator(f'[data-testid="override-reason"][data-code="{reason_code}"]').check()
    if comment:
        box.locator('[data-testid="override-comment"]').fill(comment)
    box.locator('[data-testid="confirm-dismiss"]').click()
    box.locator('[data-testid="feedback-status"][data-state="stored"]').wait_for()
