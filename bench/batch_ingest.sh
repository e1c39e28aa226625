#!/usr/bin/env bash
# bench/batch_ingest.sh — issue 6, benchmark 1: batch ingest vs. COPY.
#
# BENCH_MESSAGES messages (default 1 000 000, about a tenth as many people,
# see bench.message in bench/sql/setup.sql) go through cdp.ingest_batch in
# batches of each size of BENCH_BATCH_SIZES (default "1000 10000"), one
# transaction per batch, each size into a fresh tenant. The baseline is COPY
# of the same rows, already resolved, into the same cdp.events table with the
# same indexes; it runs before the first ingest run and after each one, and
# the ratio uses the median of those runs (the machine is shared: noisy).
# Prints rows/s of each and ingest/COPY, then (BENCH_FLOOR=1, the default)
# the floor: COPY of every row the ingest wrote, not only the events.
. "$(dirname "$0")/lib.sh"
as_postgres "$0" "$@"

N=${BENCH_MESSAGES:-1000000}
PEOPLE=${BENCH_PEOPLE:-$((N / 10))}
SIZES=${BENCH_BATCH_SIZES:-1000 10000}

bench_start
trap 'bench_stop final' EXIT
say "batch ingest: $N messages, $PEOPLE people, batch sizes $SIZES"

T0=$(bqv "SELECT date_trunc('second', now() - interval '1 second' * $N)")
bq -c "SELECT bench.new_tenant('copy')" >/dev/null
COPYFILE=$BENCH_WORK/resolved.copy
say "generating messages and the resolved COPY file (not timed)"
bq -c "COPY (SELECT * FROM bench.resolved_rows($N, $PEOPLE, '$T0', bench.tenant_id('copy'),
                                               bench.source_id('copy'), 1000000000)) TO '$COPYFILE'"
for s in $SIZES; do bq -c "SELECT bench.make_batches($s, $N, $PEOPLE, '$T0')" >/dev/null; done
bq -c 'VACUUM ANALYZE bench.batches' -c 'CHECKPOINT'

# Every COPY is timed inside the server (bench.time_ms), as the ingest runs
# are: no side pays a client's start-up (review 7: ~0.1 s each).
copy_ms() {   # copy_ms "COPY ...": its milliseconds
  bqv "SELECT bench.time_ms(\$copy\$$1\$copy\$)"
}
copy_run() {   # prints rows/s
  bq -c 'CHECKPOINT'
  local ms
  ms=$(copy_ms "COPY cdp.events (tenant_id, event_time, profile_id, source_id, message_id, event_type, event_name,
                                 user_id, anonymous_id, properties, traits, context) FROM '$COPYFILE'")
  awk -v n="$N" -v ms="$ms" 'BEGIN { printf "%.0f\n", n / (ms / 1000) }'
}

COPIES=()
copy1=$(copy_run); COPIES+=("$copy1"); row "COPY resolved rows into cdp.events (run 1), rows/s" "$copy1"

declare -A RATE
if has_function 'cdp.ingest_batch(text,jsonb)'; then
  for s in $SIZES; do
    key=$(bqv "SELECT bench.new_tenant('batch$s')")
    bq -c 'CHECKPOINT'
    read -r feed_msgs feed_secs < <(bqv "CALL bench.read_batches($s)" | tr '|' ' ')
    l0=$(load1)
    read -r acc oth secs < <(bqv "CALL bench.run_batches('$key', $s)" | tr '|' ' ')
    RATE[$s]=$(awk -v n="$acc" -v s="$secs" 'BEGIN { printf "%.0f\n", n / s }')
    row "cdp.ingest_batch, batches of $s, rows/s" "${RATE[$s]}" "$l0 -> $(load1)"
    c=$(copy_run); COPIES+=("$c"); row "COPY resolved rows into cdp.events (run ${#COPIES[@]}), rows/s" "$c"
    tid=$(bqv "SELECT bench.tenant_id('batch$s')")
    say "  batches of $s: $acc accepted, $oth other, ${secs}s; reading the batches alone: ${feed_secs}s"
    say "  $(bqv "SELECT format('%s profiles (%s canonical), %s identifiers, %s merges, %s events',
        (SELECT count(*) FROM cdp.profiles WHERE tenant_id = $tid),
        (SELECT count(*) FROM cdp.profiles WHERE tenant_id = $tid AND merged_into IS NULL),
        (SELECT count(*) FROM cdp.identifiers WHERE tenant_id = $tid),
        (SELECT count(*) FROM cdp.merges WHERE tenant_id = $tid),
        (SELECT count(*) FROM cdp.events WHERE tenant_id = $tid))")"
  done
