"""/rules, the rule catalogue page: every rule, its numbers as the knowledge data has them, search by code."""
from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cards import docs, guidelines, knowledge, registry
from flask import Flask
from flask.testing import FlaskClient
from terminology import analytes, systems, valuesets

from cds_service import create_app, samples
from cds_service.pages import PAGE_CSP
from cds_service.pages import rules as rules_page
from tests.conftest import GOLDEN_NOW, counting_uuids

POTASSIUM_LOINC = "2823-3"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    db = tmp_path_factory.mktemp("rules") / "cds.sqlite3"
    return create_app({"AUTH": "none", "DATABASE_URL": f"sqlite:///{db}", "CLOCK": lambda: GOLDEN_NOW,
                       "UUID_FACTORY": counting_uuids})


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="module")
def page(client: FlaskClient) -> str:
    resp = client.get("/rules")
    assert resp.status_code == 200, resp.data[:500]
    assert resp.mimetype == "text/html"
    return resp.get_data(as_text=True)


def sections(page: str) -> dict[str, str]:
    """Rule id -> the HTML of its section (sections do not nest)."""
    out = {}
    for match in re.finditer(r'<section id="rule-([a-z0-9-]+)" class="rule[ a-z]*".*?</section>', page, re.S):
        out[match.group(1)] = match.group(0)
    return out


def attrs(fragment: str, testid: str) -> Iterator[dict[str, str]]:
    """The attributes of every element with data-testid=`testid` in `fragment`."""
    for tag in re.finditer(r'<[a-z]+\b[^>]*data-testid="' + re.escape(testid) + r'"[^>]*>', fragment):
        yield {k: html.unescape(v) for k, v in re.findall(r'([a-z-]+)="([^"]*)"', tag.group(0))}


def test_every_registered_rule_is_on_the_page_with_its_version(page: str) -> None:
    found = sections(page)
    assert set(found) == {r.id for r in registry.all_rules()}
    for rule in registry.all_rules():
        section = found[rule.id]
        assert f'data-rule-ref="{rule.ref}"' in section
        assert f'<code data-testid="rule-ref">{rule.ref}</code>' in section
        for hook in rule.hooks:
            assert f"<code>{hook}</code>" in section


def test_the_prose_is_rendered_with_the_knowledge_numbers(page: str) -> None:
    found = sections(page)
    for rule in registry.all_rules():
        text = html.unescape(re.sub(r"<[^>]+>", "", found[rule.id]))
        assert "{" + "potassium." not in text  # no placeholder left unrendered
        assert " ".join(docs.render(rule.quiet_when).replace("`", "").split()) in " ".join(text.split())


def test_each_threshold_on_the_page_equals_the_knowledge_data(page: str) -> None:
    found = sections(page)
    data = knowledge.all_thresholds()
    checked = 0
    for rule in registry.all_rules():
        rows = {row["data-threshold-id"]: row for row in attrs(found[rule.id], "threshold")}
        values = list(attrs(found[rule.id], "threshold-value"))
        expected = docs.rule_thresholds(rule)
        assert list(rows) == [t.id for t in expected]
        for item, cell in zip(expected, values):
            assert float(cell["data-value"]) == data[item.id].value
            assert cell["data-unit"] == data[item.id].unit
            assert cell["data-compare"] == data[item.id].compare
            checked += 1
    assert checked > 20
    # The one everybody knows, as the page shows it, linked to its source.
    electrolytes = found["electrolyte-imbalance"]
    item = data["potassium.critical-high"]
    assert (item.value, item.unit) == (6.5, "mmol/L")
    row = re.search(r'<tr data-testid="threshold" data-threshold-id="potassium.critical-high">.*?</tr>', electrolytes,
                    re.S)
    assert row is not None
    assert html.escape(item.text) in row.group(0) and ">= 6.5 mmol/L" == item.text
    assert f'href="{guidelines.get(str(item.source)).url}"' in row.group(0)


def test_the_value_sets_a_rule_reads_are_listed_with_codes_and_provenance(page: str) -> None:
    electrolytes = sections(page)["electrolyte-imbalance"]
    shown = [a["data-valueset"] for a in attrs(electrolytes, "valueset")]
    assert "lab-potassium" in shown
    potassium = valuesets.load("lab-potassium")
    block = re.search(r'data-valueset="lab-potassium".*?</details>', electrolytes, re.S)
    assert block is not None
    for system, code in potassium.codes:
        assert f'<tr data-code="{code}">' in block.group(0)
    assert potassium.version in block.group(0) and "VSAC" in block.group(0)  # its version and provenance


