#!/usr/bin/env bash
# A small memory budget against a backlog: 130,000 records (~30 MB, 5%
# invalid) wait in 8 partitions when one worker with a 32MiB budget starts,
# so librdkafka's prefetch queue (an eighth of the budget: 4 MiB) fills and
# drains seven times over. librdkafka before 2.2.0 looks at a full queue
# again only when its broker thread wakes; ksink wakes it
# (reactor/kafka.c, fetch_waker). Checked:
# - the start-up log says whether ksink wakes the fetchers, as the linked
#   librdkafka requires, and ksink_kafka_fetch_wakes_total counted wakes
#   during the backlog exactly when it does;
# - caught up, nothing is asked: the counter stays still for 3 s, and
#   records produced after that still land (the fetcher's own long poll);
# - the table holds every valid record exactly once with its values
#   (verify_delta.mjs, record by record), no invalid record, no error log.
# The time the backlog took is printed, not judged (bench.sh measures the
# rate: scripts/bench.py --only 1:64MiB,1:1GiB).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COUNT=${KS_IT_WAKE_COUNT:-130000}
start_broker user-events:8
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic user-events \
  --count "$COUNT" --seed 21 --invalid-permille 50 \
  --expect "$WORK/expect.jsonl" >"$WORK/produce.out" 2>"$WORK/produce.err" ||
  fail "producer failed: $(cat "$WORK/produce.err")"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")
log "backlog: $(wc -l <"$WORK/expect.jsonl") records, $VALID valid"

cat >"$WORK/ksink.yaml" <<YAML
app_id: wake-it
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-wake-it
reactor: { workers: 1, memory_budget: 32MiB }
storage:
  url: file://$WORK/lake
tables:
  - name: user_events
    topics: [user-events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flush: { records: 50000, interval: 1s }
    errors: { tolerance: all }
http: { listen: "127.0.0.1:0" }
YAML

wakes() {
  curl -sf "http://127.0.0.1:$PORT/metrics" |
    awk '$1 == "ksink_kafka_fetch_wakes_total" { print $2; found = 1 }
         END { if (!found) exit 1 }' ||
    fail "no ksink_kafka_fetch_wakes_total in /metrics"
}

TABLE=$WORK/lake/user_events
t0=$(date +%s.%N)
run_ksink
PORT=$(http_port "$WORK/ksink.err")
wait_rows "$TABLE" "$VALID"
t1=$(date +%s.%N)
W1=$(wakes)
log "backlog landed in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s (start-up included), $W1 wake rounds"

# the linked librdkafka, from `ksink --version`: below 2.2.0 ksink must wake
RDK=$("$KSINK" --version | grep -o 'librdkafka [0-9.]*' | cut -d' ' -f2)
OLD=$(echo "$RDK" | awk -F. '{ print ($1 < 2 || ($1 == 2 && $2 < 2)) ? 1 : 0 }')
log "librdkafka $RDK"
if [ "$OLD" = 1 ]; then
  grep -q 'asks their leaders for the partitions' "$WORK/ksink.err" ||
    fail "librdkafka $RDK has no fetch.queue.backoff.ms, yet the start-up log does not say ksink wakes the fetchers"
  [ "$W1" -gt 0 ] || fail "the start-up log says ksink wakes the fetchers, but it never did during a backlog 7 times its prefetch queue"
else
  grep -q 'asks their leaders for the partitions' "$WORK/ksink.err" &&
    fail "librdkafka $RDK has fetch.queue.backoff.ms, yet ksink wakes the fetchers"
  [ "$W1" = 0 ] || fail "$W1 wake rounds where librdkafka has fetch.queue.backoff.ms"
  log "this librdkafka has fetch.queue.backoff.ms: no wakes, as expected"
fi

# caught up: the fetchers wait on the broker, and ksink asks nothing
sleep 1
W2=$(wakes)
sleep 3
W3=$(wakes)
[ "$W3" = "$W2" ] || fail "caught up, yet $((W3 - W2)) wake rounds in 3 s"
log "caught up: no wake in 3 s (counter $W3)"

"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic user-events \
  --count 5000 --seed 22 --invalid-permille 50 \
  --expect "$WORK/expect2.jsonl" >"$WORK/produce2.out" 2>"$WORK/produce2.err" ||
  fail "producer failed: $(cat "$WORK/produce2.err")"
cat "$WORK/expect2.jsonl" >>"$WORK/expect.jsonl"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")
wait_rows "$TABLE" "$VALID"

kill -TERM "$KSINK_PID"
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 0 ] || fail "ksink exited $rc after SIGTERM: $(tail -20 "$WORK/ksink.err")"
grep -q '"level":"error"' "$WORK/ksink.err" &&
  fail "ksink logged errors: $(grep '"level":"error"' "$WORK/ksink.err" | head -5)"
node "$KS_SOURCE_DIR/test/tools/verify_delta.mjs" --table "$TABLE" \
  --expect "$WORK/expect.jsonl" --app-id wake-it --topic user-events
log "prefetch_wake: passed"
