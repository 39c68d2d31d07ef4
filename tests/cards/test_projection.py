"""The projection (cards/projection.py) holds every top-level element a reader uses: a reader that starts using a new
element fails here instead of silently seeing it missing on the hook route."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import cards
from cards import facts
from cards.projection import ELEMENTS, UNSET, Resource, as_dict, of_dict, projected

# Names a resource has where cards/ reads one as a dict (`raw`, `element`: an Observation or one of its components).
RESOURCE_NAMES = {"raw", "resource", "element"}
# Names cards/facts gives a projected resource (its readers' argument, the loop variable of the builder, the
# Medication a reference resolves to, a draft order): their attributes are elements read. Elsewhere in cards/ a
# `medication` or `draft` is a MedicationUse.
PROJECTED_NAMES = {"resource", "medication", "draft"}
# R4 abatement[x]: a Condition with any of them and no clinicalStatus is read as resolved (facts.conditions).
ABATEMENT = {"abatementDateTime", "abatementAge", "abatementPeriod", "abatementRange", "abatementString"}


def _reads(source: str, projected_names: frozenset[str] = frozenset({"resource"})) -> set[str]:
    """Element names read from a whole resource: name.get("x"), name["x"], and attributes of a projection."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                and isinstance(node.func.value, ast.Name) and node.func.value.id in RESOURCE_NAMES
                and node.args and isinstance(node.args[0], ast.Constant)):
            found.add(node.args[0].value)
        elif (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
              and node.value.id in RESOURCE_NAMES and isinstance(node.slice, ast.Constant)
              and isinstance(node.ctx, ast.Load)):
            found.add(node.slice.value)
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id in projected_names and isinstance(node.ctx, ast.Load) and node.attr != "get"):
            found.add(node.attr)
    return found


def test_every_element_a_reader_uses_is_projected() -> None:
    reads = set()
    for path in Path(cards.__file__).parent.rglob("*.py"):
        if path.name != "projection.py":  # the definition itself
            in_facts = path.parent.name == "facts"
            reads |= _reads(path.read_text(encoding="utf-8"), frozenset(PROJECTED_NAMES if in_facts else {"resource"}))
    names, _prefixes = facts.PATIENT_READS
    reads |= set(names) | {f"_{name}" for name in names}
    assert len(reads) >= 25, sorted(reads)  # the scan finds the readers (a refactor that renames them fails here)
    assert reads - ELEMENTS == set()
    assert ABATEMENT <= ELEMENTS
    assert not facts.PATIENT_READS[1], "choice-type prefixes would need every variant projected"


def test_the_scan_sees_a_new_read() -> None:
    source = 'def f(raw, resource):\n    raw.get("note"); raw["performer"]; resource.category; raw["x"] = 1\n'
    assert _reads(source) == {"note", "performer", "category"}


def test_as_dict_and_of_dict_round_trip_the_projected_elements() -> None:
    whole = {"resourceType": "Observation", "id": "o", "meta": {"versionId": "1"}, "code": {"text": "K"},
             "_birthDate": {"extension": []}, "status": None}
    projected = of_dict(whole)
    assert projected.code is whole["code"]  # shared, not copied
    assert projected.status is None and projected.issued is UNSET  # null kept apart from absent
    assert as_dict(projected) == {"resourceType": "Observation", "id": "o", "code": {"text": "K"},
                                  "_birthDate": {"extension": []}, "status": None}
    assert projected.get("_birthDate") == {"extension": []} and projected.get("meta") is None
    assert projected.get("issued", "absent") == "absent" and projected.get("get") is None


@pytest.mark.parametrize("odd", [{"resourceType": "Observation", "entry": "not a list"},
                                 {"resourceType": "Observation", "id": "o", 3: "not a JSON key"}])
def test_of_dict_takes_what_it_can_of_odd_resources(odd: dict[object, object]) -> None:
    assert of_dict(odd) == Resource(resourceType="Observation", id=odd.get("id", UNSET))  # type: ignore[arg-type]


def test_a_projected_bundle_handed_to_the_builder_keeps_its_entries() -> None:
    """The web layer hands Bundles over as dicts, but a Bundle struct (any caller's) must not lose its entries."""
    from datetime import datetime, timezone

    import msgspec

    bundle = msgspec.json.decode(b'''{"resourceType": "Bundle", "entry": [
        {"resource": {"resourceType": "Observation", "id": "k", "status": "final", "subject": {"reference": "Patient/p"},
         "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}]},
         "effectiveDateTime": "2026-11-20T08:00:00Z"}},
        {"resource": {"resourceType": "Condition", "id": "c", "subject": {"reference": "Patient/p"},
         "code": {"text": "Restless legs syndrome"}}},
        {"fullUrl": "urn:uuid:no-resource"}]}''', type=Resource)
    assert as_dict(bundle)["entry"][2] == {}
    built = facts.build_facts([bundle], now=datetime(2026, 11, 25, tzinfo=timezone.utc), patient_id="p")
    assert [raw.id for _, raw in built._obs_candidates["potassium"]] == ["k"]
    assert [c.id for c in built._conditions_raw] == ["c"]
    assert built.notes.skipped["not-a-resource"] == 1  # as for a whole Bundle dict with such an entry


def test_a_whole_bundle_keeps_the_entries_that_are_objects() -> None:
    """An odd entry does not cost the others (as the builder read whole Bundles before they were projected)."""
    bundle = {"resourceType": "Bundle", "entry": [
        {"resource": {"resourceType": "Condition", "id": "c"}}, "not an entry", {"resource": "not a resource"},
        {"fullUrl": "urn:uuid:no-resource"}, {"resource": {"resourceType": "Observation", "id": "o", 3: "odd"}}]}
    entries = of_dict(bundle).entry
    assert not isinstance(entries, type(UNSET))
    assert [e.resource for e in entries] == [Resource(resourceType="Condition", id="c"), None, UNSET,
                                             Resource(resourceType="Observation", id="o")]


def test_projected_gives_one_shape() -> None:
    struct = Resource(resourceType="Observation", id="o")
    assert projected(struct) is struct
    assert projected({"resourceType": "Observation", "id": "o"}) == struct
    assert projected("Observation") is None and projected(None) is None
