# Shared helpers for the integration tests (sourced, not run by ctest:
# ctest runs test/integration/*.sh files whose name does not start with lib).
set -euo pipefail
: "${KS_BUILD_DIR:?}" "${KS_SOURCE_DIR:?}"
KSINK=$KS_BUILD_DIR/ksink
WORK=$(mktemp -d /tmp/ksink-it.XXXXXX)
PIDS=()

cleanup() {
  for p in "${PIDS[@]:-}"; do
    [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [ "${KS_KEEP_WORK:-0}" = 1 ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

log() { echo "[$(date +%H:%M:%S)] $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# start_broker TOPIC:PARTS -> sets BOOTSTRAP
start_broker() {
  "$KS_BUILD_DIR/test/ks_mock_broker" --topic "$1" --port-file "$WORK/bootstrap" \
    >"$WORK/broker.out" 2>"$WORK/broker.err" &
  PIDS+=($!)
  for _ in $(seq 100); do
    [ -s "$WORK/bootstrap" ] && break
    sleep 0.1
  done
  [ -s "$WORK/bootstrap" ] || fail "mock broker did not start: $(cat "$WORK/broker.err")"
  BOOTSTRAP=$(head -1 "$WORK/bootstrap")
  log "broker at $BOOTSTRAP"
}

# table_rows DIR -> prints the sum of numRecords of the active files (0 if none)
table_rows() {
  node "$KS_SOURCE_DIR/test/tools/delta_rows.mjs" "$1"
}
