"""Shared card building blocks: evidence lines, draft orders, override reasons, sources and links.

Card text is for clinicians: rounded numbers, explicit units, dates with their age, the rule id and version.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from cards import guidelines
from cards.facts import LabResult, UnreadableResult
from cards.knowledge import orders as known_orders
from cards.model import (Action, ActionType, Card, Coding, Indicator, Link, SelectionBehavior, Source,
                         Suggestion)
from cards.topics import Topic

if TYPE_CHECKING:
    from cards.facts import ConditionMatch, MedicationUse, PatientFacts
    from cards.rule import Rule

OVERRIDE_SYSTEM = "https://leg-pain-cds.org/fhir/CodeSystem/override-reason"
SOURCE_LABEL = "Leg-pain CDS"
MAX_SUMMARY = 139  # CDS Hooks 2.0: summary < 140 characters

OVERRIDE_REASONS = (
    Coding(OVERRIDE_SYSTEM, "already-addressed", "Already addressed or being managed"),
    Coding(OVERRIDE_SYSTEM, "not-relevant", "Not relevant to this patient's leg symptoms"),
    Coding(OVERRIDE_SYSTEM, "data-incorrect", "Data outdated or incorrect"),
    Coding(OVERRIDE_SYSTEM, "benefit-outweighs-risk", "Benefit outweighs risk for this patient"),
)

ANALYTE_NAMES = {
    "potassium": "Potassium", "sodium": "Sodium", "magnesium": "Magnesium", "calcium-total": "Calcium",
    "calcium-corrected": "Corrected calcium", "calcium-ionized": "Ionized calcium", "albumin": "Albumin",
    "ck": "CK", "abi": "ABI", "creatinine": "Creatinine", "bun": "BUN", "osmolality": "Osmolality",
    "ferritin": "Ferritin", "tsat": "Transferrin saturation", "egfr": "eGFR", "iron": "Iron", "tibc": "TIBC",
    "hba1c": "HbA1c", "b12": "Vitamin B12",
}


def fmt_value(value: float, decimals: int | None = None) -> str:
    """Round for reading: `decimals` places when given, else 2 below 10, 1 below 100, none above (zeros dropped)."""
    if decimals is not None:
        return f"{value:.{decimals}f}"
    if abs(value) < 10:
        text = f"{value:.2f}"
    elif abs(value) < 100:
        text = f"{value:.1f}"
    else:
        text = f"{value:.0f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# Decimals a clinician expects for each analyte in its canonical unit (how labs report them).
DECIMALS = {"potassium": 1, "sodium": 0, "magnesium": 1, "calcium-total": 1, "calcium-corrected": 1,
            "calcium-ionized": 2, "albumin": 1, "ck": 0, "abi": 2, "creatinine": 2, "bun": 0, "osmolality": 0,
            "ferritin": 0, "tsat": 0, "egfr": 0, "iron": 0, "tibc": 0, "hba1c": 1, "b12": 0, "glucose": 0,
            "tsh": 2}


def _sent_decimals(original: str) -> int:
    number = original.split(" ", 1)[0].lstrip("<>=")
    return len(number.split(".", 1)[1]) if "." in number else 0


def unit_text(unit: str) -> str:
    return {"{ratio}": "", "1": "", "mosm/kg": "mOsm/kg", "%": "%"}.get(unit, unit)


def number_text(result: LabResult) -> str:
    """The value as a clinician reads it: the lab's own precision when not converted, at least the analyte's usual
    places (an ABI of 0.9 reads 0.90) and at most one more (a generated 3.214 mmol/L reads 3.21); the usual precision
    after a conversion."""
    usual = DECIMALS.get(result.analyte)
    if usual is None:
        return fmt_value(result.value)
    decimals = usual if result.converted else max(usual, min(_sent_decimals(result.original), usual + 1))
    return fmt_value(result.value, decimals)


def value_text(result: LabResult | UnreadableResult) -> str:
    """One value with its unit ("3.2 mmol/L", "< 2.5 mmol/L", "0.90"); an unreadable result says what was sent."""
    if isinstance(result, UnreadableResult):
        return f"not readable (sent {result.sent})"
    unit = unit_text(result.unit)
    comparator = f"{result.comparator} " if result.comparator else ""
    number = f"{comparator}{number_text(result)}"
    return f"{number}%" if unit == "%" else f"{number} {unit}".strip()


def age_text(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "date unknown"
    days = (now.date() - when.date()).days
    ago = "today" if days <= 0 else ("1 day ago" if days == 1 else f"{days} days ago")
    return f"{when.date().isoformat()} ({ago})"


def range_text(result: LabResult, default: tuple[float | None, float | None] | None = None) -> str:
    decimals = DECIMALS.get(result.analyte)
    if result.ref_low is not None or result.ref_high is not None:
        return f"{_bounds(result.ref_low, result.ref_high, decimals)} (lab)"
    if default is not None:
        return f"{_bounds(*default, decimals)} (default)"
    return "-"


def _bounds(low: float | None, high: float | None, decimals: int | None = None) -> str:
    """A range as the analyte is written (potassium 3.5-5.0, not 3.5-5)."""
    def text(value: float) -> str:
        if decimals is None:
            return fmt_value(value)
        places = max(decimals, min(len(f"{value:g}".partition(".")[2]), decimals + 1))
        return fmt_value(value, places)

    if low is not None and high is not None:
        return f"{text(low)}-{text(high)}"
    if low is not None:
        return f">= {text(low)}"
    return f"<= {text(high or 0)}"


def interpretation_text(result: LabResult | UnreadableResult) -> str:
    return ", ".join(sorted(result.interpretation)) or "-"


def lab_table(rows: Iterable[tuple[LabResult | UnreadableResult, str, str]], now: datetime) -> str:
    """Markdown table of results: (result, range text, assessment); one value per result (the lab's own value,
    and what it was converted from only when a conversion happened)."""
    lines = ["| Result | Value | Date | Reference range | Lab flag | Assessment |", "|---|---|---|---|---|---|"]
    for result, ref, assessment in rows:
        name = ANALYTE_NAMES.get(result.analyte, result.analyte)
        if getattr(result, "side", None):
            name += f" ({getattr(result, 'side')})"
        original = (f" (sent as {result.original})" if isinstance(result, LabResult) and result.converted
                    and result.original else "")
        code = (f"LOINC {result.code}" if result.code else
                "calculated" if "calculated" in result.display else "matched by name")
        lines.append(f"| {name} ({code}) | **{_cell(value_text(result))}**{_cell(original)} | "
                     f"{age_text(result.date, now)} | {ref} | {interpretation_text(result)} | {assessment} |")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def duration_text(start: datetime, now: datetime) -> str:
    """How long a drug has been taken, in the unit a clinician would say: "3 days", "2 weeks", "5 months", "4 years"."""
    days = (now.date() - start.date()).days
    if days < 0:
        return "starts later"
    if days < 14:
        return "started today" if days == 0 else f"{days} day{'s' if days > 1 else ''}"
    if days < 61:
        return f"{days // 7} weeks"
    if days < 730:
        return f"{days * 12 // 365} months"
    return f"{days // 365} years"


def medication_line(med: MedicationUse, now: datetime) -> str:
    """One drug as the cards list it: product, ingredient, record kind, start date and how long taken (a drug
    started two weeks ago reads differently from one taken for ten years), and how it was recognised."""
    since = ""
    if med.date and not med.draft:
        taken = duration_text(med.date, now)
        since = f", since {med.date.date().isoformat()}" + (f" ({taken})" if taken != "started today" else " (today)")
    elif med.date:
        since = f", since {med.date.date().isoformat()}"
    kind = "draft order" if med.draft else med.resource_type
    return f"- **{med.display}** -> {med.ingredient} ({kind}{since}; {medication_evidence(med)})"


def one_per_ingredient(meds: Iterable[MedicationUse]) -> list[MedicationUse]:
    """One line per drug, its earliest record (a drug re-ordered at every visit is one drug, taken since the first)."""
    first: dict[str, MedicationUse] = {}
    for med in meds:
        known = first.get(med.ingredient)
        if known is None or (med.date is not None and (known.date is None or med.date < known.date)):
            first[med.ingredient] = med
    return list(first.values())


def medication_evidence(med: MedicationUse) -> str:
    """How the drug was recognised, said once: "RxNorm ingredient 8640", "matched by name 'Lasix'" (terminology.drugs
    writes the evidence as card-ready text naming the code system)."""
    return f"`{med.evidence}`" if med.matched_by != "text" else med.evidence


def footer(rule: Rule[Any] | Sequence[Rule[Any]], references: Sequence[str]) -> str:
    rules = [rule] if not isinstance(rule, Sequence) else list(rule)
    cites = "; ".join(guidelines.get(k).citation for k in references)
    ids = ", ".join(f"`{r.ref}`" for r in rules)
    return (f"\n\n**Sources:** {cites}.\n\n_Decision support, not a diagnosis. Rule {ids}._")


def source(topic: Topic, guideline_key: str) -> Source:
    return Source(label=f"{SOURCE_LABEL}: {guidelines.get(guideline_key).label}",
                  url=guidelines.get(guideline_key).url, topic=topic.coding())


def links(keys: Sequence[str]) -> tuple[Link, ...]:
    return tuple(Link(label=guidelines.get(k).label, url=guidelines.get(k).url) for k in keys)


def summary(text: str) -> str:
    if len(text) <= MAX_SUMMARY:
        return text
    return text[: MAX_SUMMARY - 3].rstrip(" ,;") + "..."


def service_request(patient_id: str, text: str, codings: Sequence[tuple[str, str, str]] = (),
                    reason: str | None = None, priority: str | None = None) -> dict[str, Any]:
    """A draft ServiceRequest (R4): suggested, never auto-ordered (CDS Hooks 2.0 suggestions are proposals).
    `priority` is the R4 request priority (routine, urgent, asap, stat), left out when not given."""
    code: dict[str, Any] = {"text": text}
    if codings:
        code["coding"] = [{"system": s, "code": c, "display": d} for s, c, d in codings]
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest", "status": "draft", "intent": "proposal",
        "subject": {"reference": f"Patient/{patient_id}"}, "code": code,
    }
    if priority:
        resource["priority"] = priority
    if reason:
        resource["reasonCode"] = [{"text": reason}]
    return resource


def order_suggestion(label: str, patient_id: str, orders: Sequence[tuple[str, Sequence[tuple[str, str, str]]]],
                     reason: str, recommended: bool | None = None) -> Suggestion:
    actions = tuple(Action(ActionType.CREATE, f"Draft order: {text}",
                           resource=service_request(patient_id, text, codings, reason))
                    for text, codings in orders)
    return Suggestion(label=label, actions=actions, is_recommended=recommended)


# The referrals and tests a card can draft, with their codes and each code's provenance: cards/knowledge/orders.py.
REFERRALS = {key: order.draft for key, order in known_orders.referrals().items()}
LAB_ORDERS = {key: order.draft for key, order in known_orders.lab_orders().items()}


def referral_suggestion(label: str, patient_id: str, referral: str, reason: str, urgent: bool = False,
                        recommended: bool | None = None) -> Suggestion:
    """One draft referral (a ServiceRequest like the orders; `urgent` sets its R4 priority)."""
    text, codings = REFERRALS[referral]
    resource = service_request(patient_id, text, codings, reason, priority="urgent" if urgent else None)
    action = Action(ActionType.CREATE, f"Draft {'urgent ' if urgent else ''}referral: {text}", resource=resource)
    return Suggestion(label=label, actions=(action,), is_recommended=recommended)


def bullets(title: str, items: Iterable[str]) -> str:
    """A bold title and a Markdown bullet list (empty string when there are no items)."""
    listed = [f"- {item}" for item in items]
    return f"**{title}:**\n" + "\n".join(listed) if listed else ""


def condition_line(match: ConditionMatch, now: datetime) -> str:
    """One diagnosis as evidence: its text, the code that matched (or that it matched by text), its date."""
    how = f"code {match.code}" if match.code else "matched by text, no recognised code"
    when = f"; onset/recorded {age_text(match.date, now)}" if match.date else ""
    return f"**{match.display}** ({how}{when})"


def lab_orders(*keys: str) -> list[tuple[str, Sequence[tuple[str, str, str]]]]:
    return [LAB_ORDERS[k] for k in keys]


ELECTROLYTE_PANEL = "Order basic metabolic panel and magnesium"


def electrolyte_panel(patient_id: str, reason: str, recommended: bool | None = None) -> Suggestion:
    """The one electrolyte-check suggestion (basic metabolic panel and magnesium): the same label and LOINC codes on
    every card that offers it, so that an EHR showing two such cards can merge the orders."""
    return order_suggestion(ELECTROLYTE_PANEL, patient_id, lab_orders("bmp", "magnesium"), reason=reason,
                            recommended=recommended)


def make_card(*, rule: Rule[Any], indicator: Indicator, summary_text: str, detail: str, guideline_keys: Sequence[str],
              suggestions: Sequence[Suggestion] = (), override_reasons: Sequence[Coding] = OVERRIDE_REASONS,
              facts: PatientFacts | None = None) -> Card:
    """Assemble a card with the rule's topic, a source citing the first guideline, links to all of them."""
    notes = ""
    if facts is not None and facts.notes.missing:
        notes = "\n\n**Not evaluated:** " + "; ".join(facts.notes.missing) + "."
    return Card(
        summary=summary(summary_text),
        indicator=indicator,
        source=source(rule.topic, guideline_keys[0]),
        detail=detail + notes + footer(rule, guideline_keys),
        suggestions=tuple(suggestions),
        selection_behavior=SelectionBehavior.ANY if suggestions else None,
        override_reasons=tuple(override_reasons),
        links=links(guideline_keys),
    )
