#!/usr/bin/env bash
# Exactly-once across crashes: 200,000 keyed records (5% invalid) over 16
# partitions of the mock broker, `ksink run` SIGKILLed twice mid-stream and
# restarted, then SIGTERMed. The table must hold every valid record exactly
# once with the right values and types (read by DuckDB from the active
# files of the log), no invalid record, and a well-formed log.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COUNT=${KS_IT_COUNT:-200000}
# production lasts ~16 s whatever the count, so the crashes land mid-stream
# (a sanitizer build starts ksink slowly)
RATE=$((COUNT / 16 > 12000 ? 12000 : COUNT / 16 + 1))
start_broker user-events:16

cat >"$WORK/ksink.yaml" <<YAML
app_id: it
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-it
  session.timeout.ms: 6000
  heartbeat.interval.ms: 500
reactor: { workers: 2 }
storage:
  url: file://$WORK/lake
tables:
  - name: user_events
    topics: [user-events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    compression: zstd
    flush: { records: 15000, bytes: 64MiB, interval: 1s }
    errors: { tolerance: all }
http: { listen: "127.0.0.1:0" }
YAML

"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic user-events \
  --count "$COUNT" --seed 7 --invalid-permille 50 --rate "$RATE" \
  --expect "$WORK/expect.jsonl" >"$WORK/produce.out" 2>"$WORK/produce.err" &
PRODUCER=$!
PIDS+=($PRODUCER)

TABLE=$WORK/lake/user_events
local_rows() { table_rows "$TABLE"; }
crash_rounds 2 local_rows 0.1
run_ksink
wait "$PRODUCER" || fail "producer failed: $(cat "$WORK/produce.err")"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")
log "producer done: $VALID valid of $(wc -l <"$WORK/expect.jsonl") delivered"

for _ in $(seq 1200); do
  [ "$(table_rows "$TABLE")" -ge "$VALID" ] && break
  sleep 0.1
done
log "table has $(table_rows "$TABLE") rows; SIGTERM"
kill -TERM "$KSINK_PID"
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 0 ] || fail "ksink exited $rc after SIGTERM: $(tail -20 "$WORK/ksink.err")"
grep -q '"level":"error"' "$WORK/ksink.err" && fail "ksink logged errors: $(grep '"level":"error"' "$WORK/ksink.err" | head -5)"

node "$KS_SOURCE_DIR/test/tools/verify_delta.mjs" --table "$TABLE" \
  --expect "$WORK/expect.jsonl" --app-id it --topic user-events
log "kill_restart: passed"
