#!/usr/bin/env bash
# Install the package and serve it on the embedded defaults (SQLite file, bundled terminology), for a first try.
# Usage: bash scripts/serve.sh [--host H] [--port P] [--workers N]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check .

echo "*** CDS_AUTH=none: client authentication is OFF (local quick start). Never expose this to a network. ***"
export CDS_AUTH=none
exec "$VENV/bin/leg-pain-cds" serve "$@"
