#!/usr/bin/env bash
# Kafka Connect's REST subset: while records are produced, GET /connectors,
# status and config answer as Connect does; PUT pause stops consumption
# (the consumed counter and the Delta log stand still while the producer
# goes on), PUT resume continues, POST restart rewinds every task to its
# last commit, and the table still ends with every valid record exactly
# once. Without http.admin_token ksink listens on loopback only
# (integration/admin_abuse checks the refusal of 0.0.0.0 without one);
# with a token, on 0.0.0.0, a missing or wrong one gets 401 from any
# address.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COUNT=${KS_IT_REST_COUNT:-40000}
start_broker user-events:4
APP=rest-it

write_conf() { # $1: admin token or empty, $2: listen address
  cat >"$WORK/ksink.yaml" <<YAML
app_id: $APP
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-rest-it
reactor: { workers: 2 }
storage:
  url: file://$WORK/lake
tables:
  - name: user_events
    topics: [user-events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flush: { records: 4000, interval: 500ms }
    errors: { tolerance: all }
http: { listen: "$2", admin_token: "$1" }
YAML
}
code() { curl -s -o "$WORK/body" -w '%{http_code}' "$@"; }
expect_code() { # want, curl args...
  local want=$1 got
  shift
  got=$(code "$@")
  [ "$got" = "$want" ] || fail "$* -> $got, want $want: $(cat "$WORK/body")"
}
log_versions() { ls "$WORK/lake/user_events/_delta_log" 2>/dev/null | grep -c '\.json$' || true; }
consumed() {
  curl -sf "http://127.0.0.1:$PORT/metrics" |
    awk '/^ksink_records_consumed_total/ {n += $2} END {print n + 0}'
}
wait_up() {
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "ksink did not answer on $PORT: $(tail -3 "$WORK/ksink.err")"
}

write_conf "" 127.0.0.1:0
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic user-events \
  --count "$COUNT" --seed 9 --invalid-permille 20 --rate 2000 \
  --expect "$WORK/expect.jsonl" >"$WORK/produce.out" 2>"$WORK/produce.err" &
PRODUCER=$!
PIDS+=($PRODUCER)
run_ksink
PORT=$(http_port "$WORK/ksink.err")
BASE=http://127.0.0.1:$PORT/connectors
wait_up
TABLE=$WORK/lake/user_events
for _ in $(seq 100); do [ "$(table_rows "$TABLE")" -gt 0 ] && break; sleep 0.1; done

expect_code 200 "$BASE"
[ "$(cat "$WORK/body")" = "[\"$APP\"]" ] || fail "GET /connectors: $(cat "$WORK/body")"
expect_code 200 "$BASE/$APP/status"
node -e '
const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
if (s.name !== process.argv[2] || s.connector.state !== "RUNNING" || s.type !== "sink" ||
    s.tasks.length !== 2 || s.tasks.some((t, i) => t.id !== i || t.state !== "RUNNING" || !/:\d+$/.test(t.worker_id)))
  { console.error("status:", JSON.stringify(s)); process.exit(1); }' "$WORK/body" "$APP" || fail "status"
expect_code 200 "$BASE/$APP/config"
grep -q '"topics":"user-events"' "$WORK/body" || fail "config: $(cat "$WORK/body")"
expect_code 200 "$BASE/$APP/tasks/1/status"
expect_code 404 "$BASE/other/status"
expect_code 404 "$BASE/$APP/tasks/7/status"
expect_code 405 -X DELETE "$BASE/$APP"
expect_code 405 -X GET "$BASE/$APP/pause"

# pause: nothing consumed, nothing committed, while the producer goes on
expect_code 202 -X PUT "$BASE/$APP/pause"
sleep 3 # queued records and the open batch drain and commit
expect_code 200 "$BASE/$APP/status"
grep -q '"state":"PAUSED"' "$WORK/body" || fail "not paused: $(cat "$WORK/body")"
c1=$(consumed) v1=$(log_versions)
sleep 3
c2=$(consumed) v2=$(log_versions)
kill -0 "$PRODUCER" 2>/dev/null || fail "the producer finished before the pause was checked"
[ "$c1" = "$c2" ] || fail "consumed moved while paused: $c1 -> $c2"
[ "$v1" = "$v2" ] || fail "commits while paused: $v1 -> $v2 log entries"
log "paused: consumed stays at $c1, log at $v1 entries"

expect_code 202 -X PUT "$BASE/$APP/resume"
for _ in $(seq 100); do [ "$(consumed)" -gt "$c2" ] && break; sleep 0.1; done
[ "$(consumed)" -gt "$c2" ] || fail "resume did not continue"
expect_code 204 -X POST "$BASE/$APP/restart"
expect_code 204 -X POST "$BASE/$APP/tasks/1/restart"
expect_code 404 -X POST "$BASE/$APP/tasks/2/restart"

wait "$PRODUCER" || fail "producer failed: $(cat "$WORK/produce.err")"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")
for _ in $(seq 600); do [ "$(table_rows "$TABLE")" -ge "$VALID" ] && break; sleep 0.1; done
kill -TERM "$KSINK_PID"
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 0 ] || fail "ksink exited $rc: $(tail -5 "$WORK/ksink.err")"

# with a token: missing or wrong -> 401, right -> 202
write_conf "s3cret-token" 0.0.0.0:0
run_ksink
PORT=$(http_port "$WORK/ksink.err")
BASE=http://127.0.0.1:$PORT/connectors
wait_up
expect_code 401 -X PUT "$BASE/$APP/pause"
expect_code 401 -X PUT -H "Authorization: Bearer wrong" "$BASE/$APP/pause"
expect_code 202 -X PUT -H "Authorization: Bearer s3cret-token" "$BASE/$APP/pause"
expect_code 202 -X PUT -H "Authorization: Bearer s3cret-token" "$BASE/$APP/resume"
# from a non-loopback address: the token, not the address, decides
IP=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -v '^127\.' | grep -m1 '\.' || true)
if [ -n "$IP" ]; then
  expect_code 401 -X PUT "http://$IP:$PORT/connectors/$APP/pause"
  expect_code 200 "http://$IP:$PORT/connectors/$APP/status"
  grep -q '"state":"RUNNING"' "$WORK/body" || fail "a refused pause paused"
  expect_code 202 -X PUT -H "Authorization: Bearer s3cret-token" -H "Host: 127.0.0.1:$PORT" \
    "http://$IP:$PORT/connectors/$APP/pause"
  expect_code 202 -X PUT -H "Authorization: Bearer s3cret-token" "http://$IP:$PORT/connectors/$APP/resume"
else
  log "no non-loopback address: the checks from one are skipped"
fi
kill -TERM "$KSINK_PID"
wait "$KSINK_PID" || fail "second run exited $?"
grep -q '"level":"error"' "$WORK/ksink.err" && fail "ksink logged errors: $(grep '"level":"error"' "$WORK/ksink.err" | head -3)"
grep -q "s3cret-token" "$WORK/ksink.err" "$WORK/ksink.out" && fail "the admin token was logged"

node "$KS_SOURCE_DIR/test/tools/verify_delta.mjs" --table "$TABLE" \
  --expect "$WORK/expect.jsonl" --app-id "$APP" --topic user-events --quiet
log "connect_rest: passed"
