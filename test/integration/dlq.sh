#!/usr/bin/env bash
# Dead-letter queue: 20,000 demo records (10% invalid, every kind) over 8
# partitions, `ksink run` with errors.tolerance all and a DLQ topic with
# Connect's context headers. Every invalid record must be in the DLQ topic
# exactly once (read back with a separate client) with its key, value and
# headers intact plus the __connect.errors.* headers naming its topic,
# partition and offset; the rejected metric must equal the DLQ count; the
# table must hold every valid record exactly once.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COUNT=${KS_IT_DLQ_COUNT:-20000}
start_broker user-events:8 user-events-dlq:2

cat >"$WORK/ksink.yaml" <<YAML
app_id: dlq-it
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-dlq-it
reactor: { workers: 2 }
storage:
  url: file://$WORK/lake
tables:
  - name: user_events
    topics: [user-events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flush: { records: 5000, interval: 1s }
    errors:
      tolerance: all
      deadletterqueue:
        topic.name: user-events-dlq
        context.headers.enable: true
      log.enable: false
http: { listen: "127.0.0.1:0" }
YAML

"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic user-events \
  --count "$COUNT" --seed 5 --invalid-permille 100 \
  --expect "$WORK/expect.jsonl" >"$WORK/produce.out" 2>"$WORK/produce.err" ||
  fail "producer failed: $(cat "$WORK/produce.err")"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")
INVALID=$(grep -c '"valid":false' "$WORK/expect.jsonl")
log "produced $VALID valid, $INVALID invalid"

run_ksink

PORT=$(http_port "$WORK/ksink.err")
TABLE=$WORK/lake/user_events
for _ in $(seq 600); do
  [ "$(table_rows "$TABLE")" -ge "$VALID" ] && break
  sleep 0.1
done
[ "$(table_rows "$TABLE")" -ge "$VALID" ] || fail "table has $(table_rows "$TABLE") of $VALID rows"
# the batches holding the last rejects commit only after their dead letters
rejected() { awk '/^ksink_records_rejected_total\{/ {n += $2} END {print n + 0}' "$WORK/metrics"; }
scrape_until "$PORT" "$WORK/metrics" 60 eval '[ "$(rejected)" -ge "$INVALID" ]'
[ -s "$WORK/metrics" ] || fail "no /metrics"
REJECTED=$(rejected)
kill -TERM "$KSINK_PID"
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 0 ] || fail "ksink exited $rc: $(tail -5 "$WORK/ksink.err")"
grep -q '"level":"error"' "$WORK/ksink.err" && fail "ksink logged errors: $(grep '"level":"error"' "$WORK/ksink.err" | head -3)"
[ "$REJECTED" = "$INVALID" ] || fail "rejected metric $REJECTED, $INVALID invalid produced"

"$KS_BUILD_DIR/test/ks_consume" --bootstrap "$BOOTSTRAP" --topic user-events-dlq \
  --count "$INVALID" >"$WORK/dlq.jsonl" 2>"$WORK/consume.err" ||
  fail "DLQ: $(cat "$WORK/consume.err")"
# nothing more than one per invalid record
if "$KS_BUILD_DIR/test/ks_consume" --bootstrap "$BOOTSTRAP" --topic user-events-dlq \
  --count $((INVALID + 1)) --timeout-ms 3000 >/dev/null 2>&1; then
  fail "the DLQ holds more than $INVALID records"
fi
node "$KS_SOURCE_DIR/test/tools/verify_dlq.mjs" "$WORK/expect.jsonl" "$WORK/dlq.jsonl" \
  user-events dlq-it
node "$KS_SOURCE_DIR/test/tools/verify_delta.mjs" --table "$TABLE" \
  --expect "$WORK/expect.jsonl" --app-id dlq-it --topic user-events --quiet
log "dlq: passed"
