#!/usr/bin/env bash
# The published benchmark: the stage chain in memory and Kafka -> Delta end
# to end (broker in its own process; 1 and 2 workers; memory budgets 64MiB
# and 1GiB, and the default 256MiB with one worker), one table plus a PNG
# plot. Needs a build with the benchmarks and tests (scripts/build.sh
# -DKS_TESTS=ON -DKS_BENCH=ON) and gnuplot for the plot. Arguments go to
# scripts/bench.py (--events N, --chain-events N, --rounds R, --only
# 1:64MiB,2:1GiB, -X kafka.key=value, --build DIR, --out DIR, --png FILE).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
exec python3 "$here/scripts/bench.py" "$@"
