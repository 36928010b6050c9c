#!/bin/sh
# Set up .venv with the test extras, make sure PostgreSQL runs on
# 127.0.0.1:5432 and Debian's Chromium is there for the browser tests, and run
# the whole suite on SQLite and PostgreSQL.
set -eu
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
./scripts/postgres.sh
if [ ! -x /usr/bin/chromium ]; then
    # Playwright drives Debian's Chromium: `playwright install` would download a browser of its own.
    echo "test.sh: installing Chromium (and CJK fonts for the Japanese screenshots)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi
# Mattermost's own Markdown parser (the webapp's commonmark fork), for the tests
# that read nippo's texts the way a member's client renders them.
if [ ! -d tests/markdown/node_modules/@mattermost/commonmark ]; then
    if command -v npm >/dev/null 2>&1; then
        npm ci --prefix tests/markdown --no-audit --no-fund --ignore-scripts --loglevel=error
    else
        echo "test.sh: npm not found; the tests that render with Mattermost's Markdown parser will be skipped" >&2
    fi
fi
exec .venv/bin/python -m pytest -q "$@"
