"""The web layer of the leg-pain CDS Hooks service.

Owns HTTP and everything around it: api/ (routes), pipeline (one hook evaluation), fhir/ (decoding and gathering the
patient's data), security/, persistence/, runtime/ (serving), samples/, the CLI. May import: cards, terminology,
flask, marshmallow, requests, sqlalchemy. docs/architecture.md draws the layers.
"""
from cds_service.app import create_app

__all__ = ["create_app"]
