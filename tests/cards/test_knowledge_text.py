"""A clinical number is written once, in cards/knowledge/data: rule prose names it by id (``{potassium.critical-high}``).

Checked here for every rule: its module docstring and its prose fields (``fires_when`` and the like, rendered into
docs/rules.md and docs/clinical-basis.md) name only known ids, and do not restate as a literal the value of a threshold
the rule reads ("potassium >= 6.5 mmol/L" instead of ``{potassium.critical-high}``), which could drift from the data.
"""
from __future__ import annotations

import ast
import inspect
import re

import pytest

from cards import docs, knowledge, registry
from cards.rule import Rule

RULES = sorted(registry.all_rules(), key=lambda r: r.id)

# A number, not part of a code or a date ("G25.71", "2.16.840", "2014"): a comparison may precede it, a range end,
# a unit or a time unit may follow.
_NUMBER = re.compile(r"(?<![\w.])(?P<op>(?:<=|>=|<|>)\s*)?(?P<n>\d+(?:\.\d+)?)(?!\.?\d)"
                     r"(?:\s*-\s*(?P<m>\d+(?:\.\d+)?))?(?=(?P<after>[^\n]{0,24}))")
_DAYS_PER = {"day": 1, "week": 7, "month": 365 / 12, "year": 365}


def _states(item: knowledge.Threshold, literal: str, op: bool, after: str) -> bool:
    """Whether the number `literal` (after a comparison when `op`, followed by `after`) states `item`'s value."""
    number, tail = float(literal), re.sub(r"\s+", "", after)
    if item.unit == "days":
        return any(tail.startswith(word) and abs(number * days - item.value) < 1 for word, days in _DAYS_PER.items())
    if number != item.value:
        return False
    if item.unit in ("{ratio}", "1"):
        return op or "." in literal
    return op or tail.startswith(item.unit.replace(" ", ""))


def restated(text: str, items: list[knowledge.Threshold]) -> list[tuple[str, str]]:
    """(literal, id) for every literal in `text` that states the value of one of `items`."""
    found = []
    for match in _NUMBER.finditer(text):
        after = match.group("after")
        numbers = [match.group("n")] + ([match.group("m")] if match.group("m") else [])
        for item in items:
            if any(_states(item, n, bool(match.group("op")), after) for n in numbers):
                found.append((match.group(0).strip()[:40], item.id))
    return found


def read_by_rule(rule: Rule) -> list[knowledge.Threshold]:
    """The thresholds the rule's module reads, and those of the rule modules it builds on."""
    modules = [rule.applies.__module__, *(r.applies.__module__ for r in docs._built_on(docs.rule_module(rule)))]
    return [knowledge.threshold(key) for module in modules for key in knowledge.read_by(module)]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_prose_names_only_known_ids(rule: Rule) -> None:
    known = knowledge.all_thresholds()
    for where, text in docs.prose(rule).items():
        unknown = [key for key in docs.placeholders(text) if key not in known]
        assert not unknown, f"{rule.id} {where}: unknown knowledge ids {unknown}"
        docs.render(text)


def written_prose(rule: Rule) -> dict[str, str]:
    """The rule's docstring, and the literal text of its prose fields as written in the source: an f-string's
    literal parts only, since what it formats in (``{CK_STOP.value:g}``) is read from the data."""
    module = docs.rule_module(rule)
    call = next(node.value for node in ast.parse(inspect.getsource(module)).body
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "RULE")
    assert isinstance(call, ast.Call)
    fields = {k.arg: k.value for k in call.keywords if k.arg in docs.PROSE_FIELDS}
    return {"docstring": module.__doc__ or "",
            **{name: " ".join(n.value for n in ast.walk(value) if isinstance(n, ast.Constant) and isinstance(n.value, str))
               for name, value in fields.items()}}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_prose_does_not_restate_a_number_the_rule_reads(rule: Rule) -> None:
    items = read_by_rule(rule)
    assert items, f"{rule.id} reads no threshold"
    for where, text in written_prose(rule).items():
        assert not restated(text, items), f"{rule.id} {where}: write the number as {{id}}: {restated(text, items)}"


def test_the_guard_finds_a_restated_number_and_leaves_other_numbers() -> None:
    items = [knowledge.threshold(k) for k in ("potassium.critical-high", "electrolytes.history", "pad.abi-abnormal",
                                               "rls.tsat-iron-therapy", "statin.ck-stop-multiple")]
    assert [key for _, key in restated("potassium >= 6.5 mmol/L, or 6.5 mmol/L", items)] == [
        "potassium.critical-high", "potassium.critical-high"]
    assert restated("a result within 12 months", items) and restated("an ABI <= 0.90", items)
    assert restated("TSAT 15-20% or less", items) and restated("CK above 4 x ULN", items)
    assert not restated("CTCAE v5.0 grade 4 (2017), ACR variant 7, G25.71, section 6.5, 4 years", items)
    assert not restated("potassium {potassium.critical-high}", items)


def test_placeholders_render_value_and_unit() -> None:
    assert docs.render("K {potassium.critical-high}, within {electrolytes.history:value}") == \
        "K >= 6.5 mmol/L, within 12 months"
    with pytest.raises(knowledge.KnowledgeError):
        docs.render("{potassium.no-such-id}")
