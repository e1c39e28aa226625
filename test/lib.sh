# test/lib.sh — helpers for tests that need a cluster of their own (sourced).
# Runs as the postgres OS user. Each cluster: initdb in DIR, cdp preloaded,
# listening only on a Unix socket in DIR and on the given port.
PGBIN=${PGBIN:-$(pg_config --bindir)}

start_cluster() {   # start_cluster DIR PORT [extra postgresql.conf lines...]
  local dir=$1 port=$2; shift 2
  rm -rf "$dir"; mkdir -p "$dir"
  "$PGBIN/initdb" -D "$dir/data" -A trust -U postgres >/dev/null || return 1
  {
    echo "port = $port"
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$dir'"
    cat "$(dirname "${BASH_SOURCE[0]}")/cdp.conf"
    for line in "$@"; do echo "$line"; done
  } >> "$dir/data/postgresql.conf"
  "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null
}

stop_cluster() {    # stop_cluster DIR
  "$PGBIN/pg_ctl" -D "$1/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

# psql against a cluster started above: cpsql DIR PORT DB [psql args...]
cpsql() { local dir=$1 port=$2 db=$3; shift 3; psql -X -q -h "$dir" -p "$port" -U postgres -d "$db" "$@"; }

# A new database with cdp (and what it requires) installed: cdp_database DIR PORT DB
cdp_database() {
  cpsql "$1" "$2" postgres -c "CREATE DATABASE $3" >/dev/null &&
  cpsql "$1" "$2" "$3" -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION cdp CASCADE' >/dev/null
}

# TAP for the script tests: each check prints "ok N - NAME" or "not ok N -
# NAME"; $failed counts the failures (a script ends with [ $failed = 0 ]).
n=0; failed=0
is() {   # is GOT EXPECTED NAME
  n=$((n + 1))
  if [ "$1" = "$2" ]; then echo "ok $n - $3"
  else echo "not ok $n - $3"; echo "#   got:      '$1'"; echo "#   expected: '$2'"; failed=$((failed + 1)); fi
}
ok() {   # ok STATUS NAME: passes when STATUS is 0
  n=$((n + 1))
  if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}

# Waits (up to 10 s) until the session named APP sits in its pg_sleep: a
# background psql that took its locks and now holds them.
wait_for_sleeper() {   # wait_for_sleeper DIR PORT DB APP
  for _ in $(seq 1 100); do
    [ "$(cpsql "$1" "$2" "$3" -Atc "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$4' AND query LIKE '%pg_sleep%'")" = 1 ] && return 0
    sleep 0.1
  done
  return 1
}
