"""``/rules``: the rule catalogue, from the registry and the clinical basis, searchable by code.

Every rule with its id and version, hooks and services, topic, what fires it and what keeps it quiet (its prose with
the knowledge numbers put in by ``cards.docs.render``), each threshold with value, unit and linked source
(``cards.docs.rule_thresholds``), the value sets it reads with their codes and provenance, its drug classes, and the
card a bundled sample patient gets from it (evaluated once per process through ``pipeline.evaluate``). The facts
are the ones docs/clinical-basis.md is generated from (``cards.docs``): nothing here states a rule's content again.

``GET /rules?code=2823-3`` lists the rules that read a code (LOINC, SNOMED CT, ICD-10-CM, RxNorm or ATC) above the
catalogue: a GET form, so it works without JavaScript. ``GET /rules/codes.json?code=2823-3`` answers the same as
JSON. A code is terminology, not patient data; the sample cards are of synthetic patients and name none.
"""
from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from cards import docs, guidelines, registry
from cards.knowledge import Threshold
from cards.model import Link
from cards.rule import ORDER_SELECT, PATIENT_VIEW, Rule
from flask import Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from markdown_it import MarkdownIt
from markupsafe import Markup
from terminology import analytes, check, drugs, systems, valuesets
from terminology._data import load_json

from cds_service import pipeline, samples, schemas
from cds_service.errors import operation_outcome
from cds_service.pages import demo, page_blueprint

bp = page_blueprint("rules", __name__, nav=("/rules", "Rule catalogue"))

#: The systems a typed code is looked up in, with the names the page shows.
SYSTEM_NAMES = {systems.LOINC: "LOINC", systems.SNOMED: "SNOMED CT", systems.ICD10CM: "ICD-10-CM",
                systems.RXNORM: "RxNorm", systems.ATC: "ATC", systems.ICD10: "ICD-10 (WHO)"}
SEARCH_SYSTEMS = (systems.LOINC, systems.SNOMED, systems.ICD10CM, systems.RXNORM, systems.ATC)
#: Longer than any code of these systems; a longer query is answered "nothing reads it" without a lookup.
CODE_MAX = 64
#: The service a patient-view sample is evaluated on: it shows possible-cause cards whatever the chart says, so
#: every card a rule can make for the sample is shown. Order rules: an order-select call per drug of the demo page.
SAMPLE_SERVICE = "leg-pain-workup"
ORDER_SERVICE = "leg-pain-order-select"

# Card detail is Markdown from the service: rendered with raw HTML off (a <script> in a value is text) and links
# limited to markdown-it's safe schemes.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


# ---------------------------------------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class ThresholdView:
    id: str
    text: str  # as docs/clinical-basis.md writes it (">= 6.5 mmol/L")
    value: float
    unit: str
    compare: str
    means: str
    source_label: str | None  # None: a product decision
    source_url: str | None
    where: str
    decision: str | None


@dataclass(frozen=True)
class CodeView:
    system: str
    system_name: str
    code: str
    display: str
    tag: str
    descendants: bool


@dataclass(frozen=True)
class ValueSetView:
    slug: str
    title: str
    url: str
    version: str
    publisher: str
    date: str
    purpose: str
    identifiers: tuple[str, ...]
    provenance: tuple[str, ...]
    harvest_date: str
    harvested_by: str
    codes: tuple[CodeView, ...]
    text_patterns: tuple[str, ...]
    analyte: str | None  # a lab value set: the analyte it defines


@dataclass(frozen=True)
class IngredientView:
    name: str
    display: str
    rxcui: str | None
    atc: str | None
    source: str


@dataclass(frozen=True)
class DrugClassView:
    id: str
    description: str
    ingredients: tuple[IngredientView, ...]


@dataclass(frozen=True)
class RuleView:
    id: str
    version: str
    ref: str
    topic: str
    topic_display: str
    hooks: tuple[str, ...]
    services: tuple[str, ...]
    module: str
    prose: dict[str, str]  # PROSE_FIELDS, rendered
    thresholds: tuple[ThresholdView, ...]
    valuesets: tuple[ValueSetView, ...]
    drug_classes: tuple[DrugClassView, ...]
    built_on: tuple[str, ...]
    references: tuple[guidelines.Guideline, ...]


def _extension_values(node: dict[str, Any], url: str) -> list[str]:
    return [str(v) for ext in node.get("extension", []) if ext.get("url") == url
            for k, v in ext.items() if k.startswith("value")]


