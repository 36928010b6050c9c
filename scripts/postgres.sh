#!/bin/sh
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 for the tests:
# start the local cluster if it is down, and where there is none, install one
# with apt (Debian or Ubuntu; needs root). The tests connect as postgres
# without a password (trust on loopback) and create their scratch databases
# themselves. With NIPPO_TEST_POSTGRES_URL set, the tests use that server and
# this script does nothing.
set -eu
[ -n "${NIPPO_TEST_POSTGRES_URL:-}" ] && exit 0
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
ready && exit 0
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "postgres.sh: no PostgreSQL here; installing one takes root and apt-get." >&2
        echo "postgres.sh: run as root, or set NIPPO_TEST_POSTGRES_URL to a server the tests may use." >&2
        exit 1
    fi
    echo "postgres.sh: installing PostgreSQL with apt-get" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    for hba in /etc/postgresql/*/main/pg_hba.conf; do
        grep -q "nippo-tests" "$hba" || sed -i '1i host all all 127.0.0.1/32 trust # nippo-tests\nhost all all ::1/128 trust # nippo-tests' "$hba"
    done
fi
version=$(ls /etc/postgresql | sort -n | tail -1)
pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
for _ in $(seq 1 30); do ready && exit 0; sleep 1; done
echo "postgres.sh: PostgreSQL did not come up on 127.0.0.1:5432" >&2
exit 1