def test_search_by_loinc_finds_the_electrolyte_rule(client: FlaskClient) -> None:
    body = client.get(f"/rules?code={POTASSIUM_LOINC}").get_data(as_text=True)
    results = re.search(r'<section id="code-results".*?</section>', body, re.S)
    assert results is not None
    listed = [a["data-rule-id"] for a in attrs(results.group(0), "code-result-rule")]
    assert "electrolyte-imbalance" in listed
    assert "lab-potassium" in results.group(0)
    assert f'value="{POTASSIUM_LOINC}"' in body  # the box keeps the query
    marked = {rule_id for rule_id, section in sections(body).items() if 'data-hit="true"' in section}
    assert marked == set(listed)

    data = client.get(f"/rules/codes.json?code={POTASSIUM_LOINC}").get_json()
    electrolyte = next(r for r in registry.all_rules() if r.id == "electrolyte-imbalance")
    assert electrolyte.ref in data["rules"]
    assert {(h["systemName"], h["valueSet"]) for h in data["hits"]} >= {("LOINC", "lab-potassium")}
    # Every rule that reads potassium, and only those.
    readers = {r.ref for r in registry.all_rules() if "potassium" in r.analytes}
    assert set(data["rules"]) == readers


def test_search_with_a_system_and_by_other_code_systems(client: FlaskClient) -> None:
    assert client.get(f"/rules/codes.json?code={systems.LOINC}|{POTASSIUM_LOINC}").get_json()["rules"]
    assert client.get(f"/rules/codes.json?code=LOINC|{POTASSIUM_LOINC}").get_json()["rules"]
    assert not client.get(f"/rules/codes.json?code={systems.SNOMED}|{POTASSIUM_LOINC}").get_json()["rules"]
    assert not client.get(f"/rules/codes.json?code=rxnorm|{POTASSIUM_LOINC}").get_json()["rules"]
    # An ICD-10-CM code of a condition value set a rule reads, with and without its dot.
    rule, slug, code = next((r, s, c) for r in registry.all_rules() for s in r.valuesets
                            for sys_, c in sorted(valuesets.load(s).codes) if sys_ == systems.ICD10CM and "." in c)
    for query in (code, code.replace(".", "")):
        data = client.get(f"/rules/codes.json?code={query}").get_json()
        assert rule.ref in data["rules"], query
        assert any(h["valueSet"] == slug and h["systemName"] == "ICD-10-CM" for h in data["hits"])
    # An RxNorm product (furosemide 40 MG Oral Tablet): the rules reading its drug class.
    data = client.get("/rules/codes.json?code=313988").get_json()
    loop = {r.ref for r in registry.all_rules() if "loop-diuretic" in r.drug_classes}
    assert loop and loop <= set(data["rules"])
    assert any(h["drugClass"] == "loop-diuretic" and h["systemName"] == "RxNorm" for h in data["hits"])


def test_an_unknown_code_says_nothing_reads_it(client: FlaskClient) -> None:
    body = client.get("/rules?code=99999-9").get_data(as_text=True)
    assert 'data-testid="code-no-rules"' in body and "No rule reads <code>99999-9</code>" in body
    assert client.get("/rules/codes.json?code=99999-9").get_json() == {"code": "99999-9", "rules": [], "hits": []}
    long = "9" * 500
    assert client.get(f"/rules/codes.json?code={long}").get_json()["rules"] == []
    resp = client.get("/rules/codes.json")
    assert resp.status_code == 400 and resp.get_json()["resourceType"] == "OperationOutcome"


def test_a_query_is_shown_as_text_never_as_markup(client: FlaskClient) -> None:
    body = client.get("/rules", query_string={"code": '<script>alert(1)</script>"'}).get_data(as_text=True)
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_card_markdown_is_rendered_without_raw_html() -> None:
    out = str(rules_page.render_markdown("**K 2.9** <script>alert(1)</script> [x](javascript:alert(1))\n\n"
                                         "| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | 2 |"))
    assert "<strong>K 2.9</strong>" in out and "<table>" in out
    assert "<script" not in out and "<img" not in out and 'href="javascript' not in out


def launch_url(app: Flask) -> str | None:
    """The SMART app's launch URL as the page asks for it (no CDS_PUBLIC_BASE_URL here: the path)."""
    from cds_service import schemas
    launch = app.extensions.get(schemas.TREND_LAUNCH_EXTENSION)
    return str(launch) if launch else None


