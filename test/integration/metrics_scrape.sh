#!/usr/bin/env bash
# /metrics under load: while 30,000 records (5% invalid) are produced and
# written, /metrics is scraped every 200 ms and every scrape is read by a
# strict text-format parser (test/tools/prom_check.mjs: valid lines, one
# TYPE per family before its samples, no duplicate series, cumulative
# histogram buckets, counters never going down between scrapes). Once the
# table holds every valid record, consumed = written + rejected.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COUNT=${KS_IT_METRICS_COUNT:-30000}
start_broker user-events:4
PORT=$((20000 + RANDOM % 30000))
cat >"$WORK/ksink.yaml" <<YAML
app_id: metrics-it
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-metrics-it
reactor: { workers: 2 }
storage:
  url: file://$WORK/lake
tables:
  - name: user_events
    topics: [user-events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flush: { records: 3000, interval: 500ms }
    errors: { tolerance: all }
http: { listen: "127.0.0.1:$PORT" }
YAML
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic user-events \
  --count "$COUNT" --seed 4 --invalid-permille 50 --rate 5000 \
  --expect "$WORK/expect.jsonl" >"$WORK/produce.out" 2>"$WORK/produce.err" &
PRODUCER=$!
PIDS+=($PRODUCER)
run_ksink
mkdir -p "$WORK/scrapes"
n=0
while kill -0 "$PRODUCER" 2>/dev/null || [ $n -lt 10 ]; do
  n=$((n + 1))
  curl -sf "http://127.0.0.1:$PORT/metrics" >"$WORK/scrapes/$(printf %04d $n)" || rm -f "$WORK/scrapes/$(printf %04d $n)"
  sleep 0.2
done
wait "$PRODUCER" || fail "producer failed: $(cat "$WORK/produce.err")"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")
TABLE=$WORK/lake/user_events
for _ in $(seq 600); do [ "$(table_rows "$TABLE")" -ge "$VALID" ] && break; sleep 0.1; done
sleep 1
n=$((n + 1))
curl -sf "http://127.0.0.1:$PORT/metrics" >"$WORK/scrapes/$(printf %04d $n)" || fail "last scrape"
[ "$(ls "$WORK/scrapes" | wc -l)" -ge 10 ] || fail "too few scrapes"
node "$KS_SOURCE_DIR/test/tools/prom_check.mjs" "$WORK"/scrapes/* >"$WORK/last.json" ||
  fail "a scrape is not valid Prometheus text"
node -e '
const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).series;
const sum = (re) => Object.entries(s).filter(([k]) => re.test(k)).reduce((n, [, v]) => n + v, 0);
const consumed = sum(/^ksink_records_consumed_total\{/), written = sum(/^ksink_records_written_total\{/),
      rejected = sum(/^ksink_records_rejected_total\{/);
console.log(`consumed ${consumed} = written ${written} + rejected ${rejected}; valid ${process.argv[2]}`);
if (consumed !== written + rejected || written !== Number(process.argv[2])) process.exit(1);' \
  "$WORK/last.json" "$VALID" || fail "counters do not add up"
kill -TERM "$KSINK_PID"
wait "$KSINK_PID" || fail "ksink exited $?"
log "metrics_scrape: $(ls "$WORK/scrapes" | wc -l) scrapes passed"
