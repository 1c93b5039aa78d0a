#!/usr/bin/env bash
# Offset commits that fail, then a handover, for the formats without a log.
# Two `ksink run` members share a group writing a parquet table and a jsonl
# table (local directory) with record and time cuts; a third member
# (ks_group_churn) joins and leaves the group every few seconds while
# records flow, so offset commits keep meeting a group in flux and are
# refused (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, a lost assignment).
# Then member a is SIGKILLed: b takes its partitions and starts from
# offsets that lag what a stored, so it meets a's recorded cuts and files.
# Every valid record must be in exactly one file, every file in one
# recorded cut; the test fails if no commit was refused at all.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COUNT=${KS_IT_COUNT:-40000}
[ "$COUNT" -le 40000 ] || COUNT=40000
start_broker pq:4 jl:4

cat >"$WORK/ksink.yaml" <<YAML
app_id: cf
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-cf
  session.timeout.ms: 3000
  heartbeat.interval.ms: 300
reactor: { workers: 2 }
storage:
  url: file://$WORK/lake
tables:
  - name: pq
    topics: [pq]
    format: parquet
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flush: { records: 300, bytes: 1GiB, interval: 2s }
    errors: { tolerance: all }
  - name: jl
    topics: [jl]
    format: jsonl
    compression: zstd
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flush: { records: 300, bytes: 1GiB, interval: 2s }
    errors: { tolerance: all }
http: { listen: "127.0.0.1:0" }
YAML

# about 35 s of traffic
RATE=$((COUNT / 2 / 35 > 100 ? COUNT / 2 / 35 : 100))
for t in pq jl; do
  seed=41
  [ "$t" = jl ] && seed=42
  "$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic "$t" \
    --count $((COUNT / 2)) --seed "$seed" --invalid-permille 50 --rate "$RATE" \
    --expect "$WORK/expect_$t.jsonl" >"$WORK/produce_$t.out" 2>"$WORK/produce_$t.err" &
  PIDS+=($!)
  eval "PROD_$t=\$!"
done

ASSIGNED='"msg":"kafka: assigned'
run_member a; A=$MEMBER_PID
run_member b; B=$MEMBER_PID
wait_log "$WORK/a.err" "$ASSIGNED" 1 60
wait_log "$WORK/b.err" "$ASSIGNED" 1 60
log "a and b assigned; the churning member joins and leaves for 21 s"
"$KS_BUILD_DIR/test/ks_group_churn" --bootstrap "$BOOTSTRAP" --group ksink-cf \
  --topic pq --topic jl --stay-ms 1500 --away-ms 1000 --session-ms 3000 \
  >"$WORK/churn.out" 2>"$WORK/churn.err" &
CHURN=$!
PIDS+=($CHURN)
sleep 15
# the handover while commits still fail: a dies with its cuts, files and
# refused offsets; b takes its partitions while the group still churns
kill -9 "$A"
wait "$A" 2>/dev/null || true
log "a SIGKILLed after 15 s of churn"
sleep 6
kill -TERM "$CHURN"
wait "$CHURN" || fail "churning member failed: $(cat "$WORK/churn.err")"
log "churning member: $(cat "$WORK/churn.out")"
# b's last group event must be an assignment of all 8 partitions: counting
# its assignments after the churning member left would race with the
# rebalance that leaving starts at once
last_event() {
  grep -oE '"msg":"kafka: (assigned [0-9]+|revoked)' "$WORK/b.err" | tail -1
}
deadline=$((SECONDS + 40))
until [ "$(last_event)" = '"msg":"kafka: assigned 8' ]; do
  [ "$SECONDS" -lt "$deadline" ] ||
    fail "b does not hold all 8 partitions 40 s after the churning member left: $(last_event)"
  sleep 0.2
done
log "b holds every partition"

wait "$PROD_pq" || fail "producer failed: $(cat "$WORK/produce_pq.err")"
wait "$PROD_jl" || fail "producer failed: $(cat "$WORK/produce_jl.err")"
log "producers done; b runs on for 8 s"
sleep 8
stop_member b "$B"

r=$(cat "$WORK/a.err" "$WORK/b.err" | grep -cE 'offset commit (refused|of [0-9]+ failed)|kafka: offset commit:' || true)
[ "$r" -gt 0 ] || fail "no offset commit was refused: the test did not test anything"
kept=$(grep -cE 'already exists \(the same cut|was recorded before' "$WORK/b.err" || true)
adopted=$(grep -c 'adopting it' "$WORK/b.err" || true)
beyond=$(grep -cE 'recorded cuts hold its records up to|misses files: reading it again' "$WORK/b.err" || true)
if grep -q 'replacing it' "$WORK/a.err" "$WORK/b.err"; then
  fail "a file was replaced"
fi
for t in pq jl; do
  node "$KS_SOURCE_DIR/test/tools/verify_files.mjs" --dir "$WORK/lake/$t" \
    --expect "$WORK/expect_$t.jsonl" --topic "$t" --cuts || fail "table $t"
done
echo "commit_failures: records=$COUNT commit_failures=$r b_started_past_commits=$beyond b_kept=$kept b_adopted=$adopted"
log "commit_failures: passed"
