#!/usr/bin/env bash
# bench/memory.sh — issue 6, benchmark 6: peak backend memory of one
# cdp.ingest_batch call, for batches of BENCH_MEM_SIZES messages (default
# "1000 10000 100000"), each in a fresh backend and a fresh tenant, and the
# largest batch once more after the tables already hold the others (memory
# must grow with the batch, not with the data already stored). The peak of
# the backend's private memory (RssAnon in /proc/<pid>/status, sampled every
# 10 ms; shared buffers are not counted) is compared with the baseline: the
# same backend only expanding the same batch (jsonb_array_elements), i.e. the
# memory the input itself needs.
. "$(dirname "$0")/lib.sh"
as_postgres "$0" "$@"

SIZES=${BENCH_MEM_SIZES:-1000 10000 100000}
largest=${SIZES##* }

bench_start
trap 'bench_stop final' EXIT
T0=$(bqv "SELECT date_trunc('second', now() - interval '3 days')")
for s in $SIZES; do
  bq -c "SELECT bench.make_batches($s, $s * (CASE WHEN $s = $largest THEN 2 ELSE 1 END), 100000, '$T0', '1 second')" >/dev/null
done
bq -c 'VACUUM ANALYZE bench.batches' -c CHECKPOINT

# peak SQL: run SQL in a fresh backend; print "peak_kB idle_kB seconds"
peak() {
  local app="bench_mem_$RANDOM$RANDOM" pid="" t0 t1 max=0 idle=0 k v
  t0=$(date +%s.%N)
  bq -c "SET application_name = '$app'" -c 'SELECT pg_sleep(0.5)' -c "$1" >/dev/null &
  local client=$!
  for _ in $(seq 1 100); do
    pid=$(bqv "SELECT pid FROM pg_stat_activity WHERE application_name = '$app'")
    [ -n "$pid" ] && break; sleep 0.01
  done
  while [ -n "$pid" ] && [ -r "/proc/$pid/status" ]; do
    while read -r k v _; do
      [ "$k" = "RssAnon:" ] && { [ "$idle" = 0 ] && idle=$v; [ "$v" -gt "$max" ] && max=$v; break; }
    done < "/proc/$pid/status" 2>/dev/null || break
    kill -0 "$client" 2>/dev/null || break
    sleep 0.01
  done
  wait "$client"
  t1=$(date +%s.%N)
  echo "$max $idle $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a - 0.5 }')"
}

if ! has_function 'cdp.ingest_batch(text,jsonb)'; then
  row "peak backend memory of cdp.ingest_batch" pending
  say "cdp.ingest_batch does not exist yet (ingest branch not merged): figures pending"
  exit 0
fi
run() {   # run SIZE BATCH LABEL
  local s=$1 b=$2 key base ing
  key=$(bqv "SELECT bench.new_tenant('mem_${s}_$b')")
  read -r base _ _ < <(peak "SELECT count(*) FROM jsonb_array_elements((SELECT body FROM bench.batches WHERE size = $s AND b = $b))")
  read -r ing idle secs < <(peak "SELECT count(*) FROM cdp.ingest_batch('$key', (SELECT body FROM bench.batches WHERE size = $s AND b = $b))")
  say "$3: the batch is $(bqv "SELECT round(octet_length(body::text) / 1048576.0, 1) FROM bench.batches WHERE size = $s AND b = $b") MB of JSON text"
  row "$3: baseline (expand the batch only), peak RssAnon MB" "$(awk -v k="$base" 'BEGIN { printf "%.1f", k / 1024 }')"
  row "$3: cdp.ingest_batch, peak RssAnon MB (idle $((idle / 1024)) MB, ${secs}s)" "$(awk -v k="$ing" 'BEGIN { printf "%.1f", k / 1024 }')"
  row "$3: ratio ingest / baseline; kB per message above idle" \
      "$(ratio "$ing" "$base"); $(awk -v k="$ing" -v i="$idle" -v n="$s" 'BEGIN { printf "%.2f", (k - i) / n }')"
}
for s in $SIZES; do run "$s" 0 "batch of $s"; done
run "$largest" 1 "batch of $largest again (tables fuller)"
