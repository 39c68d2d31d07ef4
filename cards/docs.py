"""Generate the clinical documentation from the rule registry and the knowledge data, so it is never written twice.

Two generated files, both checked by tests/cards/test_docs.py:

* ``docs/rules.md``: the rule catalogue, one line per rule, grouped by card topic, with a table of contents;
* ``docs/clinical-basis.md``: for every rule what fires it, what keeps it quiet, what the card advises, the data it
  reads, and each threshold and window it uses with value, unit, primary source and place in that source, and
  whether the number is a product decision; then the drug effects, the statin interactions and every number.

Everything comes from the registry (``Rule`` fields), the knowledge data and what the rules read from it
(``knowledge.read_by``, recorded when a rule module reads a threshold); no source text or comment is parsed. Prose
names a number by its knowledge id, ``{potassium.critical-high}`` (rendered ">= 6.5 mmol/L") or
``{potassium.critical-high:value}`` ("6.5 mmol/L"), and ``render`` puts in the value and unit; the rule's table gives
the source. ``python -m cards.docs --write`` regenerates both files in a source checkout; ``python -m cards.docs``
prints the clinical basis.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from terminology import drugs, valuesets

from cards import drug_effects, guidelines, knowledge, registry, relevance
from cards.knowledge import interactions
from cards.rule import Rule
from cards.topics import TOPIC_SYSTEM, Topic

ROOT = Path(__file__).resolve().parents[1]
RULES_PATH = ROOT / "docs" / "rules.md"
BASIS_PATH = ROOT / "docs" / "clinical-basis.md"

# The Rule fields written for clinicians (docs only, never on a card), and where a number is named by its id.
PROSE_FIELDS = ("summary", "fires_when", "quiet_when", "advice", "actionable_when", "possible_cause_when")
PLACEHOLDER = re.compile(r"\{([a-z0-9-]+(?:\.[a-z0-9-]+)+)(:value)?\}")

_READING = """\
## How results are read

These rules apply to every lab result before any rule sees it (`cards/facts/labs.py`, `cards/facts/ranges.py`).

- **Which results count.** `Observation.status` final, amended or corrected; the date is `effectiveDateTime`, else
  the end (or start) of `effectivePeriod`, else `issued`; a result dated more than a day in the future is ignored.
  Results of another patient, with an unknown modifier extension, or failing FHIR R4 validation of an element a rule
  reads are skipped and counted.
- **Codes and units.** An Observation belongs to an analyte when any of its codings is in the analyte's lab value set
  (`terminology/data/valuesets/lab-*.json`, each code with its provenance). The value is converted to the analyte's
  canonical unit (UCUM code first, then the display unit; factors with their sources in
  `terminology/data/units.json`). A value whose unit cannot be mapped is never converted on a guess; only potassium
  and sodium (mmol/L = mEq/L) and the ABI (a ratio) are read without a unit.
- **The lab's own range wins** when it applies to the patient: `type` absent or `normal` (not therapeutic or
  treatment ranges); `appliesTo` absent, or naming the whole population, the patient's sex (SNOMED CT 248153007
  male, 248152002 female, or the words) or age group (adult/child); `age` containing the patient's age (an adult is
  assumed when the birth date is unknown). A pregnancy-specific range or a population the service cannot interpret
  (a race, a local code) is not used. Else the lab's interpretation flag (L, H, LL, HH, A, AA) decides - unless it
  says the opposite of the number by the default range (H on a potassium of 3.2), when the card says the two
  disagree and asks to check with the lab; else the default range of the knowledge data below.
- **Censored values** (`valueQuantity.comparator`, or `valueString` such as "<2.5" or "> 7.0 mmol/L") are kept with
  their comparator. A censored value is out of range, or critical, only when every value it allows is: "<2.5"
  potassium is critical ({potassium.critical-low}), "<5.0" is not graded by its number (its flag still counts).
- **A result that exists but cannot be read** (no number, text such as "haemolysed", an unmappable unit) is kept as
  unreadable: its interpretation flag still grades it (LL on an unreadable potassium is critical), and a card names
  it with its date and what was sent - never "no result".
