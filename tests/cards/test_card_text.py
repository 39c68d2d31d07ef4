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
