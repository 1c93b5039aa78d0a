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

# start_broker TOPIC:PARTS... -> sets BOOTSTRAP
start_broker() {
  local t args=()
  for t in "$@"; do args+=(--topic "$t"); done
  "$KS_BUILD_DIR/test/ks_mock_broker" "${args[@]}" --port-file "$WORK/bootstrap" \
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

# wait_rows DIR N: until the Delta table at DIR has N committed rows (90 s
# at most); fails at once when $KSINK_PID exits.
wait_rows() {
  for _ in $(seq 900); do
    [ "$(table_rows "$1")" -ge "$2" ] && return 0
    kill -0 "$KSINK_PID" 2>/dev/null || fail "ksink exited: $(tail -5 "$WORK/ksink.err")"
    sleep 0.1
  done
  fail "table has $(table_rows "$1") of $2 rows: $(tail -5 "$WORK/ksink.err")"
}

# run_ksink: `ksink run -c $WORK/ksink.yaml` in the background; sets KSINK_PID.
run_ksink() {
  KSINK_HTTP_SEEN=$(count_log "$WORK/ksink.err" '"http: serving')
  "$KSINK" run -c "$WORK/ksink.yaml" >>"$WORK/ksink.out" 2>>"$WORK/ksink.err" &
  KSINK_PID=$!
  PIDS+=($KSINK_PID)
}

# http_port LOGFILE [SECONDS]: the port of the last "http: serving ... (port
# N)" line of a ksink log, waiting (10 s by default) until the process
# run_ksink started last has logged its own (KSINK_HTTP_SEEN). With
# http.listen 127.0.0.1:0 each start gets a free port: a fixed port picked
# by the test is free only while ksink holds it, and between a kill and the
# restart any outgoing connection on the machine may take it as its
# ephemeral source port (32768-60999 on Linux), so the restart would fail
# with "address already in use".
http_port() {
  local deadline=$((SECONDS + ${2:-10})) p
  while [ "$SECONDS" -lt "$deadline" ]; do
    if [ "$(count_log "$1" '"http: serving')" -le "${KSINK_HTTP_SEEN:-0}" ]; then
      sleep 0.1
      continue
    fi
    p=$(grep -o '"http: serving [^"]*(port [0-9]*)' "$1" 2>/dev/null | tail -1 | grep -o '[0-9]*)$' | tr -d ')')
    [ -n "$p" ] && { echo "$p"; return 0; }
    sleep 0.1
  done
  fail "no 'http: serving' line in $1: $(tail -5 "$1" 2>/dev/null)"
}

# scrape_until PORT FILE SECONDS CMD...: scrapes /metrics into FILE until
# CMD (run after each scrape, reading FILE) succeeds or SECONDS pass. What
# a table's rows do not show -- rejects, skips, acknowledged dead letters,
# the last partition publish -- is awaited this way, not by a fixed sleep;
# the checks after it read the last scrape and say what differs.
scrape_until() {
  local port=$1 file=$2 deadline=$((SECONDS + $3))
  shift 3
  while :; do
    curl -sf "http://127.0.0.1:$port/metrics" >"$file.tmp" && mv "$file.tmp" "$file"
    [ -s "$file" ] && "$@" && return 0
    [ "$SECONDS" -lt "$deadline" ] || return 0
    sleep 0.2
  done
}

# crash_rounds N ROWS_CMD POLL_SECONDS: N times, start ksink, wait (60 s at
# most) until ROWS_CMD reports more committed rows than before the round --
# this process committed at least once -- then let it run a random fraction
# of a second more (usually with a file open and a batch half-built) and
# SIGKILL it. Logs whether $PRODUCER was still producing.
crash_rounds() {
  local rounds=$1 rows=$2 poll=$3 round before deadline producing
  for round in $(seq "$rounds"); do
    before=$($rows)
    run_ksink
    deadline=$((SECONDS + 60))
    while [ "$($rows)" -le "$before" ] && [ "$SECONDS" -lt "$deadline" ]; do
      sleep "$poll"
    done
    if [ "$($rows)" -le "$before" ]; then
      # nothing new is fine only when nothing is left to write: the final
      # checks (every valid record exactly once) still decide
      kill -0 "${PRODUCER:-0}" 2>/dev/null &&
        fail "round $round: no commit within 60 s: $(tail -5 "$WORK/ksink.err")"
      log "round $round: no new commit in 60 s and the producer is done"
    fi
    sleep 0.$((RANDOM % 9 + 1))
    kill -0 "${PRODUCER:-0}" 2>/dev/null && producing=yes || producing=no
    log "round $round: SIGKILL at $($rows) committed rows (producer running: $producing)"
    kill -9 "$KSINK_PID"
    wait "$KSINK_PID" 2>/dev/null || true
  done
}

# run_member NAME [CONFIG]: a group member, `ksink run -c CONFIG` (default
# $WORK/ksink.yaml) in the background with its own log $WORK/NAME.err;
# sets MEMBER_PID.
run_member() {
  local name=$1 conf=${2:-$WORK/ksink.yaml}
  "$KSINK" run -c "$conf" >>"$WORK/$name.out" 2>>"$WORK/$name.err" &
  MEMBER_PID=$!
  PIDS+=($MEMBER_PID)
}

# count_log FILE REGEX: lines of FILE matching the extended REGEX (0 if none).
count_log() {
  local n
  n=$(grep -cE "$2" "$1" 2>/dev/null) || true
  echo "${n:-0}" # a member just started may not have its log file yet
}

# wait_log FILE REGEX N SECONDS: waits until FILE has at least N lines
# matching REGEX; fails after SECONDS.
wait_log() {
  local file=$1 re=$2 n=$3 deadline=$((SECONDS + $4))
  while [ "$(count_log "$file" "$re")" -lt "$n" ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$(basename "$file"): no $n lines matching '$re' within $4 s: $(tail -5 "$file" 2>/dev/null)"
    sleep 0.2
  done
}

# await_member NAME PID: waits for a member told to stop (SIGTERM): it must
# exit 0 without logging an error. stop_member NAME PID sends the SIGTERM.
await_member() {
  local rc=0
  wait "$2" || rc=$?
  [ "$rc" = 0 ] || fail "$1 exited $rc after SIGTERM: $(tail -20 "$WORK/$1.err")"
  if grep -q '"level":"error"' "$WORK/$1.err"; then
    fail "$1 logged errors: $(grep '"level":"error"' "$WORK/$1.err" | head -5)"
  fi
}
stop_member() {
  kill -TERM "$2"
  await_member "$1" "$2"
}

# s3_table_rows URL: committed rows of the Delta table at URL (its log fetched
# straight from RGW with ks_s3_tool and replayed), 0 before the first commit.
s3_table_rows() {
  rm -rf "$WORK/poll"
  "$KS_BUILD_DIR/test/ks_s3_tool" download "$1/_delta_log" "$WORK/poll/_delta_log" 2>/dev/null || { echo 0; return; }
  table_rows "$WORK/poll"
}
