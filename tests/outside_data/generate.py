"""Regenerate the outside-data fixtures: patients that nobody on this project wrote.

Run by hand, never in CI (CI is offline and does not install these packages). Pinned versions:

    carebundle == 0.5.0   (Apache-2.0; "byte-identical output for a given seed", changes only on a major version)
    clinosim   == 0.6.5   (MIT; deterministic for a given seed, checked by running it twice)
    Python 3.11

Outside the repository, in a scratch virtualenv:

    python3 -m venv "$HOME/outside-data-venv"
    "$HOME/outside-data-venv/bin/pip" install carebundle==0.5.0 clinosim==0.6.5
    "$HOME/outside-data-venv/bin/python" tests/outside_data/generate.py            # rewrite the fixtures
    "$HOME/outside-data-venv/bin/python" tests/outside_data/generate.py --check    # regenerate and compare

The clinosim cohort takes about 3 minutes (2 cores). What is generated, with which seeds and options, is listed
below in CAREBUNDLE and CLINOSIM; README.md beside this file says why each patient was chosen. The hand-written
expectations are in expected.json. The US Core example patient (uscore-amy-shaw.json) is copied, not generated.

Pruning: the clinosim patients keep only the resource types the service reads (Patient, Observation, Condition,
MedicationStatement, MedicationRequest, Medication); every resource of those types is kept as clinosim wrote it.
The carebundle transaction Bundles are kept whole (Encounter, Practitioner, DiagnosticReport... included), content
as the package emits it: no resource ids, the Patient identified only by its urn:uuid fullUrl.
Files are written one Bundle entry per line (compact JSON) to keep them small and their diffs readable.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VERSIONS = {"carebundle": "0.5.0", "clinosim": "0.6.5"}
READ_TYPES = ("Patient", "Observation", "Condition", "MedicationStatement", "MedicationRequest", "Medication")

# carebundle: key -> generate_bundle(profile, seed, sex, reference_date) [+ inject_defects(Imperfection, seed)].
# The seeds were picked by scanning seeds 1-30 of each profile (sex F for odd seeds, M for even) for diuretic and
# statin users, low potassium, high albumin and uncontrolled diabetes; README.md lists what each one holds.
CB_RECENT = date(2026, 11, 20)  # labs 5 days before the evaluation time (2026-11-25)
CB_DEFECTS = {"missing_field": 0.1, "duplicate_entry": 0.05, "unparseable_value": 0.15, "unknown_code_system": 0.05}
CAREBUNDLE: dict[str, dict[str, Any]] = {
    "cb-t2dm-hctz-lowk": dict(profile="type2_diabetes", seed=29, sex="F", reference_date=CB_RECENT),
    # Same patient, dirtied by carebundle's own defect injector. Seed 14 is the first injection seed (1..) that
    # turns the potassium result into a valueString ("see comment"); it also drops fields, swaps a code system to a
    # site-local OID and replays some entries.
    "cb-t2dm-hctz-unreadable-k": dict(profile="type2_diabetes", seed=29, sex="F", reference_date=CB_RECENT,
                                      defects=dict(CB_DEFECTS), defect_seed=14),
    "cb-htn-untreated-lowk": dict(profile="hypertension", seed=19, sex="F", reference_date=CB_RECENT),
    "cb-htn-statin-high-albumin": dict(profile="hypertension", seed=16, sex="M", reference_date=CB_RECENT),
    "cb-ckd3-two-diuretics-statin": dict(profile="ckd_stage3", seed=30, sex="M", reference_date=CB_RECENT),
    "cb-t2dm-uncontrolled-hctz": dict(profile="type2_diabetes", seed=10, sex="M", reference_date=CB_RECENT),
    # Labs and prescriptions 450 days before the evaluation time: a stable thiazide user with no panel in 12 months.
    "cb-htn-hctz-no-labs-15-months": dict(profile="hypertension", seed=2, sex="M", reference_date=date(2025, 9, 1)),
    "cb-healthy-control": dict(profile="healthy", seed=16, sex="M", reference_date=CB_RECENT),
    "cb-iron-deficiency-anaemia": dict(profile="anaemia", seed=9, sex="F", reference_date=CB_RECENT),
}

# clinosim: one simulated US cohort, patients picked by id (criteria in README.md), plus one forced-disease patient.
CS_COHORT = ["simulate", "--country", "US", "--population", "1000", "--seed", "20261125",
             "--start", "2025-11-26", "--end", "2026-11-25", "--format", "fhir-r4"]
CS_DVT = ["test-disease", "deep_vein_thrombosis", "-n", "2", "-s", "7", "--country", "US", "--format", "fhir-r4"]
CLINOSIM: dict[str, tuple[str, str]] = {  # key -> (run, patient id)
    "cs-hf-furosemide-statin": ("cohort", "pt-1631088f68e5"),
    "cs-ckd-high-k-after-cellulitis": ("cohort", "pt-2c2904e02c43"),
    "cs-low-back-pain-ssri-statin": ("cohort", "pt-b268c19dc48c"),
    "cs-old-discharge-metoclopramide": ("cohort", "pt-d838f0fa79a2"),
    "cs-asthma-salbutamol": ("cohort", "pt-2921c1ab6ab7"),
    "cs-vertebral-fracture-parkinson-furosemide": ("cohort", "pt-67f2ce97608a"),
    "cs-arb-ppi-old-low-k": ("cohort", "pt-1e83ac099a9c"),
    "cs-dvt-rivaroxaban": ("dvt", "pt-e0dac3711b52"),
}


def dump_bundle(bundle: dict[str, Any]) -> str:
    """Compact JSON, one Bundle entry per line."""
    head = {k: v for k, v in bundle.items() if k != "entry"}
    out = json.dumps(head, separators=(",", ":"), ensure_ascii=False)[:-1]
    lines = [json.dumps(e, separators=(",", ":"), ensure_ascii=False) for e in bundle.get("entry", [])]
    return out + ',"entry":[\n' + ",\n".join(lines) + "\n]}\n"


def check_versions() -> None:
    from importlib.metadata import version

    for name, wanted in VERSIONS.items():
        if version(name) != wanted:
            raise SystemExit(f"{name} {version(name)} is installed; these fixtures were made with {wanted}")


def carebundle_files() -> dict[str, str]:
    from carebundle import Imperfection, generate_bundle, inject_defects, to_json

    out = {}
    for key, spec in CAREBUNDLE.items():
        spec = dict(spec)
        defects, defect_seed = spec.pop("defects", None), spec.pop("defect_seed", None)
        bundle = json.loads(to_json(generate_bundle(**spec)))
        if defects:
            bundle, _ = inject_defects(bundle, Imperfection(**defects), seed=defect_seed)
        out[f"{key}.json"] = dump_bundle(bundle)
    return out


def _clinosim(args: list[str], outdir: Path) -> Path:
    cmd = [sys.executable, "-c", "import sys; from clinosim.simulator.cli import main; sys.exit(main())",
           *args, "--output", str(outdir)]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "CLINOSIM_LOG_LEVEL": "WARNING"})
    if done.returncode:
        raise SystemExit(f"clinosim {args[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return outdir / "fhir_r4"


def _patient_of(resource: dict[str, Any]) -> str | None:
    if resource["resourceType"] == "Patient":
        return str(resource["id"])
    for key in ("subject", "patient"):
        ref = resource.get(key)
        if isinstance(ref, dict) and str(ref.get("reference", "")).startswith("Patient/"):
            return str(ref["reference"])[len("Patient/"):]
    return None


def clinosim_files(work: Path) -> dict[str, str]:
    folders = {"cohort": _clinosim(CS_COHORT, work / "cohort"), "dvt": _clinosim(CS_DVT, work / "dvt")}
    out = {}
    for key, (run, pid) in CLINOSIM.items():
        resources = []
        for rtype in READ_TYPES:
            path = folders[run] / f"{rtype}.ndjson"
            if path.exists():
                for line in path.read_text(encoding="utf-8").splitlines():
                    resource = json.loads(line)
                    if _patient_of(resource) == pid:
                        resources.append(resource)
        if not any(r["resourceType"] == "Patient" for r in resources):
            raise SystemExit(f"clinosim run {run!r} has no patient {pid}: did the package version change?")
        out[f"{key}.json"] = dump_bundle({"resourceType": "Bundle", "type": "collection",
                                          "entry": [{"resource": r} for r in resources]})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="regenerate and compare with the committed files")
    args = parser.parse_args()
    check_versions()
    with tempfile.TemporaryDirectory() as tmp:
        files = {**carebundle_files(), **clinosim_files(Path(tmp))}
    differ = []
    for name, text in sorted(files.items()):
        target = HERE / name
        if args.check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                differ.append(name)
        else:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {name} ({len(text.encode()) // 1024} KiB)")
    if differ:
        print("differ from the committed fixtures: " + ", ".join(differ))
        return 1
    if args.check:
        print(f"all {len(files)} generated fixtures are identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
