"""The Rule: one clinical rule as a declarative unit (finding first, card text second)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar

from cards.model import Card
from cards.topics import Topic

if TYPE_CHECKING:
    from cards.facts import PatientFacts

PATIENT_VIEW = "patient-view"
ORDER_SELECT = "order-select"
ORDER_SIGN = "order-sign"


FindingT = TypeVar("FindingT")


@dataclass(frozen=True)
class Rule(Generic[FindingT]):
    """A rule fires when `applies` returns a finding; `card` turns that finding into one Card.

    `needs` names the data keys the rule reads (patient, observations, medications, medicationRequests,
    conditions); `analytes` names the lab analytes it reads, which drive the Observation prefetch filter.
    """

    id: str
    version: str
    topic: Topic
    hooks: frozenset[str]
    needs: tuple[str, ...]
    applies: Callable[[PatientFacts], FindingT | None]
    card: Callable[[FindingT, PatientFacts], Card]
    analytes: tuple[str, ...] = ()
    valuesets: tuple[str, ...] = ()
    drug_classes: tuple[str, ...] = ()
    summary: str = ""
    fires_when: str = ""
    quiet_when: str = ""
    advice: str = ""  # what the card tells the clinician to do (docs/clinical-basis.md)
    # Which findings make an actionable card (shown always) and which a possible-cause card (shown only with
    # leg-symptom context): docs/clinical-basis.md, "When cards appear". Order-check rules are always actionable.
    actionable_when: str = ""
    possible_cause_when: str = ""
    references: tuple[str, ...] = field(default=())

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"
