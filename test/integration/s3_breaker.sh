#!/usr/bin/env bash
# Circuit breaker: ksink streams into S3 on its own Ceph RGW; radosgw is
# stopped mid-run (mon and OSD keep the objects). The breaker must open,
# workers must pause their partitions (consumption stops while the producer
# keeps going), /readyz must say not ready; once radosgw is back the
# breaker closes, /readyz is ready again, and every valid record lands
# exactly once. Starts and stops its own RGW, so taking it down cannot hurt
# tests running next to it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RGW=$KS_SOURCE_DIR/test/fixtures/rgw
command -v radosgw >/dev/null || { echo "SKIP: radosgw not installed"; exit 77; }
export CEPH_DIR=$WORK/ceph RGW_PORT=$((12000 + RANDOM % 2000))
export MON_PORT=$((RGW_PORT + 2000)) BUCKETS=breaker
export AK=TESTACCESSKEY0000001 SK=testsecretkey0000000000000000000000000001
stop_rgw() { "$RGW/stop-rgw.sh" >/dev/null 2>&1 || true; cleanup; }
trap stop_rgw EXIT
"$RGW/start-rgw.sh" >"$WORK/rgw.out" 2>&1 || fail "RGW did not start: $(tail -5 "$WORK/rgw.out")"
export KS_S3_ENDPOINT=http://127.0.0.1:$RGW_PORT AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK
URL=s3://breaker/t
log "RGW at $KS_S3_ENDPOINT"

COUNT=${KS_IT_BREAKER_COUNT:-60000}
start_broker events:8
cat >"$WORK/ksink.yaml" <<YAML
app_id: br
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-br
  session.timeout.ms: 6000
  heartbeat.interval.ms: 500
reactor: { workers: 2 }
storage:
  url: $URL
  s3:
    endpoint: $KS_S3_ENDPOINT
    access_key_id: $AK
    secret_access_key: $SK
    connect_timeout: 1s
    retry: { base: 50ms, cap: 1s, max_attempts: 3 }
    breaker: { failures: 3, cooldown: 1s }
tables:
  - name: events
    topics: [events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flush: { records: 2000, bytes: 64MiB, interval: 1s }
    errors: { tolerance: all }
http: { listen: "127.0.0.1:0" }
YAML

"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic events \
  --count "$COUNT" --seed 3 --invalid-permille 50 --rate 2000 \
  --expect "$WORK/expect.jsonl" >"$WORK/produce.out" 2>"$WORK/produce.err" &
PRODUCER=$!
PIDS+=($PRODUCER)
"$KSINK" run -c "$WORK/ksink.yaml" >"$WORK/ksink.out" 2>"$WORK/ksink.err" &
KSINK_PID=$!
PIDS+=($KSINK_PID)

for _ in $(seq 100); do grep -q '(port [0-9]*)' "$WORK/ksink.err" && break; sleep 0.1; done
PORT=$(grep -o '(port [0-9]*)' "$WORK/ksink.err" | grep -o '[0-9]*' | head -1)
[ -n "$PORT" ] || fail "no http port: $(tail -5 "$WORK/ksink.err")"
readyz() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz"; }
# The sum of a family's series (labelled or not); empty when absent, so a
# renamed family fails the comparisons below instead of matching itself.
metric() {
  curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '
    { name = $1; sub(/[{].*/, "", name) }
    name == m { sum += $2; found = 1 }
    END { if (found) print sum }'
}
rows() {
  rm -rf "$WORK/poll"
  "$KS_BUILD_DIR/test/ks_s3_tool" download "$URL/events/_delta_log" "$WORK/poll/_delta_log" 2>/dev/null || { echo 0; return; }
  table_rows "$WORK/poll"
}

for _ in $(seq 300); do [ "$(rows)" -gt 0 ] && [ "$(readyz)" = 200 ] && break; sleep 0.2; done
[ "$(rows)" -gt 0 ] || fail "no commit within 60 s: $(tail -5 "$WORK/ksink.err")"
log "committed $(rows) rows, /readyz $(readyz); stopping radosgw"
"$RGW/rgw-ctl.sh" stop

# /readyz goes 503 ("storage unreachable") at the first failed attempt;
# the breaker opens after three in a row, and the workers pause on their
# next backpressure tick: wait for each in turn.
reason=
for _ in $(seq 300); do
  reason=$(curl -s "http://127.0.0.1:$PORT/readyz")
  case $reason in *"circuit breaker"*) break ;; esac
  sleep 0.1
done
log "/readyz: $(readyz) $reason; breaker open: $(metric ksink_circuit_breaker_open)"
case $reason in *"circuit breaker"*) ;; *) fail "/readyz does not name the open circuit breaker 30 s after RGW stopped: $reason" ;; esac
wait_log "$WORK/ksink.err" 'pausing' 1 10
sleep 2
c1=$(metric ksink_records_consumed_total)
sleep 3
c2=$(metric ksink_records_consumed_total)
kill -0 "$PRODUCER" 2>/dev/null || fail "producer finished before the pause could be observed"
log "paused: consumed $c1 -> $c2 in 3 s while producing 2000/s"
[ -n "$c1" ] && [ -n "$c2" ] && [ "$c1" -gt 0 ] || fail "no consumed count in /metrics ($c1, $c2)"
[ $((c2 - c1)) -lt 1000 ] || fail "consumption did not stop while the breaker was open ($c1 -> $c2)"

"$RGW/rgw-ctl.sh" start
# radosgw may refuse a few connections while it settles: the breaker can
# close and open again before it stays closed.
ready=
for _ in $(seq 600); do
  ready=$(readyz)
  [ "$ready" = 200 ] && grep -q 'resuming' "$WORK/ksink.err" && break
  sleep 0.1
done
[ "$ready" = 200 ] || fail "/readyz $ready 60 s after RGW came back"
grep -q 'resuming' "$WORK/ksink.err" || fail "workers did not resume"
log "RGW back: /readyz 200, breaker open: $(metric ksink_circuit_breaker_open), opened $(metric ksink_circuit_breaker_opened_total) times"

wait "$PRODUCER" || fail "producer failed: $(cat "$WORK/produce.err")"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")
for _ in $(seq 600); do [ "$(rows)" -ge "$VALID" ] && break; sleep 0.2; done
kill -TERM "$KSINK_PID"
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 0 ] || fail "ksink exited $rc after SIGTERM: $(tail -20 "$WORK/ksink.err")"
"$KS_BUILD_DIR/test/ks_s3_tool" download "$URL/events" "$WORK/table" || fail "download failed"
node "$KS_SOURCE_DIR/test/tools/verify_delta.mjs" --table "$WORK/table" \
  --expect "$WORK/expect.jsonl" --app-id br --topic events
log "s3_breaker: passed ($VALID records)"
