#!/usr/bin/env bash
# The Delta txn appId spelling changed from "<app_id>-<topic>-<partition>"
# (ambiguous: app_id "mig" with topic "eu-events" met app_id "mig-eu" with
# topic "events") to "<app_id>/<topic>/<partition>". A table written with
# the older spelling goes on exactly where it was: its txns are read under
# the old name until the next commit writes the new one.
# 1. ksink writes a table; its log's appIds are then turned into the older
#    spelling, as an earlier version wrote them (no checkpoint yet).
# 2. More records; ksink runs again: it resumes after the old txns (no
#    record twice, none missing) and its next commit writes the new ones.
# 4. (below) The first app's app_id changes: the table holds eu-events'
#    position under "mig" only, so starting under "mig2" would silently
#    read from auto.offset.reset -- refused with exit 2 naming both.
# 3. Another app whose older appIds collide with the first's ("mig-eu" +
#    "events" against "mig" + "eu-events") writes the same table: the old
#    txns are not its (the first app's new ones spell the same old name),
#    so it reads its topic from the start, and the table holds exactly both
#    topics' records.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_broker eu-events:4 events:4
TABLE=$WORK/lake/t1
conf() { # NAME APP GROUP TOPIC PATH
  cat >"$WORK/$1.yaml" <<YAML
app_id: $2
kafka: { bootstrap.servers: $BOOTSTRAP, group.id: $3 }
reactor: { workers: 2 }
storage: { url: "file://$WORK/lake" }
tables:
  - name: $5
    topics: [$4]
    path: $5
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flush: { records: 100000, interval: 1s }
    errors: { tolerance: all }
http: { listen: "off" }
YAML
}
conf a mig g1 eu-events t1
conf b mig-eu g2 events t1

produce() { # TOPIC COUNT SEED EXPECT
  "$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic "$1" --count "$2" \
    --seed "$3" --invalid-permille 50 --expect "$4" >/dev/null 2>"$WORK/produce.err" ||
    fail "producer: $(cat "$WORK/produce.err")"
}
produce eu-events 4000 41 "$WORK/e1.jsonl"
produce events 4000 42 "$WORK/e2.jsonl"
V1=$(grep -c '"valid":true' "$WORK/e1.jsonl")

KSINK_CONF() { "$KSINK" run -c "$WORK/$1.yaml" >>"$WORK/$1.out" 2>>"$WORK/$1.err" & KSINK_PID=$!; PIDS+=($KSINK_PID); }
KSINK_CONF a
wait_rows "$TABLE" "$V1"
kill -TERM "$KSINK_PID"; wait "$KSINK_PID" || fail "a exited $?"
grep -q '"appId":"mig/eu-events/' "$TABLE"/_delta_log/*.json || fail "no txn in the new spelling"
[ -z "$(ls "$TABLE/_delta_log" | grep checkpoint)" ] || fail "a checkpoint was written (the test edits the JSON log only)"
sed -i 's#"appId":"mig/eu-events/\([0-9]*\)"#"appId":"mig-eu-events-\1"#' "$TABLE"/_delta_log/*.json
log "table t1 rewritten to the older appIds: $(grep -o '"appId":"[^"]*"' "$TABLE"/_delta_log/*.json | sort -u | cut -d: -f3 | tr '\n' ' ')"

produce eu-events 2000 43 "$WORK/e3.jsonl"
cat "$WORK/e1.jsonl" "$WORK/e3.jsonl" >"$WORK/e13.jsonl"
V13=$(grep -c '"valid":true' "$WORK/e13.jsonl")
KSINK_CONF a
wait_rows "$TABLE" "$V13"
kill -TERM "$KSINK_PID"; wait "$KSINK_PID" || fail "a exited $?"
grep -q 'assigned eu-events\[0\] from offset [1-9]' "$WORK/a.err" || fail "a did not resume after the old txn"
node "$KS_SOURCE_DIR/test/tools/verify_delta.mjs" --table "$TABLE" \
  --expect "$WORK/e13.jsonl" --app-id mig --topic eu-events || fail "table t1"
newest=$(ls "$TABLE"/_delta_log/*.json | sort | tail -1)
grep -q '"appId":"mig/eu-events/' "$newest" || fail "the next commit did not write the new spelling"

# the colliding app writes the same table
V2=$(grep -c '"valid":true' "$WORK/e2.jsonl")
KSINK_CONF b
wait_rows "$TABLE" $((V13 + V2))
kill -TERM "$KSINK_PID"; wait "$KSINK_PID" || fail "b exited $?"
grep -q 'assigned events\[0\] from offset 0 ' "$WORK/b.err" ||
  fail "b took the other app's old txn: $(grep 'assigned events\[0\]' "$WORK/b.err")"
rows=$(table_rows "$TABLE")
log "table t1: $rows rows, $V13 + $V2 expected"
[ "$rows" = $((V13 + V2)) ] || fail "table t1 holds $rows rows, not $((V13 + V2))"
grep -qh '"appId":"mig-eu/events/' "$TABLE"/_delta_log/*.json || fail "b wrote no txn"
conf c mig2 g3 eu-events t1
rc=0
"$KSINK" run -c "$WORK/c.yaml" >"$WORK/c.out" 2>"$WORK/c.err" || rc=$?
[ "$rc" = 2 ] || fail "a changed app_id started (exit $rc): $(tail -3 "$WORK/c.err")"
grep -qE 'under app_id \\?"mig\\?", none under \\?"mig2\\?": set app_id: mig' "$WORK/c.err" ||
  fail "the refusal does not name both app_ids: $(tail -3 "$WORK/c.err")"
sed -i 's/group.id: g3 }/group.id: g3, auto.offset.reset: latest }/' "$WORK/c.yaml"
"$KSINK" run -c "$WORK/c.yaml" >"$WORK/c.out" 2>"$WORK/c.err" &
KSINK_PID=$!; PIDS+=($KSINK_PID)
wait_log "$WORK/c.err" 'txns of topic eu-events are under app_id' 1 30
wait_log "$WORK/c.err" '"msg":"kafka: assigned' 1 30
kill -TERM "$KSINK_PID"; wait "$KSINK_PID" || fail "c exited $?"
log "appid_migration: passed"
