"""`leg-pain-cds terminology check`: validate the bundled terminology and every reference the rules make to it."""
from __future__ import annotations

import argparse
import sys
from typing import TextIO

from cards import references

from terminology import analytes, check, drugs, valuesets


def run_check(out: TextIO | None = None) -> int:
    """Print a summary and every problem; 0 when the data files and rule references are sound."""
    stream = out or sys.stdout
    refs = references.collect()
    problems = check.check_data(required_valuesets=sorted(refs.valuesets)) + references.problems()
    slugs = valuesets.slugs()
    codes = sum(len(valuesets.load(s).codes) for s in slugs)
    print(f"value sets: {len(slugs)} ({codes} codes); lab analytes: {len(analytes.ANALYTES)}; "
          f"ingredients: {len(drugs.ingredients())}; drug classes: {len(drugs.classes())}", file=stream)
    print(f"rules reference {len(refs.valuesets)} value sets, {len(refs.analytes)} analytes, "
          f"{len(refs.drug_classes)} drug classes, {len(refs.ingredients)} named ingredients", file=stream)
    for problem in problems:
        print(f"PROBLEM: {problem}", file=stream)
    print("terminology check: " + ("OK" if not problems else f"{len(problems)} problem(s)"), file=stream)
    return 0 if not problems else 1


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("terminology", help="terminology data tools")
    sub = parser.add_subparsers(dest="terminology_command", required=True)
    check_parser = sub.add_parser("check", help="validate data files: provenance, unique codes, known systems, "
                                                "every code a rule references present")
    check_parser.set_defaults(func=lambda args: run_check())
