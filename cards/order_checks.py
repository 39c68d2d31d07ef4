"""Shared implementation of the order-time checks (services leg-pain-order-select and leg-pain-order-sign).

A check fires when a draft MedicationRequest (CDS Hooks `context.draftOrders`) *starts* a drug that would cause or
worsen a finding already in this patient's chart. The rule modules `cards/rules/order_<topic>.py` decide which
draft meets which finding (each returns an `OrderFinding`); this module decides what counts as a start and turns a
finding into one card: a warning with the finding, its value and date, the drafted drug, and suggestions whose
actions remove the draft (CDS Hooks 2.0 `delete` action with `resourceId`) or replace it by a safer drug.

What counts as a start: a draft whose ingredient is not already current (MedicationStatement or active
MedicationRequest other than the draft itself). A re-order or renewal of a drug the patient already takes is not a
start: the exposure is not new, the patient-view service already flags that drug's effect on the same findings,
and warning again at every renewal is alert fatigue, which makes clinicians stop reading the cards. Another
ingredient of the same class is a start (it may be added, not swapped, and its effect on the finding is the same).

Both hooks check every draft order, not only order-select's `selections`: a statin selected now interacts with an
antibiotic drafted a minute ago, and CDS clients replace a service's earlier cards with its newest ones.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Sequence

from terminology.systems import RXNORM

from cards import card_text
from cards.model import Action, ActionType, Card, Indicator, SelectionBehavior, Suggestion

if TYPE_CHECKING:
    from cards.facts import ConditionMatch, LabResult, MedicationUse, PatientFacts, UnreadableResult
    from cards.rule import Rule


@dataclass(frozen=True)
class Evidence:
    """One chart finding the draft would worsen: a line for the detail and a short phrase for the summary."""

    line: str
    short: str
    lab: LabResult | UnreadableResult | None = None  # an unreadable result still counts by its lab flag
    assessment: str = ""
    range_used: str = "-"
    tag: str = ""  # the rule's own label for the kind of finding (chooses next steps and the mechanism text)
    flag: str = ""  # "low" / "high" for a lab value: the lab table's assessment, the same for every draft


@dataclass(frozen=True)
class Alternative:
    """A safer drug offered in place of the draft, as an RxNorm clinical drug (SCD) the terminology data map."""

    ingredient: str
    rxcui: str
    display: str
    why: str


@dataclass(frozen=True)
class Hit:
    """One draft order and the findings it would worsen."""

    draft: MedicationUse
    evidence: tuple[Evidence, ...]
    mechanism: str
    alternatives: tuple[Alternative, ...] = ()


@dataclass(frozen=True)
class OrderFinding:
    hits: tuple[Hit, ...]


# ---------------------------------------------------------------------------------------------- what is a start


def is_start(facts: PatientFacts, draft: MedicationUse) -> bool:
    """True when the draft's ingredient is not already current (the draft itself excluded, see module doc)."""
    return not any(m.ingredient == draft.ingredient and (draft.reference is None or m.reference != draft.reference)
                   for m in facts.medications())


def new_drafts(facts: PatientFacts, classes: Sequence[str] = ()) -> list[MedicationUse]:
    """Draft orders that start a drug, optionally only those of the given classes."""
    return [d for d in facts.draft_orders
            if (not classes or d.classes & set(classes)) and is_start(facts, d)]


# ---------------------------------------------------------------------------------------------- evidence builders


def lab_evidence(result: LabResult | UnreadableResult, assessment: str, range_used: str = "-", tag: str = "",
                 qualifier: str = "") -> Evidence:
    """A lab result; its line is rendered with the card (it needs `facts.now` for the age)."""
    name = card_text.ANALYTE_NAMES.get(result.analyte, result.analyte)
    name = name if name.isupper() else name.lower()
    short = f"{qualifier} {name} {card_text.value_text(result)} ({result.day.isoformat()})".strip()
    return Evidence(line="", short=short, lab=result, assessment=assessment, range_used=range_used, tag=tag,
                    flag=qualifier)


def condition_evidence(match: ConditionMatch, short: str, tag: str = "") -> Evidence:
    """An active diagnosis; `short` is the summary phrase (the display alone often repeats the topic)."""
    how = f"code {match.code}" if match.code else "matched by text"
    since = f", recorded {match.date.date().isoformat()}" if match.date else ""
    return Evidence(line=f"Diagnosis: {match.display} ({how}{since})", short=short, tag=tag)


def drug_evidence(med: MedicationUse, reason: str, now: datetime, tag: str = "") -> Evidence:
    """Another drug (current, or drafted in the same order session) that the draft interacts with."""
    line = card_text.medication_line(med, now).removeprefix("- ")
    kind = "also drafted" if med.draft else "active"
    return Evidence(line=f"With {kind} {line}: {reason}", short=f"{kind} {med.ingredient}", tag=tag)


# ---------------------------------------------------------------------------------------------- card


def findings_text(hit: Hit) -> str:
    """The first finding of a hit for a summary, then how many more the detail lists (summaries are < 140 chars)."""
    left = len(hit.evidence) - 1
    return hit.evidence[0].short + (f" and {left} other finding{'s' if left > 1 else ''}" if left else "")


