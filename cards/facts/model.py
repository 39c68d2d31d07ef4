"""What the rules read: results, medications and conditions as found in the chart, and what could not be used."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date as CalendarDate  # LabResult has a field named `date`
from datetime import datetime

from terminology import units


@dataclass
class DataNotes:
    """What the service could not use, counted by reason (no patient data in here: safe to log)."""

    skipped: Counter[str] = field(default_factory=Counter)
    missing: list[str] = field(default_factory=list)

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def note_missing(self, text: str) -> None:
        if text not in self.missing:
            self.missing.append(text)


@dataclass(frozen=True)
class LabResult:
    """One usable result, value converted to the analyte's canonical unit."""

    analyte: str
    value: float
    unit: str
    date: datetime
    code: str
    display: str
    observation_id: str | None
    ref_low: float | None = None
    ref_high: float | None = None
    interpretation: frozenset[str] = frozenset()
    original: str = ""
    side: str | None = None
    comparator: str | None = None  # "<", "<=", ">", ">=": the true value lies beyond `value` (censored)
    converted: bool = False  # the lab's unit differed from the canonical one (`original` shows what was sent)

    @property
    def day(self) -> CalendarDate:
        return self.date.date()

    def value_in(self, unit: str) -> float:
        """The value in `unit` (rules compare against thresholds in the unit their source states)."""
        if unit == self.unit:
            return self.value
        return units.from_canonical(self.value, unit, self.analyte)


@dataclass(frozen=True)
class UnreadableResult:
    """A result that exists (final, this patient, a known analyte) but whose value cannot be read or converted.

    Cards name it ("potassium of 2026-11-30 could not be read: sent 'haemolysed'") instead of saying there is no
    result; its interpretation flags still count (an LL flag on an unreadable potassium is a critical finding).
    """

    analyte: str
    date: datetime
    code: str
    display: str
    observation_id: str | None
    sent: str
    interpretation: frozenset[str] = frozenset()

    @property
    def day(self) -> CalendarDate:
        return self.date.date()


@dataclass(frozen=True)
class MedicationUse:
    """A current medication (statement, request or draft order) matched to one ingredient."""

    resource_type: str
    resource_id: str | None
    display: str
    ingredient: str
    classes: frozenset[str]
    matched_by: str
    evidence: str
    date: datetime | None = None
    draft: bool = False
    # What the dose is read from (cards.knowledge.interactions): the product names as sent (concept text, coding
    # displays, and the RxNorm product name of a coded clinical drug), and the first dosage instruction's dose
    # quantity (value, unit) and administrations per day, when given.
    product_names: tuple[str, ...] = ()
    dose: tuple[float, str] | None = None
    per_day: float | None = None

    @property
    def reference(self) -> str | None:
        return f"{self.resource_type}/{self.resource_id}" if self.resource_id else None


@dataclass(frozen=True)
class ConditionMatch:
    """A current Condition of the chart that is in a value set, and how it matched (by code or by text)."""

    condition_id: str | None
    display: str
    valueset: str
    matched_by: str
    code: str | None
    date: datetime | None = None
    # The later of onset and recordedDate: how recently the chart asserted it (a chronic problem re-recorded today
    # is current; cards/relevance.py)
    latest: datetime | None = None
