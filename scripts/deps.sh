#!/usr/bin/env bash
# Installs what ksink needs on a fresh Debian 12 machine (run as root).
#   deps.sh build   the compiler and libraries: enough to build and run
#                   ksink (scripts/demo.sh uses this)
#   deps.sh test    (default) also what the tests use: cmocka, clang for
#                   the fuzzers, Ceph RGW, Node.js and the npm test tools
# Idempotent: packages already present are skipped, and `apt-get update`
# runs at most once per machine boot-up of this script.
set -euo pipefail
what=${1:-test}
case $what in build | test) ;; *)
  echo "usage: deps.sh [build|test]" >&2
  exit 2
  ;;
esac

PKGS=(
  build-essential cmake pkg-config git
  librdkafka-dev libuv1-dev libh2o-dev libyajl-dev libcurl4-openssl-dev
  libzstd-dev libsnappy-dev libssl-dev libyaml-dev libpcre2-dev zlib1g-dev
)
if [ "$what" = test ]; then
  PKGS+=(
    libcmocka-dev clang libclang-rt-14-dev libavro-dev
    uuid-runtime python3 python3-yaml python3-confluent-kafka tzdata man-db
    prometheus valgrind gnuplot-nox
    ceph-mon ceph-osd radosgw ceph-common curl
  )
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js: some images ship a nodejs package that bundles npm (and conflicts
# with Debian's npm); install Debian's only when no npm is on the machine.
if [ "$what" = test ] && ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: need root to install: ${missing[*]}" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  stamp=/var/lib/apt/periodic/ksink-update-stamp
  if [ ! -f "$stamp" ]; then
    apt-get update
    mkdir -p "$(dirname "$stamp")" && touch "$stamp"
  fi
  apt-get install -y --no-install-recommends "${missing[@]}"
fi

[ "$what" = test ] || exit 0

# Node test tools (DuckDB reader for the integration tests).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -L "$here/node_modules" ]; then
  # A link to another clone's tools (a git worktree sharing them): npm ci
  # would empty the link's target and replace the link. Leave it alone.
  echo "deps: node_modules links to $(readlink "$here/node_modules"); npm ci skipped" >&2
elif [ -f "$here/package-lock.json" ]; then
  if [ ! -d "$here/node_modules" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
    (cd "$here" && npm ci --no-audit --no-fund)
  fi
fi