def medication_request(patient_id: str, alternative: Alternative, replaces: MedicationUse) -> dict[str, Any]:
    """A draft MedicationRequest proposal (R4) for the alternative: the clinician completes dose and signs."""
    return {
        "resourceType": "MedicationRequest", "status": "draft", "intent": "proposal",
        "subject": {"reference": f"Patient/{patient_id}"},
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": alternative.rxcui,
                                                  "display": alternative.display}], "text": alternative.display},
        "note": [{"text": f"Suggested instead of {replaces.ingredient}: {alternative.why}"}],
    }


def _delete(draft: MedicationUse) -> Action:
    return Action(ActionType.DELETE, f"Remove the draft order for {draft.display}", resource_id=draft.reference)


def suggestions(finding: OrderFinding, patient_id: str) -> list[Suggestion]:
    """Remove-all (when several drafts), remove each draft, replace each draft by each alternative."""
    drafts: dict[str, MedicationUse] = {}
    ingredients: dict[str, list[str]] = {}  # a combination product is one draft with several ingredients
    for hit in finding.hits:
        if hit.draft.reference:
            drafts.setdefault(hit.draft.reference, hit.draft)
            names = ingredients.setdefault(hit.draft.reference, [])
            if hit.draft.ingredient not in names:
                names.append(hit.draft.ingredient)
    out: list[Suggestion] = []
    if len(drafts) > 1:
        out.append(Suggestion(label=f"Remove all {len(drafts)} flagged draft orders",
                              actions=tuple(_delete(d) for d in drafts.values())))
    out += [Suggestion(label=card_text.summary(f"Remove the draft {'/'.join(ingredients[ref])} order"),
                       actions=(_delete(d),)) for ref, d in drafts.items()]
    seen: set[tuple[str | None, str, str]] = set()
    for hit in finding.hits:
        for alt in hit.alternatives:
            key = (hit.draft.reference, hit.draft.ingredient, alt.rxcui)
            if key in seen:
                continue
            seen.add(key)
            create = Action(ActionType.CREATE, f"Draft order: {alt.display} (review the dose before signing)",
                            resource=medication_request(patient_id, alt, hit.draft))
            actions = ((_delete(hit.draft),) if hit.draft.reference else ()) + (create,)
            out.append(Suggestion(label=card_text.summary(f"Replace {hit.draft.ingredient} by {alt.display}"),
                                  actions=actions))
    return out


def worsens_headline(hit: Hit) -> str:
    """The usual summary: the drafted drug and the finding it would worsen."""
    return f"Draft {hit.draft.ingredient} would worsen {findings_text(hit)}"


def card(rule: Rule[Any], finding: OrderFinding, facts: PatientFacts, *, headline: Callable[[Hit], str], intro: str,
         next_steps: Sequence[str], guideline_keys: Sequence[str],
         indicator: Indicator = Indicator.WARNING,
         heading: str = "Draft orders that would worsen this patient's findings") -> Card:
    """One card (a warning unless the rule says critical) for every draft of this topic; `headline(hit)` is the
    summary for the first hit; `heading` titles the list of drafts (a rule whose finding is the draft itself, such
    as a restricted dose, names it otherwise)."""
    hits = finding.hits
    more = len({h.draft.reference or h.draft.display for h in hits}) - 1
    suffix = f" (+{more} more draft{'s' if more > 1 else ''})" if more > 0 else ""
    summary = card_text.summary(headline(hits[0]))
    if len(summary) + len(suffix) > card_text.MAX_SUMMARY:  # keep the count of further drafts visible
        summary = summary[: card_text.MAX_SUMMARY - len(suffix) - 3].rstrip(" ,;:") + "..."
    summary += suffix
    parts = [intro, f"**{heading}:**"]
    labs: dict[tuple[str, str], tuple[LabResult | UnreadableResult, str, str]] = {}
    for number, hit in enumerate(hits, 1):
        lines = [f"{number}. {card_text.medication_line(hit.draft, facts.now).removeprefix('- ')}"]
        for ev in hit.evidence:
            if ev.lab is not None:
                name = card_text.ANALYTE_NAMES.get(ev.lab.analyte, ev.lab.analyte)
                lines.append(f"   - {name} **{card_text.value_text(ev.lab)}** on "
                             f"{card_text.age_text(ev.lab.date, facts.now)}: {ev.assessment}")
                labs[(ev.lab.analyte, ev.lab.observation_id or ev.lab.date.isoformat())] = (
                    ev.lab, ev.range_used, ev.flag or ev.assessment)
            else:
                lines.append(f"   - {ev.line}")
        lines.append(f"   - Why: {hit.mechanism}")
        if hit.draft.reference is None:
            lines.append("   - This draft order has no id, so the card cannot remove it: cancel it in the order "
                         "screen if you agree.")
        parts.append("\n".join(lines))
    if labs:
        parts.append(card_text.lab_table(labs.values(), facts.now))
    parts.append("**Next steps:**\n" + "\n".join(f"- {s}" for s in next_steps))
    offered = suggestions(finding, facts.patient_id)
    built = card_text.make_card(rule=rule, indicator=indicator, summary_text=summary,
                                detail="\n\n".join(parts), guideline_keys=guideline_keys, suggestions=offered,
                                facts=facts)
    # A draft is either kept, removed or replaced: the choices exclude each other.
    return dataclasses.replace(built, selection_behavior=SelectionBehavior.AT_MOST_ONE if offered else None)