else
  for s in $SIZES; do row "cdp.ingest_batch, batches of $s, rows/s" "pending"; done
  say "cdp.ingest_batch does not exist yet (ingest branch not merged): ingest figures pending"
fi

[ ${#COPIES[@]} -gt 1 ] || { c=$(copy_run); COPIES+=("$c"); row "COPY resolved rows into cdp.events (run 2), rows/s" "$c"; }
copy=$(printf '%s\n' "${COPIES[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }')
row "COPY, median of ${#COPIES[@]} runs (one before and one after each ingest run), rows/s" "$copy"
for s in $SIZES; do
  [ -n "${RATE[$s]:-}" ] || continue
  row "ratio ingest_batch($s) / COPY (target >= 0.50)" "$(ratio "${RATE[$s]}" "$copy")"
done

# The floor: every row cdp.ingest_batch must write for these messages (the
# first run's message_ids, profiles, identifiers and merges, copied to files
# under a fresh tenant) loaded by COPY after the events: the most any
# implementation of the same promises could reach, with no parsing,
# hashing or identity resolution at all. Rows/s = N / (the median COPY of
# the events + the COPY of the other rows).
first=${SIZES%% *}
if [ "${BENCH_FLOOR:-1}" = 1 ] && [ -n "${RATE[$first]:-}" ]; then
  src=$(bqv "SELECT bench.tenant_id('batch$first')")
  bq -c "SELECT bench.new_tenant('floor')" >/dev/null
  dst=$(bqv "SELECT bench.tenant_id('floor')")
  cols() {   # cols TABLE [TENANT]: its stored columns (identity ALWAYS ones left to their default), tenant_id replaced by TENANT
    bqv "SELECT string_agg(CASE WHEN a.attname = 'tenant_id' AND '${2:-}' <> '' THEN '${2:-}' ELSE quote_ident(a.attname) END,
                           ', ' ORDER BY a.attnum)
           FROM pg_attribute a WHERE a.attrelid = 'cdp.$1'::regclass AND a.attnum > 0 AND NOT a.attisdropped
            AND a.attidentity <> 'a' AND a.attgenerated = ''"
  }
  for t in message_ids profiles identifiers merges; do
    bq -c "COPY (SELECT $(cols $t "$dst") FROM cdp.$t WHERE tenant_id = $src) TO '$BENCH_WORK/floor_$t.copy'"
  done
  bq -c 'CHECKPOINT'
  extra=0
  for t in message_ids profiles identifiers merges; do
    ms=$(copy_ms "COPY cdp.$t ($(cols $t)) FROM '$BENCH_WORK/floor_$t.copy'")
    extra=$(awk -v a="$extra" -v ms="$ms" 'BEGIN { printf "%.3f", a + ms / 1000 }')
  done
  say "  floor: the other rows of the batches-of-$first run ($(bqv "SELECT format('%s message_ids, %s profiles, %s identifiers, %s merges',
      (SELECT count(*) FROM cdp.message_ids WHERE tenant_id = $dst), (SELECT count(*) FROM cdp.profiles WHERE tenant_id = $dst),
      (SELECT count(*) FROM cdp.identifiers WHERE tenant_id = $dst), (SELECT count(*) FROM cdp.merges WHERE tenant_id = $dst))")) copied in ${extra}s"
  fl=$(awk -v n="$N" -v c="$copy" -v e="$extra" 'BEGIN { printf "%.0f\n", n / (n / c + e) }')
  row "floor: COPY of every row the ingest writes (events + the rest), rows/s" "$fl"
  row "ratio floor / COPY (the most any implementation of the promises reaches)" "$(ratio "$fl" "$copy")"
  for s in $SIZES; do
    [ -n "${RATE[$s]:-}" ] || continue
    row "ratio ingest_batch($s) / floor" "$(ratio "${RATE[$s]}" "$fl")"
  done
fi
