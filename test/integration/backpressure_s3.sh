#!/usr/bin/env bash
# Memory budget under slow storage: ks_fault_proxy holds every S3 response
# for 2 s, so uploads and commits crawl while the topic holds several times
# the budget. One worker with reactor.memory_budget 12MiB and no record,
# byte or age flush trigger within reach: only the budget makes files.
# Past 75% the worker flushes its largest table without pausing, which
# keeps a slow but flowing store below the high-water mark; so the data
# files' uploads also stall (the proxy holds their answers) from the
# start: finished files pile up waiting for storage, and the worker must
# pause its partitions past the high-water mark (90%), flush, and resume
# under the low-water mark (60%) -- visible in the log and in /metrics;
# the store answers again once the pause was seen. ksink's peak RSS (VmHWM) must stay under the budget
# plus the fixed overhead documented below. Every valid record lands
# exactly once.
# Needs the ctest "rgw" fixture (KS_S3_ENDPOINT).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -n "${KS_S3_ENDPOINT:-}" ] || { echo "SKIP: no KS_S3_ENDPOINT (rgw fixture)"; exit 77; }
COUNT=${KS_IT_COUNT:-200000}
BUDGET_MIB=12
# A shorter stream (the sanitizer pass runs 60,000 records) makes fewer
# files than a 12MiB budget needs to fill: a smaller budget keeps the pause
# within its reach.
[ "$COUNT" -ge 200000 ] || BUDGET_MIB=3
# Fixed overhead: what ksink holds whatever the budget. Measured on the
# reference machine: ~15 MiB idle after joining (code, libraries, librdkafka
# threads and metadata, curl, the HTTP thread); librdkafka's fetch buffers,
# bounded here by queued.max.messages.kbytes and fetch.max.bytes (4 MiB
# each); the Parquet encoder's page, dictionary and compression buffers
# (~4 MiB); allocator slack. Peak RSS minus budget came to 28-32 MiB with
# budgets of 4, 12, 16 and 32 MiB on 200,000 records: 40 MiB leaves margin.
OVERHEAD_MIB=${KS_RSS_OVERHEAD_MIB:-40}
URL=s3://${KS_S3_BUCKET:-ksink-test}/bp-$$-$RANDOM
TABLE_URL=$URL/user_events
start_broker user-events:16

"$KS_BUILD_DIR/test/ks_fault_proxy" --upstream "${KS_S3_ENDPOINT#http://}" \
  --port-file "$WORK/proxy.port" --stats-file "$WORK/proxy.stats" \
  --delay 100 --delay-ms 2000 \
  --hold-on '^(PUT|POST) [^ ]*[.]parquet' --hold-while "$WORK/stall" \
  2>"$WORK/proxy.err" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/proxy.port" ] && break; sleep 0.1; done
[ -s "$WORK/proxy.port" ] || fail "fault proxy did not start: $(cat "$WORK/proxy.err")"
PROXY_EP=http://127.0.0.1:$(cat "$WORK/proxy.port")
log "fault proxy at $PROXY_EP delays every answer of $KS_S3_ENDPOINT by 2 s"

cat >"$WORK/ksink.yaml" <<YAML
app_id: bp
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-bp
  queued.max.messages.kbytes: 4096
  queued.min.messages: 20000
  fetch.max.bytes: 4194304
  max.partition.fetch.bytes: 524288
reactor: { workers: 1, memory_budget: ${BUDGET_MIB}MiB }
storage:
  url: $URL
  s3:
    endpoint: $PROXY_EP
    region: us-east-1
    part_size: 5MiB
    max_parts_in_flight: 2
    breaker: { failures: 1000, cooldown: 1s }
