"""Clinical rules -> CDS cards (pure).

Owns the patient facts model, the rule registry, the rules and the card model.
May import: terminology, fhir.resources, stdlib. Must not import flask, requests, marshmallow, cds_service.
"""
