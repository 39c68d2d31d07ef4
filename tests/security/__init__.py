"""Security tests: client authentication, FHIR server policy, input limits, privacy."""
