"""Shared test configuration. The FHIR server fixtures live in the conftest_fhir plugin."""
from __future__ import annotations

pytest_plugins = ["tests.conftest_fhir"]
