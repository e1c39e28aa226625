#!/usr/bin/env bash
# bench/ab_batch_cpu.sh — A/B two (or more) builds of cdp.so on one cluster,
# alternating, by the CPU time of the ingesting backend rather than wall time
# (the machine is shared: wall time of one run varies 2x with the load, the
# backend's own user+sys time much less).
#
# Needs a cluster left running by `BENCH_KEEP=1 bench/batch_ingest.sh` (its
# bench.batches table holds the batches) and copies of the builds to compare:
#   cp cdp.so /tmp/cdp-ab/new.so; (build the other) cp cdp.so /tmp/cdp-ab/old.so
#   bench/ab_batch_cpu.sh 10000 old new new old
# For each version in turn: stop the cluster, install that cdp.so, start, ingest
# every batch of the given size into a fresh tenant (bench.run_batches, one
# transaction per batch) and print wall seconds, the backend's CPU seconds and
# its minor page faults (from /proc/self/stat). Alternate the order (ABBA) so
# that the growing tables and the load weigh on both alike. Only C changes can
# be compared this way: the schema is the one the cluster was created with.
# Leaves the last version installed.
# Run as root (installing a build needs it; the server runs as postgres).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "ab_batch_cpu.sh: run as root (it installs each cdp.so)" >&2; exit 1; }
ctl() { runuser -u postgres -- "$PGBIN/pg_ctl" -D "$BENCH_WORK/data" "$@"; }

AB_DIR=${AB_DIR:-/tmp/cdp-ab}
LIB=$("$PGBIN/pg_config" --pkglibdir)
size=$1; shift
STAT="SELECT split_part(s, ' ', 14)::int + split_part(s, ' ', 15)::int, split_part(s, ' ', 10)::bigint
        FROM (SELECT pg_read_file('/proc/self/stat') s) x"
for v in "$@"; do
  ctl -m fast -w stop >/dev/null
  cp "$AB_DIR/$v.so" "$LIB/cdp.so"
  ctl -l "$BENCH_WORK/server.log" -w start >/dev/null
  key=$(bqv "SELECT bench.new_tenant('ab$RANDOM$RANDOM')")
  bq -c CHECKPOINT
  l0=$(load1)
  mapfile -t out < <(bq -At -F ' ' -c "$STAT" -c "CALL bench.run_batches('$key', $size)" -c "$STAT")
  read -r c0 f0 <<<"${out[0]}"; read -r acc oth secs <<<"${out[1]}"; read -r c1 f1 <<<"${out[2]}"
  awk -v v="$v" -v s="$size" -v w="$secs" -v c="$((c1 - c0))" -v f="$((f1 - f0))" -v a="$acc" -v l="$l0 -> $(load1)" \
    'BEGIN { printf "%-16s batches of %-6s %8d accepted   wall %6.2f s   cpu %6.2f s   minor faults %8d   load %s\n", v, s, a, w, c / 100, f, l }'
done
