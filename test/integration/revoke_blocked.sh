#!/usr/bin/env bash
# A revoke that storage blocks: the lake is a 1 MiB tmpfs that fills up, so
# member a cannot store the batches of partitions the group takes from it.
# 1. Its revoke (inside librdkafka's rebalance callback) ends at its
#    deadline -- max.poll.interval.ms / 2, here 5 s -- with the partitions
#    treated as lost, instead of holding the member past max.poll.interval.
# 2. During the next revoke, two SIGTERMs make it exit at once (within 2 s),
#    as "a second signal exits at once" promises in every state.
# Needs root to mount the tmpfs; otherwise reported skipped (exit 77).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LAKE=$WORK/lake
mkdir -p "$LAKE"
if ! mount -t tmpfs -o size=1m ksink-rv "$LAKE" 2>"$WORK/mount.err"; then
  echo "SKIP: cannot mount a tmpfs here: $(cat "$WORK/mount.err")"
  exit 77
fi
unmount() { umount "$LAKE" 2>/dev/null || true; cleanup; }
trap unmount EXIT

start_broker events:8
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic events --count 40000 \
  --seed 7 --invalid-permille 50 --expect "$WORK/expect.jsonl" >/dev/null 2>"$WORK/produce.err" \
  || fail "producer: $(cat "$WORK/produce.err")"

cat >"$WORK/ksink.yaml" <<YAML
app_id: rv
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: rv
  session.timeout.ms: 6000
  heartbeat.interval.ms: 500
  max.poll.interval.ms: 10000
reactor: { workers: 2 }
storage:
  url: file://$LAKE
tables:
  - name: events
    topics: [events]
    format: parquet
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    compression: none
    flush: { records: 4000, interval: 1s }
    errors: { tolerance: all }
http: { listen: "127.0.0.1:0" }
YAML

run_member a; A=$MEMBER_PID
wait_log "$WORK/a.err" '"msg":"kafka: assigned' 1 60
wait_log "$WORK/a.err" 'No space left|out of space|ENOSPC' 1 60
log "a cannot store anything; b joins"
assigned=$(count_log "$WORK/a.err" '"msg":"kafka: assigned')
run_member b; B=$MEMBER_PID
t0=$SECONDS
wait_log "$WORK/a.err" 'revoke: [0-9]+ partitions; waiting up to 5000 ms' 1 60
wait_log "$WORK/a.err" 'did not commit the revoked partitions.*treating the partitions as lost' 1 30
log "a's revoke ended at its deadline after $((SECONDS - t0)) s"
kill -0 "$A" 2>/dev/null || fail "a exited: $(tail -5 "$WORK/a.err")"

# on a timeout, what each member's group membership did (for the reader)
group_lines() {
  local m
  for m in a b c; do
    echo "--- $m:"
    grep -E '"msg":"(kafka|revoke|ksink 0)' "$WORK/$m.err" 2>/dev/null | tail -8 | cut -c1-220
  done
}
# the last group event a member logged: assigned, revoke (waiting) or revoked
group_state() {
  grep -oE '"msg":"(kafka: assigned|kafka: revoked|revoke: [0-9]+ partitions; waiting)' \
    "$WORK/$1.err" 2>/dev/null | tail -1
}
# the next rebalance, once the group settled with a and b: c joins, a
# revokes again and is stopped twice. Settled means both members hold an
# assignment: with a's revoke blocked for 5 s, b's first join can miss its
# generation and rejoin, a rebalance c's join would merge into (c would then
# start no revoke of its own).
wait_log "$WORK/a.err" '"msg":"kafka: assigned' $((assigned + 1)) 60
deadline=$((SECONDS + 60))
until [ "$(group_state a)" = '"msg":"kafka: assigned' ] &&
  [ "$(group_state b)" = '"msg":"kafka: assigned' ]; do
  [ "$SECONDS" -lt "$deadline" ] ||
    fail "the group of a and b did not settle within 60 s: $(group_lines)"
  sleep 0.2
done
sleep 1
n=$(count_log "$WORK/a.err" 'revoke: [0-9]+ partitions; waiting')
run_member c; C=$MEMBER_PID
deadline=$((SECONDS + 60))
while [ "$(count_log "$WORK/a.err" 'revoke: [0-9]+ partitions; waiting')" -le "$n" ]; do
  [ "$SECONDS" -lt "$deadline" ] ||
    fail "a did not revoke within 60 s of c starting: $(group_lines)"
  sleep 0.2
done
kill -TERM "$A"
sleep 0.3
start=$(date +%s%N)
kill -TERM "$A"
rc=0
for _ in $(seq 40); do kill -0 "$A" 2>/dev/null || break; sleep 0.05; done
wait "$A" || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
log "a exited $rc ${ms} ms after the second SIGTERM"
[ "$ms" -le 2000 ] || fail "a took $ms ms to exit after the second signal"
[ "$rc" = 1 ] || fail "a exited $rc, not 1 (no flush after a second signal)"
grep -q 'second signal: exiting without flushing' "$WORK/a.err" || fail "a did not say why it exited"
kill -KILL "$B" "$C" 2>/dev/null || true
log "revoke_blocked: passed"