def _threshold(item: Threshold) -> ThresholdView:
    guideline = guidelines.get(item.source) if item.source else None
    return ThresholdView(id=item.id, text=docs.threshold_value(item), value=item.value, unit=item.unit,
                         compare=item.compare, means=item.means, source_label=guideline.label if guideline else None,
                         source_url=guideline.url if guideline else None, where=item.where, decision=item.decision)


_VALUESETS: dict[str, ValueSetView] = {}


def value_set(slug: str) -> ValueSetView:
    """The value set `slug` with its codes and the provenance its file records (read once per process)."""
    found = _VALUESETS.get(slug)
    if found is not None:
        return found
    vs = valuesets.load(slug)  # checks the provenance; the resource holds what ValueSet does not keep
    resource = load_json("valuesets", f"{slug}.json")
    codes = tuple(CodeView(system=str(e["system"]), system_name=SYSTEM_NAMES.get(str(e["system"]), str(e["system"])),
                           code=str(e["code"]), display=str(e.get("display", "")),
                           tag=(_extension_values(e, valuesets.SOURCE_TAG_URL) or [""])[0],
                           descendants=vs.includes_descendants(e["system"], e["code"]))
                  for e in resource.get("expansion", {}).get("contains", []))
    view = ValueSetView(
        slug=slug, title=str(resource.get("title") or resource.get("name") or slug), url=vs.url, version=vs.version,
        publisher=str(resource.get("publisher", "")), date=str(resource.get("date", "")),
        purpose=str(resource.get("purpose", "")),
        identifiers=tuple(str(i.get("value")) for i in resource.get("identifier", []) if i.get("value")),
        provenance=tuple(_extension_values(resource, valuesets.PROVENANCE_SOURCE_URL)),
        harvest_date=", ".join(_extension_values(resource, valuesets.HARVEST_DATE_URL)),
        harvested_by=", ".join(_extension_values(resource, valuesets.HARVESTED_BY_URL)),
        codes=codes, text_patterns=vs.text_patterns,
        analyte=slug[len(analytes.LAB_PREFIX):] if slug.startswith(analytes.LAB_PREFIX) else None)
    _VALUESETS[slug] = view
    return view


def rule_valueset_slugs(rule: Rule[Any]) -> tuple[str, ...]:
    """The value sets `rule` reads: the lab value set of each analyte (which codes are that analyte), then its own."""
    return tuple(dict.fromkeys([*(analytes.LAB_PREFIX + a for a in rule.analytes), *rule.valuesets]))


def _drug_class(drug_class: str) -> DrugClassView:
    names = drugs.classes()
    members = tuple(IngredientView(name=i.name, display=i.display, rxcui=i.rxcui, atc=i.atc, source=i.source)
                    for i in drugs.ingredients() if drug_class in i.classes)
    return DrugClassView(id=drug_class, description=names.get(drug_class, drug_class), ingredients=members)


def rule_view(rule: Rule[Any]) -> RuleView:
    prose = {name: docs.render(getattr(rule, name)) for name in docs.PROSE_FIELDS}
    return RuleView(
        id=rule.id, version=rule.version, ref=rule.ref, topic=rule.topic.value, topic_display=rule.topic.display,
        hooks=tuple(sorted(rule.hooks)), services=tuple(s.id for s in registry.services() if rule in s.rules),
        module=docs.rule_module(rule).__name__, prose=prose,
        thresholds=tuple(_threshold(t) for t in docs.rule_thresholds(rule)),
        valuesets=tuple(value_set(slug) for slug in rule_valueset_slugs(rule)),
        drug_classes=tuple(_drug_class(c) for c in rule.drug_classes),
        built_on=tuple(r.id for r in docs.built_on(docs.rule_module(rule)) if r.id != rule.id),
        references=tuple(map(guidelines.get, rule.references)))


_LOCK = threading.Lock()
_CATALOGUE: list[tuple[RuleView, ...]] = []


def catalogue() -> tuple[RuleView, ...]:
    """Every registered rule, in the order of docs/rules.md (by topic, then id); built once per process."""
    with _LOCK:
        if not _CATALOGUE:
            _CATALOGUE.append(tuple(rule_view(r) for r in docs.sorted_rules()))
        return _CATALOGUE[0]


# ---------------------------------------------------------------------------------------------- code search