- **Severity.** Critical: the lab flags LL/HH/AA, or the value passes the critical threshold of its analyte (CTCAE
  v5.0 grade 4; potassium {potassium.critical-high}, UK Kidney Association 2020 "severe"). Warning: it passes the
  moderate threshold. Info: any milder abnormality. The card's indicator is the worst severity it shows.
- **Conditions** match by code (any coding; ICD-10-CM with or without the dot, and descendants where the value set
  says so). Text is the fallback only when no coding is in a system the value set judges (ICD-10-CM, SNOMED CT or
  WHO ICD-10, when the set lists codes of it): a Condition coded outside the value set is not matched by its words,
  and region words count (cervical stenosis is not lumbar stenosis). Active: clinicalStatus active/recurrence/relapse
  (or absent with no abatement); never refuted or entered-in-error.
- **Medications** match by RxNorm ingredient, RxNorm product (clinical drug, branded drug or ingredient+strength
  component, mapped to its ingredients), ATC, and by name only when no coding matched. Current: MedicationStatement
  active/intended; MedicationRequest active with an order or plan intent (not a proposal or option), except a short
  (acute, `courseOfTherapyType`) course more than {medication.acute-course-current:value} past the end of its supply
  (or, with no supply given, its order): EHRs leave finished courses "active". A medication's start is the request's
  `authoredOn`, else the statement's effective start, else `dateAsserted`; a drug ordered several times is listed once,
  since its first order.
"""


def placeholders(text: str) -> list[str]:
    """The knowledge ids named in `text` (``{id}`` or ``{id:value}``), in order, known or not."""
    return list(dict.fromkeys(match.group(1) for match in PLACEHOLDER.finditer(text)))


def render(text: str) -> str:
    """`text` with each ``{id}`` replaced by the comparison, value and unit, ``{id:value}`` by value and unit."""
    def number(match: re.Match[str]) -> str:
        try:
            item = knowledge.threshold(match.group(1))
        except KeyError as err:
            raise knowledge.KnowledgeError(f"unknown knowledge id in {match.group(0)!r}") from err
        return item.amount if match.group(2) or item.compare == "=" else f"{item.compare} {item.amount}"
    return PLACEHOLDER.sub(number, text)


def rule_module(rule: Rule[Any]) -> ModuleType:
    return sys.modules[rule.applies.__module__]


def prose(rule: Rule[Any]) -> dict[str, str]:
    """The rule's clinician-facing text as written (placeholders unrendered): its module docstring and prose fields."""
    return {"docstring": rule_module(rule).__doc__ or "", **{name: getattr(rule, name) for name in PROSE_FIELDS}}


def _built_on(module: ModuleType) -> list[Rule[Any]]:
    """The rules of the sibling rule modules `module` imports (whose grading decides its findings too)."""
    found = [getattr(value, "RULE", None) for value in vars(module).values()
             if isinstance(value, ModuleType) and value.__name__.startswith("cards.rules.")]
    return [rule for rule in found if isinstance(rule, Rule)]


def rule_thresholds(rule: Rule[Any]) -> list[knowledge.Threshold]:
    """The knowledge entries `rule`'s own module reads, then any other its prose names (e.g. a sibling rule's)."""
    named = (key for text in prose(rule).values() for key in placeholders(text))
    ids = dict.fromkeys([*knowledge.read_by(rule.applies.__module__), *named])
    return [knowledge.threshold(key) for key in ids]


def used_threshold_ids() -> set[str]:
    """Every knowledge id some module of the cards package reads (each reads at import; the registry imports all)."""
    registry.all_rules()
    return {key for module, ids in knowledge.readers().items() if module.split(".")[0] == "cards" for key in ids}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _value(item: knowledge.Threshold) -> str:
    if item.compare == "=":
        return f"{item.value:g} {item.unit}".strip()
    return item.text


def _source(item: knowledge.Threshold) -> str:
    if item.source is None:
        return "product decision"
    g = guidelines.get(item.source)
    return f"[{g.label}]({g.url}): {item.where}"


def _threshold_table(items: list[knowledge.Threshold]) -> list[str]:
    rows = ["| Knowledge id | Value | Meaning | Primary source (section, table) | Product decision |",
            "|---|---|---|---|---|"]
    rows += [f"| `{t.id}` | {_cell(_value(t))} | {_cell(t.means)} | {_cell(_source(t))} | "
             f"{_cell(t.decision or '-')} |" for t in items]
    return rows


