#!/usr/bin/env bash
# Install the package and serve it on the embedded defaults (SQLite file, bundled terminology), for a first try.
# Usage: bash scripts/serve.sh [--host H] [--port P] [--workers N]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check .

echo "*** CDS_AUTH=none: client authentication is OFF (local quick start). Never expose this to a network. ***"
export CDS_AUTH=none
# Which fhirServer URLs a caller may name (SSRF guard; empty would mean prefetch only): the public test servers.
: "${CDS_ALLOWED_FHIR_SERVERS:=https://hapi.fhir.org/baseR4,https://launch.smarthealthit.org/v/r4,https://r4.smarthealthit.org}"
export CDS_ALLOWED_FHIR_SERVERS
echo "*** fhirServer allowlist: $CDS_ALLOWED_FHIR_SERVERS (set CDS_ALLOWED_FHIR_SERVERS to change it) ***"
exec "$VENV/bin/leg-pain-cds" serve "$@"
