"""Code-system URIs used by the service, and normalisation of the aliases seen in real data."""

from __future__ import annotations

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"
V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
NDC = "http://hl7.org/fhir/sid/ndc"

KNOWN_SYSTEMS: frozenset[str] = frozenset({LOINC, SNOMED, ICD10CM, RXNORM, ATC, UCUM, V3_INTERPRETATION, NDC})

# Systems also arrive as HL7 OIDs (C-CDA-converted data) or with a trailing slash / https scheme.
# OIDs are the HL7-registered code-system OIDs listed on the FHIR R4 "terminologies-systems" page.
_ALIASES: dict[str, str] = {
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "urn:oid:2.16.840.1.113883.6.90": ICD10CM,
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


def normalize_code(system: str | None, code: str | None) -> str | None:
    """Return ``code`` in the form used for lookups: stripped; ICD-10-CM also upper-cased without the dot."""
    if code is None:
        return None
    cleaned = code.strip()
    if system == ICD10CM:
        return cleaned.replace(".", "").upper()
    return cleaned