def _reads(rule: Rule[Any]) -> list[str]:
    reads = []
    if rule.analytes:
        reads.append("analytes " + ", ".join(f"`{a}`" for a in rule.analytes))
    if rule.valuesets:
        sets = []
        for slug in rule.valuesets:
            vs = valuesets.load(slug)
            sets.append(f"`{slug}` {vs.version} ({len(vs.codes)} codes)")
        reads.append("value sets " + ", ".join(sets))
    if rule.drug_classes:
        names = drugs.classes()
        reads.append("drug classes " + ", ".join(f"`{d}` ({names.get(d, d)})" for d in rule.drug_classes))
    return reads


def _anchor(rule: Rule[Any]) -> str:
    """A stable link target for the rule's section in docs/clinical-basis.md (docs/rules.md links to it)."""
    return f"rule-{rule.id}"


def _rule_section(rule: Rule[Any]) -> str:
    module = rule_module(rule)
    out = [f'<a id="{_anchor(rule)}"></a>', "",
           f"### {rule.topic.display} - `{rule.id}` {rule.version}", "",
           f"Topic code `{rule.topic.value}`; hooks: {', '.join(sorted(rule.hooks))}; module `{module.__name__}`.", "",
           render(rule.summary), "",
           f"- **Fires when:** {render(rule.fires_when)}",
           f"- **Quiet when:** {render(rule.quiet_when)}",
           f"- **The card advises:** {render(rule.advice) or '-'}",
           f"- **Actionable (shown always):** {render(rule.actionable_when) or '-'}",
           f"- **Possible cause (shown with leg-symptom context):** {render(rule.possible_cause_when) or '-'}"]
    reads = _reads(rule)
    out.append(f"- **Reads:** {'; '.join(reads) if reads else 'data keys ' + ', '.join(rule.needs)}")
    items = rule_thresholds(rule)
    if items:
        out += ["", *_threshold_table(items)]
    built_on = [r for r in _built_on(module) if r.id != rule.id]
    if built_on:
        out += ["", "Also applies the grading and thresholds of " + ", ".join(f"`{r.id}`" for r in built_on)
                + " (their sections)."]
    out += ["", "References:"]
    for key in rule.references:
        g = guidelines.get(key)
        out.append(f"- {g.citation}. <{g.url}>")
    return "\n".join(out)


def _when_cards_appear() -> str:
    """The two kinds of cards and the leg-symptom context (cards/relevance.py), from the code and its data."""
    vs = valuesets.load(relevance.LEG_SYMPTOMS)
    window = relevance.CONTEXT_WINDOW
    codes = ", ".join(f"{system.rsplit('/', 1)[-1]} {code}{'.x' if vs.includes_descendants(system, code) else ''}"
                      for system, code in sorted(vs.codes))

    def shows(service: registry.Service) -> str:
        if service.possible_causes == relevance.ALWAYS:
            return "always"
        if service.hook == "patient-view":
            return "with leg-symptom context (`CDS_POSSIBLE_CAUSE_CARDS`, default `when-symptomatic`)"
        return "none: every order check is actionable"

    rows = [f"| `{s.id}` | {s.hook} | {shows(s)} |" for s in registry.services()]
    return "\n".join([
        "## When cards appear", "",
        "`patient-view` runs on every chart open, so each card is one of two kinds, set by its rule from the finding "
        "(each rule's section below says which findings are which):", "",
        render("- **Actionable - shown always:** an abnormal or critical lab value (and the drug the card links to "
               "it), a label contraindication or dose cap, a critical finding (ABI {pad.abi-severe} or CLTI codes, "
               "rhabdomyolysis, cauda equina, severe calcium or sodium disorders, hyperkalaemia), and every "
               "order-select/order-sign check (the drafted drug is its own context)."),
        "- **Possible cause - shown only with leg-symptom context:** a drug class that can cause leg symptoms with no "
        "linked abnormal value, a monitoring gap, a diagnosis already on the problem list offered as a cause, "
        "suggested iron studies or ABI.", "",
        f"**Leg-symptom context** is an active, not refuted Condition in the `{relevance.LEG_SYMPTOMS}` value set "
        f"whose onset or recorded date is within {window.amount} (or that has no date), or, when the call "
        "gives `context.encounterId`, a `reasonCode` of that Encounter in the same set. "
        f"Decision: {window.decision}", "",
        f"The value set ({len(vs.codes)} codes; ICD-10-CM entries marked .x include the codes below them; "
        f"provenance in `terminology/data/valuesets/{relevance.LEG_SYMPTOMS}.json`): {codes}. Text patterns match "
        "Conditions coded only in other systems or as text: " + ", ".join(f"\"{t}\"" for t in vs.text_patterns) + ".",
        "",
        "| Service | Hook | Possible-cause cards |", "|---|---|---|", *rows, "",
        "A trusted client may set its own `possible_cause_cards` (deploy/trusted-clients.example.json). Withheld "
        "cards are never lost silently: each is logged by rule id and stored in the `withheld_card` table; "
        "`leg-pain-cds evaluate` lists them. Why: each extra reminder per encounter lowered acceptance of reminders "
        "by about 30 % (Ancker et al., BMC Med Inform Decis Mak 2017;17:36); with no decision support for the user the "
        "service answers 200 with an empty card array (CDS Hooks 2.0).",
    ])


