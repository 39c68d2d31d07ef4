"""Clinical knowledge as data, each item with its primary source; the rules read it, cards.docs documents it.

``data/`` holds:

* ``thresholds/<topic>.json``: every threshold and window the rules use (this module, ``threshold(id)``);
* ``guidelines.json``: the primary sources everything here cites (``cards.guidelines``);
* ``lab_orders.json``: the tests a card can draft, with their codes and the value set that verifies each
  (``cards.knowledge.orders``);
* ``drug_effects.json``: what drug classes do to the legs (``cards.drug_effects``);
* ``interactions/statin.json``: statin interactions by the US labels (``cards.knowledge.interactions``).

A threshold file holds a list of entries::

    {"id": "potassium.critical-high", "value": 6.5, "unit": "mmol/L", "compare": ">=",
     "means": "severe hyperkalaemia, an emergency: critical", "source": "hyperkalaemia-2020",
     "where": "severity: severe >= 6.5 mmol/L", "decision": null}

``source`` is a key of ``cards.guidelines`` (the citation shown on cards), or null for a pure product decision;
``where`` is the section, table or sentence of that source the number comes from. ``decision`` is null when the
number is the source's own, else the product's reason for choosing it (a window, a grade used as the card's cut-off):
docs/clinical-basis.md says which is which. ``compare`` "=" marks a formula constant.

Rules read a number once, at import, with ``threshold(id)``, which notes the reading module (``read_by``): the
generated docs list each number under the rules that read it, from that record rather than from the source text.
Prose (rule docstrings, a Rule's ``fires_when`` and the like) names a number by its id, ``{potassium.critical-high}``,
never by its value (``cards.docs`` renders it), so the number a card uses and the number a clinician reviews cannot
drift apart.
"""
from __future__ import annotations

import functools
import operator
import sys
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

from cards import guidelines
from cards.knowledge._data import KnowledgeError as KnowledgeError
from cards.knowledge._data import entries, folder

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "=": operator.eq,
}


@dataclass(frozen=True)
class Threshold:
    """One clinical number, how a value is compared with it, and where it comes from."""

    id: str
    value: float
    unit: str
    compare: str
    means: str
    source: str | None
    where: str
    decision: str | None
    topic: str

    def met(self, value: float) -> bool:
        """Whether `value` (in `unit`) is on the side of the threshold that `means` describes."""
        return _COMPARE[self.compare](value, self.value)

    @property
    def days(self) -> timedelta:
        """The threshold as a time window (for entries in days)."""
        if self.unit != "days":
            raise KnowledgeError(f"{self.id} is in {self.unit}, not days")
        return timedelta(days=self.value)

    @property
    def text(self) -> str:
        """Card-ready: the comparison, the number as the source writes it, and the unit ("> 300 mOsm/kg")."""
        if self.unit in ("{ratio}", "1") and self.value < 10:
            number = f"{self.value:.2f}"  # an ABI reads 0.90
        elif self.value < 10 and self.value == int(self.value) and self.unit != "days":
            number = f"{self.value:.1f}"  # a potassium of 3.0 mmol/L, as labs and guidelines write it
        else:
            number = f"{self.value:g}"
        unit = {"{ratio}": "", "days": " days"}.get(self.unit, f" {self.unit}" if self.unit else "")
        return f"{self.compare} {number}{unit}".rstrip()

    @property
    def amount(self) -> str:
        """The number and unit without the comparison, a window in the unit prose uses ("6.5 mmol/L", "12 months")."""
        if self.unit == "days" and self.value >= 365 and self.value % 365 == 0:
            years = self.value / 365
            return "12 months" if years == 1 else f"{years:g} years"
        if self.unit == "days" and self.value >= 14 and self.value % 7 == 0:
            return f"{self.value / 7:g} weeks"
        if self.unit in ("{ratio}", "1"):
            return f"{self.value:.2f}" if self.value < 10 else f"{self.value:g}"  # an ABI reads 0.90
        if self.unit in ("mmol/L", "mg/dL", "g/dL") and self.value < 10 and self.value == round(self.value, 1):
            return f"{self.value:.1f} {self.unit}"  # a potassium of 3.0 mmol/L, as labs write it
        return f"{self.value:g}{'' if self.unit == '%' else ' '}{self.unit}".rstrip()

    @property
    def citation(self) -> str:
        """The guideline label and the place in it ("UK Kidney Association hyperkalaemia guideline 2020, ...")."""
        if self.source is None:
            return "product decision"
        return f"{guidelines.get(self.source).label}, {self.where}"


def _entry(data: dict[str, Any], topic: str) -> Threshold:
    try:
        item = Threshold(id=str(data["id"]), value=float(data["value"]), unit=str(data["unit"]),
                         compare=str(data["compare"]), means=str(data["means"]), source=data["source"],
                         where=str(data["where"]), decision=data.get("decision"), topic=topic)
    except (KeyError, TypeError, ValueError) as err:
        raise KnowledgeError(f"{topic}: malformed entry {data!r}: {err}") from err
    if item.compare not in _COMPARE:
        raise KnowledgeError(f"{item.id}: compare must be one of {sorted(_COMPARE)}")
    if item.source is None:
        if not item.decision:
            raise KnowledgeError(f"{item.id}: a number without a source must say why the product chose it")
    elif item.source not in guidelines.GUIDELINES:
        raise KnowledgeError(f"{item.id}: unknown source {item.source!r} (a key of cards.guidelines)")
    if item.decision is not None and not (isinstance(item.decision, str) and item.decision.strip()):
        raise KnowledgeError(f"{item.id}: decision must be null or the reason for the product's choice")
    return item


@functools.cache
def all_thresholds() -> dict[str, Threshold]:
    """Every entry of every file under data/thresholds/, by id (ids are unique across files)."""
    found: dict[str, Threshold] = {}
    for path in sorted(folder("thresholds").iterdir(), key=lambda p: p.name):
        if not path.name.endswith(".json"):
            continue
        topic = path.name[: -len(".json")]
        for data in entries("thresholds", path.name):
            item = _entry(data, topic)
            if item.id in found:
                raise KnowledgeError(f"duplicate threshold id {item.id!r}")
            found[item.id] = item
    return found


_READ_BY: dict[str, dict[str, None]] = {}  # module -> the ids it read, in reading order


def threshold(key: str) -> Threshold:
    """The entry `key`; KeyError (at import of the rule that asks) for an unknown id. Notes the calling module."""
    item = all_thresholds()[key]
    _READ_BY.setdefault(sys._getframe(1).f_globals.get("__name__", ""), {})[key] = None
    return item


def read_by(module: str) -> tuple[str, ...]:
    """The ids `module` has read with ``threshold`` (at its import), in reading order."""
    return tuple(_READ_BY.get(module, ()))


def readers() -> dict[str, tuple[str, ...]]:
    """Every module that has read a threshold, with the ids it read."""
    return {module: tuple(ids) for module, ids in _READ_BY.items()}
