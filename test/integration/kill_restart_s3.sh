#!/usr/bin/env bash
# Exactly-once on S3 through faults: the kill_restart scenario (keyed
# records, 5% invalid, 16 partitions, ksink SIGKILLed twice mid-stream and
# restarted, then SIGTERMed) with storage.url s3://... on Ceph RGW, reached
# through ks_fault_proxy injecting 10% 503 SlowDown, 5% connection resets
# (half before the server acts, half after it did) and 2% delayed answers,
# plus targeted faults: the answers to the first two Delta log entries'
# put-if-absent and to the first CompleteMultipartUpload are reset after
# the server acted (the retry then meets 412 / NoSuchUpload and must
# recognize its own write: no duplicate commit, no zombie).
# The table is downloaded with ksink's own s3 backend and checked by the
# independent verifier; after the graceful shutdown no multipart upload may
# be left in progress: ksink's own stale-upload sweep (stale_upload_age 2s,
# flush.interval 1s, so the floor is 2 s too) aborts what the SIGKILLed
# processes left, at the last start or at the final shutdown. Needs the
# ctest "rgw" fixture (KS_S3_ENDPOINT).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -n "${KS_S3_ENDPOINT:-}" ] || { echo "SKIP: no KS_S3_ENDPOINT (rgw fixture)"; exit 77; }
COUNT=${KS_IT_COUNT:-200000}
S3TOOL=$KS_BUILD_DIR/test/ks_s3_tool
URL=s3://${KS_S3_BUCKET:-ksink-test}/it-$$-$RANDOM
start_broker user-events:16

"$KS_BUILD_DIR/test/ks_fault_proxy" --upstream "${KS_S3_ENDPOINT#http://}" \
  --port-file "$WORK/proxy.port" --stats-file "$WORK/proxy.stats" --seed 11 \
  --p503 10 --reset 5 --delay 2 --delay-ms 400 \
  --reset-after-server-acted-on '^PUT [^ ]*/_delta_log/[0-9]+\.json' --count 2 \
  --reset-after-server-acted-on '^POST [^ ]*uploadId=' --count 1 \
  2>"$WORK/proxy.err" &
PROXY=$!
PIDS+=($PROXY)
for _ in $(seq 50); do [ -s "$WORK/proxy.port" ] && break; sleep 0.1; done
[ -s "$WORK/proxy.port" ] || fail "fault proxy did not start: $(cat "$WORK/proxy.err")"
PROXY_EP=http://127.0.0.1:$(cat "$WORK/proxy.port")
log "fault proxy at $PROXY_EP -> $KS_S3_ENDPOINT; table $URL/user_events"

# Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (the
# fixture's environment): the fallback after the config.
cat >"$WORK/ksink.yaml" <<YAML
app_id: it
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-it
  session.timeout.ms: 6000
  heartbeat.interval.ms: 500
reactor: { workers: 2 }
storage:
  url: $URL
  s3:
    endpoint: $PROXY_EP
    region: us-east-1
    addressing: path
    part_size: 5MiB
    retry: { base: 50ms, cap: 2s, max_attempts: 10 }
    breaker: { failures: 20, cooldown: 1s }
    stale_upload_age: 2s
tables:
  - name: user_events
    topics: [user-events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    compression: zstd
    flush: { records: 5000, bytes: 64MiB, interval: 1s }
    errors: { tolerance: all }
http: { listen: "127.0.0.1:0" }
YAML

# The producer runs ~20 s whatever the count, so both crash rounds happen
# while records still arrive (each round must see a commit of its own).
RATE=$((COUNT / 20 > 1000 ? COUNT / 20 : 1000))
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic user-events \
  --count "$COUNT" --seed 7 --invalid-permille 50 --rate "$RATE" \
  --expect "$WORK/expect.jsonl" >"$WORK/produce.out" 2>"$WORK/produce.err" &
PRODUCER=$!
PIDS+=($PRODUCER)

# Committed rows: the log is fetched straight from RGW (no faults) and
# replayed by the same node helper as the local test.
s3_rows() {
  rm -rf "$WORK/poll"
  "$S3TOOL" download "$URL/user_events/_delta_log" "$WORK/poll/_delta_log" 2>/dev/null || { echo 0; return; }
  table_rows "$WORK/poll"
}

crash_rounds 2 s3_rows 0.2

# Uploads the SIGKILLed processes had open are left for ksink's sweep.
# Small flushes rarely leave one (files under part_size go as one
# PutObject), so two more stand for a writer killed mid-file: one under
# the table, one nested like a partition directory.
"$S3TOOL" orphan "$URL" user_events/part-00000-killed.zstd.parquet || fail "ks_s3_tool orphan failed"
"$S3TOOL" orphan "$URL" user_events/p=1/part-00001-killed.zstd.parquet || fail "ks_s3_tool orphan failed"
orphans=$("$S3TOOL" uploads "$URL")
staged=$SECONDS
log "uploads left by the SIGKILLed processes (and the two staged ones): $orphans"

run_ksink
wait "$PRODUCER" || fail "producer failed: $(cat "$WORK/produce.err")"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")
log "producer done: $VALID valid of $(wc -l <"$WORK/expect.jsonl") delivered"
for _ in $(seq 600); do
  [ "$(s3_rows)" -ge "$VALID" ] && break
  sleep 0.3
done
# the shutdown sweep takes uploads older than stale_upload_age (2s) only:
# when the table filled at once, give the staged ones that age first
while [ $((SECONDS - staged)) -lt 4 ]; do sleep 0.5; done
log "table has $(s3_rows) rows; SIGTERM"
kill -TERM "$KSINK_PID"
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 0 ] || fail "ksink exited $rc after SIGTERM: $(tail -20 "$WORK/ksink.err")"
grep -q '"level":"error"' "$WORK/ksink.err" && fail "ksink logged errors: $(grep '"level":"error"' "$WORK/ksink.err" | head -5)"

left=$("$S3TOOL" uploads "$URL")
[ "$left" = 0 ] || fail "$left multipart uploads left in progress after shutdown (ksink's sweep should have aborted them)"
swept=$(grep -c '"msg":"storage: aborted stale multipart upload' "$WORK/ksink.err" || true)
[ "$swept" -ge "$orphans" ] || fail "$orphans uploads were orphaned but the sweep logged $swept aborts"

"$S3TOOL" download "$URL/user_events" "$WORK/table" || fail "download failed"
node "$KS_SOURCE_DIR/test/tools/verify_delta.mjs" --table "$WORK/table" \
  --expect "$WORK/expect.jsonl" --app-id it --topic user-events
retries=$(grep -c '"msg":"s3: .*; retry ' "$WORK/ksink.err" || true)
acted=$(grep -c 'reset_acted: PUT .*_delta_log' "$WORK/proxy.err" || true)
[ "$acted" = 2 ] || fail "expected 2 forced resets on Delta log puts, saw $acted"
ours=$(grep -c 'an earlier attempt had created it; the object holds our bytes' "$WORK/ksink.err" || true)
[ "$ours" -ge 1 ] || fail "no put-if-absent recognized its own write after a forced reset"
grep -qi 'zombie' "$WORK/ksink.err" && fail "ksink logged a zombie: $(grep -i zombie "$WORK/ksink.err" | head -3)"
log "faults injected: $(cat "$WORK/proxy.stats"); ksink retried $retries requests"
echo "kill_restart_s3: records=$VALID faults=[$(cat "$WORK/proxy.stats")] retries=$retries own_write_recognized=$ours orphaned_uploads=$orphans swept=$swept" >"$WORK/summary"
cat "$WORK/summary"
log "kill_restart_s3: passed"