@dataclass(frozen=True)
class CodeHit:
    """One way a rule reads a code: through a value set, or through a drug class the code's drug belongs to."""

    system: str
    system_name: str
    code: str
    display: str
    via: str  # "value set lab-potassium" / "drug class loop-diuretic (furosemide, RxNorm product)"
    valueset: str | None
    drug_class: str | None
    rules: tuple[str, ...]  # rule ids

    def as_json(self, refs: dict[str, str]) -> dict[str, Any]:
        return {"system": self.system, "systemName": self.system_name, "code": self.code, "display": self.display,
                "via": self.via, "valueSet": self.valueset, "drugClass": self.drug_class,
                "rules": [refs[r] for r in self.rules]}


#: Short names a person may type before the bar ("loinc|2823-3"), besides the system URIs and their aliases.
SHORT_SYSTEM_NAMES = {"loinc": systems.LOINC, "snomed": systems.SNOMED, "sct": systems.SNOMED,
                      "snomed ct": systems.SNOMED, "icd-10-cm": systems.ICD10CM, "icd10cm": systems.ICD10CM,
                      "rxnorm": systems.RXNORM, "atc": systems.ATC}


def _parse_code(text: str) -> tuple[tuple[str, ...], str]:
    """The systems to look in and the code: "2823-3" (every system), "http://loinc.org|2823-3" or "loinc|2823-3"
    (that one)."""
    text = text.strip()
    if "|" in text:
        system, _, code = text.rpartition("|")
        canonical = SHORT_SYSTEM_NAMES.get(system.strip().lower()) or systems.canonical_system(system)
        return ((canonical,) if canonical else SEARCH_SYSTEMS), code.strip()
    return SEARCH_SYSTEMS, text


def _drug_display(system: str, code: str, ingredient: str) -> str:
    product = drugs.product(code) if system == systems.RXNORM else None
    if product is not None:
        return product.display
    try:
        return drugs.ingredient(ingredient).display
    except KeyError:  # an ATC group match names the drug by the coding's display or code
        return ingredient


def find_code(text: str) -> list[CodeHit]:
    """Which rules read the code `text` (any of SEARCH_SYSTEMS, or ``system|code``), and through what."""
    search, code = _parse_code(text)
    if not code or len(code) > CODE_MAX:
        return []
    rules = registry.all_rules()
    hits: list[CodeHit] = []
    slugs = dict.fromkeys(slug for rule in rules for slug in rule_valueset_slugs(rule))
    for system in search:
        name = SYSTEM_NAMES.get(system, system)
        for slug in slugs:
            vs = valuesets.load(slug)
            if vs.contains(system, code):
                readers = tuple(r.id for r in rules if slug in rule_valueset_slugs(r))
                hits.append(CodeHit(system, name, code, vs.display(system, code) or "", f"value set {slug}", slug,
                                    None, readers))
        if system not in (systems.RXNORM, systems.ATC):
            continue
        for found in drugs.match([(system, code, None)]):
            display = _drug_display(system, code, found.ingredient)
            for drug_class in sorted(found.classes):
                readers = tuple(r.id for r in rules if drug_class in r.drug_classes)
                if readers:
                    hits.append(CodeHit(system, name, code, display,
                                        f"drug class {drug_class} ({found.ingredient}, {found.matched_by})", None,
                                        drug_class, readers))
    return hits


def hit_rules(hits: Iterable[CodeHit]) -> list[str]:
    """The rule ids of `hits`, each once, in catalogue order."""
    wanted = {r for hit in hits for r in hit.rules}
    return [view.id for view in catalogue() if view.id in wanted]


# ---------------------------------------------------------------------------------------------- sample cards


@dataclass(frozen=True)
class SampleCard:
    """The card a rule made for a bundled (synthetic) sample patient, and how it was asked for."""

    sample: str
    service: str
    hook: str
    drug: str | None  # order hooks: the drafted drug
    card: dict[str, Any]
    detail_html: Markup


def render_markdown(text: str | None) -> Markup:
    """Card detail Markdown as HTML: raw HTML in it is escaped, never passed through."""
    return Markup(_MARKDOWN.render(text or ""))  # markdown-it escapes text; raw HTML is off


def render_inline(text: str) -> Markup:
    """Rule prose (Markdown: `code`, **bold**) as inline HTML, raw HTML escaped."""
    return Markup(_MARKDOWN.renderInline(text))  # markdown-it escapes text; raw HTML is off


Links = Mapping[str, tuple[Link, ...]] | None


