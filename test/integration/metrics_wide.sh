#!/usr/bin/env bash
# /metrics and /status at 10,000 partitions: one topic of 10,000
# partitions, 20,000 records spread over them, one `ksink run`. Once every
# partition is assigned and the records are committed, /metrics answers
# 200 with a ksink_consumer_lag series per partition and passes the strict
# text-format parser, and /status answers 200 with every partition (the
# response cap grows with the partitions owned; a fixed 4 MiB failed with
# 500 past a few thousand). Sizes and times are logged.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PARTS=${KS_IT_WIDE_PARTITIONS:-10000}
COUNT=$((PARTS * 2))
start_broker "wide:$PARTS"
cat >"$WORK/ksink.yaml" <<YAML
app_id: wide
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-wide
reactor: { workers: 2 }
storage:
  url: file://$WORK/lake
tables:
  - name: events
    topics: [wide]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flush: { records: 100000, interval: 2s }
    errors: { tolerance: all }
http: { listen: "127.0.0.1:0" }
YAML
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic wide \
  --count "$COUNT" --seed 9 --invalid-permille 0 \
  --expect "$WORK/expect.jsonl" >"$WORK/produce.out" 2>"$WORK/produce.err" ||
  fail "producer failed: $(cat "$WORK/produce.err")"
run_ksink
PORT=$(http_port "$WORK/ksink.err" 60)
wait_log "$WORK/ksink.err" "kafka: assigned $PARTS partitions" 1 120
wait_rows "$WORK/lake/events" "$COUNT"
# the partition lists are published once a second: wait for every lag series
scrape_until "$PORT" "$WORK/metrics.txt" 30 eval \
  '[ "$(grep -c "^ksink_consumer_lag{" "$WORK/metrics.txt")" = "$PARTS" ]'

T0=$(date +%s%N)
code=$(curl -s -o "$WORK/metrics.txt" -w '%{http_code}' "http://127.0.0.1:$PORT/metrics")
T1=$(date +%s%N)
[ "$code" = 200 ] || fail "/metrics answered $code at $PARTS partitions"
lag=$(grep -c '^ksink_consumer_lag{' "$WORK/metrics.txt" || true)
log "/metrics: $(wc -c <"$WORK/metrics.txt") bytes, $lag lag series, $(((T1 - T0) / 1000000)) ms"
[ "$lag" = "$PARTS" ] || fail "/metrics has $lag lag series, want $PARTS"
node "$KS_SOURCE_DIR/test/tools/prom_check.mjs" "$WORK/metrics.txt" >"$WORK/prom.out" 2>&1 ||
  fail "/metrics does not parse: $(tail -5 "$WORK/prom.out")"

T0=$(date +%s%N)
code=$(curl -s -o "$WORK/status.json" -w '%{http_code}' "http://127.0.0.1:$PORT/status")
T1=$(date +%s%N)
[ "$code" = 200 ] || fail "/status answered $code at $PARTS partitions"
n=$(node -e '
const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
let n = 0;
const walk = (v) => { if (Array.isArray(v)) v.forEach(walk); else if (v && typeof v === "object") {
  if ("partition" in v && "topic" in v) n++; else Object.values(v).forEach(walk); } };
walk(s);
console.log(n);' "$WORK/status.json")
log "/status: $(wc -c <"$WORK/status.json") bytes, $n partitions, $(((T1 - T0) / 1000000)) ms"
[ "$n" -ge "$PARTS" ] || fail "/status lists $n partitions, want $PARTS"
stop_member ksink "$KSINK_PID"
log "metrics_wide: passed"
