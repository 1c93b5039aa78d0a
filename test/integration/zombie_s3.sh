#!/usr/bin/env bash
# Zombie writer: two `ksink run` processes in one group write one Delta
# table on Ceph RGW. Process a buffers long (flush.interval 8s), b commits
# every second. a is SIGSTOPped while it holds rows of its partitions, stays
# stopped past session.timeout.ms, the group gives its partitions to b, and
# b commits them. Then a gets SIGCONT: its buffered batch is stale. It must
# not reach the table -- either the group reports a's assignment lost and a
# drops the batch, or a's commit finds that b moved those partitions' txn
# and the committer refuses it -- and a must go on (rejoin, consume, commit)
# instead of exiting. Both stop with SIGTERM and exit 0; every valid record
# is in the table exactly once. Needs the ctest "rgw" fixture.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -n "${KS_S3_ENDPOINT:-}" ] || { echo "SKIP: no KS_S3_ENDPOINT (rgw fixture)"; exit 77; }
COUNT=${KS_IT_COUNT:-80000}
URL=s3://${KS_S3_BUCKET:-ksink-test}/zombie-$$-$RANDOM
TABLE_URL=$URL/user_events
start_broker user-events:8

# config NAME RECORDS INTERVAL: one member's config; both share app_id and
# group (the txn appIds must be the same for the fence to hold).
config() {
  cat >"$WORK/$1.yaml" <<YAML
app_id: zb
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-zb
  session.timeout.ms: 4000
  heartbeat.interval.ms: 300
reactor: { workers: 2 }
storage:
  url: $URL
  s3: { endpoint: $KS_S3_ENDPOINT, region: us-east-1, stale_upload_age: 40s }
tables:
  - name: user_events
    topics: [user-events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flush: { records: $2, bytes: 64MiB, interval: $3 }
    errors: { tolerance: all }
http: { listen: "127.0.0.1:0" }
YAML
}
config a 1000000 8s
config b 3000 1s

RATE=$((COUNT / 45 > 1000 ? COUNT / 45 : 1000))
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic user-events \
  --count "$COUNT" --seed 23 --invalid-permille 50 --rate "$RATE" \
  --expect "$WORK/expect.jsonl" >"$WORK/produce.out" 2>"$WORK/produce.err" &
PRODUCER=$!
PIDS+=($PRODUCER)

ASSIGNED='"msg":"kafka: assigned'
COMMITTED='"msg":"table user_events: committed version'
run_member a "$WORK/a.yaml"; A=$MEMBER_PID
run_member b "$WORK/b.yaml"; B=$MEMBER_PID
wait_log "$WORK/a.err" "$ASSIGNED" 1 60
wait_log "$WORK/b.err" "$COMMITTED" 1 60
# a must hold rows when it stops: its worker memory gauge says so.
port=$(grep -oE '\(port [0-9]+\)' "$WORK/a.err" | head -1 | tr -dc 0-9)
held=0
for _ in $(seq 100); do
  held=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^ksink_worker_memory_bytes/ {s += $2} END {print s + 0}')
  [ "$held" -gt 0 ] && break
  sleep 0.1
done
[ "$held" -gt 0 ] || fail "a buffered nothing before the stop"
a_commits=$(count_log "$WORK/a.err" "$COMMITTED")

kill -STOP "$A"
log "a SIGSTOPped holding $held bytes of rows ($a_commits commits so far)"
n=$(count_log "$WORK/b.err" "$ASSIGNED")
wait_log "$WORK/b.err" "$ASSIGNED" $((n + 1)) 40
n=$(count_log "$WORK/b.err" "$COMMITTED")
wait_log "$WORK/b.err" "$COMMITTED" $((n + 2)) 30
log "b took a's partitions and committed them; SIGCONT a"
kill -CONT "$A"

# a drops its stale batch (lost assignment or refused commit), reads the
# log again, rejoins and commits new records.
wait_log "$WORK/a.err" '"msg":"worker [0-9]+: table user_events: rewind done' 1 30
wait_log "$WORK/a.err" "$COMMITTED" $((a_commits + 1)) 60
refused=$(count_log "$WORK/a.err" 'flushed sets dropped as zombies')
lost=$(count_log "$WORK/a.err" '"msg":"kafka: assignment of [0-9]+ partitions lost')
log "a recovered: lost assignments $lost, commits refused as zombies $refused"

wait "$PRODUCER" || fail "producer failed: $(cat "$WORK/produce.err")"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")
log "producer done: $VALID valid of $(wc -l <"$WORK/expect.jsonl") delivered"
for _ in $(seq 240); do
  [ "$(s3_table_rows "$TABLE_URL")" -ge "$VALID" ] && break
  sleep 0.5
done
log "table has $(s3_table_rows "$TABLE_URL") rows; SIGTERM a and b"
kill -TERM "$A" "$B"
await_member a "$A"
await_member b "$B"

"$KS_BUILD_DIR/test/ks_s3_tool" download "$TABLE_URL" "$WORK/table" || fail "download failed"
node "$KS_SOURCE_DIR/test/tools/verify_delta.mjs" --table "$WORK/table" \
  --expect "$WORK/expect.jsonl" --app-id zb --topic user-events
echo "zombie_s3: records=$VALID held_at_stop=$held lost=$lost refused=$refused"
log "zombie_s3: passed"