def _drug_effects() -> str:
    out = ["## Drug effects (`cards/knowledge/data/drug_effects.json`)", "",
           "The drug-class knowledge the medication-effect, restless-legs and electrolyte cards share.", "",
           "| Drug class | Effect on the legs | Explains | Worsens RLS | Source |", "|---|---|---|---|---|"]
    for e in drug_effects.EFFECTS:
        labs = ", ".join(f"{analyte} {direction}" for analyte, direction in e.labs) or "-"
        if e.needs_lab:
            labs += " (listed only with it)"
        out.append(f"| `{e.drug_class}` | {_cell(e.mechanism)} | {labs} | {'yes' if e.worsens_rls else '-'} | "
                   f"{_cell(e.where)} |")
    return "\n".join(out)


def _statin_interactions() -> str:
    """The statin interaction table (cards/knowledge/data/interactions/statin.json), one line per statin and kind."""
    table = interactions.table()
    out = ["## Statin interactions by the labels (`cards/knowledge/data/interactions/statin.json`)", "",
           "Read by `statin-muscle-symptoms` and `order-statin-muscle-symptoms`. The statin dose is read per ingredient "
           "from the product name (RxNorm or free text) and, when the dosage instruction gives a dose and a "
           "frequency, as a daily dose; a dose that cannot be read is said so on the card, never taken as within a "
           "cap. Contraindicated, avoided and exceeded (or unreadable) pairs make the card a warning; caution pairs "
           "are listed.", "",
           "| Statin | Interacting drugs | Label says | Source (section) |", "|---|---|---|---|"]
    groups: dict[tuple[str, str, str], list[interactions.StatinInteraction]] = {}
    for row in table.rows:
        groups.setdefault((row.statin, row.source, row.where), []).append(row)
    for (statin, source, where), rows in groups.items():
        g = guidelines.get(source)
        out.append(f"| {statin} | {', '.join(r.drug for r in rows)} | {_cell(rows[0].rule_text)} | "
                   f"[{g.label}]({g.url}): {_cell(where)} |")
    antibiotic = table.antibiotic_source
    courses = "; ".join(f"{statin} for {', '.join(sorted(drugs))} ({guidelines.get(key).label}, {where})"
                        for statin, (drugs, (key, where)) in sorted(table.suspend.items()))
    out += ["", f"Short anti-infective courses: the card offers to suspend the statin for the course only where that "
                f"statin's own label says so: {courses}. Macrolides "
                f"({', '.join(sorted(table.antibiotic_drugs))}): another antibiotic such as {table.antibiotic_name} "
                f"({guidelines.get(antibiotic[0]).label}, {antibiotic[1]}). Statins offered in place of a "
                "CYP3A4-dependent one: pravastatin and rosuvastatin, each within its own label's limits with the same "
                "drug (FDA Drug Safety Communication 2011)."]
    return "\n".join(out)


