#!/bin/bash
# bench/ab_library.sh — A/B of single-message cdp.ingest between two builds of cdp.so:
# one cluster, the library swapped in the pkglibdir between restarts,
# rounds alternating base/new, so that the load of a shared machine hits both alike.
# Run as root: AB_BASE=/path/base.so AB_NEW=/path/new.so (built from the same SQL
# interface for cdp.ingest; the extension is created with AB_NEW, which stays installed
# afterwards). Knobs: CLIENTS (8), DUR seconds per run (20), ROUNDS (3), CONF (a
# postgresql.conf line, default synchronous_commit = off: CPU-bound), AB_PORT (53511).
set -euo pipefail
PGB=${CDP_PGBIN:-/usr/lib/postgresql/15/bin}
HERE=$(cd "$(dirname "$0")" && pwd)
BASE=${AB_BASE:?path of the base cdp.so}; NEW=${AB_NEW:?path of the new cdp.so}
LIB=$($PGB/pg_config --pkglibdir)
W=${AB_WORK:-/tmp/cdp-ab}; PORT=${AB_PORT:-53511}; CLIENTS=${CLIENTS:-8}; DUR=${DUR:-20}; ROUNDS=${ROUNDS:-3}
CONF=${CONF:-synchronous_commit = off}
as_pg() { runuser -u postgres -- "$@"; }
q() { as_pg $PGB/psql -X -q -v ON_ERROR_STOP=1 -h $W -p $PORT -U postgres -d ab -Atc "$1"; }
restart() { as_pg $PGB/pg_ctl -D $W/data -m fast -w -t 120 restart -l $W/server.log >/dev/null; }
# A new file renamed into place: a running server keeps the one it mapped.
swap() { cp "$1" $LIB/.cdp.so.ab && mv -f $LIB/.cdp.so.ab $LIB/cdp.so; }
swap "$NEW"
rm -rf $W; mkdir -p $W; chown postgres: $W
as_pg $PGB/initdb -D $W/data -A trust -U postgres >/dev/null
cat >> $W/data/postgresql.conf <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$W'
shared_preload_libraries = 'cdp'
cdp.naptime = 3600
shared_buffers = 512MB
max_wal_size = 8GB
checkpoint_timeout = 30min
max_connections = 40
log_min_messages = warning
$CONF
CONF
as_pg $PGB/pg_ctl -D $W/data -l $W/server.log -w -t 120 start >/dev/null
as_pg $PGB/psql -X -q -h $W -p $PORT -U postgres -d postgres -c "CREATE DATABASE ab"
as_pg $PGB/psql -X -q -v ON_ERROR_STOP=1 -h $W -p $PORT -U postgres -d ab -c 'SET client_min_messages=warning' -c 'CREATE EXTENSION cdp CASCADE' -f $HERE/sql/setup.sql >/dev/null
KEY=$(q "SELECT bench.new_tenant('single')")
for b in $(seq 0 9); do
  q "SELECT count(*) FROM cdp.ingest_batch('$KEY', (SELECT jsonb_agg(bench.message(i, 100000, now() - interval '1 day')) FROM generate_series($b * 10000, $b * 10000 + 9999) i))" >/dev/null
done
# pgbench/ingest.sql reads its messages from bench.live_pool (as single_ingest.sh makes it).
q "SELECT bench.make_live_pool(100000)" >/dev/null
q "VACUUM ANALYZE bench.live_pool" >/dev/null
echo "# clients $CLIENTS, ${DUR}s per run, conf: $CONF"
for r in $(seq 1 $ROUNDS); do
  for v in base new; do
    if [ $v = base ]; then swap "$BASE"; else swap "$NEW"; fi
    restart
    q "CHECKPOINT" >/dev/null
    l0=$(cut -d' ' -f1 /proc/loadavg)
    tps=$(cd $W && as_pg env PGOPTIONS="-c bench.key=$KEY" $PGB/pgbench -n -h $W -p $PORT -U postgres -c $CLIENTS -j 2 -T $DUR -M prepared -f $HERE/pgbench/ingest.sql ab 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1)
    echo "round $r $v tps $tps load $l0->$(cut -d' ' -f1 /proc/loadavg)"
  done
done
q "SELECT count(*) AS events, (SELECT count(*) FROM cdp.events e WHERE NOT EXISTS (SELECT 1 FROM cdp.profiles p WHERE p.tenant_id = e.tenant_id AND p.profile_id = e.profile_id)) AS orphans FROM cdp.events"
as_pg $PGB/pg_ctl -D $W/data -m fast -w stop >/dev/null
swap "$NEW"
