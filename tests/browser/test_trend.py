"""The lab-trend SMART app (``/trend``) in headless Chromium, launched standalone against a real open FHIR server
(sekmet-fhir) holding a sample patient: the plotted points are that patient's results, the markers its drugs."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode

import pytest

from cds_service import samples
from cds_service.runtime.serve import serve_subprocess
from terminology import analytes, units

from . import a11y
from ..fhir_servers import SekmetServer
from .conftest import PageWatch, Served, serve_settings

pytestmark = pytest.mark.server

#: Furosemide (started 120 days ago), a stopped atorvastatin, K 3.8 then 2.9, Mg, Na and Ca.
PATIENT = "lpc-diuretic-hypokalemia"
ANALYTES = ("potassium", "magnesium", "sodium", "calcium-total", "calcium-ionized", "ck", "abi")
LOINC = "http://loinc.org"


@dataclass
class TrendSetup:
    server: Served
    fhir: SekmetServer
    bundle: dict[str, Any]


@pytest.fixture(scope="module")
def trend(sekmet_open_server: SekmetServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrendSetup]:
    """The sample patient on the open FHIR server, and a service whose FHIR allowlist names that server."""
    now = datetime.now(timezone.utc)
    report = samples.load(sekmet_open_server.base_url, now=now, names=[PATIENT])
    assert report.ok, report.failures
    workdir = tmp_path_factory.mktemp("browser-trend")
    db_path = workdir / "cds.sqlite3"
    settings = serve_settings(db_path, CDS_ALLOWED_FHIR_SERVERS=sekmet_open_server.base_url)
    with serve_subprocess(Path(workdir), settings) as (_proc, base):
        yield TrendSetup(Served(base, db_path, workdir), sekmet_open_server, samples.materialize(PATIENT, now))


def expected_points(bundle: dict[str, Any]) -> dict[str, list[tuple[str, float]]]:
    """(day, value in the analyte's canonical unit) per analyte, sorted, from the patient's Observations."""
    table = units.analytes()
    out: dict[str, list[tuple[str, float]]] = {a: [] for a in ANALYTES}
    for res in samples.resources_of(bundle):
        if res["resourceType"] != "Observation" or "valueQuantity" not in res:
            continue
        codes = {c["code"] for c in res["code"]["coding"] if c.get("system") == LOINC}
        for analyte in ANALYTES:
            if codes & set(analytes.loinc_codes(analyte)):
                q = res["valueQuantity"]
                value = units.convert(q["value"], q.get("code") or q.get("unit"), table[analyte].canonical,
                                      analyte=analyte)
                out[analyte].append((res["effectiveDateTime"][:10], value))
    return {a: sorted(points) for a, points in out.items()}


def started(bundle: dict[str, Any], word: str) -> str:
    """The start day of the patient's medication whose text names `word`."""
    for res in samples.resources_of(bundle):
        if res["resourceType"] == "MedicationStatement" and word in res["medicationCodeableConcept"]["text"].lower():
            return str(res["effectivePeriod"]["start"])[:10]
    raise AssertionError(f"no {word} in {PATIENT}")


def test_standalone_launch_plots_the_patients_results(trend: TrendSetup, page: Any, page_watch: PageWatch,
                                                     screenshot: Callable[..., Any]) -> None:
    query = urlencode({"iss": trend.fhir.base_url, "patient": PATIENT})
    page.goto(trend.server.url(f"/trend?{query}"))
    page.wait_for_selector('#trend-app[data-loaded="true"]')
    expected = expected_points(trend.bundle)
    assert expected["potassium"] and len(expected["potassium"]) == 2
    for analyte, points in expected.items():
        chart = page.locator(f'[data-testid="chart-{analyte}"]')
        if not points:
            assert chart.count() == 0 or chart.get_attribute("data-points") == "0", analyte
            continue
        assert chart.get_attribute("data-points") == str(len(points)), analyte
        plotted = [(dot.get_attribute("data-date"), float(dot.get_attribute("data-value")))
                   for dot in chart.locator(f'circle[data-testid^="point-{analyte}-"]').all()]
        assert [d for d, _ in plotted] == [d for d, _ in points], analyte
        assert [v for _, v in plotted] == pytest.approx([v for _, v in points], rel=1e-6), analyte
        assert chart.locator(f'[data-testid="band-{analyte}"]').count() == 1
    # K 2.9 is below the range and drawn so; 3.8 is inside
    assert [dot.get_attribute("data-outside") for dot in page.locator(
        '[data-testid="chart-potassium"] circle.trend-point').all()] == ["false", "true"]
    # the furosemide and the atorvastatin start dates are marked on the charts
    potassium = page.locator('[data-testid="chart-potassium"]')
    assert started(trend.bundle, "furosemide") in [
        m.get_attribute("data-date") for m in potassium.locator('[data-testid^="marker-diuretic-start-"]').all()]
    assert started(trend.bundle, "atorvastatin") in [
        m.get_attribute("data-date") for m in potassium.locator('[data-testid^="marker-statin-start-"]').all()]
    screenshot(page, "trend", readme=True)
    page_watch.assert_quiet()


def test_start_form_is_labelled_and_refuses_a_server_off_the_allowlist(trend: TrendSetup, page: Any) -> None:
    page.goto(trend.server.url("/trend"))
    assert a11y.unlabelled_controls(page) == []
    page.fill("#trend-iss", "http://127.0.0.1:9/fhir")
    page.fill("#trend-patient", PATIENT)
    with page.expect_navigation() as nav:
        page.keyboard.press("Enter")
    assert nav.value.status == 403
    assert "allowlist" in page.locator("main").inner_text()


def test_demo_reads_a_patient_from_an_allowed_fhir_server(trend: TrendSetup, page: Any,
                                                          page_watch: PageWatch) -> None:
    """``/`` with "A patient on a FHIR server": the service reads the allowlisted server and shows the same cards
    the sample's prefetch gives; a server off the allowlist is the service's 412, shown as an error."""
    page.goto(trend.server.url("/"))
    page.check("#source-fhir")
    page.fill("#fhir-server", trend.fhir.base_url)
    page.fill("#patient-id", PATIENT)
    page.select_option("#service", "leg-pain-causes")
    with page.expect_response(lambda r: r.url == trend.server.url("/cds-services/leg-pain-causes")) as answer:
        page.click("#run")
    page.wait_for_selector("#demo-form[data-state=done]")
    sent = answer.value.request.post_data_json
    assert sent["fhirServer"] == trend.fhir.base_url and "prefetch" not in sent
    cards = answer.value.json()["cards"]
    assert {c["source"]["topic"]["code"]: c["indicator"] for c in cards} == samples.sample(PATIENT).topics
    assert page.locator('#cards > article[data-testid="card"]').count() == len(cards)

    page.fill("#fhir-server", "http://127.0.0.1:9/fhir")
    page.click("#run")
    page.wait_for_selector("#demo-form[data-state=error]")
    assert "412" in page.locator('[data-testid="error"]').inner_text()
    assert page.locator('#cards > article[data-testid="card"]').count() == 0
    assert len(page_watch.console_errors) == 1 and "412" in page_watch.console_errors[0], page_watch.console_errors
    assert not page_watch.page_errors and not page_watch.dialogs
