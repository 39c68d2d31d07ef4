"""The card model: frozen dataclasses that the web layer serialises to CDS Hooks 2.0 JSON.

uuids are not part of the model: the web layer assigns them when it dumps a response, so rules stay pure.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Indicator(str, Enum):
    """CDS Hooks 2.0 card indicator, ordered by urgency."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "critical": 2}[self.value]


class CardKind(str, Enum):
    """Whether a card is shown on every chart open, or only where the chart says the legs hurt.

    ACTIONABLE: an abnormal or critical value (and the drug the card links to it), a label contraindication or dose
    cap, a critical finding, every order check: shown always. POSSIBLE_CAUSE: a drug class or a diagnosis offered as
    a possible cause of leg symptoms, a monitoring gap, suggested iron studies or ABI: shown only with leg-symptom
    context, or by the work-up service (cards/relevance.py; docs/clinical-basis.md, "When cards appear").
    """

    ACTIONABLE = "actionable"
    POSSIBLE_CAUSE = "possible-cause"


class SelectionBehavior(str, Enum):
    AT_MOST_ONE = "at-most-one"
    ANY = "any"


class ActionType(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class Coding:
    system: str
    code: str
    display: str | None = None


@dataclass(frozen=True)
class Source:
    label: str
    url: str | None = None
    topic: Coding | None = None


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    type: str = "absolute"


@dataclass(frozen=True)
class Action:
    type: ActionType
    description: str
    resource: dict[str, Any] | None = None
    resource_id: str | None = None


@dataclass(frozen=True)
class Suggestion:
    label: str
    actions: tuple[Action, ...] = ()
    is_recommended: bool | None = None


@dataclass(frozen=True)
class Card:
    """One card: one topic, every finding that supports it."""

    summary: str
    indicator: Indicator
    source: Source
    detail: str | None = None
    suggestions: tuple[Suggestion, ...] = ()
    selection_behavior: SelectionBehavior | None = None
    override_reasons: tuple[Coding, ...] = ()
    links: tuple[Link, ...] = ()
    # Not serialised: which rules (id@version) produced the card; recorded in the store and logs.
    rule_ids: tuple[str, ...] = field(default=())
    # Not serialised: shown always, or only with leg-symptom context (CardKind).
    kind: CardKind = CardKind.ACTIONABLE

    @property
    def topic(self) -> str | None:
        return self.source.topic.code if self.source.topic else None
