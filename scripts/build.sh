#!/usr/bin/env bash
# Configures and builds ksink into BUILD_DIR (default: build). Extra
# arguments go to cmake, e.g. -DKS_SANITIZE=address,undefined.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$here/build}
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
