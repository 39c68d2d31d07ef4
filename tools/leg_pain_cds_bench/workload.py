"""Deterministic, realistic synthetic patients for the benchmark (``leg-pain-cds bench``).

A workload is one ``patient-view`` hook request with every prefetch key filled, shaped like what EHRs send: the
analytes the rules read (potassium, sodium, magnesium, calcium, albumin, CK, ABI with left/right components...)
among many labs and vitals no rule reads, panels with components (blood pressure, ABI), reference ranges,
interpretation flags, cancelled / entered-in-error / preliminary / amended results, results carrying only
``issued`` or an ``effectivePeriod``, dates in no order, non-numeric and comparator values; MedicationStatement and
MedicationRequest entries coded by RxNorm product or ingredient, by text only, by reference to an included
Medication and to a contained one, in every status; active, resolved and refuted conditions.

Everything comes from a seeded ``random.Random`` and a given ``now``: the same (size, seed, now) gives the same
bytes. Codes are the project's own terminology data (terminology/data: LOINC, RxNorm, SNOMED CT, ICD-10-CM, each
with its provenance); vital signs use a local code system under example.org (EHRs often send local codes), so that no code is invented. The patient is
synthetic: no real person's data.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
COND_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
COND_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
COND_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
# Local codes, as many EHRs send for vitals and panels; example.org is reserved for examples (RFC 2606).
LOCAL = "http://example.org/fhir/CodeSystem/bench-local-observation"
LAB_ID_SYSTEM = "http://example.org/fhir/sid/bench-lab-accession"

PATIENT_ID = "bench-patient-1"
SERVICE_ID = "leg-pain-causes"


@dataclass(frozen=True)
class Size:
    """How big a synthetic patient is."""

    name: str
    observations: int
    medications: int
    conditions: int
    years: int  # span of the record: older results fall outside every lookback, as in a real chart


SIZES: dict[str, Size] = {
    "small": Size("small", 20, 4, 3, 1),
    "typical": Size("typical", 500, 30, 12, 5),
    "heavy": Size("heavy", 5000, 100, 40, 10),
}


@dataclass(frozen=True)
class _Lab:
    code: str
    display: str
    unit: str
    low: float
    high: float
    decimals: int = 1
    weight: float = 1.0


# The analytes the rules read (codes of terminology/data/valuesets/lab-*.json); normal ranges as in cards/knowledge.
RULE_LABS = (
    _Lab("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", 3.5, 5.0, 1, 3.0),
    _Lab("6298-4", "Potassium [Moles/volume] in Blood", "mmol/L", 3.5, 5.0, 1, 0.5),
    _Lab("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 135, 145, 0, 3.0),
    _Lab("19123-9", "Magnesium [Mass/volume] in Serum or Plasma", "mg/dL", 1.7, 2.2, 1, 1.0),
    _Lab("2601-3", "Magnesium [Moles/volume] in Serum or Plasma", "mmol/L", 0.7, 0.9, 2, 0.3),
    _Lab("17861-6", "Calcium [Mass/volume] in Serum or Plasma", "mg/dL", 8.6, 10.2, 1, 2.0),
    _Lab("1994-3", "Calcium.ionized [Moles/volume] in Blood", "mmol/L", 1.15, 1.33, 2, 0.3),
    _Lab("1751-7", "Albumin [Mass/volume] in Serum or Plasma", "g/dL", 3.5, 5.0, 1, 1.5),
    _Lab("2157-6", "Creatine kinase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 30, 200, 0, 0.8),
    _Lab("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.6, 1.2, 2, 2.0),
    _Lab("3094-0", "Urea nitrogen [Mass/volume] in Serum or Plasma", "mg/dL", 7, 20, 0, 2.0),
    _Lab("2276-4", "Ferritin [Mass/volume] in Serum or Plasma", "ng/mL", 30, 300, 0, 0.3),
)
# Labs no rule reads (supporting chemistry, haematology and vital-sign codes).
OTHER_LABS = (
    _Lab("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 70, 99, 0, 3.0),
    _Lab("2075-0", "Chloride [Moles/volume] in Serum or Plasma", "mmol/L", 98, 107, 0, 3.0),
    _Lab("2028-9", "Carbon dioxide, total [Moles/volume] in Serum or Plasma", "mmol/L", 22, 29, 0, 3.0),
    _Lab("2777-1", "Phosphate [Mass/volume] in Serum or Plasma", "mg/dL", 2.5, 4.5, 1, 1.0),
    _Lab("33914-3", "Glomerular filtration rate/1.73 sq M.predicted [MDRD]", "mL/min/{1.73_m2}", 60, 120, 0, 2.0),
    _Lab("3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", "m[IU]/L", 0.4, 4.0, 2, 0.8),
    _Lab("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 4.0, 5.6, 1, 0.8),
    _Lab("2132-9", "Cobalamin (Vitamin B12) [Mass/volume] in Serum or Plasma", "pg/mL", 200, 900, 0, 0.3),
    _Lab("62292-8", "25-Hydroxyvitamin D2+D3 [Mass/volume] in Serum or Plasma", "ng/mL", 30, 100, 0, 0.3),
    _Lab("2498-4", "Iron [Mass/volume] in Serum or Plasma", "ug/dL", 60, 170, 0, 0.3),
    _Lab("2500-7", "Iron binding capacity [Mass/volume] in Serum or Plasma", "ug/dL", 250, 450, 0, 0.3),
)
# Vitals with local codes: (code, display, unit, low, high, decimals).
VITALS = (
    ("HR", "Heart rate", "/min", 55, 95, 0),
    ("RR", "Respiratory rate", "/min", 12, 20, 0),
    ("TEMP", "Body temperature", "Cel", 36.2, 37.4, 1),
    ("SPO2", "Oxygen saturation", "%", 94, 100, 0),
    ("WT", "Body weight", "kg", 55, 110, 1),
)

# (code, display, how it is carried, ingredient-level?) - RxNorm codes of terminology/data/drugs.
RX_MEDS = (
    ("313988", "furosemide 40 MG Oral Tablet"),
    ("310798", "hydrochlorothiazide 25 MG Oral Tablet"),
    ("617312", "atorvastatin 10 MG Oral Tablet"),
    ("312961", "simvastatin 20 MG Oral Tablet"),
    ("197885", "hydrochlorothiazide 12.5 MG / lisinopril 10 MG Oral Tablet"),
    ("312941", "sertraline 50 MG Oral Tablet"),
    ("745752", "NDA021457 200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler [ProAir]"),
    ("10582", "levothyroxine"),
    ("25480", "gabapentin"),
    ("1049630", "diphenhydramine hydrochloride 25 MG Oral Tablet"),
    ("197516", "clarithromycin 250 MG Oral Tablet"),
    ("313096", "spironolactone 25 MG Oral Tablet"),
)
# Drugs no rule reads, sent as text only (no code is invented for them).
TEXT_MEDS = (
    "metformin 500 MG Oral Tablet", "omeprazole 20 MG Delayed Release Oral Capsule", "aspirin 81 MG Oral Tablet",
    "amlodipine 5 MG Oral Tablet", "lisinopril 10 MG Oral Tablet", "cholecalciferol 1000 UNT Oral Capsule",
    "acetaminophen 500 MG Oral Tablet", "tamsulosin 0.4 MG Oral Capsule", "insulin glargine 100 UNT/ML Pen",
    "latanoprost 0.05 MG/ML Ophthalmic Solution", "docusate sodium 100 MG Oral Capsule",
)
# (system, code, display, clinical status, verification status) - codes of terminology/data/valuesets/cond-*.json.
CONDITIONS = (
    (SNOMED, "433144002", "Chronic kidney disease stage 3", "active", "confirmed"),
    (SNOMED, "40930008", "Hypothyroidism", "active", "confirmed"),
    (SNOMED, "399957001", "Peripheral arterial occlusive disease", "active", "confirmed"),
    (SNOMED, "18347007", "Spinal stenosis of lumbar region", "active", "confirmed"),
    (SNOMED, "368581000119106", "Neuropathy due to type 2 diabetes mellitus", "active", "confirmed"),
    (SNOMED, "87522002", "Iron deficiency anemia", "resolved", "confirmed"),
    (SNOMED, "16462851000119106", "Myalgia caused by statin", "active", "refuted"),
    (ICD10CM, "E87.6", "Hypokalemia", "resolved", "confirmed"),
    (ICD10CM, "M48.062", "Spinal stenosis, lumbar region with neurogenic claudication", "active", "provisional"),
    (None, None, "Essential hypertension", "active", "confirmed"),
    (None, None, "Osteoarthritis of both knees", "active", "confirmed"),
    (None, None, "Seasonal allergic rhinitis", "inactive", "confirmed"),
)

OBS_STATUSES = (("final", 88), ("amended", 4), ("corrected", 1), ("cancelled", 3), ("entered-in-error", 2),
                ("preliminary", 2))


class _Gen:
    """One patient's generator: all randomness from one seeded Random."""

    def __init__(self, size: Size, seed: int, now: datetime) -> None:
        self.rng = random.Random(f"{size.name}:{seed}")
        self.size = size
        self.now = now
        self.counter = 0

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def when(self, max_days: float) -> datetime:
        return self.now - timedelta(days=self.rng.uniform(0.1, max_days), seconds=self.rng.randrange(86400))

    def stamp(self, when: datetime) -> str:
        """Dates as EHRs send them: UTC, an offset, or a bare date."""
        pick = self.rng.random()
        if pick < 0.6:
            return when.strftime("%Y-%m-%dT%H:%M:%SZ")
        if pick < 0.95:
            return when.astimezone(timezone(timedelta(hours=-5))).isoformat(timespec="seconds")
        return when.date().isoformat()

    def meta(self, when: datetime) -> dict[str, Any]:
        return {"versionId": str(self.rng.randint(1, 4)), "lastUpdated": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "source": "#bench-ehr"}

    def pick_weighted(self, items: tuple[Any, ...], weights: list[float]) -> Any:
        return self.rng.choices(items, weights=weights)[0]

    # ------------------------------------------------------------------ observations

    def observation(self, recent_days: float) -> dict[str, Any]:
        roll = self.rng.random()
        if roll < 0.30:
            return self.lab(self.pick_weighted(RULE_LABS, [lab.weight for lab in RULE_LABS]), recent_days)
        if roll < 0.62:
            return self.lab(self.pick_weighted(OTHER_LABS, [lab.weight for lab in OTHER_LABS]), recent_days)
        if roll < 0.75:
            return self.blood_pressure(recent_days)
        if roll < 0.76:
            return self.abi(recent_days)
        if roll < 0.77:
            return self.smoking(recent_days)
        return self.vital(recent_days)

    def _base(self, code: dict[str, Any], category: str, recent_days: float) -> tuple[dict[str, Any], datetime]:
        when = self.when(recent_days if self.rng.random() < 0.25 else self.size.years * 365.0)
        status = self.pick_weighted(tuple(s for s, _ in OBS_STATUSES), [w for _, w in OBS_STATUSES])
        obs: dict[str, Any] = {
            "resourceType": "Observation", "id": self.uid(), "meta": self.meta(when),
            "identifier": [{"system": LAB_ID_SYSTEM, "value": f"A{self.rng.randrange(10**9):09d}"}],
            "status": status,
            "category": [{"coding": [{"system": OBS_CATEGORY, "code": category,
                                      "display": "Laboratory" if category == "laboratory" else "Vital Signs"}]}],
            "code": code, "subject": {"reference": f"Patient/{PATIENT_ID}"},
            "encounter": {"reference": f"Encounter/{self.uid()}"},
        }
        how = self.rng.random()
        if how < 0.9:
            obs["effectiveDateTime"] = self.stamp(when)
        elif how < 0.95:
            obs["effectivePeriod"] = {"start": self.stamp(when - timedelta(minutes=30)), "end": self.stamp(when)}
        obs["issued"] = (when + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        obs["performer"] = [{"reference": "Organization/bench-lab", "display": "Bench Reference Laboratory"}]
        return obs, when

    def _value(self, low: float, high: float, decimals: int) -> float:
        spread = high - low
        value = self.rng.gauss((low + high) / 2, spread / 2.2)
        if self.rng.random() < 0.03:  # the occasional panic value
            value = low - spread * 0.8 if self.rng.random() < 0.5 else high + spread * 0.8
        return round(max(value, 0.01), decimals) if decimals else float(round(max(value, 1.0)))

    @staticmethod
    def _flag(value: float, low: float, high: float) -> tuple[str, str]:
        spread = high - low
        if value < low - spread * 0.5:
            return "LL", "Critical low"
        if value > high + spread * 0.5:
            return "HH", "Critical high"
        if value < low:
            return "L", "Low"
        if value > high:
            return "H", "High"
        return "N", "Normal"

    def _quantity(self, value: float, unit: str) -> dict[str, Any]:
        if self.rng.random() < 0.08:  # display unit only, no UCUM code: the service must map it
            return {"value": value, "unit": unit.replace("mmol/L", "mEq/L")}
        return {"value": value, "unit": unit, "system": UCUM, "code": unit}

    def lab(self, lab: _Lab, recent_days: float) -> dict[str, Any]:
        coding = [{"system": LOINC, "code": lab.code, "display": lab.display}]
        if self.rng.random() < 0.3:  # a local code beside LOINC, first, as many labs send it
            coding.insert(0, {"system": LOCAL, "code": f"L{lab.code.replace('-', '')}", "display": lab.display[:24]})
        obs, _ = self._base({"coding": coding, "text": lab.display.split(" [")[0]}, "laboratory", recent_days)
        value = self._value(lab.low, lab.high, lab.decimals)
        roll = self.rng.random()
        if roll < 0.01:
            obs["valueString"] = f"<{lab.low}"
        elif roll < 0.02:
            obs["valueQuantity"] = {**self._quantity(value, lab.unit), "comparator": ">"}
        elif roll < 0.025:
            obs["dataAbsentReason"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                   "data-absent-reason", "code": "error"}]}
        else:
            obs["valueQuantity"] = self._quantity(value, lab.unit)
            flag, display = self._flag(value, lab.low, lab.high)
            if self.rng.random() < 0.85:
                obs["interpretation"] = [{"coding": [{"system": V3_INTERPRETATION, "code": flag,
                                                      "display": display}]}]
        if self.rng.random() < 0.85:
            obs["referenceRange"] = [{"low": {"value": lab.low, "unit": lab.unit, "system": UCUM, "code": lab.unit},
                                      "high": {"value": lab.high, "unit": lab.unit, "system": UCUM,
                                               "code": lab.unit},
                                      "text": f"{lab.low}-{lab.high} {lab.unit}"}]
        if self.rng.random() < 0.05:
            obs["note"] = [{"text": "Specimen slightly hemolyzed; interpret with caution."}]
        return obs

    def blood_pressure(self, recent_days: float) -> dict[str, Any]:
        obs, _ = self._base({"coding": [{"system": LOCAL, "code": "BP", "display": "Blood pressure panel"}],
                             "text": "Blood pressure"}, "vital-signs", recent_days)
        systolic = float(round(self.rng.gauss(132, 14)))
        diastolic = float(round(self.rng.gauss(80, 9)))
        obs["component"] = [
            {"code": {"coding": [{"system": LOCAL, "code": "SBP", "display": "Systolic blood pressure"}]},
             "valueQuantity": {"value": systolic, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}},
            {"code": {"coding": [{"system": LOCAL, "code": "DBP", "display": "Diastolic blood pressure"}]},
             "valueQuantity": {"value": diastolic, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}},
        ]
        return obs

    def vital(self, recent_days: float) -> dict[str, Any]:
        code, display, unit, low, high, decimals = self.rng.choice(VITALS)
        obs, _ = self._base({"coding": [{"system": LOCAL, "code": code, "display": display}], "text": display},
                            "vital-signs", recent_days)
        obs["valueQuantity"] = {"value": self._value(low, high, decimals), "unit": unit, "system": UCUM,
                                "code": unit}
        return obs

    def abi(self, recent_days: float) -> dict[str, Any]:
        """ABI as a panel with left/right components (LOINC 77194-9 / SNOMED 446841001, as in terminology/data/valuesets/lab-abi.json)."""
        code = {"coding": [{"system": LOINC, "code": "77194-9", "display": "Ankle-brachial index"},
                           {"system": SNOMED, "code": "446841001", "display": "Ankle brachial pressure index"}],
                "text": "Ankle-brachial index"}
        obs, _ = self._base(code, "exam", recent_days)
        obs["component"] = [
            {"code": {"coding": [{"system": LOCAL, "code": f"ABI-{side[0].upper()}",
                                  "display": f"{side.title()} ankle-brachial index"}], "text": f"{side} ABI"},
             "valueQuantity": {"value": round(self.rng.uniform(0.6, 1.2), 2), "unit": "{ratio}", "system": UCUM,
                               "code": "{ratio}"}}
            for side in ("left", "right")
        ]
        return obs

    def smoking(self, recent_days: float) -> dict[str, Any]:
        obs, _ = self._base({"coding": [{"system": LOINC, "code": "72166-2", "display": "Tobacco smoking status"}]},
                            "social-history", recent_days)
        obs["valueCodeableConcept"] = {"coding": [{"system": SNOMED, "code": "8517006", "display": "Ex-smoker"}]}
        return obs

    # ------------------------------------------------------------------ medications

    def medication_entries(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(MedicationStatement searchset entries, MedicationRequest searchset entries) incl. included Medications."""
        statements: list[dict[str, Any]] = []
        requests: list[dict[str, Any]] = []
        for i in range(self.size.medications):
            # The first few are the drugs that make the rules fire, so that every size produces cards.
            rx = RX_MEDS[i] if i < 3 else (self.rng.choice(RX_MEDS) if self.rng.random() < 0.45 else None)
            text = self.rng.choice(TEXT_MEDS)
            concept: dict[str, Any] = ({"coding": [{"system": RXNORM, "code": rx[0], "display": rx[1]}],
                                        "text": rx[1]} if rx else {"text": text})
            as_request = i % 2 == 1
            status = "active" if i < 3 or self.rng.random() < 0.7 else self.rng.choice(
                ("completed", "stopped", "on-hold", "entered-in-error"))
            when = self.when(self.size.years * 365.0)
            resource: dict[str, Any] = {
                "resourceType": "MedicationRequest" if as_request else "MedicationStatement", "id": self.uid(),
                "meta": self.meta(when), "status": status, "subject": {"reference": f"Patient/{PATIENT_ID}"},
                "dosage" if not as_request else "dosageInstruction": [
                    {"text": "1 tablet by mouth once daily", "timing": {"repeat": {"frequency": 1, "period": 1,
                                                                                    "periodUnit": "d"}}}],
            }
            if as_request:
                resource["intent"] = self.rng.choice(("order", "order", "plan", "proposal"))
                resource["authoredOn"] = self.stamp(when)
                resource["requester"] = {"reference": "Practitioner/bench-prescriber"}
            else:
                resource["dateAsserted"] = self.stamp(when)
                resource["effectivePeriod"] = {"start": self.stamp(when)}
            carry = self.rng.random()
            included: dict[str, Any] | None = None
            if carry < 0.6 or i < 3:
                resource["medicationCodeableConcept"] = concept
            elif carry < 0.8:
                included = {"resourceType": "Medication", "id": self.uid(), "code": concept,
                            "form": {"text": "Oral Tablet"}}
                resource["medicationReference"] = {"reference": f"Medication/{included['id']}",
                                                   "display": concept.get("text", text)}
            else:
                resource["contained"] = [{"resourceType": "Medication", "id": "med1", "code": concept}]
                resource["medicationReference"] = {"reference": "#med1"}
            target = requests if as_request else statements
            target.append({"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource,
                           "search": {"mode": "match"}})
            if included is not None:
                target.append({"fullUrl": f"urn:uuid:{included['id']}", "resource": included,
                               "search": {"mode": "include"}})
        return statements, requests

    # ------------------------------------------------------------------ conditions

    def conditions(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i in range(self.size.conditions):
            system, code, display, clinical, verification = CONDITIONS[i % len(CONDITIONS)]
            when = self.when(self.size.years * 365.0)
            concept: dict[str, Any] = {"text": display}
            if code:
                concept["coding"] = [{"system": system, "code": code, "display": display}]
            resource = {
                "resourceType": "Condition", "id": self.uid(), "meta": self.meta(when),
                "clinicalStatus": {"coding": [{"system": COND_CLINICAL, "code": clinical}]},
                "verificationStatus": {"coding": [{"system": COND_VERIFICATION, "code": verification}]},
                "category": [{"coding": [{"system": COND_CATEGORY, "code": self.rng.choice(
                    ("problem-list-item", "encounter-diagnosis"))}]}],
                "code": concept, "subject": {"reference": f"Patient/{PATIENT_ID}"},
                "onsetDateTime": self.stamp(when), "recordedDate": self.stamp(when),
            }
            if clinical in ("resolved", "inactive"):
                resource["abatementDateTime"] = self.stamp(when + timedelta(days=60))
            out.append({"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource, "search": {"mode": "match"}})
        return out


def _searchset(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset",
            "total": sum(1 for e in entries if e.get("search", {}).get("mode") == "match"), "entry": entries}


def _firing_results(gen: _Gen) -> list[dict[str, Any]]:
    """Recent results that make the rules fire at every size: low potassium on a diuretic, a low ABI, CK."""
    recent = [gen.lab(RULE_LABS[0], 3), gen.lab(RULE_LABS[8], 5), gen.abi(20)]
    recent[0].update(status="final", effectiveDateTime=(gen.now - timedelta(days=2)).isoformat())
    recent[0]["valueQuantity"] = {"value": 3.1, "unit": "mmol/L", "system": UCUM, "code": "mmol/L"}
    recent[1].update(status="final", effectiveDateTime=(gen.now - timedelta(days=4)).isoformat())
    recent[2].update(status="final", effectiveDateTime=(gen.now - timedelta(days=20)).isoformat())
    recent[2]["component"][0]["valueQuantity"]["value"] = 0.78
    return recent


def hook_request(size: str | Size, *, seed: int = 1, now: datetime | None = None,
                 observations: int | None = None) -> dict[str, Any]:
    """A ``patient-view`` request for a synthetic patient of `size`, every prefetch key filled.

    :param observations: override the number of observations (the cost-per-resource fit uses several).
    """
    spec = SIZES[size] if isinstance(size, str) else size
    if observations is not None:
        spec = Size(f"{spec.name}-{observations}", observations, spec.medications, spec.conditions, spec.years)
    now = now or default_now()
    gen = _Gen(spec, seed, now)
    recent_days = 80.0
    fixed = _firing_results(gen)
    observations_list = fixed + [gen.observation(recent_days) for _ in range(max(spec.observations - len(fixed), 0))]
    gen.rng.shuffle(observations_list)  # EHRs send results in no particular order
    statements, requests = gen.medication_entries()
    patient = {"resourceType": "Patient", "id": PATIENT_ID, "meta": gen.meta(now - timedelta(days=30)),
               "gender": "female", "birthDate": (now - timedelta(days=int(71.4 * 365.25))).date().isoformat(),
               # Not ASCII, as EHR bodies seldom are (names, units such as µmol/L): the hook route then checks the
               # whole body's UTF-8 before decoding the projection (cds_service/fhir/decode.py), as it would in use.
               "name": [{"family": "Synthétique", "given": ["Bench"]}], "active": True}
    return {
        "hook": "patient-view", "hookInstance": gen.uid(),
        "context": {"userId": "Practitioner/bench-user", "patientId": PATIENT_ID},
        "prefetch": {
            "patient": patient,
            "observations": _searchset([{"fullUrl": f"urn:uuid:{o['id']}", "resource": o,
                                         "search": {"mode": "match"}} for o in observations_list]),
            "medications": _searchset(statements),
            "medicationRequests": _searchset(requests),
            "conditions": _searchset(gen.conditions()),
        },
    }


def resources_of(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Every resource of a workload's prefetch (to load a FHIR server for the fallback benchmark)."""
    out: list[dict[str, Any]] = []
    for value in request["prefetch"].values():
        if value.get("resourceType") == "Bundle":
            out.extend(e["resource"] for e in value.get("entry", ()))
        else:
            out.append(value)
    return out


def default_now() -> datetime:
    """Midnight UTC today: dates stay relative to the service's real clock, so the HTTP runs see the same cards."""
    today = datetime.now(timezone.utc).date()
    return datetime(today.year, today.month, today.day, tzinfo=timezone.utc)


