#!/bin/sh
# Set up nippo in .venv and run it: console mode on SQLite unless the
# environment says otherwise (see README, "Configuration"). `nippo serve`
# applies pending database migrations itself; it listens on 127.0.0.1:8080
# unless --host / --port say otherwise.
set -eu
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
exec .venv/bin/nippo serve "$@"
