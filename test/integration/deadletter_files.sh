#!/usr/bin/env bash
# Error files (errors.deadletter.path) on local storage. First 10,000
# records (10% invalid, every kind) and one clean run: the error files hold
# exactly the invalid records, once each, bytes intact (invalid UTF-8 as
# base64), named after their first offset; the rejected metric equals the
# error-file records metric equals the invalid count. Then 20,000 more
# arrive while ksink is SIGKILLed twice mid-stream and restarted: replayed
# batches find their error files already there (put-if-absent) and skip
# what those hold, so every invalid record of both phases is still in
# exactly one line and every valid one in the table exactly once. Last, a
# crash forced between error files and commit (the Delta log made
# unwritable, SIGKILL, log restored, restart): the replay must find the
# error files already there and still leave every reject in one line.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FIRST=${KS_IT_DEADLETTER_FIRST:-10000}
SECOND=${KS_IT_DEADLETTER_SECOND:-20000}
start_broker user-events:4
cat >"$WORK/ksink.yaml" <<YAML
app_id: deadletter-it
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-deadletter-it
  session.timeout.ms: 6000
  heartbeat.interval.ms: 500
reactor: { workers: 2 }
storage:
  url: file://$WORK/lake
tables:
  - name: user_events
    topics: [user-events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flush: { records: 1500, interval: 500ms }
    errors:
      tolerance: all
      deadletter.path: errors/user_events
http: { listen: "127.0.0.1:0" }
YAML
TABLE=$WORK/lake/user_events
ERRORS=$WORK/lake/errors/user_events
error_lines() { cat "$ERRORS"/*.jsonl 2>/dev/null | wc -l; }
# wait_done ROWS ERROR_LINES: until the table and the error files hold them;
# fails at once when ksink exits
wait_done() {
  for _ in $(seq 900); do
    [ "$(table_rows "$TABLE")" -ge "$1" ] && [ "$(error_lines)" -ge "$2" ] && break
    kill -0 "$KSINK_PID" 2>/dev/null || fail "ksink exited: $(grep -v 'rejected user-events' "$WORK/ksink.err" | tail -5)"
    sleep 0.1
  done
  sleep 1 # the batch holding the last rows may commit a moment after its files
}
stop_ksink() {
  kill -0 "$KSINK_PID" 2>/dev/null || {
    local rc=0
    wait "$KSINK_PID" || rc=$?
    fail "ksink exited $rc before SIGTERM: $(grep -v 'rejected user-events' "$WORK/ksink.err" | tail -20)"
  }
  kill -TERM "$KSINK_PID"
  local rc=0
  wait "$KSINK_PID" || rc=$?
  [ "$rc" = 0 ] || fail "ksink exited $rc: $(tail -5 "$WORK/ksink.err")"
}
metric_sum() { awk -v re="^$2" '$0 ~ re {n += $NF} END {print n + 0}' "$1"; }

# ---- phase 1: one clean run ------------------------------------------------
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic user-events \
  --count "$FIRST" --seed 11 --invalid-permille 100 \
  --expect "$WORK/expect1.jsonl" >"$WORK/produce1.out" 2>"$WORK/produce1.err" ||
  fail "producer failed: $(cat "$WORK/produce1.err")"
VALID1=$(grep -c '"valid":true' "$WORK/expect1.jsonl")
INVALID1=$(grep -c '"valid":false' "$WORK/expect1.jsonl")
log "phase 1: produced $VALID1 valid, $INVALID1 invalid"
run_ksink
wait_done "$VALID1" "$INVALID1"
PORT=$(http_port "$WORK/ksink.err")
# rejects are counted, and error-file records once their file is written
scrape_until "$PORT" "$WORK/metrics1" 30 eval \
  '[ "$(metric_sum "$WORK/metrics1" "ksink_records_rejected_total[{]")" -ge "$INVALID1" ] &&
   [ "$(metric_sum "$WORK/metrics1" "ksink_deadletter_file_records_total[{]")" -ge "$INVALID1" ]'
[ -s "$WORK/metrics1" ] || fail "no /metrics"
stop_ksink
grep -q '"level":"error"' "$WORK/ksink.err" && fail "ksink logged errors: $(grep '"level":"error"' "$WORK/ksink.err" | head -3)"
REJECTED=$(metric_sum "$WORK/metrics1" 'ksink_records_rejected_total[{]')
STORED=$(metric_sum "$WORK/metrics1" 'ksink_deadletter_file_records_total[{]')
log "phase 1: rejected $REJECTED, stored in error files $STORED, error lines $(error_lines)"
[ "$REJECTED" = "$INVALID1" ] || fail "rejected metric $REJECTED, $INVALID1 invalid produced"
[ "$STORED" = "$INVALID1" ] || fail "error-file records metric $STORED, $INVALID1 invalid produced"
node "$KS_SOURCE_DIR/test/tools/verify_errfiles.mjs" "$WORK/expect1.jsonl" "$ERRORS" user-events ||
  fail "phase 1 error files"
node "$KS_SOURCE_DIR/test/tools/verify_delta.mjs" --table "$TABLE" \
  --expect "$WORK/expect1.jsonl" --app-id deadletter-it --topic user-events --quiet

# ---- phase 2: SIGKILL twice while records arrive ---------------------------
# The port phase 1 served on is now taken by an outgoing connection, as any
# process's ephemeral source port may take it while ksink is down: the
# restarts must not depend on getting it back (each start listens on port
# 0). A fixed port made this test fail now and then: a restart exited with
# "address already in use" before the SIGTERM.
python3 -c '
import socket, sys, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
c = socket.socket(); c.bind(("127.0.0.1", int(sys.argv[1]))); c.connect(l.getsockname())
a = l.accept(); time.sleep(3600)' "$PORT" 2>"$WORK/holder.err" &
PIDS+=($!)
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic user-events \
  --count "$SECOND" --seed 12 --invalid-permille 100 \
  --rate $((SECOND / 20 + 1)) \
  --expect "$WORK/expect2.jsonl" >"$WORK/produce2.out" 2>"$WORK/produce2.err" &
PRODUCER=$!
PIDS+=($PRODUCER)
crash_rounds 2 "table_rows $TABLE" 0.2
wait "$PRODUCER" || fail "producer failed: $(cat "$WORK/produce2.err")"
cat "$WORK/expect1.jsonl" "$WORK/expect2.jsonl" >"$WORK/expect.jsonl"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")
INVALID=$(grep -c '"valid":false' "$WORK/expect.jsonl")
run_ksink
wait_done "$VALID" "$INVALID"
stop_ksink
log "phase 2: $(error_lines) error lines for $INVALID invalid records; $(ls "$ERRORS" | wc -l) files; $(count_log "$WORK/ksink.err" 'error file .* exists') replays found their error file"
node "$KS_SOURCE_DIR/test/tools/verify_errfiles.mjs" "$WORK/expect.jsonl" "$ERRORS" user-events ||
  fail "phase 2 error files"
node "$KS_SOURCE_DIR/test/tools/verify_delta.mjs" --table "$TABLE" \
  --expect "$WORK/expect.jsonl" --app-id deadletter-it --topic user-events --quiet

# ---- phase 3: the crash lands between error files and commit ---------------
# With the Delta log unwritable (a file where its directory was) batches get
# their error files stored but never commit; SIGKILL then, give the log back
# and restart: every replayed batch finds its error files already there.
mv "$WORK/ksink.err" "$WORK/ksink.phase2.err"
run_ksink
wait_log "$WORK/ksink.err" 'assigned user-events' 4 60
mv "$TABLE/_delta_log" "$TABLE/_delta_log.away"
: >"$TABLE/_delta_log"
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic user-events \
  --count 3000 --seed 13 --invalid-permille 100 \
  --expect "$WORK/expect3.jsonl" >"$WORK/produce3.out" 2>"$WORK/produce3.err" ||
  fail "producer failed: $(cat "$WORK/produce3.err")"
cat "$WORK/expect3.jsonl" >>"$WORK/expect.jsonl"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")
INVALID=$(grep -c '"valid":false' "$WORK/expect.jsonl")
for _ in $(seq 600); do [ "$(error_lines)" -ge "$INVALID" ] && break; sleep 0.1; done
[ "$(error_lines)" -ge "$INVALID" ] || fail "phase 3: $(error_lines) error lines, $INVALID invalid"
wait_log "$WORK/ksink.err" '(commit|loading the log) failed' 1 30
kill -9 "$KSINK_PID"
wait "$KSINK_PID" 2>/dev/null || true
rm "$TABLE/_delta_log"
mv "$TABLE/_delta_log.away" "$TABLE/_delta_log"
run_ksink
wait_done "$VALID" "$INVALID"
stop_ksink
FOUND=$(count_log "$WORK/ksink.err" 'error file .* exists')
log "phase 3: $(error_lines) error lines for $INVALID invalid records; $FOUND replayed batches found their error files"
[ "$FOUND" -ge 1 ] || fail "no replayed batch found its error file"
node "$KS_SOURCE_DIR/test/tools/verify_errfiles.mjs" "$WORK/expect.jsonl" "$ERRORS" user-events ||
  fail "phase 3 error files"
node "$KS_SOURCE_DIR/test/tools/verify_delta.mjs" --table "$TABLE" \
  --expect "$WORK/expect.jsonl" --app-id deadletter-it --topic user-events --quiet
log "deadletter_files: passed"