def _all_numbers() -> str:
    items = sorted(knowledge.all_thresholds().values(), key=lambda t: (t.topic, t.id))
    decisions = sum(1 for t in items if t.decision)
    out = ["## Every number", "",
           f"{len(items)} entries in `cards/knowledge/data/thresholds/*.json`; {decisions} carry a product decision "
           "(the number or its use as a cut-off is the product's choice, with the reason). The others are the "
           "source's own number.", ""]
    for topic in sorted({t.topic for t in items}):
        out += [f"### `{topic}.json`", "", *_threshold_table([t for t in items if t.topic == topic]), ""]
    return "\n".join(out).rstrip() + "\n"


def _slug(heading: str) -> str:
    """The anchor a Markdown renderer gives a heading ("Poor circulation" -> "poor-circulation")."""
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")


def _sorted_rules() -> list[Rule[Any]]:
    order = {topic: index for index, topic in enumerate(Topic)}
    return sorted(registry.all_rules(), key=lambda r: (order[r.topic], r.id))


# The /rules page (cds_service/pages/rules.py) shows these same facts as HTML, through these names.
sorted_rules = _sorted_rules
threshold_value = _value
built_on = _built_on


def render_clinical_basis() -> str:
    """The whole of docs/clinical-basis.md."""
    rules = _sorted_rules()
    head = "\n".join([
        "# Clinical basis", "",
        "What each rule of the service reads, what makes it fire, what keeps it quiet, what its card advises, and every",
        "number it uses with its primary source. Generated by `python -m cards.docs --write` from the knowledge data",
        "(`cards/knowledge/data/`), the rules (`cards/rules/*.py`), the drug effects and the value sets; a test fails",
        "when this file is stale, so what a clinician reviews here is what the service does. Edit the data or the",
        "rules, not this file. The catalogue, one line per rule: [rules.md](rules.md).", "",
        "Scope: adults. The cards are decision support, not a diagnosis: they suggest, never order or stop a drug.", "",
    ])
    parts = [head, render(_READING), _when_cards_appear(), f"## Rules\n\n{len(rules)} rules.",
             *[_rule_section(r) for r in rules], _drug_effects(),
             _statin_interactions(), _all_numbers()]
    return "\n\n".join(p.strip("\n") for p in parts) + "\n"


def render_rules_markdown() -> str:
    """The whole of docs/rules.md: the catalogue by card topic, the detail in docs/clinical-basis.md."""
    rules = _sorted_rules()
    topics = list(dict.fromkeys(r.topic for r in rules))
    out = ["# Rules", "",
           f"{len(rules)} rules in {len(topics)} card topics (`{TOPIC_SYSTEM}`). Generated by "
           "`python -m cards.docs --write` from the rule registry and the knowledge data; edit the rules or the data, "
           "not this file. Each rule's thresholds, windows, sources and advice: "
           "[clinical-basis.md](clinical-basis.md).", "",
           "Contents:", ""]
    out += [f"- [{t.display}](#{_slug(t.display)}) (`{t.value}`)" for t in topics]
    for topic in topics:
        out += ["", f"## {topic.display}", "",
                "| Rule | Hooks | Fires when |", "|---|---|---|"]
        out += [f"| [`{r.id}`](clinical-basis.md#{_anchor(r)}) {r.version} | {', '.join(sorted(r.hooks))} | "
                f"{_cell(render(r.fires_when))} |" for r in rules if r.topic is topic]
    return "\n".join(out) + "\n"


def write(rules_path: Path = RULES_PATH, basis_path: Path = BASIS_PATH) -> None:
    """Regenerate docs/rules.md and docs/clinical-basis.md."""
    rules_path.write_text(render_rules_markdown(), encoding="utf-8")
    basis_path.write_text(render_clinical_basis(), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cards.docs", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true",
                        help=f"regenerate docs/{RULES_PATH.name} and docs/{BASIS_PATH.name}")
    args = parser.parse_args(argv)
    if args.write:
        if not (ROOT / "pyproject.toml").exists():
            parser.error("--write works in a source checkout only (the docs are not installed)")
        write()
        print(f"wrote {RULES_PATH} and {BASIS_PATH}")
    else:
        sys.stdout.write(render_clinical_basis())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
