"""Who may call and what may be contacted: client JWTs (client_auth, jwks, trusted_clients, replay), the FHIR server
and JWK Set URL allowlist (url_policy), PHI-free logging (log_privacy), and their Flask wiring (web)."""
