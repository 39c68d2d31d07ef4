"""The service registry: which CDS services exist, their hooks, rules and data needs.

Discovery is rendered from here, never written by hand. Prefetch templates are the union of the rules' needs.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Mapping
from urllib.parse import quote

from terminology import analytes as lab_analytes

from cards import rules as rules_pkg
from cards.facts import READ_WINDOW
from cards.rule import ORDER_SELECT, ORDER_SIGN, PATIENT_VIEW, Rule

# 2.0 prefetch tokens cannot express dates; the service applies its own lookback windows to prefetched data, and
# bounds its own FHIR searches by the longest window any rule uses (ABI, iron studies and diuretic monitoring: 12
# months, cards/knowledge): facts.READ_WINDOW, beyond which prefetched results keep only their date.
FALLBACK_LOOKBACK = READ_WINDOW
PAGE_SIZE = 200


class UnknownService(KeyError):
    """No service with this id."""


@dataclass(frozen=True)
class DataKey:
    """One prefetch key: its template, whether the service can answer without it, and its fallback search."""

    key: str
    resource_type: str
    template: str
    required: bool
    date_param: str | None = None
    description: str = ""

    # The context field an instance read is of (Patient/{{context.patientId}}, Encounter/{{context.encounterId}});
    # a key of another context field than patientId is skipped when the call does not give that field.
    context_field: str = "patientId"
    # False: when this optional key cannot be had, the cards do not say "Not evaluated" (the Encounter only decides
    # whether possible-cause cards show; it is counted in the log instead).
    noted_when_missing: bool = True

    def render(self, patient_id: str, context: Mapping[str, Any] | None = None) -> str:
        url = self.template.replace("{{context.patientId}}", quote(patient_id, safe=""))
        if self.context_field != "patientId":
            value = (context or {}).get(self.context_field)
            url = url.replace(f"{{{{context.{self.context_field}}}}}", quote(str(value or ""), safe=""))
        return url

    def fallback_query(self, patient_id: str, now: datetime, context: Mapping[str, Any] | None = None) -> str:
        """Relative FHIR URL fetched from fhirServer when the key was not prefetched."""
        url = self.render(patient_id, context)
        if "?" not in url:
            return url
        if self.date_param:
            url += f"&{self.date_param}=ge{(now - FALLBACK_LOOKBACK).date().isoformat()}"
        return url + f"&_count={PAGE_SIZE}"


@dataclass(frozen=True)
class Service:
    id: str
    hook: str
    title: str
    description: str
    rules: tuple[Rule[Any], ...]
    data_keys: tuple[DataKey, ...]
    # None: possible-cause cards follow CDS_POSSIBLE_CAUSE_CARDS (or the calling client's setting); "always": the
    # work-up service, called from a leg-pain workflow, shows them whatever the chart says (cards/relevance.py).
    possible_causes: str | None = None

    @property
    def prefetch(self) -> dict[str, str]:
        return {k.key: k.template for k in self.data_keys}

    def data_key(self, key: str) -> DataKey:
        return next(k for k in self.data_keys if k.key == key)

    @property
    def analytes(self) -> tuple[str, ...]:
        return tuple(sorted({a for r in self.rules for a in r.analytes}))


def _observation_template(analytes: tuple[str, ...]) -> str:
    wanted = set(analytes)
    codes = sorted(f"{s}|{c}" for s, c in lab_analytes.all_codes() if lab_analytes.analyte_for_code(s, c) in wanted)
    return "Observation?patient={{context.patientId}}&code=" + ",".join(codes)


def _data_keys(rules: tuple[Rule[Any], ...]) -> tuple[DataKey, ...]:
    needs = {n for r in rules for n in r.needs}
    analytes = tuple(sorted({a for r in rules for a in r.analytes}))
    keys = [
        DataKey("patient", "Patient", "Patient/{{context.patientId}}", required=True,
                description="the Patient (age and sex for context guards)"),
        DataKey("observations", "Observation", _observation_template(analytes), required=True, date_param="date",
                description="lab results and ABI, filtered to the LOINC/SNOMED codes the rules read"),
        DataKey("medications", "MedicationStatement",
                "MedicationStatement?patient={{context.patientId}}&status=active,intended"
                "&_include=MedicationStatement:medication", required=True,
                description="current medication statements with their Medication"),
    ]
    if "medicationRequests" in needs:
        keys.append(DataKey("medicationRequests", "MedicationRequest",
                            "MedicationRequest?patient={{context.patientId}}&status=active"
                            "&_include=MedicationRequest:medication", required=False,
                            description="active medication orders with their Medication (enriches medications)"))
    if "conditions" in needs:
        keys.append(DataKey("conditions", "Condition", "Condition?patient={{context.patientId}}", required=False,
                            description="problem list and encounter diagnoses (clinical status filtered here)"))
    if any(PATIENT_VIEW in r.hooks for r in rules):
        keys.append(DataKey("encounter", "Encounter", "Encounter/{{context.encounterId}}", required=False,
                            context_field="encounterId", noted_when_missing=False,
                            description="the current encounter, when context.encounterId is given: its reasonCode "
                                        "is leg-symptom context"))
    return tuple(keys)


@cache
def all_rules() -> tuple[Rule[Any], ...]:
    """Every RULE in cards.rules, in module-name order; rule ids must be unique."""
    found: list[Rule[Any]] = []
    for info in sorted(pkgutil.iter_modules(rules_pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{rules_pkg.__name__}.{info.name}")
        rule = getattr(module, "RULE", None)
        if isinstance(rule, Rule):
            found.append(rule)
    ids = [r.id for r in found]
    if len(ids) != len(set(ids)):
        raise RuntimeError(f"duplicate rule ids: {sorted(ids)}")
    return tuple(found)


def _service(id_: str, hook: str, title: str, description: str, possible_causes: str | None = None) -> Service:
    rules = tuple(r for r in all_rules() if hook in r.hooks)
    topics = [r.topic for r in rules]
    if len(topics) != len(set(topics)):
        raise RuntimeError(f"service {id_}: more than one rule per topic")
    return Service(id_, hook, title, description, rules, _data_keys(rules), possible_causes)


@cache
def services() -> tuple[Service, ...]:
    order_description = (
        "Checks draft medication orders against this patient's findings (low potassium, magnesium or sodium, high "
        "potassium or calcium, high CK, restless legs, iron deficiency) and warns before a drug that would cause or "
        "worsen them is {verb}. Decision support, not a diagnosis."
    )
    candidates = [
        _service("leg-pain-causes", PATIENT_VIEW, "Causes of leg pain at night or when lying down",
                 "For every chart open. Always shows actionable findings (abnormal or critical values and the drug "
                 "linked to them, label contraindications and dose caps, critical findings); shows possible causes "
                 "of leg pain when lying down or at night (a drug class, a diagnosis on the problem list, a "
                 "monitoring gap) only when the chart records leg symptoms (problem list or encounter diagnosis in "
                 "the last 12 months, or the encounter's reason). Each card gives the data, date, next step and "
                 "guideline. Decision support, not a diagnosis."),
        _service("leg-pain-workup", PATIENT_VIEW, "Leg-pain work-up: every likely cause",
                 "For a leg-pain workflow (a chief-complaint trigger, an order set, a button): shows every likely, "
                 "chart-visible cause of leg pain when lying down or at night - actionable findings and possible "
                 "causes alike (electrolytes, diuretic and statin effects, peripheral artery disease, restless "
                 "legs, other drugs, nerve compression, stenosis, circulation) - whatever the chart says about "
                 "symptoms. Decision support, not a diagnosis.", possible_causes="always"),
        _service("leg-pain-order-select", ORDER_SELECT, "Leg-pain check of selected medication orders",
                 order_description.format(verb="selected")),
        _service("leg-pain-order-sign", ORDER_SIGN, "Leg-pain check of medication orders before signing",
                 order_description.format(verb="signed")),
    ]
    return tuple(s for s in candidates if s.rules)


def service(service_id: str) -> Service:
    for s in services():
        if s.id == service_id:
            return s
    raise UnknownService(service_id)
