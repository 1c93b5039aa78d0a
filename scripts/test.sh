#!/usr/bin/env bash
# The README's second command: installs what is missing, then builds and
# runs every test twice over -- a release build with warnings as errors,
# and an AddressSanitizer + UndefinedBehaviorSanitizer build -- under ctest.
# KS_TEST_QUICK=1 skips the sanitizer pass (local iteration only).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$here/scripts/deps.sh" test
# External test data (the JSON Schema Test Suite) where the network allows;
# without it the conformance test that reads it is reported skipped.
"$here/scripts/fetch-testdata.sh" || true
jobs=$(nproc)

# KS_TESTS/KS_BENCH explicitly: `scripts/demo.sh` configures the same build
# dir without them, and CMake's cache would otherwise keep them off.
BUILD_DIR="$here/build" "$here/scripts/build.sh" -DKS_WERROR=ON -DKS_SANITIZE= \
  -DKS_TESTS=ON -DKS_BENCH=ON
(cd "$here/build" && ctest --output-on-failure -j"$jobs")
# The CI-stable performance number (perf/chain_instructions).
if [ -f "$here/build/bench/chain_ir.txt" ]; then
  echo "instructions per record of the stage chain (callgrind):"
  cat "$here/build/bench/chain_ir.txt"
fi

if [ "${KS_TEST_QUICK:-0}" != 1 ]; then
  BUILD_DIR="$here/build-asan" BUILD_TYPE=Debug "$here/scripts/build.sh" \
    -DKS_WERROR=ON -DKS_SANITIZE=address,undefined -DKS_BENCH=OFF -DKS_TESTS=ON
  # Under the sanitizers the end-to-end tests run on fewer records: the
  # point there is every code path of the pipeline, not volume.
  (cd "$here/build-asan" && ASAN_OPTIONS=detect_leaks=1 KS_IT_COUNT=60000 \
    ctest --output-on-failure -j"$jobs")
fi
