#!/usr/bin/env bash
# The README's first command: installs what building ksink needs (not the
# test tools: scripts/deps.sh build), builds, and runs
# `ksink demo` (in-process mock Kafka -> ./lake/user_events as Delta Lake).
# Arguments go to `ksink demo` (e.g. --events 200000 --dir /tmp/x).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$here/scripts/deps.sh" build >&2
"$here/scripts/build.sh" -DKS_TESTS=OFF -DKS_BENCH=OFF >&2
exec "$here/build/ksink" demo "$@"
