"""Tools for measuring and testing leg-pain-cds, kept out of the service's wheel and image.

`bench` (the `leg-pain-cds bench` subcommand, registered as a CLI plugin when this package is installed),
`bench_client` (its aiohttp load client, run as a separate process), `workload` (seeded synthetic patients) and
`fhir_standin` (a FHIR server stand-in with fault modes). Install with `pip install ./tools` next to the service.
"""
