"""/analytics: cards issued through real hook calls and feedback posted to the real endpoint come back as CSV numbers
equal to what the database holds, and as SVG plots with one mark per CSV row; on SQLite and on PostgreSQL.

Also: the operator token (CDS_ANALYTICS_TOKEN) guards the plots and the CSVs, the period is bounded, and no output
carries a hookInstance, a patient id or a free-text userComment.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import date, timedelta
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import MetaData, create_engine, select

from cds_service import create_app, samples
from cds_service.app import random_uuids
from cds_service.pages import svg
from cds_service.pages.analytics import CHART_IDS, BadPeriod, Period, interpolate, parse_days

TOKEN = "analytics-token-0123456789abcdef"
COMMENT = "free text the clinician typed about Mrs Example"
ATORVASTATIN = {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "617312",
                "display": "atorvastatin 10 MG Oral Tablet"}
SAMPLE = "lpc-diuretic-hypokalemia"
SVG = re.compile(r"<svg\b.*?</svg>", re.S)


@pytest.fixture
def app_overrides(app_overrides: dict[str, Any], database_url: str) -> dict[str, Any]:
    # Random card uuids, as in production: feedback is joined to the issued card by uuid.
    return {**app_overrides, "DATABASE_URL": database_url, "UUID_FACTORY": random_uuids, "PAGES": "on"}


@pytest.fixture
def app(app_overrides: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(app_overrides)
    yield app
    app.extensions["cds_store"].close()  # PostgreSQL: no connections left open across tests


def _table(url: str, name: str) -> list[dict[str, Any]]:
    """Every row of a table, read through a fresh engine."""
    engine = create_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine, only=[name])
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(meta.tables[name])).mappings()]
    finally:
        engine.dispose()


def _rules(rule_ids: str) -> list[str]:
    return [r.split("@")[0] for r in json.loads(rule_ids)]


def _csv(client: FlaskClient, chart: str, **headers: str) -> list[dict[str, str]]:
    resp = client.get(f"/analytics/{chart}.csv", headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))


def _svgs(html: str) -> dict[str, ET.Element]:
    """Each chart's SVG, parsed as XML (it must be well-formed), by id."""
    out = {}
    for markup in SVG.findall(html):
        root = ET.fromstring(markup)
        out[root.attrib["id"]] = root
    return out


def _marks(root: ET.Element) -> list[ET.Element]:
    return [e for e in root.iter() if "data-row" in e.attrib]


def _issue_cards(client: FlaskClient, build: Any) -> dict[str, Any]:
    """Real hook calls: two low-potassium calls, a sample patient, and a statin-only chart (its card is withheld)."""
    cards: list[dict[str, Any]] = []
    instances = []
    for i, value in enumerate((2.9, 3.1)):
        req = build.hook_request(build.full_prefetch(build.potassium(value)))
        req["hookInstance"] = f"6a0e7f7e-0000-4000-8000-00000000000{i}"
        instances.append(req["hookInstance"])
        resp = client.post("/cds-services/leg-pain-causes", json=req)
        assert resp.status_code == 200
        cards += resp.get_json()["cards"]
    req = samples.hook_request(SAMPLE, build.NOW)
    instances.append(req["hookInstance"])
    resp = client.post("/cds-services/leg-pain-causes", json=req)
    assert resp.status_code == 200
    cards += resp.get_json()["cards"]
    statin = build.full_prefetch()
    statin["medications"] = build.bundle({"resourceType": "MedicationStatement", "id": "ms-1", "status": "active",
                                          "subject": {"reference": f"Patient/{build.PATIENT_ID}"},
                                          "medicationCodeableConcept": {"coding": [ATORVASTATIN]}})
    req = build.hook_request(statin)
    instances.append(req["hookInstance"])
    resp = client.post("/cds-services/leg-pain-causes", json=req)
    assert resp.status_code == 200 and resp.get_json() == {"cards": []}
    return {"cards": cards, "hook_instances": instances,
            "patients": [build.PATIENT_ID, samples.patient_id(samples.materialize(SAMPLE, build.NOW))]}


