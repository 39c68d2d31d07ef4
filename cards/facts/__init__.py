"""PatientFacts: everything a rule sees, built from raw FHIR R4 JSON; the only part of cards that imports
fhir.resources.

Performance by design: every resource is read as the projection of cards/projection.py (the one shape, whichever
way it arrived) and Observations are pre-filtered with attribute look-ups (code, status, date). Only the resources a
rule actually reads - the newest usable result per analyte, medications that match a known drug, conditions that
match a value set - are validated with fhir.resources.R4B, and only in the elements that are read. Validating every
resource of a heavy prefetch would cost 20-30x the JSON parse itself.

One module per concern:

* model - the data classes the rules receive (LabResult, UnreadableResult, MedicationUse, ConditionMatch,
  DataNotes).
* readers - raw JSON element readers (dates, codings, strings, numbers) that survive malformed data.
* memo - BoundedMemo, the one policy of the process-wide memos (analytes, validated elements, condition matches).
* validation - fhir.resources validation of the elements read, memoised by content.
* analytes - which analyte an Observation's code names.
* labs, ranges - how an Observation becomes LabResults: units, censored values, the lab's reference range.
* medications, conditions - which are current, and what they match.
* patient_facts - PatientFacts, the queries the rules ask; builder - build_facts, the pre-filter.

Imports terminology, cards.knowledge, cards.projection, fhir.resources and pydantic; never the web layer.
"""
from cards.facts.builder import build_facts
from cards.facts.labs import LONG_READ_WINDOWS, READ_WINDOW
from cards.facts.medications import UNIDENTIFIED_MEDICATION, unresolved_medication_references
from cards.facts.model import ConditionMatch, DataNotes, LabResult, MedicationUse, UnreadableResult
from cards.facts.patient_facts import PatientFacts
from cards.facts.validation import INVALID, PATIENT_READS, Validator

__all__ = [
    "INVALID", "LONG_READ_WINDOWS", "PATIENT_READS", "READ_WINDOW", "UNIDENTIFIED_MEDICATION", "ConditionMatch",
    "DataNotes", "LabResult", "MedicationUse", "PatientFacts", "UnreadableResult", "Validator", "build_facts",
    "unresolved_medication_references",
]
