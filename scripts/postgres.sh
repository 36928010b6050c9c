#!/bin/sh
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 for the tests:
# start the local cluster if it is down, install one if there is none.
# The tests connect as postgres without a password (trust on loopback) and
# create their scratch databases themselves.
set -eu
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
ready && exit 0
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "postgres.sh: installing PostgreSQL" >&2
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
