#!/bin/sh
# Set up .venv with the test extras, make sure PostgreSQL runs on
# 127.0.0.1:5432, and run the whole suite on SQLite and PostgreSQL.
set -eu
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
./scripts/postgres.sh
exec .venv/bin/python -m pytest -q "$@"
