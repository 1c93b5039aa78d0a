#!/usr/bin/env bash
# Storage faults pause the pipeline, they never skip data: the lake lives on
# a 1 MiB tmpfs that fills up mid-stream (every write fails with ENOSPC);
# ksink must keep retrying with backoff, and once the filesystem grows every
# valid record must land exactly once. Needs root to mount the tmpfs; where
# mounting is not permitted the test reports itself skipped (exit 77).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LAKE=$WORK/lake
mkdir -p "$LAKE"
if ! mount -t tmpfs -o size=1m ksink-it "$LAKE" 2>"$WORK/mount.err"; then
  echo "SKIP: cannot mount a tmpfs here: $(cat "$WORK/mount.err")"
  exit 77
fi
unmount() { umount "$LAKE" 2>/dev/null || true; cleanup; }
trap unmount EXIT

start_broker events:8
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic events --count 40000 \
  --seed 5 --invalid-permille 50 --expect "$WORK/expect.jsonl" >/dev/null 2>"$WORK/produce.err" \
  || fail "producer: $(cat "$WORK/produce.err")"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")

cat >"$WORK/ksink.yaml" <<YAML
app_id: full
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: full
  session.timeout.ms: 6000
reactor: { workers: 2 }
storage:
  url: file://$LAKE
tables:
  - name: events
    topics: [events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    compression: none
    flush: { records: 4000, interval: 1s }
http: { listen: "127.0.0.1:0" }
YAML
"$KSINK" run -c "$WORK/ksink.yaml" >"$WORK/ksink.out" 2>"$WORK/ksink.err" &
KSINK_PID=$!
PIDS+=($KSINK_PID)

# Wait until storage is failing and ksink is retrying.
for _ in $(seq 600); do
  grep -q "retrying in" "$WORK/ksink.err" && break
  kill -0 "$KSINK_PID" 2>/dev/null || fail "ksink exited: $(tail -5 "$WORK/ksink.err")"
  sleep 0.1
done
grep -q "retrying in" "$WORK/ksink.err" || fail "storage never filled up: $(df -h "$LAKE" | tail -1)"
log "storage full at $(table_rows "$LAKE/events") committed rows of $VALID; ksink is retrying"
# A small log entry may still fit after the data parts stop fitting, so a
# commit can land while the disk is full; what must hold is that ksink
# stays up, keeps retrying, and cannot catch up until space returns.
# Retries back off (full jitter, up to 30 s apart): the next one may take
# a while, but it comes.
retries=$(grep -c "retrying in" "$WORK/ksink.err")
sleep 3
for _ in $(seq 400); do
  [ "$(grep -c "retrying in" "$WORK/ksink.err")" -gt "$retries" ] && break
  kill -0 "$KSINK_PID" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$KSINK_PID" 2>/dev/null || fail "ksink gave up while storage was full: $(tail -5 "$WORK/ksink.err")"
[ "$(grep -c "retrying in" "$WORK/ksink.err")" -gt "$retries" ] || fail "ksink stopped retrying while storage was full"
[ "$(table_rows "$LAKE/events")" -lt "$VALID" ] || fail "every row landed on a full disk: the test did not fill it"

mount -o remount,size=256m "$LAKE" || fail "cannot grow the tmpfs"
log "storage grown; waiting for the backlog"
for _ in $(seq 600); do
  [ "$(table_rows "$LAKE/events")" -ge "$VALID" ] && break
  sleep 0.1
done
kill -TERM "$KSINK_PID"
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 0 ] || fail "ksink exited $rc: $(tail -5 "$WORK/ksink.err")"
node "$KS_SOURCE_DIR/test/tools/verify_delta.mjs" --table "$LAKE/events" \
  --expect "$WORK/expect.jsonl" --app-id full --topic events --quiet
log "storage_full: passed ($(grep -c 'retrying in' "$WORK/ksink.err") retries logged)"
