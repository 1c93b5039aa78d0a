#!/usr/bin/env bash
# A transient DLQ fault: the broker answers NOT_ENOUGH_REPLICAS (retriable)
# to the next Produce requests, so no dead letter is stored for a while
# (librdkafka retries them itself, long before its message.timeout.ms of
# 5 minutes runs out). The batches holding the rejects wait (nothing is
# skipped), ksink_deadletter_pending shows them, and /readyz turns 503
# "dead-letter queue unavailable" once reactor.deadletter_unready_after
# (5 s here) has passed without a dead letter stored; when the broker takes
# records again /readyz is 200, every valid record is in the table
# (verify_delta) and every invalid one in the DLQ topic (read back with a
# separate client, by offset).
# Memory: BIG invalid records of 300 KB each follow the demo records, more
# than reactor.memory_budget (8 MiB per worker) can hold as pending dead
# letters: consumption pauses (ksink_memory_pauses_total) and the dead
# letters pending stay well below the number of rejects until the DLQ
# takes records again.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COUNT=${KS_IT_COUNT:-4000}
ERRORS=${KS_IT_PRODUCE_ERRORS:-200}
BIG=${KS_IT_BIG:-300}
"$KS_BUILD_DIR/test/ks_mock_broker" --topic events:4 --topic events-dlq:1 \
  --produce-error "19:$ERRORS" --port-file "$WORK/bootstrap" \
  >"$WORK/broker.out" 2>"$WORK/broker.err" &
BROKER_PID=$!
PIDS+=($BROKER_PID)
for _ in $(seq 100); do [ -s "$WORK/bootstrap" ] && break; sleep 0.1; done
[ -s "$WORK/bootstrap" ] || fail "mock broker did not start: $(cat "$WORK/broker.err")"
BOOTSTRAP=$(head -1 "$WORK/bootstrap")

cat >"$WORK/ksink.yaml" <<YAML
app_id: dlqout
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-dlqout
  # dead letters compressed: the mock keeps 5 MiB per partition as sent
  compression.codec: zstd
reactor: { workers: 2, deadletter_unready_after: 5s, memory_budget: 8MiB }
storage:
  url: file://$WORK/lake
tables:
  - name: events
    topics: [events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flush: { records: 500, interval: 1s }
    errors:
      tolerance: all
      deadletterqueue:
        topic.name: events-dlq
        context.headers.enable: true
      log.enable: false
http: { listen: "127.0.0.1:0" }
YAML

# the records first: the injected errors are for ksink's DLQ producer only
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic events \
  --count "$COUNT" --seed 21 --invalid-permille 30 \
  --expect "$WORK/expect.jsonl" >"$WORK/produce.out" 2>"$WORK/produce.err" ||
  fail "producer failed: $(cat "$WORK/produce.err")"
node -e '
const [f, n] = process.argv.slice(1);
let out = "";
for (let i = 0; i < +n; i++) out += JSON.stringify({big: i, pad: "x".repeat(300000)}) + "\n";
require("fs").writeFileSync(f, out);' "$WORK/big" "$BIG"
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic events \
  --values "$WORK/big" --expect "$WORK/expect_big.raw" -X compression.codec=zstd \
  >>"$WORK/produce.out" 2>>"$WORK/produce.err" ||
  fail "producer failed: $(cat "$WORK/produce.err")"
# (--values reports its records as valid: these all miss required fields)
sed 's/"valid":true/"valid":false/' "$WORK/expect_big.raw" >>"$WORK/expect.jsonl"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")
INVALID=$(grep -c '"valid":false' "$WORK/expect.jsonl")
kill -USR1 "$BROKER_PID"
sleep 0.3

run_ksink
PORT=$(http_port "$WORK/ksink.err")
T0=$SECONDS
readyz() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz"; }
metric() {
  curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '
    { name = $1; sub(/[{].*/, "", name) }
    name == m { sum += $2; found = 1 }
    END { print found ? sum : 0 }'
}
# (503 "not yet in the consumer group" first: the mock's first join waits)
while [[ $(curl -s "http://127.0.0.1:$PORT/readyz") != *"dead-letter queue unavailable"* ]] &&
  [ $((SECONDS - T0)) -lt 30 ]; do sleep 0.2; done
reason=$(curl -s "http://127.0.0.1:$PORT/readyz")
[ "$(readyz)" = 503 ] || fail "/readyz not 503 30 s into the DLQ fault: $reason"
case $reason in *"dead-letter queue unavailable"*) ;; *) fail "/readyz reason 30 s into the DLQ fault: $reason" ;; esac
pending=$(metric ksink_deadletter_pending)
rows=$(table_rows "$WORK/lake/events")
log "/readyz 503 $((SECONDS - T0)) s after start: $reason; $rows rows committed meanwhile"
[ "$pending" -ge 1 ] || fail "ksink_deadletter_pending $pending during the DLQ fault"
[ "$rows" -lt "$VALID" ] || fail "all $VALID rows committed while the DLQ stored nothing"

