"""Codes, value sets, drug mappings and units (pure, stdlib only).

Knowledge lives in data/ as JSON files with provenance (see README.md in this package). Modules: systems,
valuesets, analytes, units, drugs, check. Must not import cards, cds_service, fhir, flask.
"""
