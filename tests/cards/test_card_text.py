"""Draft orders carry only LOINC codes the terminology package knows (each with its provenance in the lab value sets)."""
from __future__ import annotations

import pytest
from terminology import analytes
from terminology.systems import LOINC

from cards import card_text

# Panel codes are not analytes; each is listed here with the reason it is allowed.
PANELS = {"51990-0": "BMP panel, corroborated [C] (comment in cards/card_text.py)"}


@pytest.mark.parametrize("key", sorted(card_text.LAB_ORDERS))
def test_order_codes_are_known_lab_codes(key: str) -> None:
    text, codings = card_text.LAB_ORDERS[key]
    assert text
    for system, code, display in codings:
        assert system == LOINC and display
        if code in PANELS:
            continue
        assert analytes.analyte_for_code(system, code) is not None, f"{key}: {code} is not a known lab code"


def test_text_only_orders_have_no_coding() -> None:
    resource = card_text.service_request("p1", *card_text.LAB_ORDERS["venous-duplex"])
    assert resource["code"] == {"text": "Venous duplex ultrasound of the legs (reflux study)"}
    assert resource["status"] == "draft" and resource["intent"] == "proposal"


@pytest.mark.parametrize(("days", "said"), [(0, "started today"), (1, "1 day"), (13, "13 days"), (14, "2 weeks"),
                                            (60, "8 weeks"), (61, "2 months"), (729, "23 months"), (730, "2 years"),
                                            (3652, "10 years"), (-2, "starts later")])
def test_duration_is_said_in_the_unit_a_clinician_uses(days: int, said: str) -> None:
    from datetime import datetime, timedelta, timezone

    now = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)
    assert card_text.duration_text(now - timedelta(days=days), now) == said
