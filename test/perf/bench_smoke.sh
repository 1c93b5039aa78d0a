#!/usr/bin/env bash
# scripts/bench.sh end to end on a small corpus (100,000 events, one worker,
# 64MiB): the published benchmark still runs against this build, every row
# of its table is filled, and its end-to-end row accounts for every record
# (the run ends only once all are committed or rejected). Numbers are not
# judged here: perf/chain_instructions holds the regression line.
# Usage: bench_smoke.sh SOURCE_DIR BUILD_DIR BENCH(ON|OFF)
# Exit 77 (ctest: skipped) without the benchmarks (KS_BENCH=OFF).
set -euo pipefail
src=$1 build=$2 bench=${3:-ON}
if [ "$bench" != ON ] || [ ! -x "$build/bench/bench_chain" ]; then
  echo "skipped: the benchmarks are not built (configure with -DKS_BENCH=ON)"
  exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$src/scripts/bench.sh" --build "$build" --out "$out" --events 100000 \
  --chain-events 5000 --only 1:64MiB --png "$out/bench.png"
csv=$out/bench.csv
python3 - "$csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
runs = [r["run"] for r in rows]
assert runs == ["chain-seed", "chain-nested", "e2e"], runs
for r in rows:
    for k in ("records_per_s", "cpu_us_per_record", "records_per_core_s", "ratio_bare"):
        assert float(r[k]) > 0, (r["run"], k, r[k])
e2e = rows[-1]
assert e2e["workers"] == "1" and e2e["budget"] == "64MiB", e2e
assert float(e2e["peak_rss_mib"]) > 0, e2e
print("bench.sh table complete:", ", ".join(f"{r['run']} {float(r['records_per_s']):,.0f}/s" for r in rows))
PY
if command -v gnuplot >/dev/null 2>&1; then
  [ -s "$out/bench.png" ] || { echo "FAIL: no plot"; exit 1; }
fi
