"""Lab analytes: which observation codes belong to which analyte (from the ``lab-<analyte>`` value sets)."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from types import MappingProxyType

from terminology import systems, units, valuesets
from terminology._data import TerminologyDataError

LAB_PREFIX = "lab-"


@functools.cache
def _index() -> dict[tuple[str, str], str]:
    index: dict[tuple[str, str], str] = {}
    for slug in valuesets.slugs():
        if not slug.startswith(LAB_PREFIX):
            continue
        analyte = slug[len(LAB_PREFIX):]
        for system, code in valuesets.load(slug).codes:
            key = (system, code)
            if key in index and index[key] != analyte:
                raise TerminologyDataError(f"{system}|{code} is in lab-{index[key]} and lab-{analyte}")
            index[key] = analyte
    return index


@functools.cache
def _analytes() -> Mapping[str, str]:
    names = sorted({analyte for analyte in _index().values()})
    return MappingProxyType({name: units.canonical_unit(name) for name in names})


class _LazyAnalytes(Mapping[str, str]):
    """Read-only mapping filled on first use, so that importing the module never reads data files."""

    def __getitem__(self, key: str) -> str:
        return _analytes()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(_analytes())

    def __len__(self) -> int:
        return len(_analytes())

    def __repr__(self) -> str:
        return f"ANALYTES({dict(_analytes())!r})"


ANALYTES: Mapping[str, str] = _LazyAnalytes()
"""Analyte slug -> canonical UCUM unit."""


def analyte_for_code(system: str | None, code: str | None) -> str | None:
    """The analyte slug (e.g. ``potassium``) an observation coding belongs to, else None."""
    canonical = systems.canonical_system(system)
    if canonical is None or code is None:
        return None
    return _index().get((canonical, code.strip()))


def analyte_for_codings(codings: list[tuple[str | None, str | None]]) -> str | None:
    """The analyte of the first coding that belongs to one (labs often send a local code plus LOINC)."""
    for system, code in codings:
        analyte = analyte_for_code(system, code)
        if analyte is not None:
            return analyte
    return None


def code_property(system: str | None, code: str | None) -> str | None:
    """The property family (``mass``, ``molar``, ``mass-or-molar``, ...) recorded for a lab code, else None."""
    analyte = analyte_for_code(system, code)
    if analyte is None:
        return None
    return valuesets.load(LAB_PREFIX + analyte).property(system, code)


def all_codes() -> frozenset[tuple[str, str]]:
    """Every (system, code) any analyte uses (e.g. for the observation prefetch query)."""
    return frozenset(_index())


def loinc_codes(analyte: str) -> list[str]:
    """The LOINC codes of ``analyte``, sorted (raises KeyError for an unknown analyte)."""
    vs = valuesets.load(LAB_PREFIX + analyte)
    return sorted(code for system, code in vs.codes if system == systems.LOINC)
