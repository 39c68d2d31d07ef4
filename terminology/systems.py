"""Code-system URIs used by the service, and normalisation of the aliases seen in real data."""

from __future__ import annotations

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"  # WHO ICD-10
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"
V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
NDC = "http://hl7.org/fhir/sid/ndc"

KNOWN_SYSTEMS: frozenset[str] = frozenset({LOINC, SNOMED, ICD10CM, ICD10, RXNORM, ATC, UCUM, V3_INTERPRETATION, NDC})

# Standard terminologies a diagnosis is coded in: a Condition coded in one of them states a specific diagnosis, so its
# code (not its text) decides whether it belongs to a value set (see valuesets.ValueSet.judges).
CONDITION_SYSTEMS: frozenset[str] = frozenset({ICD10CM, SNOMED, ICD10})

# Systems also arrive as HL7 OIDs (C-CDA-converted data) or with a trailing slash / https scheme.
# OIDs are the HL7-registered code-system OIDs listed on the FHIR R4 "terminologies-systems" page.
_ALIASES: dict[str, str] = {
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "urn:oid:2.16.840.1.113883.6.90": ICD10CM,
    "urn:oid:2.16.840.1.113883.6.3": ICD10,
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "urn:oid:2.16.840.1.113883.6.73": ATC,
    "urn:oid:2.16.840.1.113883.6.8": UCUM,
    "urn:oid:2.16.840.1.113883.6.69": NDC,
}
_ALIASES.update({uri.replace("http://", "https://", 1): uri for uri in KNOWN_SYSTEMS})


def canonical_system(system: str | None) -> str | None:
    """Return the canonical URI for ``system`` (known alias resolved, whitespace/trailing slash dropped)."""
    if system is None:
        return None
    cleaned = system.strip().rstrip("/")
    return _ALIASES.get(cleaned, cleaned)


def is_known_condition_system(system: str | None) -> bool:
    """True when ``system`` (any alias: OID, https, trailing slash) is ICD-10-CM, SNOMED CT or WHO ICD-10."""
    return canonical_system(system) in CONDITION_SYSTEMS


def normalize_code(system: str | None, code: str | None) -> str | None:
    """Return ``code`` in the form used for lookups: stripped; ICD-10-CM also upper-cased without the dot."""
    if code is None:
        return None
    cleaned = code.strip()
    if system in (ICD10CM, ICD10):
        return cleaned.replace(".", "").upper()
    return cleaned
