"""The orders a card can draft (``data/lab_orders.json``, ``data/referrals.json``), each code with its provenance.

An entry is ``{"id", "label", "codings", "note"?}``; a coding is ``{"system", "code", "display"}`` plus where the
code was verified: ``valueset``, the slug of a bundled terminology value set that lists it (with its own provenance),
or, for a code no bundled value set carries (a panel, a referral), ``valueset`` null and ``verified_by`` naming the
public source. An order without a verified code is drafted as text only (``codings`` empty). tests/cards check every
code against the bundled terminology, so a code cannot be typed in here without a visible source.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from cards.knowledge._data import KnowledgeError, entries

Coded = tuple[str, str, str]  # (system, code, display), as a draft ServiceRequest carries it


@dataclass(frozen=True)
class OrderCoding:
    """One code of an order and where it was verified."""

    system: str
    code: str
    display: str
    valueset: str | None
    verified_by: str | None

    @property
    def coded(self) -> Coded:
        return self.system, self.code, self.display


@dataclass(frozen=True)
class Order:
    """A test or referral a card can draft: its label (the ServiceRequest text) and its codes."""

    id: str
    label: str
    codings: tuple[OrderCoding, ...]
    note: str = ""

    @property
    def draft(self) -> tuple[str, tuple[Coded, ...]]:
        """The label and codes a draft ServiceRequest carries (``card_text.service_request``)."""
        return self.label, tuple(c.coded for c in self.codings)


def _coding(data: Any, where: str) -> OrderCoding:
    if not isinstance(data, dict) or set(data) - {"system", "code", "display", "valueset", "verified_by"}:
        raise KnowledgeError(f"{where}: a coding is system, code, display, valueset and verified_by: {data!r}")
    try:
        coding = OrderCoding(str(data["system"]), str(data["code"]), str(data["display"]), data["valueset"],
                             data.get("verified_by"))
    except KeyError as err:
        raise KnowledgeError(f"{where}: coding lacks {err}") from err
    if not (coding.system and coding.code and coding.display):
        raise KnowledgeError(f"{where}: empty system, code or display")
    if (coding.valueset is None) == (coding.verified_by is None):
        raise KnowledgeError(f"{where}: {coding.code} needs either a bundled value set or verified_by, not both")
    return coding


def _load(name: str) -> dict[str, Order]:
    found: dict[str, Order] = {}
    for data in entries(name):
        where = f"{name}: {data.get('id')!r}"
        if set(data) - {"id", "label", "codings", "note"} or not isinstance(data.get("codings"), list):
            raise KnowledgeError(f"{where}: an order is id, label, codings (a list) and an optional note")
        order = Order(str(data.get("id", "")), str(data.get("label", "")),
                      tuple(_coding(c, where) for c in data["codings"]), str(data.get("note", "")))
        if not (order.id and order.label) or order.id in found:
            raise KnowledgeError(f"{where}: needs a unique id and a label")
        found[order.id] = order
    return found


@functools.cache
def lab_orders() -> dict[str, Order]:
    """The orderable tests by id."""
    return _load("lab_orders.json")


@functools.cache
def referrals() -> dict[str, Order]:
    """The referrals a card can draft, by id."""
    return _load("referrals.json")
