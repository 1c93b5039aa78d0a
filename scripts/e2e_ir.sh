#!/usr/bin/env bash
# Instructions per record of the pipeline end to end, counted by valgrind's
# callgrind: a figure that does not move with the machine's load, unlike
# the records/s and CPU us/record of scripts/bench.sh. bench_workers reads
# N demo events from an in-process mock cluster (lz4, 16 partitions) into
# a local Delta table once with one worker and once with two; this prints
# the worker threads' instructions per consumed record (source loop,
# decode + validate + shred, _kafka_* columns, Parquet encoding, commits)
# and the decode and encode parts of them. librdkafka's own threads are
# not in the figure (its symbols are stripped).
#
# Usage: scripts/e2e_ir.sh [BUILD_DIR (build)] [EVENTS (50000)]
# Needs valgrind and a build with -DKS_BENCH=ON; takes under a minute.
set -euo pipefail
build=${1:-build}
events=${2:-50000}
bench=$build/bench/bench_workers
command -v valgrind >/dev/null || {
  echo "e2e_ir: valgrind is not installed (apt-get install valgrind)" >&2
  exit 1
}
[ -x "$bench" ] || {
  echo "e2e_ir: $bench not built (configure with -DKS_BENCH=ON)" >&2
  exit 1
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! valgrind --tool=callgrind --callgrind-out-file="$work/cg" "$bench" \
    --events "$events" --rounds 1 >"$work/log" 2>&1; then
  cat "$work/log" >&2
  echo "e2e_ir: bench_workers failed under valgrind" >&2
  exit 1
fi
grep -v '^==' "$work/log"
# one round with one worker and one with two: every event consumed twice
records=$((events * 2))
annotated=$(callgrind_annotate --inclusive=yes --threshold=100 "$work/cg")
incl() {
  awk -v fn="$1" '$0 ~ ":" fn " " { gsub(",", "", $1); print $1; exit }' \
    <<<"$annotated"
}
worker=$(incl worker_main)
decode=$(incl ks_decoder_feed_meta)
encode=$(incl ks_pq_writer_write_rowgroup)
if [ -z "$worker" ] || [ -z "$decode" ] || [ -z "$encode" ]; then
  echo "e2e_ir: functions not found in the profile (a build without symbols?)" >&2
  exit 1
fi
printf 'instructions per record, %d records consumed:\n' "$records"
printf '  %-30s %8d\n' "worker threads" $((worker / records)) \
  "  decode + validate + shred" $((decode / records)) \
  "  Parquet encoding" $((encode / records))
