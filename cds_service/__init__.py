"""The web layer of the leg-pain CDS Hooks service.

Owns HTTP: discovery, hook calls, feedback, errors, CORS, security, persistence and the CLI.
May import: cards, terminology, flask, marshmallow, requests, sqlalchemy.
"""
