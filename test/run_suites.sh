#!/usr/bin/env bash
# run_suites.sh WORKDIR — every test suite of cdp, each against private
# clusters, run as the postgres OS user from a copy of the tree (./cdp.sh test
# makes the copy). Exits non-zero if any suite fails.
set -uo pipefail
# initdb (pg_regress's temp instances, test/lib.sh) takes the clusters'
# encoding and locale from the environment: without LANG (a fresh Debian
# container) every database is SQL_ASCII and non-ASCII JSON cannot be
# ingested (42_ingest_bad_input fails). The expected files were made in UTF8
# with C.UTF-8 (which every Debian has); pin it.
export LANG=C.UTF-8 LC_ALL=C.UTF-8
cd "$1"
. test/lib.sh
PORT_BASE=${CDP_TEST_PORT_BASE:-55430}
passed=0; failed=0; failures=()

suite() {   # suite NAME COMMAND...
  local name=$1; shift
  printf '\n==> suite %s\n' "$name"
  if "$@"; then passed=$((passed + 1)); printf 'ok - suite %s\n' "$name"
  else failed=$((failed + 1)); failures+=("$name"); printf 'not ok - suite %s\n' "$name"; fi
}

# pg_regress picks its own port unless told; parallel runs on one machine each
# set CDP_TEST_PORT_BASE to keep apart.
PORT_OPT="--port=$((PORT_BASE + 3))"
ISO_PORT_OPT="--port=$((PORT_BASE + 4))"

regress() {
  make -s installcheck ISOLATION= EXTRA_REGRESS_OPTS="$PORT_OPT" && return 0
  [ -f regression.diffs ] && head -200 regression.diffs
  return 1
}

isolation() {
  make -s installcheck REGRESS= EXTRA_REGRESS_OPTS="$ISO_PORT_OPT" && return 0
  [ -f output_iso/regression.diffs ] && head -200 output_iso/regression.diffs
  return 1
}

pgtap() {
  local dir=$PWD/tmp_pgtap port=$((PORT_BASE + 1)) rc=0
  start_cluster "$dir" "$port" || { cat "$dir/server.log"; return 1; }
  cpsql "$dir" "$port" postgres -c 'CREATE DATABASE cdp_tap' &&
  cpsql "$dir" "$port" cdp_tap -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION cdp CASCADE' &&
  pg_prove -h "$dir" -p "$port" -U postgres -d cdp_tap test/pgtap/*.sql || rc=1
  stop_cluster "$dir"
  return $rc
}

scripts() {
  ls test/scripts/*.sh >/dev/null 2>&1 || { echo "no script tests"; return 0; }
  CDP_TEST_PORT=$((PORT_BASE + 2)) prove -e bash test/scripts/*.sh
}

suite regress regress
suite isolation isolation
suite pgtap pgtap
suite scripts scripts

printf '\n'
[ $failed -gt 0 ] && printf 'failed suites: %s\n' "${failures[*]}"
printf 'suites: %d passed, %d failed\n' "$passed" "$failed"
[ $failed -eq 0 ]