def test_sample_cards_come_from_the_pipeline_and_carry_no_patient_data(app: Flask, page: str) -> None:
    found = sections(page)
    evaluated = rules_page.sample_cards(lambda: GOLDEN_NOW, launch_url(app))
    assert "electrolyte-imbalance" in evaluated and "diuretic-effect" in evaluated
    for rule in registry.all_rules():
        section = found[rule.id]
        if rule.id in evaluated:
            card = next(attrs(section, "sample-card"))
            assert card["data-sample"] == evaluated[rule.id].sample
            assert card["data-indicator"] == evaluated[rule.id].card["indicator"]
            assert html.escape(evaluated[rule.id].card["summary"]) in section
            assert f"Rule `{rule.ref}`" in evaluated[rule.id].card["detail"]
        else:
            assert 'data-testid="sample-card-none"' in section
    # The synthetic patients' names and birth dates never reach the page.
    for sample in samples.list_samples():
        bundle = samples.materialize(sample.id, GOLDEN_NOW)
        patient = next(r for r in samples.resources_of(bundle) if r["resourceType"] == "Patient")
        for name in patient.get("name", []):  # given names are words such as "Dehydration": the whole name
            given, family = " ".join(name.get("given", [])), name.get("family")
            for text in filter(None, [name.get("text"), f"{family}, {given}", f"{given} {family}"]):
                assert text not in page and html.escape(text) not in page, text
        assert patient["birthDate"] not in page
        assert sample.title not in page


def test_every_code_of_a_rule_finds_that_rule() -> None:
    """The index and the catalogue agree: each listed lab code finds the rules whose analytes it belongs to."""
    for rule in registry.all_rules():
        for analyte in rule.analytes:
            for code in analytes.loinc_codes(analyte)[:3]:
                assert rule.id in rules_page.hit_rules(rules_page.find_code(code)), (rule.id, code)


def test_the_page_has_the_pages_csp_and_no_inline_script(client: FlaskClient, page: str) -> None:
    resp = client.get("/rules?code=2823-3")
    assert resp.headers["Content-Security-Policy"] == PAGE_CSP
    assert resp.headers["Content-Type"].startswith("text/html")
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert " style=" not in page and " on" + "click=" not in page


def test_the_search_works_without_javascript(page: str) -> None:
    form = next(attrs(page, "code-search"))
    assert form["method"] == "get" and form["action"] == "/rules"
    assert '<label for="code">' in page and 'name="code"' in page


@pytest.mark.parametrize(("pages_mode", "auth", "served"), [
    ("off", "none", False), ("auto", "jwt", False), ("on", "jwt", True),
])
def test_the_catalogue_follows_the_pages_setting(tmp_path: Path, trusted_clients: Path, pages_mode: str, auth: str,
                                                 served: bool) -> None:
    overrides: dict[str, Any] = {"AUTH": auth, "PAGES": pages_mode, "CLOCK": lambda: GOLDEN_NOW,
                                 "DATABASE_URL": f"sqlite:///{tmp_path / 'cds.sqlite3'}"}
    if auth == "jwt":
        overrides.update(TRUSTED_CLIENTS=str(trusted_clients), PUBLIC_BASE_URL="https://cds.test")
    client = create_app(overrides).test_client()
    for path in ("/rules", "/rules?code=2823-3", "/rules/codes.json?code=2823-3"):
        resp = client.get(path)
        assert resp.status_code == (200 if served else 404), path
        if not served:
            assert resp.get_json()["resourceType"] == "OperationOutcome"
    if served:  # no client JWT needed for the catalogue: it holds no patient data
        assert "electrolyte-imbalance@" in client.get("/rules?code=2823-3").get_data(as_text=True)


def test_sample_cards_carry_the_links_the_hook_route_adds(app: Flask, page: str) -> None:
    """The SMART app's link, when it is served, as on the hook route's cards (relative: the card is kept)."""
    from cds_service import schemas
    launch = launch_url(app)
    if not launch:
        pytest.skip("the lab-trend SMART app is not served by this build")
    card = rules_page.sample_cards(lambda: GOLDEN_NOW, launch)["electrolyte-imbalance"].card
    assert {"label": schemas.TREND_LINK_LABEL, "url": launch, "type": "smart"} in card["links"]
    assert f'<a href="{launch}"' in sections(page)["electrolyte-imbalance"]
