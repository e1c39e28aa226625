# bench/lib.sh — sourced by every benchmark script in bench/.
#
# Each script starts a private cluster of its own (initdb in $BENCH_WORK, cdp
# preloaded, Unix socket only), loads bench/sql/setup.sql, measures cdp and its
# baseline one after the other on that same cluster, prints both and their
# ratio, with the machine load (1-minute load average) next to each figure,
# and stops the cluster. Run as root (re-runs itself as the postgres OS user)
# or as postgres, after the extension is installed (./cdp.sh test or demo).
#
# Environment: CDP_PGBIN (PostgreSQL 15 bin dir; default Debian's),
# BENCH_PORT (default 5460), BENCH_WORK (default /tmp/cdp-bench-$BENCH_PORT),
# BENCH_CONF='setting = value; ...' adds server settings,
# BENCH_EXTRA_SQL=file.sql runs after the setup (to try a change before it
# lands, e.g. a rewritten policy, and measure before/after), BENCH_KEEP=1 keeps the cluster running afterwards, plus per-script knobs.
set -euo pipefail

BENCH_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PGBIN=${CDP_PGBIN:-/usr/lib/postgresql/15/bin}
BENCH_PORT=${BENCH_PORT:-5460}
BENCH_WORK=${BENCH_WORK:-/tmp/cdp-bench-$BENCH_PORT}
BENCH_DB=cdp_bench
export PATH="$PGBIN:$PATH"

# as_postgres "$0" "$@": PostgreSQL refuses root; re-run this script as postgres.
as_postgres() {
  [ "$(id -u)" = 0 ] || return 0
  local vars=() kv
  while IFS= read -r kv; do vars+=("$kv"); done < <(env | grep -E '^(BENCH|CDP)_[A-Z_]*=' || true)
  exec runuser -u postgres -- env "${vars[@]}" CDP_PGBIN="$PGBIN" bash "$@"
}

say() { printf '# %s\n' "$*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }

bench_start() {   # bench_start [extra postgresql.conf lines...]
  bench_stop
  rm -rf "$BENCH_WORK"; mkdir -p "$BENCH_WORK"
  initdb -D "$BENCH_WORK/data" -A trust -U postgres >/dev/null
  {
    echo "port = $BENCH_PORT"
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$BENCH_WORK'"
    echo "shared_preload_libraries = 'cdp'"
    echo "cdp.naptime = 3600"          # background jobs stay out of the measurements
    echo "shared_buffers = 512MB"
    echo "max_wal_size = 8GB"
    echo "checkpoint_timeout = 30min"
    echo "maintenance_work_mem = 256MB"
    echo "work_mem = 32MB"
    echo "max_connections = 40"
    echo "log_min_messages = warning"
    for line in "$@"; do echo "$line"; done
    echo "${BENCH_CONF:-}" | tr ';' '\n'   # e.g. BENCH_CONF='synchronous_commit = off'
  } >> "$BENCH_WORK/data/postgresql.conf"
  pg_ctl -D "$BENCH_WORK/data" -l "$BENCH_WORK/server.log" -w -t 120 start >/dev/null
  psql -X -q -h "$BENCH_WORK" -p "$BENCH_PORT" -U postgres -d postgres -c "CREATE DATABASE $BENCH_DB"
  bq -c 'CREATE EXTENSION cdp CASCADE' -f "$BENCH_HOME/sql/setup.sql" >/dev/null
  [ -z "${BENCH_EXTRA_SQL:-}" ] || { say "loading $BENCH_EXTRA_SQL"; bq -f "$BENCH_EXTRA_SQL" >/dev/null; }
  say "cluster $BENCH_WORK port $BENCH_PORT ($(postgres --version)), $(nproc) cores, load $(load1)"
}

bench_stop() {
  [ -f "$BENCH_WORK/data/PG_VERSION" ] || return 0
  [ "${BENCH_KEEP:-0}" = 1 ] && [ "${1:-}" = final ] && { say "cluster kept running in $BENCH_WORK"; return 0; }
  pg_ctl -D "$BENCH_WORK/data" -m fast -w -t 120 stop >/dev/null 2>&1 || true
}

# psql on the bench database: stops on the first error, no psqlrc.
bq() { PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -h "$BENCH_WORK" -p "$BENCH_PORT" -U postgres -d "$BENCH_DB" "$@"; }
bqv() { bq -Atc "$1"; }    # one value

has_function() {   # has_function 'name(argtypes)': exists and is not a stub raising 0A000
  [ "$(bqv "SELECT to_regprocedure('$1') IS NOT NULL")" = t ] || return 1
  case "$1" in
    cdp.ingest\(*|cdp.ingest_batch\(*) ;;
    *) return 0 ;;
  esac
  ! bq -c "DO \$\$ BEGIN PERFORM ${1%%(*}('probe', '[]');
           EXCEPTION WHEN feature_not_supported THEN RAISE EXCEPTION 'cdp-not-ready'; WHEN OTHERS THEN NULL; END \$\$" 2>&1 \
    | grep -q cdp-not-ready
}

# pgbench against the bench database; per-transaction log under $BENCH_WORK.
bpgbench() { pgbench -h "$BENCH_WORK" -p "$BENCH_PORT" -U postgres "$@" "$BENCH_DB"; }

# percentiles LOGPREFIX: p50 p95 p99 (milliseconds) of pgbench -l logs.
percentiles() {
  cat "$1".* | awk '{print $3}' | sort -n | awk '
    function at(q,  k) { k = int(NR * q + 0.5); if (k < 1) k = 1; if (k > NR) k = NR; return v[k] / 1000 }
    { v[NR] = $1 }
    END { if (NR == 0) print "n/a n/a n/a"; else printf "%.3f %.3f %.3f\n", at(0.50), at(0.95), at(0.99) }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f\n", a / b }'; }

# row LABEL VALUE [LOAD] — one figure line, fixed columns for docs/performance.md.
row() { printf '%-72s %16s   load %s\n' "$1" "$2" "${3:-$(load1)}"; }
