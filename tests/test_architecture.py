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
        if path.name == "facts.py":
            continue
        nodes = list(ast.walk(ast.parse(path.read_text(encoding="utf-8"))))
        modules = {n.module for n in nodes if isinstance(n, ast.ImportFrom) and n.module}
        modules |= {a.name for n in nodes if isinstance(n, ast.Import) for a in n.names}
        assert not any(m.startswith("fhir") for m in modules), path
