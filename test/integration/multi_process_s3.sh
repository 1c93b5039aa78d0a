#!/usr/bin/env bash
# Many processes, one table: `ksink run` processes in one consumer group on
# a topic of 16 partitions, all writing one Delta table on Ceph RGW, while
# records are produced. p1 and p2 start together; p1 is SIGKILLed (p2 takes
# its partitions after the session timeout) and started again; p3 joins,
# commits, and leaves with SIGTERM. Every member commits on its own (the
# log's put-if-absent decides between them; a loser re-reads the new
# entries and retries). Result: every valid record exactly once, a
# contiguous log, no txn version ever going backwards (verify_delta), and
# every process that stopped gracefully exits 0 with no error logged.
# Needs the ctest "rgw" fixture (KS_S3_ENDPOINT).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -n "${KS_S3_ENDPOINT:-}" ] || { echo "SKIP: no KS_S3_ENDPOINT (rgw fixture)"; exit 77; }
COUNT=${KS_IT_COUNT:-120000}
URL=s3://${KS_S3_BUCKET:-ksink-test}/mp-$$-$RANDOM
TABLE_URL=$URL/user_events
start_broker user-events:16

# A short session timeout keeps each rebalance after the SIGKILL short (the
# mock broker waits session.timeout.ms - 1 s for members to rejoin).
# KS_IT_ASSIGNOR=cooperative-sticky runs the same scenario with incremental
# rebalances; against librdkafka 2.0.2's mock every such rebalance reports
# the assignment lost (the mock checks a heartbeat's generation before the
# group state, so a member heartbeating mid-rebalance gets
# ILLEGAL_GENERATION), which takes ksink's drop-and-rewind path each time.
cat >"$WORK/ksink.yaml" <<YAML
app_id: mp
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-mp
  session.timeout.ms: 4000
  heartbeat.interval.ms: 300
  partition.assignment.strategy: ${KS_IT_ASSIGNOR:-range,roundrobin}
reactor: { workers: 2 }
storage:
  url: $URL
  s3:
    endpoint: $KS_S3_ENDPOINT
    region: us-east-1
    part_size: 5MiB
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

# The producer runs ~60 s whatever the count: every membership change
# below happens while records arrive.
RATE=$((COUNT / 60 > 1000 ? COUNT / 60 : 1000))
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic user-events \
  --count "$COUNT" --seed 17 --invalid-permille 50 --rate "$RATE" \
  --expect "$WORK/expect.jsonl" >"$WORK/produce.out" 2>"$WORK/produce.err" &
PRODUCER=$!
PIDS+=($PRODUCER)

COMMITTED='"msg":"table user_events: committed version'
run_member p1; P1=$MEMBER_PID
run_member p2; P2=$MEMBER_PID
wait_log "$WORK/p1.err" "$COMMITTED" 1 60
wait_log "$WORK/p2.err" "$COMMITTED" 1 60
log "p1 and p2 both committed; $(s3_table_rows "$TABLE_URL") rows"

kill -9 "$P1"
wait "$P1" 2>/dev/null || true
log "p1 SIGKILLed (producer running: $(kill -0 "$PRODUCER" 2>/dev/null && echo yes || echo no))"
# p2 takes p1's partitions once the session times out, reading where p1's
# last commit left them.
wait_log "$WORK/p2.err" '"msg":"kafka: assigned' 2 30
n=$(count_log "$WORK/p2.err" "$COMMITTED")
wait_log "$WORK/p2.err" "$COMMITTED" $((n + 1)) 30
log "p2 took over p1's partitions and committed"

run_member p1b; P1=$MEMBER_PID
wait_log "$WORK/p1b.err" "$COMMITTED" 1 60
log "p1 restarted and committed"

run_member p3; P3=$MEMBER_PID
wait_log "$WORK/p3.err" "$COMMITTED" 1 60
log "p3 joined and committed; SIGTERM p3"
stop_member p3 "$P3"

wait "$PRODUCER" || fail "producer failed: $(cat "$WORK/produce.err")"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")
log "producer done: $VALID valid of $(wc -l <"$WORK/expect.jsonl") delivered"
for _ in $(seq 240); do
  [ "$(s3_table_rows "$TABLE_URL")" -ge "$VALID" ] && break
  sleep 0.5
done
log "table has $(s3_table_rows "$TABLE_URL") rows; SIGTERM p1 and p2"
kill -TERM "$P1" "$P2"
await_member p1b "$P1"
await_member p2 "$P2"

"$KS_BUILD_DIR/test/ks_s3_tool" download "$TABLE_URL" "$WORK/table" || fail "download failed"
node "$KS_SOURCE_DIR/test/tools/verify_delta.mjs" --table "$WORK/table" \
  --expect "$WORK/expect.jsonl" --app-id mp --topic user-events
commits=""
for m in p1 p2 p1b p3; do commits="$commits $m=$(count_log "$WORK/$m.err" "$COMMITTED")"; done
echo "multi_process_s3: records=$VALID commits:$commits versions=$(ls "$WORK/table/_delta_log" | grep -c '\.json$')"
log "multi_process_s3: passed"
