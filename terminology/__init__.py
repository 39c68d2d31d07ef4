"""Codes, value sets, drug mappings and units (pure, stdlib only).

Knowledge lives in data/ as JSON files with provenance. Must not import cards, cds_service, fhir, flask.
"""
