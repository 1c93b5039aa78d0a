#!/usr/bin/env bash
# A permanent storage fault: ksink streams into a Delta table on Ceph RGW
# through the fault proxy, which then answers "403 AccessDenied" to every
# PUT (objects, parts, log entries) for 60 s, as a bucket policy or an
# expired session would. A 403 is an answer, not an outage: the breaker
# stays closed. /readyz must turn 503 naming the refusal within 30 s (after
# storage.unready_after_failures refusals in a row), stay 503 while the
# PUTs are refused, and turn 200 again once they pass; nothing is lost:
# every valid record lands exactly once (verify_delta, DuckDB). Then a
# SIGTERM while PUTs are refused: the stop cannot commit, ksink exits 1
# within 6 s, and the next start writes what it held. Needs the ctest
# "rgw" fixture.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -n "${KS_S3_ENDPOINT:-}" ] || { echo "SKIP: no KS_S3_ENDPOINT (rgw fixture)"; exit 77; }
URL=s3://${KS_S3_BUCKET:-ksink-test}/denied-$$-$RANDOM
DENY_SECONDS=${KS_IT_DENY_SECONDS:-60}
COUNT=${KS_IT_COUNT:-30000}
start_broker events:4

"$KS_BUILD_DIR/test/ks_fault_proxy" --upstream "${KS_S3_ENDPOINT#http://}" \
  --port-file "$WORK/proxy.port" --stats-file "$WORK/proxy.stats" \
  --deny-on '^PUT ' --deny-while "$WORK/deny" 2>"$WORK/proxy.err" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/proxy.port" ] && break; sleep 0.1; done
[ -s "$WORK/proxy.port" ] || fail "fault proxy did not start: $(cat "$WORK/proxy.err")"
PROXY_EP=http://127.0.0.1:$(cat "$WORK/proxy.port")

cat >"$WORK/ksink.yaml" <<YAML
app_id: denied
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-denied
  session.timeout.ms: 6000
  heartbeat.interval.ms: 500
reactor: { workers: 2 }
storage:
  url: $URL
  unready_after_failures: 3
  s3:
    endpoint: $PROXY_EP
    region: us-east-1
    retry: { base: 50ms, cap: 1s, max_attempts: 3 }
tables:
  - name: events
    topics: [events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flush: { records: 2000, interval: 1s }
    errors: { tolerance: all }
http: { listen: "127.0.0.1:0" }
YAML

# produced over the whole run: records keep arriving while storage refuses
RATE=$((COUNT / (DENY_SECONDS + 30)))
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic events \
  --count "$COUNT" --seed 7 --invalid-permille 20 --rate "$RATE" \
  --expect "$WORK/expect.jsonl" >"$WORK/produce.out" 2>"$WORK/produce.err" &
PRODUCER=$!
PIDS+=($PRODUCER)
run_ksink
PORT=$(http_port "$WORK/ksink.err")
readyz() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz"; }
metric() {
  curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '
    { name = $1; sub(/[{].*/, "", name) }
    name == m { sum += $2; found = 1 }
    END { if (found) print sum }'
}
for _ in $(seq 600); do
  [ "$(s3_table_rows "$URL/events")" -gt 0 ] && [ "$(readyz)" = 200 ] && break
  sleep 0.1
done
[ "$(readyz)" = 200 ] || fail "not ready before the fault: $(curl -s "http://127.0.0.1:$PORT/readyz")"
log "committed $(s3_table_rows "$URL/events") rows; refusing every PUT for $DENY_SECONDS s"

touch "$WORK/deny"
T0=$SECONDS
while [ "$(readyz)" != 503 ] && [ $((SECONDS - T0)) -lt 30 ]; do sleep 0.2; done
[ "$(readyz)" = 503 ] || fail "/readyz still $(readyz) 30 s into the refusals: $(grep -c AccessDenied "$WORK/ksink.err") refusals logged"
reason=$(curl -s "http://127.0.0.1:$PORT/readyz")
log "/readyz 503 after $((SECONDS - T0)) s: $reason"
case $reason in *"storage refuses writes"*AccessDenied*) ;; *) fail "/readyz reason does not name the refusal: $reason" ;; esac
[ "$(metric ksink_storage_refusals)" -ge 3 ] || fail "ksink_storage_refusals $(metric ksink_storage_refusals)"
# it stays unready (and up) while the refusals last
while [ $((SECONDS - T0)) -lt "$DENY_SECONDS" ]; do
  kill -0 "$KSINK_PID" 2>/dev/null || fail "ksink exited during the refusals: $(tail -5 "$WORK/ksink.err")"
  [ "$(readyz)" = 503 ] || fail "/readyz $(readyz) while PUTs are still refused"
  sleep 2
