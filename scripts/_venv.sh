# Sourced by serve.sh and test.sh: cd to the repo root and make sure the virtualenv $VENV (default .venv) exists.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "creating virtualenv $VENV"
    python3 -m venv "$VENV"
fi
