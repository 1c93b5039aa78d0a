#!/usr/bin/env bash
# Zombie writer for the formats without a log: two `ksink run` processes in
# one group write a parquet table and a jsonl table on Ceph RGW with time
# cuts only (flush.interval 2s, as by default cuts are time cuts). Every
# storage answer of process a is delayed 1.5 s by the fault proxy, so a
# always has claims and uploads in flight. a is SIGSTOPped, stays stopped
# past session.timeout.ms, the group gives its partitions to b, and b cuts
# and stores them where its own clock says. Then a gets SIGCONT: its
# batches meet b's recorded cuts (stages/table/cuts.h). Nothing of a may
# replace a file of b: every valid record must be in exactly one file, and
# every file in exactly one recorded cut. Needs the ctest "rgw" fixture.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -n "${KS_S3_ENDPOINT:-}" ] || { echo "SKIP: no KS_S3_ENDPOINT (rgw fixture)"; exit 77; }
COUNT=${KS_IT_COUNT:-60000}
[ "$COUNT" -le 60000 ] || COUNT=60000
URL=s3://${KS_S3_BUCKET:-ksink-test}/zfiles-$$-$RANDOM
start_broker pq:4 jl:4

"$KS_BUILD_DIR/test/ks_fault_proxy" --upstream "${KS_S3_ENDPOINT#http://}" \
  --port-file "$WORK/proxy.port" --stats-file "$WORK/proxy.stats" \
  --delay 100 --delay-ms 1500 2>"$WORK/proxy.err" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/proxy.port" ] && break; sleep 0.1; done
[ -s "$WORK/proxy.port" ] || fail "fault proxy did not start: $(cat "$WORK/proxy.err")"
PROXY_EP=http://127.0.0.1:$(cat "$WORK/proxy.port")

# config NAME ENDPOINT: both members share app_id and group
config() {
  cat >"$WORK/$1.yaml" <<YAML
app_id: zf
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-zf
  session.timeout.ms: 4000
  heartbeat.interval.ms: 300
reactor: { workers: 2 }
storage:
  url: $URL
  s3: { endpoint: $2, region: us-east-1, stale_upload_age: 60s }
tables:
  - name: pq
    topics: [pq]
    format: parquet
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flush: { records: 1000000, bytes: 1GiB, interval: 2s }
    errors: { tolerance: all }
  - name: jl
    topics: [jl]
    format: jsonl
    compression: gzip
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flush: { records: 1000000, bytes: 1GiB, interval: 2s }
    errors: { tolerance: all }
http: { listen: "127.0.0.1:0" }
YAML
}
config a "$PROXY_EP"
config b "$KS_S3_ENDPOINT"

RATE=$((COUNT / 2 / 40 > 100 ? COUNT / 2 / 40 : 100))
for t in pq jl; do
  seed=31
  [ "$t" = jl ] && seed=32
  "$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic "$t" \
    --count $((COUNT / 2)) --seed "$seed" --invalid-permille 50 --rate "$RATE" \
    --expect "$WORK/expect_$t.jsonl" >"$WORK/produce_$t.out" 2>"$WORK/produce_$t.err" &
  PIDS+=($!)
  eval "PROD_$t=\$!"
done

ASSIGNED='"msg":"kafka: assigned'
run_member a "$WORK/a.yaml"; A=$MEMBER_PID
run_member b "$WORK/b.yaml"; B=$MEMBER_PID
wait_log "$WORK/a.err" "$ASSIGNED" 1 60
wait_log "$WORK/b.err" "$ASSIGNED" 1 60
# let a record cuts and have uploads in flight through the slow proxy
sleep 6
kill -STOP "$A"
log "a SIGSTOPped"
n=$(count_log "$WORK/b.err" "$ASSIGNED")
wait_log "$WORK/b.err" "$ASSIGNED" $((n + 1)) 40
log "b took a's partitions; it cuts them for 6 s more"
sleep 6
kill -CONT "$A"
log "a SIGCONT"

wait "$PROD_pq" || fail "producer failed: $(cat "$WORK/produce_pq.err")"
wait "$PROD_jl" || fail "producer failed: $(cat "$WORK/produce_jl.err")"
log "producers done; both members run on for 10 s"
sleep 10
kill -TERM "$A" "$B"
await_member a "$A"
await_member b "$B"

adopted=$(count_log "$WORK/a.err" 'adopting it')
lost=$(count_log "$WORK/a.err" '"msg":"kafka: assignment of [0-9]+ partitions lost')
readagain=$(cat "$WORK/a.err" "$WORK/b.err" | grep -c 'misses files: reading it again' || true)
kept=$(cat "$WORK/a.err" "$WORK/b.err" | grep -c 'already exists (the same cut' || true)
log "a: lost assignments $lost, cuts adopted $adopted; cuts read again $readagain; files met already stored $kept"
if grep -q 'replacing it' "$WORK/a.err" "$WORK/b.err"; then
  fail "a file was replaced"
fi

for t in pq jl; do
  "$KS_BUILD_DIR/test/ks_s3_tool" download "$URL/$t" "$WORK/$t" || fail "download of $t failed"
  node "$KS_SOURCE_DIR/test/tools/verify_files.mjs" --dir "$WORK/$t" \
    --expect "$WORK/expect_$t.jsonl" --topic "$t" --cuts || fail "table $t"
done
echo "zombie_files_s3: records=$COUNT lost=$lost adopted=$adopted read_again=$readagain kept=$kept"
log "zombie_files_s3: passed"