def _evaluate(req: dict[str, Any], service_id: str, now: datetime,
              links: Links) -> Iterator[tuple[str, dict[str, Any]]]:
    """(rule id, card JSON) of every card `req` gets from `service_id`, offline (no fhirServer)."""
    counter = itertools.count(1)
    evaluation = pipeline.evaluate(lambda: req, registry.service(service_id), now=now,
                                   settings=pipeline.Settings.defaults(), use_fhir_server=False,
                                   new_uuid=lambda: f"00000000-0000-4000-8000-{next(counter):012d}",
                                   card_links=links)
    for issued, card in zip(evaluation.issued, evaluation.body["cards"]):
        for ref in issued.rule_ids:
            yield ref.partition("@")[0], card


def _sample_cards(now: datetime, links: Links) -> dict[str, SampleCard]:
    """For each rule, the first card it makes for a sample: patient-view rules on the samples' own requests,
    order rules on an order-select call per drug the demo page offers; a rule no sample fires is absent."""
    found: dict[str, SampleCard] = {}

    def keep(cards: Iterable[tuple[str, dict[str, Any]]], sample: str, service: str, hook: str,
             drug: str | None) -> None:
        for rule_id, card in cards:
            if rule_id not in found:
                found[rule_id] = SampleCard(sample, service, hook, drug, card, render_markdown(card.get("detail")))

    names = [s.id for s in samples.list_samples()]
    for name in names:
        keep(_evaluate(samples.hook_request(name, now), SAMPLE_SERVICE, now, links), name, SAMPLE_SERVICE, PATIENT_VIEW,
             None)
    order_rules = {r.id for r in registry.service(ORDER_SERVICE).rules}
    for drug in demo.drug_choices():
        if order_rules <= set(found):
            break
        for name in names:
            req = demo.build_request(ORDER_SERVICE, now, sample=name, rxcui=drug.rxcui)
            keep(_evaluate(req, ORDER_SERVICE, now, links), name, ORDER_SERVICE, ORDER_SELECT, drug.display)
    return found


_SAMPLES: dict[str | None, dict[str, SampleCard]] = {}
_SAMPLES_LOCK = threading.Lock()


def sample_cards(clock: Callable[[], datetime], launch_url: str | None = None) -> dict[str, SampleCard]:
    """`_sample_cards` at the first call's moment, kept for the process (the samples' dates are relative to it);
    `launch_url`: the SMART app's, which the hook route links from its topics' cards (None: not served). Kept per
    launch URL, so that an app with another CDS_PUBLIC_BASE_URL in the same process gets its own links."""
    with _SAMPLES_LOCK:
        if launch_url not in _SAMPLES:
            links = schemas.topic_links(launch_url) if launch_url else None
            _SAMPLES[launch_url] = _sample_cards(clock(), links)
        return _SAMPLES[launch_url]


# ---------------------------------------------------------------------------------------------- routes


def _launch_url() -> str | None:
    """The SMART app's launch URL the hook route links from cards, when the app is served. Relative without
    CDS_PUBLIC_BASE_URL: the cards are kept for the process, whatever host a later request names."""
    launch = current_app.extensions.get(schemas.TREND_LAUNCH_EXTENSION)
    if not launch:
        return None
    return str(current_app.config["PUBLIC_BASE_URL"] or "").rstrip("/") + str(launch)


def _query() -> str:
    return (request.args.get("code") or "").strip()


@bp.get("/rules")
def rules_page() -> ResponseReturnValue:
    query = _query()
    hits = find_code(query) if query else []
    rules = catalogue()
    return render_template(
        "rules.html", rules=rules, query=query, hits=hits, hit_rules=hit_rules(hits),
        refs={r.id: r.ref for r in rules}, topics=list(dict.fromkeys((r.topic, r.topic_display) for r in rules)),
        samples=sample_cards(current_app.config["CLOCK"], _launch_url()), tags=check.TAG_SOURCES, inline=render_inline)


@bp.get("/rules/codes.json")
def code_index() -> ResponseReturnValue:
    """``?code=2823-3`` (or ``system|code``) -> ``{"code", "rules": [id@version], "hits": [...]}``."""
    query = _query()
    if not query:
        return operation_outcome(400, "invalid", "Give the code to look up: /rules/codes.json?code=2823-3.")
    hits = find_code(query)
    refs = {r.id: r.ref for r in catalogue()}
    body = {"code": query, "rules": [refs[r] for r in hit_rules(hits)], "hits": [h.as_json(refs) for h in hits]}
    return Response(orjson.dumps(body), mimetype="application/json")
