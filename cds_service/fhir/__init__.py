"""A hook call's FHIR data: the request body decoded into the cards projection (decode), and the patient's resources
gathered from prefetch, else from the client's fhirServer with its bearer token (gather)."""