def _post_feedback(client: FlaskClient, cards: list[dict[str, Any]]) -> None:
    """Accept the first card with a suggestion (taking it), override another with its first reason and a comment."""
    accepted = next(c for c in cards if c.get("suggestions"))
    overridden = next(c for c in cards if c is not accepted and c.get("overrideReasons"))
    resp = client.post("/cds-services/leg-pain-causes/feedback", json={"feedback": [
        {"card": accepted["uuid"], "outcome": "accepted", "outcomeTimestamp": "2026-11-25T12:05:00Z",
         "acceptedSuggestions": [{"id": accepted["suggestions"][0]["uuid"]}]},
        {"card": overridden["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-25T12:06:00Z",
         "overrideReason": {"reason": overridden["overrideReasons"][0], "userComment": COMMENT}}]})
    assert resp.status_code == 200 and resp.get_json() == {"stored": 2}


@pytest.fixture
def stored(client: FlaskClient, build: Any) -> dict[str, Any]:
    issued = _issue_cards(client, build)
    _post_feedback(client, issued["cards"])
    return issued


def percentile(values: list[float], p: float) -> float:
    """Linear interpolation between order statistics (PostgreSQL's percentile_cont, numpy's default)."""
    ordered = sorted(values)
    position = p * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# ---------------------------------------------------------------------------------------------- the numbers


def test_csv_numbers_equal_the_stored_records(client: FlaskClient, stored: dict[str, Any],
                                              database_url: str) -> None:
    issued = _table(database_url, "issued_card")
    feedback = _table(database_url, "feedback")
    withheld = _table(database_url, "withheld_card")
    audit = _table(database_url, "audit_event")
    assert issued and withheld and len(feedback) == 2  # the scenario really stored something of each kind

    per_day = Counter((str(r["issued_at"])[:10], rule, r["indicator"])
                      for r in issued for rule in _rules(r["rule_ids"]))
    rows = _csv(client, "issued-per-day")
    drawn = {(r["day"], r["rule"], r["indicator"]): int(r["cards"]) for r in rows if r["cards"] != "0"}
    assert Counter(drawn) == per_day
    assert len({r["day"] for r in rows}) == 30  # the default period, every day drawn (zeros included)

    by_uuid = {r["uuid"]: r for r in issued}
    cards, outcomes = Counter[str](), Counter[tuple[str, str]]()
    for r in issued:
        cards.update(_rules(r["rule_ids"]))
    for f in feedback:
        for rule in _rules(by_uuid[f["card_uuid"]]["rule_ids"]):
            outcomes[rule, f["outcome"]] += 1
    rows = _csv(client, "feedback-per-rule")
    assert {r["rule"]: (int(r["cards_issued"]), int(r["accepted"]), int(r["overridden"])) for r in rows} == {
        rule: (n, outcomes[rule, "accepted"], outcomes[rule, "overridden"]) for rule, n in cards.items()}
    for r in rows:
        answered = int(r["accepted"]) + int(r["overridden"])
        assert int(r["feedback"]) == answered
        assert r["accepted_pct"] == (str(round(100 * int(r["accepted"]) / answered, 1)) if answered else "")

    overridden = next(f for f in feedback if f["outcome"] == "overridden")
    rows = _csv(client, "override-reasons")
    assert [(r["rule"], r["reason_system"], r["reason_code"], r["reason_display"], r["overrides"]) for r in rows] == [
        (rule, overridden["override_system"], overridden["override_code"], overridden["override_display"], "1")
        for rule in _rules(by_uuid[overridden["card_uuid"]]["rule_ids"])]

    accepted = next(f for f in feedback if f["outcome"] == "accepted")
    offered = Counter(rule for r in issued if json.loads(r["suggestion_uuids"]) for rule in _rules(r["rule_ids"]))
    rows = _csv(client, "suggestions-per-rule")
    taken = set(_rules(by_uuid[accepted["card_uuid"]]["rule_ids"]))
    assert {r["rule"]: (int(r["cards_with_suggestions"]), int(r["cards_with_suggestion_accepted"])) for r in rows} == {
        rule: (n, int(rule in taken)) for rule, n in offered.items()}

    rows = _csv(client, "withheld-per-rule")
    assert Counter({(r["rule"], r["reason"]): int(r["withheld"]) for r in rows}) == Counter(
        (rule, w["reason"]) for w in withheld for rule in _rules(w["rule_ids"]))

    calls = [a for a in audit if a["endpoint"] == "service"]
    rows = _csv(client, "latency-per-service")
    (row,) = rows
    assert (row["service"], int(row["calls"])) == ("leg-pain-causes", len(calls)) and len(calls) == 4
    latencies = [float(a["latency_ms"]) for a in calls]
    for column, p in (("p50_ms", 0.5), ("p95_ms", 0.95), ("p99_ms", 0.99)):
        assert float(row[column]) == pytest.approx(percentile(latencies, p), abs=0.006)


def test_every_csv_row_is_a_mark_in_its_svg(client: FlaskClient, stored: dict[str, Any]) -> None:
    page = client.get("/analytics")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    charts = _svgs(html)
    assert sorted(charts) == sorted(CHART_IDS)
    for chart_id, root in charts.items():
        assert root.attrib["data-testid"] == chart_id and root.attrib["role"] == "img"
        rows = _csv(client, chart_id)
        marks = _marks(root)
        assert rows and sorted(int(m.attrib["data-row"]) for m in marks) == list(range(len(rows))), chart_id
        for mark in marks:  # every mark says its number to a screen reader
            assert [t.text for t in mark.iter("{http://www.w3.org/2000/svg}title") if t.text], chart_id
        assert f'href="/analytics/{chart_id}.csv?days=30"' in html


def test_the_plotted_values_are_the_csv_values(client: FlaskClient, stored: dict[str, Any]) -> None:
    charts = _svgs(client.get("/analytics").get_data(as_text=True))
    points = _marks(charts["issued-per-day"])
    rows = _csv(client, "issued-per-day")
    assert [p.attrib["data-value"] for p in sorted(points, key=lambda p: int(p.attrib["data-row"]))] == [
        r["cards"] for r in rows]
    bars = {int(g.attrib["data-row"]): [b.attrib["data-value"] for b in g if b.tag.endswith("rect")]
            for g in _marks(charts["latency-per-service"])}
    for i, r in enumerate(_csv(client, "latency-per-service")):
        assert [float(v) for v in bars[i]] == [float(r["p50_ms"]), float(r["p95_ms"]), float(r["p99_ms"])]


def test_no_patient_data_in_any_output(client: FlaskClient, stored: dict[str, Any]) -> None:
    outputs = [client.get("/analytics").get_data(as_text=True), client.get("/analytics/plots").get_data(as_text=True)]
    outputs += [client.get(f"/analytics/{c}.csv").get_data(as_text=True) for c in CHART_IDS]
    card_uuids = [c["uuid"] for c in stored["cards"]]
    for text in outputs:
        for secret in [*stored["hook_instances"], *card_uuids, COMMENT]:
            assert secret not in text
        for patient_id in stored["patients"]:
            assert not re.search(rf"\b{re.escape(patient_id)}\b", text)


def test_the_period_is_bounded(client: FlaskClient, app_overrides: dict[str, Any], stored: dict[str, Any],
                               build: Any) -> None:
    resp = client.get("/analytics/issued-per-day.csv?days=7")
    assert resp.status_code == 200
    assert len({r["day"] for r in csv.DictReader(io.StringIO(resp.get_data(as_text=True)))}) == 7
    for bad in ("0", "366", "-1", "7.5", "x"):
        for path in ("/analytics", "/analytics/plots", "/analytics/issued-per-day.csv"):
            resp = client.get(f"{path}?days={bad}")
            assert resp.status_code == 400 and resp.get_json()["issue"][0]["code"] == "invalid", (path, bad)
    assert client.get("/analytics/no-such-chart.csv").status_code == 404
    # 40 days later the cards of the scenario are outside the default period.
    later = create_app({**app_overrides, "CLOCK": lambda: build.NOW + timedelta(days=40)})
    try:
        rows = _csv(later.test_client(), "feedback-per-rule")
        assert rows == []
        assert _csv(later.test_client(), "issued-per-day") == []
    finally:
        later.extensions["cds_store"].close()


# ---------------------------------------------------------------------------------------------- access


def test_the_token_guards_the_plots_and_the_csvs(app_overrides: dict[str, Any], build: Any) -> None:
    app = create_app({**app_overrides, "ANALYTICS_TOKEN": TOKEN})
    try:
        client = app.test_client()
        _post_feedback(client, _issue_cards(client, build)["cards"])
        shell = client.get("/analytics")
        html = shell.get_data(as_text=True)
        assert shell.status_code == 200 and "<svg" not in html and 'id="analytics-token-form"' in html
        assert "analytics.js" in html and TOKEN not in html
        for path in ["/analytics/plots", *(f"/analytics/{c}.csv" for c in CHART_IDS)]:
            for given in (None, "Bearer wrong-token-0123456789", f"Basic {TOKEN}", TOKEN):
                resp = client.get(path, headers={"Authorization": given} if given else {})
                assert resp.status_code == 401 and resp.get_json()["issue"][0]["code"] == "login", (path, given)
                assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        good = {"Authorization": f"Bearer {TOKEN}"}
        plots = client.get("/analytics/plots", headers=good).get_data(as_text=True)
        assert sorted(_svgs(plots)) == sorted(CHART_IDS)
        assert _csv(client, "feedback-per-rule", **good)
        assert len(_svgs(client.get("/analytics", headers=good).get_data(as_text=True))) == len(CHART_IDS)
    finally:
        app.extensions["cds_store"].close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_page_follows_the_pages_setting(app_overrides: dict[str, Any]) -> None:
    for pages, status in (("off", 404), ("on", 200)):
        app = create_app({**app_overrides, "PAGES": pages})
        try:
            resp = app.test_client().get("/analytics")
            assert resp.status_code == status
            if status == 200:  # the pages' CSP: no inline script, self-hosted files only
                assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
                assert "<script>" not in resp.get_data(as_text=True)
        finally:
            app.extensions["cds_store"].close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_token_setting_is_checked_and_never_shown(app_overrides: dict[str, Any]) -> None:
    from cds_service import config

    with pytest.raises(config.ConfigError, match="CDS_ANALYTICS_TOKEN"):
        create_app({**app_overrides, "ANALYTICS_TOKEN": "short"})
    assert config.effective({**config.DEFAULTS, "ANALYTICS_TOKEN": TOKEN})["CDS_ANALYTICS_TOKEN"] == "(set)"


# ---------------------------------------------------------------------------------------------- the helpers


def test_svg_text_is_escaped() -> None:
    evil = '<script>alert(1)</script>" onload="x'
    markup = svg.bar_chart("c", evil, evil, (svg.Series(evil, evil),),
                           (svg.BarGroup(0, evil, (1.0,), (evil,)),), value_label=evil)
    assert "<script>" not in markup and 'onload="x' not in markup
    root = ET.fromstring(str(markup))
    assert [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")].count(evil) >= 2
    line = svg.line_chart("d", "t", "d", ["2026-11-25"], (svg.Line(svg.Series("k", evil), (
        svg.Point(0, 0, 2.0, evil),)),), value_label="v", x_label="x")
    ET.fromstring(str(line))
    assert "<script>" not in line


def test_long_labels_are_cut_but_titled_whole() -> None:
    label = "electrolyte-imbalance: " + "a very long override reason display " * 4
    root = ET.fromstring(str(svg.bar_chart("l", "t", "d", (svg.Series("s", "s"),),
                                           (svg.BarGroup(0, label, (1.0,), (label,)),), value_label="v")))
    (mark,) = _marks(root)
    shown = next(t.text or "" for t in mark.iter("{http://www.w3.org/2000/svg}text"))
    assert shown.endswith("\u2026") and label.startswith(shown[:-1]) and len(shown) < len(label)
    assert [t.text for t in mark.iter("{http://www.w3.org/2000/svg}title")] == [label]
    short = ET.fromstring(str(svg.bar_chart("s", "t", "d", (svg.Series("s", "s"),),
                                            (svg.BarGroup(0, "statin-muscle-symptoms", (1.0,), ("x",)),),
                                            value_label="v")))
    assert "statin-muscle-symptoms" in [t.text for t in short.iter("{http://www.w3.org/2000/svg}text")]


def test_empty_charts_say_so() -> None:
    root = ET.fromstring(str(svg.bar_chart("e", "t", "d", (), (), value_label="v", empty="Nothing here.")))
    assert not _marks(root) and "Nothing here." in ET.tostring(root, encoding="unicode")


@pytest.mark.parametrize("top, integer, expected", [
    (0, True, [0, 1]), (1, True, [0, 1]), (3, True, [0, 1, 2, 3]), (7, True, [0, 2, 4, 6, 8]),
    (100, False, [0, 20, 40, 60, 80, 100]), (0.3, False, [0, 0.1, 0.2, 0.3])])
def test_nice_ticks(top: float, integer: bool, expected: list[float]) -> None:
    assert svg.nice_ticks(top, integer=integer) == pytest.approx(expected)


def test_days_and_periods() -> None:
    assert parse_days(None) == 30 and parse_days("1") == 1 and parse_days("365") == 365
    for bad in ("0", "366", "1e2", " 3", "-4"):
        with pytest.raises(BadPeriod):
            parse_days(bad)
    period = Period(3, date(2026, 11, 25))
    assert period.day_labels() == ["2026-11-23", "2026-11-24", "2026-11-25"]
    assert period.day_labels("2026-11-26")[-1] == "2026-11-26"
    assert period.since.isoformat() == "2026-11-23T00:00:00+00:00"
    assert interpolate(10.0, 20.0, 0.25) == 12.5