tables:
  - name: user_events
    topics: [user-events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    compression: none
    flush: { records: 10000000, bytes: 1GiB, interval: 10m }
    errors: { tolerance: all }
http: { listen: "127.0.0.1:0" }
YAML

# Everything is in the topic before ksink starts: it reads as fast as it
# can, and only the budget holds it back.
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic user-events \
  --count "$COUNT" --seed 31 --invalid-permille 50 \
  --expect "$WORK/expect.jsonl" >"$WORK/produce.out" 2>"$WORK/produce.err" \
  || fail "producer failed: $(cat "$WORK/produce.err")"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")
log "produced: $VALID valid of $(wc -l <"$WORK/expect.jsonl") records"

touch "$WORK/stall" # from the first data file on (the probe's keys pass)
run_member ksink; PID=$MEMBER_PID
wait_log "$WORK/ksink.err" '\(port [0-9]+\)' 1 30
idle_kib=$(awk '/^VmRSS/ {print $2}' "/proc/$PID/status")
port=$(grep -oE '\(port [0-9]+\)' "$WORK/ksink.err" | head -1 | tr -dc 0-9)

PAUSED='"msg":"worker 0: memory [0-9.]+ MiB of the [0-9.]+ MiB budget.*pausing'
RESUMED='"msg":"worker 0: memory [0-9.]+ MiB, under 60% of the budget: resuming'
wait_log "$WORK/ksink.err" "$PAUSED" 1 90
log "paused while the data files' uploads stall"
rm -f "$WORK/stall"
wait_log "$WORK/ksink.err" "$RESUMED" 1 90
log "resumed"

# The last rows stay below the high-water mark and no other trigger is in
# reach: SIGTERM flushes them once everything was read.
TOTAL=$(wc -l <"$WORK/expect.jsonl")
consumed=0
for _ in $(seq 600); do
  consumed=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^ksink_records_consumed_total[{ ]/ {n += $2} END {print n + 0}')
  [ "${consumed:-0}" -ge "$TOTAL" ] && break
  sleep 0.2
done
[ "${consumed:-0}" -ge "$TOTAL" ] || fail "ksink consumed only $consumed of $TOTAL records"
# the last fetch can pass the high-water mark once more: the snapshot is
# taken once that pause has ended
for _ in $(seq 300); do
  metrics=$(curl -s "http://127.0.0.1:$port/metrics")
  grep -qE "^ksink_partitions_paused 0$" <<<"$metrics" && break
  sleep 0.2
done
peak_kib=$(awk '/^VmHWM/ {print $2}' "/proc/$PID/status")
log "all $TOTAL records consumed; SIGTERM"
stop_member ksink "$PID"

pauses=$(count_log "$WORK/ksink.err" "$PAUSED")
resumes=$(count_log "$WORK/ksink.err" "$RESUMED")
grep -qE "^ksink_memory_pauses_total $pauses$" <<<"$metrics" || fail "ksink_memory_pauses_total does not say $pauses: $(echo "$metrics" | grep memory_pauses)"
grep -qE "^ksink_partitions_paused 0$" <<<"$metrics" || fail "partitions still paused at the end: $(echo "$metrics" | grep partitions_paused)"
peak_mib=$((peak_kib / 1024))
limit_mib=$((BUDGET_MIB + OVERHEAD_MIB))
if grep -q libasan <<<"$(ldd "$KSINK")"; then
  log "AddressSanitizer build: RSS not checked (shadow memory and quarantine)"
else
  [ "$peak_mib" -le "$limit_mib" ] || fail "peak RSS $peak_mib MiB is over the budget $BUDGET_MIB MiB + overhead $OVERHEAD_MIB MiB"
fi

"$KS_BUILD_DIR/test/ks_s3_tool" download "$TABLE_URL" "$WORK/table" || fail "download failed"
node "$KS_SOURCE_DIR/test/tools/verify_delta.mjs" --table "$WORK/table" \
  --expect "$WORK/expect.jsonl" --app-id bp --topic user-events --quiet ||
  fail "verify_delta failed"
echo "backpressure_s3: records=$VALID budget=${BUDGET_MIB}MiB idle_rss=$((idle_kib / 1024))MiB peak_rss=${peak_mib}MiB limit=${limit_mib}MiB pauses=$pauses resumes=$resumes files=$(ls "$WORK/table" | grep -c parquet) proxy=[$(cat "$WORK/proxy.stats")]"
log "backpressure_s3: passed"
