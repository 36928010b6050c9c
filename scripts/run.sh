#!/bin/sh
# Set up nippo in .venv and run it: console mode on SQLite unless the
# environment says otherwise (see README, "Configuration").
set -eu
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
.venv/bin/nippo db upgrade
exec .venv/bin/nippo serve "$@"
