#!/usr/bin/env bash
# The published benchmark: the stage chain in memory and Kafka -> Delta end
# to end (broker in its own process; 1 and 2 workers; memory budgets 64MiB
# and 1GiB), one table plus a PNG plot. Needs a build with the benchmarks
# and tests (scripts/build.sh -DKS_TESTS=ON -DKS_BENCH=ON) and gnuplot for
# the plot. Arguments go to scripts/bench.py (--events N, --rounds R,
# --build DIR, --out DIR, --png FILE).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
exec python3 "$here/scripts/bench.py" "$@"
