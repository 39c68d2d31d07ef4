"""Keep the pure packages pure: terminology <- cards <- cds_service (STYLE.md example 6)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
FORBIDDEN = {"cards": {"flask", "requests", "marshmallow", "cds_service", "sqlalchemy", "gunicorn"}}
FORBIDDEN["terminology"] = FORBIDDEN["cards"] | {"cards", "fhir", "pydantic"}


@pytest.mark.parametrize("pkg", sorted(FORBIDDEN))
def test_import_direction(pkg: str) -> None:
    for path in (ROOT / pkg).rglob("*.py"):
        nodes = list(ast.walk(ast.parse(path.read_text(encoding="utf-8"))))
        names = {a.name for n in nodes if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in nodes if isinstance(n, ast.ImportFrom) and n.module and not n.level}
        assert not {m.split(".")[0] for m in names} & FORBIDDEN[pkg], path


def test_only_facts_imports_fhir_resources() -> None:
    for path in (ROOT / "cards").rglob("*.py"):
        if path.parent == ROOT / "cards" / "facts":
            continue
        nodes = list(ast.walk(ast.parse(path.read_text(encoding="utf-8"))))
        modules = {n.module for n in nodes if isinstance(n, ast.ImportFrom) and n.module}
        modules |= {a.name for n in nodes if isinstance(n, ast.Import) for a in n.names}
        assert not any(m.startswith("fhir") for m in modules), path


# Inside cds_service, the layers of docs/architecture.md: the routes (api/) sit on the pipeline, which sits on fhir/
# and the protocol modules (schemas, limits, errors, config); persistence/ and security/ never reach up into the
# routes or the pipeline. Key: a module or sub-package of cds_service; value: the parts it must not import.
UPPER = {"app", "cli", "wsgi", "api", "pages"}  # the routes and the pages: nothing below imports them
LAYERS: dict[str, set[str]] = {
    "pipeline": UPPER | {"persistence", "security", "runtime"},
    "fhir": UPPER | {"pipeline", "persistence", "runtime"},
    "persistence": UPPER | {"pipeline", "fhir", "security", "runtime"},
    "security": UPPER | {"pipeline", "fhir", "runtime"},
    "runtime": UPPER | {"pipeline", "fhir", "persistence"},
    "schemas": UPPER | {"pipeline", "fhir", "persistence", "security", "runtime"},
    "limits": UPPER | {"pipeline", "fhir", "persistence", "security", "runtime"},
    "errors": UPPER | {"pipeline", "fhir", "persistence", "security", "runtime"},
    "config": UPPER | {"pipeline", "fhir", "persistence", "runtime"},  # security.url_policy checks the allowlist
}


def _cds_imports(path: Path) -> set[str]:
    """The parts of cds_service a module imports ("api", "fhir", "schemas", ...)."""
    parts: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cds_service"):
            tail = node.module.split(".")[1:]
            parts |= {tail[0]} if tail else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            parts |= {a.name.split(".")[1] for a in node.names if a.name.startswith("cds_service.")}
    return parts


@pytest.mark.parametrize("part", sorted(LAYERS))
def test_cds_service_layers(part: str) -> None:
    base = ROOT / "cds_service" / part
    paths = sorted(base.rglob("*.py")) if base.is_dir() else [base.with_suffix(".py")]
    assert paths and paths[0].exists(), part
    for path in paths:
        assert not _cds_imports(path) & LAYERS[part], path


def test_the_layers_cover_every_part_of_cds_service() -> None:
    """A new module or sub-package is placed in a layer (above), or this fails."""
    parts = {p.stem for p in (ROOT / "cds_service").iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    assert parts - {"__init__"} <= set(LAYERS) | UPPER | {"samples", "terminology_cli"}