done
age=$(metric ksink_oldest_uncommitted_batch_age_seconds)
log "after $DENY_SECONDS s: oldest uncommitted batch ${age} s old; allowing PUTs again"
awk -v a="$age" 'BEGIN { exit !(a >= 10) }' || fail "ksink_oldest_uncommitted_batch_age_seconds $age while nothing could be stored"
rm -f "$WORK/deny"
T1=$SECONDS
while [ "$(readyz)" != 200 ] && [ $((SECONDS - T1)) -lt 60 ]; do sleep 0.2; done
[ "$(readyz)" = 200 ] || fail "/readyz $(readyz) 60 s after the refusals ended: $(curl -s "http://127.0.0.1:$PORT/readyz")"
log "/readyz 200 again $((SECONDS - T1)) s after the refusals ended"

wait "$PRODUCER" || fail "producer failed: $(cat "$WORK/produce.err")"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")
for _ in $(seq 900); do [ "$(s3_table_rows "$URL/events")" -ge "$VALID" ] && break; sleep 0.2; done
kill -TERM "$KSINK_PID"
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 0 ] || fail "ksink exited $rc after SIGTERM: $(tail -20 "$WORK/ksink.err")"
log "all $VALID valid records committed; stopping"

# A stop while storage refuses: the graceful stop cannot commit, so the
# process exits (1) within 6 s of SIGTERM instead of hanging; what it held
# is read again by the next start.
# (a store refusing writes at start-up fails the start-up probe instead)
run_ksink
PORT=$(http_port "$WORK/ksink.err")
for _ in $(seq 600); do [ "$(readyz)" = 200 ] && break; sleep 0.1; done
[ "$(readyz)" = 200 ] || fail "not ready after a restart: $(curl -s "http://127.0.0.1:$PORT/readyz")"
touch "$WORK/deny"
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic events \
  --count 2000 --seed 8 --invalid-permille 20 \
  --expect "$WORK/expect2.jsonl" >>"$WORK/produce.out" 2>>"$WORK/produce.err" ||
  fail "producer failed: $(cat "$WORK/produce.err")"
T0=$SECONDS
while ! curl -s "http://127.0.0.1:$PORT/readyz" | grep -q "storage refuses writes" &&
  [ $((SECONDS - T0)) -lt 30 ]; do sleep 0.2; done
case $(curl -s "http://127.0.0.1:$PORT/readyz") in *"storage refuses writes"*) ;;
  *) fail "/readyz with PUTs refused after a restart: $(curl -s "http://127.0.0.1:$PORT/readyz")" ;; esac
T0=$SECONDS
kill -TERM "$KSINK_PID"
rc=0
wait "$KSINK_PID" || rc=$?
log "SIGTERM while storage refuses: exit $rc after $((SECONDS - T0)) s: $(grep -o 'stopping: storage refuses[^;]*' "$WORK/ksink.err" | tail -1 | cut -c1-120)"
[ "$rc" = 1 ] || fail "exit $rc after SIGTERM while storage refuses, want 1"
[ $((SECONDS - T0)) -le 6 ] || fail "SIGTERM took $((SECONDS - T0)) s while storage refuses (limit 6)"
rm -f "$WORK/deny"
run_ksink
VALID2=$(grep -c '"valid":true' "$WORK/expect2.jsonl")
for _ in $(seq 900); do [ "$(s3_table_rows "$URL/events")" -ge $((VALID + VALID2)) ] && break; sleep 0.2; done
kill -TERM "$KSINK_PID"
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 0 ] || fail "ksink exited $rc after SIGTERM: $(tail -20 "$WORK/ksink.err")"
"$KS_BUILD_DIR/test/ks_s3_tool" download "$URL/events" "$WORK/table" || fail "download failed"
node "$KS_SOURCE_DIR/test/tools/verify_delta.mjs" --table "$WORK/table" \
  --expect "$WORK/expect.jsonl" --expect "$WORK/expect2.jsonl" --app-id denied \
  --topic events --quiet
log "storage_denied_s3: passed ($((VALID + VALID2)) records, proxy: $(cat "$WORK/proxy.stats"))"
