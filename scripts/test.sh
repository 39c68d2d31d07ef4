#!/usr/bin/env bash
# Install the package (not editable: proves the wheel ships every module and data file) and run the whole suite
# against that installed copy. Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
# tools/ (benchmark, workloads, FHIR stand-in) is its own distribution, kept out of the service's wheel; the tests
# use it, so it is installed here.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check '.[test]' ./tools

# The store, feedback, audit, replay, migration, readiness and replica tests run on PostgreSQL as well as SQLite, each
# module on a throwaway server made with initdb (tests/postgres_server.py). Install the server from Debian's packages
# where it is missing; when it is there (or was installed), those tests fail rather than skip without it.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else
        echo "scripts/test.sh: no PostgreSQL server binaries (initdb): the PostgreSQL tests will be skipped" >&2
    fi
fi
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
    export LEG_PAIN_CDS_REQUIRE_POSTGRES=1
fi

# The browser tests (tests/browser) drive Debian's Chromium with Playwright for Python (from '.[test]'; not
# `playwright install`, which downloads its own browser builds). Installed here where missing; when it is there, those
# tests fail rather than skip without it.
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "scripts/test.sh: no Chromium (Debian package chromium): the browser tests will be skipped" >&2
    fi
fi
if command -v chromium >/dev/null 2>&1; then
    export LEG_PAIN_CDS_REQUIRE_BROWSER=1
fi

# -P: do not put the working directory on sys.path, and --import-mode=importlib: do not put tests/ or the repo
# root there either, so `import cds_service` resolves to the installed package, not the source tree.
# no:cacheprovider keeps the run from writing .pytest_cache into the checkout.
export LEG_PAIN_CDS_EXPECT_INSTALLED=1

# Static types, strictly, on the whole product (the source tree, not the installed copy, so that errors point at the
# files being edited; _venv.sh has made the repository root the working directory). gunicorn ships no stubs.
"$VENV/bin/python" -m mypy --strict --cache-dir=/dev/null cards terminology cds_service

# A temporary folder of this run's own: pytest's default (/tmp/pytest-of-<user>/pytest-<N>) keeps the last three
# runs and removes older ones when a run starts, so another test run of the same user on a shared machine could
# remove this run's PostgreSQL clusters and databases under it. Kept when a test fails, for a look.
BASETEMP="$(mktemp -d -t leg-pain-cds-tests.XXXXXX)"
set +e
"$VENV/bin/python" -P -m pytest -q -p no:cacheprovider --import-mode=importlib --rootdir=. --basetemp="$BASETEMP" \
    tests "$@"
status=$?
set -e
if [ "$status" -eq 0 ]; then
    rm -rf "$BASETEMP"
fi
if [ "$status" -eq 5 ]; then
    echo "scripts/test.sh: pytest collected no tests - treating as a failure" >&2
    exit 1
fi
exit "$status"
