#!/usr/bin/env bash
# Instructions per record of the stage chain (parse + validate + shred +
# encode + snappy), counted by valgrind's callgrind in bench_chain on a
# fixed corpus (the demo's first 5,000 events, seed 1): a number that does
# not move with the machine's load, unlike records/s. Compared with the
# committed baseline (test/perf/chain_ir.baseline); more than 10% above it
# fails. Lower is fine: update the baseline in the commit that earns it
# (KS_IR_UPDATE=1 rewrites the file). The counts depend on the compiler
# and on the system's yajl/snappy builds: the baseline is Debian 12's.
#
# Usage: chain_ir.sh BENCH_CHAIN SANITIZE BASELINE [BUILD_TYPE]
# Exit 77 (ctest: skipped) without valgrind, without the benchmarks
# (KS_BENCH=OFF), in a sanitizer build or a build type other than the
# baseline's (RelWithDebInfo).
set -uo pipefail
bench=$1 sanitize=$2 baseline=$3 build_type=${4:-RelWithDebInfo}
events=${KS_IR_EVENTS:-5000}
if [ -n "$sanitize" ]; then
  echo "skipped: sanitizer build ($sanitize): instruction counts are not comparable"
  exit 77
fi
if [ "$build_type" != RelWithDebInfo ]; then
  echo "skipped: build type ${build_type:-none}: the baseline is RelWithDebInfo's"
  exit 77
fi
if ! command -v valgrind >/dev/null 2>&1; then
  echo "skipped: valgrind is not installed (apt-get install valgrind)"
  exit 77
fi
if [ ! -x "$bench" ]; then
  echo "skipped: $bench not built (configure with -DKS_BENCH=ON)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The table also goes to the build dir, where scripts/test.sh prints it.
report=$(dirname "$bench")/chain_ir.txt
exec > >(tee "$report")

# Inclusive instructions of one function in a callgrind profile.
incl() {
  callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
    awk -v fn="$2" '$0 ~ ":" fn " " { gsub(",", "", $1); print $1; exit }'
}

status=0
printf '%-8s %14s %14s %10s %10s\n' schema "Ir/record" baseline change "Ir vs bare"
declare -A got
for schema in seed nested; do
  out=$work/cg.$schema
  if ! valgrind --tool=callgrind --callgrind-out-file="$out" "$bench" \
      --events "$events" --rounds 1 --codec snappy --schema "$schema" \
      >"$work/log.$schema" 2>&1; then
    cat "$work/log.$schema"
    echo "FAIL: bench_chain under valgrind"
    exit 1
  fi
  chain=$(incl "$out" chain)
  bare=$(incl "$out" bench_bare_yajl)
  if [ -z "$chain" ] || [ -z "$bare" ]; then
    echo "FAIL: no chain/bench_bare_yajl in the profile"
    exit 1
  fi
  per=$((chain / events))
  got[$schema]=$per
  base=$(awk -v s="$schema" '$1 == s { print $2 }' "$baseline")
  if [ -z "$base" ]; then
    echo "FAIL: no baseline for $schema in $baseline"
    exit 1
  fi
  change=$(awk -v a="$per" -v b="$base" 'BEGIN { printf "%+.1f%%", 100 * (a - b) / b }')
  ratio=$(awk -v a="$bare" -v b="$chain" 'BEGIN { printf "%.2f", a / b }')
  printf '%-8s %14d %14d %10s %10s\n' "$schema" "$per" "$base" "$change" "$ratio"
  if [ $((per * 100)) -gt $((base * 110)) ]; then
    echo "FAIL: $schema: $per instructions per record, more than 10% above the baseline $base"
    status=1
  elif [ $((per * 100)) -lt $((base * 90)) ]; then
    echo "note: $schema is more than 10% below the baseline: update $baseline"
  fi
done
echo "(Ir vs bare: instructions of a bare yajl parse of the same records over the chain's)"
if [ "${KS_IR_UPDATE:-0}" = 1 ]; then
  {
    sed -n '/^#/p' "$baseline"
    for schema in seed nested; do echo "$schema ${got[$schema]}"; done
  } >"$baseline.new" && mv "$baseline.new" "$baseline"
  echo "baseline rewritten: $baseline"
fi
exit $status
