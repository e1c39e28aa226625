#!/usr/bin/env bash
# cdp.sh — the project's two commands, and the steps they are made of.
#
#   ./cdp.sh demo    install what is missing, build, install, start a local
#                    cluster with cdp preloaded, load demo data, print how to connect
#   ./cdp.sh test    install what is missing, build, install, run every suite
#                    (pg_regress, isolation, pgTAP, script tests); exit 1 on a failure
#
# Other steps: deps, build, install, start, stop, status, psql.
# Run as root on Debian: servers and tests run as the postgres OS user.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PGVER=15
# CDP_PGBIN points at another (relocated) PostgreSQL 15 build, e.g. a private
# copy per developer; the default is Debian's.
PGBIN=${CDP_PGBIN:-/usr/lib/postgresql/$PGVER/bin}
DEMO_PORT=${CDP_DEMO_PORT:-5433}
DEMO_DB=${CDP_DEMO_DB:-cdp}
PACKAGES=(postgresql-$PGVER postgresql-server-dev-$PGVER postgresql-$PGVER-partman postgresql-$PGVER-pgtap
          libtap-parser-sourcehandler-pgtap-perl build-essential rsync util-linux procps)

say() { printf '==> %s\n' "$*"; }
die() { printf 'cdp.sh: %s\n' "$*" >&2; exit 1; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} = 0 ] && { say "packages: all present"; return; }
  [ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}); run as root to install them"
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() { say "building"; make -C "$HERE" -s PG_CONFIG=$PGBIN/pg_config; }

install_ext() {
  [ "$(id -u)" = 0 ] || { say "not root: skipping make install"; return; }
  say "installing the extension"; make -C "$HERE" -s install PG_CONFIG=$PGBIN/pg_config >/dev/null
}

# The demo cluster lives in the project folder when the postgres user can reach
# it, else under /var/lib/postgresql.
demo_dir() {
  if as_postgres test -w "$HERE" 2>/dev/null || { [ "$(id -u)" = 0 ] && as_postgres test -x "$HERE"; }; then
    echo "$HERE/.demo"
  else
    echo /var/lib/postgresql/cdp-demo
  fi
}

start() {
  local dir; dir=$(demo_dir)
  mkdir -p "$dir"; [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    say "initializing a cluster in $dir/data"
    as_postgres $PGBIN/initdb -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$dir/data/postgresql.conf" <<CONF
# added by cdp.sh
port = $DEMO_PORT
listen_addresses = 'localhost'
unix_socket_directories = '$dir'
shared_preload_libraries = 'cdp'
cdp.naptime = 10
CONF
  fi
  if as_postgres $PGBIN/pg_ctl -D "$dir/data" status >/dev/null 2>&1; then
    say "cluster already running"
  else
    as_postgres $PGBIN/pg_ctl -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
  fi
}

stop() {
  local dir; dir=$(demo_dir)
  [ -f "$dir/data/PG_VERSION" ] || { say "no demo cluster"; return; }
  as_postgres $PGBIN/pg_ctl -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  say "stopped"
}

psql_demo() { local dir; dir=$(demo_dir); as_postgres psql -h "$dir" -p "$DEMO_PORT" -U postgres "$@"; }

# The request bodies real Segment and RudderStack SDKs sent (test/fixtures),
# ingested unchanged through cdp.ingest_batch. JSON strings hold no raw
# newline, so each file becomes one line for \copy; a re-run finds every
# messageId already stored and answers 'duplicate'.
load_fixtures() {
  ls "$HERE"/test/fixtures/*.json >/dev/null 2>&1 || return 0
  say "ingesting the SDK fixtures (test/fixtures) through cdp.ingest_batch"
  local key; key=$(psql_demo -d "$DEMO_DB" -Atq -c "SELECT cdp.rotate_write_key('acme', 'website')")
  for f in "$HERE"/test/fixtures/*.json; do tr -d '\n' < "$f"; echo; done |
    psql_demo -d "$DEMO_DB" -q -v ON_ERROR_STOP=1 \
      -c "CREATE TEMP TABLE demo_fixture (doc jsonb)" \
      -c "\\copy demo_fixture FROM pstdin WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')" \
      -c "SELECT r.status, count(*) AS messages
            FROM demo_fixture f, jsonb_array_elements(f.doc) req,
                 cdp.ingest_batch('$key', req->'body') r
           GROUP BY r.status ORDER BY r.status"
}

demo() {
  deps; build; install_ext; start
  local dir; dir=$(demo_dir)
  if ! psql_demo -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$DEMO_DB'" | grep -q 1; then
    psql_demo -d postgres -q -c "CREATE DATABASE $DEMO_DB"
  fi
  # A rebuilt install script (same version number during development) gets a
  # fresh demo database: the old one would keep the old schema.
  local sum; sum=$(md5sum < "$HERE/cdp--$(make -s -C "$HERE" print-version).sql" | cut -c1-32)
  if [ -f "$dir/install.md5" ] && [ "$(cat "$dir/install.md5")" != "$sum" ]; then
    say "the install script changed since the demo was loaded: recreating database $DEMO_DB"
    psql_demo -d postgres -q -c "DROP DATABASE IF EXISTS $DEMO_DB WITH (FORCE)" -c "CREATE DATABASE $DEMO_DB"
  fi
  psql_demo -d "$DEMO_DB" -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS cdp CASCADE"
  echo "$sum" > "$dir/install.md5"
  # Scripts go through standard input: the postgres OS user need not be able
  # to read this folder.
  psql_demo -d "$DEMO_DB" -q -v ON_ERROR_STOP=1 < "$HERE/test/demo/demo.sql"
  load_fixtures
  cat <<MSG

cdp is running. Connect with:

    psql -h $dir -p $DEMO_PORT -U postgres $DEMO_DB

or over TCP: psql "host=localhost port=$DEMO_PORT user=postgres dbname=$DEMO_DB"
Try:  SELECT * FROM cdp.profile_360;   SELECT * FROM cdp.event_stream LIMIT 10;
      SELECT * FROM cdp.job_status;      \\df+ cdp.*   \\dv cdp.*
Stop it with: ./cdp.sh stop
MSG
}

test_all() {
  deps
  # One run at a time per PostgreSQL installation: the install is shared.
  exec 9>"/tmp/cdp-test-$(echo "$PGBIN" | md5sum | cut -c1-8).lock"; flock 9
  build; install_ext
  local work; work=$(mktemp -d /tmp/cdp-test.XXXXXX)
  rsync -a --exclude .git --exclude .demo "$HERE/" "$work/"
  [ "$(id -u)" = 0 ] && chown -R postgres: "$work"
  local rc=0
  as_postgres env PG_CONFIG=$PGBIN/pg_config PGBIN="$PGBIN" PATH="$PGBIN:$PATH" \
    CDP_TEST_PORT_BASE="${CDP_TEST_PORT_BASE:-55430}" bash "$work/test/run_suites.sh" "$work" || rc=$?
  if [ $rc = 0 ]; then rm -rf "$work"; else say "failed: outputs kept in $work"; fi
  return $rc
}

case "${1:-}" in
  demo) demo ;;
  test) test_all ;;
  deps) deps ;;
  build) build ;;
  install) build; install_ext ;;
  start) start ;;
  stop) stop ;;
  status) as_postgres $PGBIN/pg_ctl -D "$(demo_dir)/data" status ;;
  psql) shift; psql_demo -d "$DEMO_DB" "$@" ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