T1=$SECONDS
max_pending=0
max_rss=0
while [ "$(readyz)" != 200 ] && [ $((SECONDS - T1)) -lt 90 ]; do
  kill -0 "$KSINK_PID" 2>/dev/null || fail "ksink exited: $(tail -5 "$WORK/ksink.err")"
  curl -s "http://127.0.0.1:$PORT/metrics" >"$WORK/metrics.now"
  read -r p r < <(awk '$1 == "ksink_deadletter_pending" { p = $2 }
    $1 == "process_resident_memory_bytes" { r = $2 } END { printf "%d %d\n", p, r }' "$WORK/metrics.now")
  [ "$p" -gt "$max_pending" ] && max_pending=$p
  [ "$r" -gt "$max_rss" ] && max_rss=$r
  sleep 0.2
done
pauses=$(metric ksink_memory_pauses_total)
log "during the fault: at most $max_pending of $INVALID dead letters pending, $pauses memory pauses, RSS at most $((max_rss >> 20)) MiB"
[ "$pauses" -ge 1 ] || fail "no memory pause while $BIG dead letters of 300 KB waited"
[ "$max_pending" -lt $((INVALID - BIG / 2)) ] ||
  fail "$max_pending dead letters pending: consumption went on past the memory budget"

[ "$(readyz)" = 200 ] || fail "/readyz $(readyz) 90 s into the fault: $(curl -s "http://127.0.0.1:$PORT/readyz"); $(tail -3 "$WORK/broker.err")"
log "/readyz 200 again after $((SECONDS - T1)) s more (the broker took records again)"
wait_rows "$WORK/lake/events" "$VALID"
for _ in $(seq 600); do [ "$(metric ksink_records_rejected_total)" -ge "$INVALID" ] && break; sleep 0.1; done
[ "$(metric ksink_records_rejected_total)" = "$INVALID" ] ||
  fail "rejected $(metric ksink_records_rejected_total), want $INVALID"
for _ in $(seq 100); do [ "$(metric ksink_deadletter_pending)" = 0 ] && break; sleep 0.1; done
[ "$(metric ksink_deadletter_pending)" = 0 ] || fail "dead letters still pending"
kill -TERM "$KSINK_PID"
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 0 ] || fail "ksink exited $rc after SIGTERM: $(tail -5 "$WORK/ksink.err")"

"$KS_BUILD_DIR/test/ks_consume" --bootstrap "$BOOTSTRAP" --topic events-dlq --count "$INVALID" \
  >"$WORK/dlq.jsonl" 2>"$WORK/consume.err" || fail "DLQ: $(cat "$WORK/consume.err")"
node -e '
const fs = require("fs");
const [w] = process.argv.slice(1);
const want = new Set(fs.readFileSync(`${w}/expect.jsonl`, "utf8").split("\n").filter(Boolean)
  .map((l) => JSON.parse(l)).filter((e) => !e.valid).map((e) => `${e.partition}@${e.offset}`));
const got = new Set();
for (const l of fs.readFileSync(`${w}/dlq.jsonl`, "utf8").split("\n").filter(Boolean)) {
  const r = JSON.parse(l);
  const h = new Map(r.headers.map(([k, v]) => [k, v === null ? "" : Buffer.from(v, "base64").toString()]));
  got.add(`${h.get("__connect.errors.partition")}@${h.get("__connect.errors.offset")}`);
}
const missing = [...want].filter((k) => !got.has(k));
if (missing.length) { console.error(`FAIL: ${missing.length} of ${want.size} dead letters missing: ${missing.slice(0, 5)}`); process.exit(1); }
console.log(`DLQ: all ${want.size} rejects present (${got.size} distinct)`);
' "$WORK" || fail "dead letters lost"
node "$KS_SOURCE_DIR/test/tools/verify_delta.mjs" --table "$WORK/lake/events" \
  --expect "$WORK/expect.jsonl" --app-id dlqout --topic events --quiet
log "dlq_outage: passed ($VALID valid, $INVALID dead letters, $(tail -1 "$WORK/broker.err"))"
