"""The orders a card drafts carry only codes the bundled terminology verifies, so a code cannot be invented.

Each coding names the bundled value set that lists it (terminology/data/valuesets/<slug>.json, with the code's own
provenance), or, where no bundled value set carries the code, the public source that verifies it; those few are
listed here too, so adding one is a reviewed change of this file as well as of the data.
"""
from __future__ import annotations

import pytest
from terminology import systems, valuesets

from cards import card_text
from cards.knowledge import KnowledgeError, orders

# Codes no bundled value set lists: a panel (not an analyte) and a referral. Each entry's `verified_by` names its source.
NOT_IN_A_BUNDLED_VALUE_SET = {(systems.LOINC, "51990-0"), (systems.SNOMED, "307777008")}

ALL = {**{f"lab:{k}": o for k, o in orders.lab_orders().items()},
       **{f"referral:{k}": o for k, o in orders.referrals().items()}}
CODINGS = [(key, coding) for key, order in ALL.items() for coding in order.codings]


@pytest.mark.parametrize(("key", "coding"), CODINGS, ids=[f"{k}:{c.code}" for k, c in CODINGS])
def test_every_code_is_verified_by_the_bundled_terminology(key: str, coding: orders.OrderCoding) -> None:
    if coding.valueset is None:
        assert (coding.system, coding.code) in NOT_IN_A_BUNDLED_VALUE_SET, f"{key}: {coding.code} is unverified"
        assert coding.verified_by and coding.code in coding.verified_by
        return
    valueset = valuesets.load(coding.valueset)
    assert (coding.system, coding.code) in valueset.codes, f"{key}: {coding.code} is not in {coding.valueset}"
    assert valueset.display(coding.system, coding.code) == coding.display


def test_the_unverified_list_holds_only_codes_in_use() -> None:
    used = {(c.system, c.code) for _, c in CODINGS if c.valueset is None}
    assert used == NOT_IN_A_BUNDLED_VALUE_SET


def test_orders_without_a_verified_code_are_text_only_and_say_why() -> None:
    for key, order in ALL.items():
        assert order.label
        if not order.codings:
            assert order.note, f"{key}: a text-only order says why it carries no code"


def test_card_text_drafts_the_data_unchanged() -> None:
    assert card_text.lab_orders("bmp", "magnesium") == [orders.lab_orders()["bmp"].draft,
                                                         orders.lab_orders()["magnesium"].draft]
    resource = card_text.service_request("p1", *card_text.LAB_ORDERS["potassium"])
    assert resource["code"]["coding"] == [{"system": systems.LOINC, "code": "2823-3",
                                           "display": "Potassium [Moles/volume] in Serum or Plasma"}]


@pytest.mark.parametrize("coding", [
    {"system": "http://loinc.org", "code": "1-8", "display": "x"},  # neither a value set nor a source
    {"system": "http://loinc.org", "code": "1-8", "display": "x", "valueset": "lab-ck", "verified_by": "y"},
    {"system": "http://loinc.org", "code": "", "display": "x", "valueset": "lab-ck"},
    {"system": "http://loinc.org", "code": "1-8", "display": "x", "valueset": "lab-ck", "extra": 1},
])
def test_a_malformed_coding_is_rejected(coding: dict[str, object]) -> None:
    with pytest.raises(KnowledgeError):
        orders._coding(coding, "test")
