"""docs/deployment.md and the Helm chart's README stay true to the code: the metrics, settings, commands and
endpoints they name exist, and every metric the service exports is named in the monitoring section."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from cds_service import config
from cds_service.cli import build_parser
from cds_service.runtime import metrics

ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENT = ROOT / "docs" / "deployment.md"
CHART = ROOT / "deploy" / "helm" / "leg-pain-cds"
DOCUMENTS = [DEPLOYMENT, CHART / "README.md", CHART / "values.yaml", CHART / "values-production.example.yaml",
             ROOT / "deploy" / "compose.yaml"]


def exported_metrics() -> set[str]:
    """The names a scrape shows for each metric family (counters with their `_total`)."""
    names = set()
    for family in metrics.metrics().registry.collect():
        names.add(f"{family.name}_total" if family.type == "counter" else family.name)
    return names


def test_monitoring_names_every_exported_metric_and_no_other() -> None:
    text = DEPLOYMENT.read_text()
    section = text[text.index("## Monitoring and alerts"):]
    named = {re.sub(r"_(bucket|count|sum)$", "", m) for m in re.findall(r"\b(cds_[a-z_]+)\b", section)}
    assert named == exported_metrics()


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda p: p.name)
def test_every_setting_named_exists(doc: Path) -> None:
    known = {s.env for s in config.SETTINGS}
    named = set(re.findall(r"\bCDS_[A-Z0-9_]*[A-Z0-9]\b", doc.read_text()))
    assert named - known == set()


def test_every_leg_pain_cds_command_named_exists() -> None:
    parser = build_parser()
    commands = set(re.findall(r"leg-pain-cds ((?:db )?[a-z]+)", DEPLOYMENT.read_text()))
    assert {"serve", "db upgrade", "db check"} <= commands
    for command in commands:
        args = command.split()
        with pytest.raises(SystemExit) as done:
            parser.parse_args([*args, "--help"])
        assert done.value.code == 0, command


def test_the_endpoints_named_exist(app: Flask) -> None:
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    for path in ("/healthz", "/readyz", "/metrics", "/cds-services"):
        assert path in routes, path
        assert f"`{path}" in DEPLOYMENT.read_text() or f"`GET {path}" in DEPLOYMENT.read_text()
