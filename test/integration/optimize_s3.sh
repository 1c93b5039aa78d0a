#!/usr/bin/env bash
# `ksink optimize` on Ceph RGW while a writer keeps committing:
# - a `ksink run` with a small flush.records writes 200+ small files into a
#   table on RGW;
# - while a second producer keeps records coming and the same process
#   keeps committing, `ksink optimize --target-size 1MiB` packs them into a
#   few large files; the writer commits between the optimize's plan and its
#   commit (the optimize loses the race for its first version and retries);
# - the row multiset DuckDB reads from the snapshot's active files is the
#   same just before and at the optimize's version, and at the end every
#   valid record is in the table exactly once with its values and the
#   merged stats right (verify_delta);
# - `ksink vacuum --retain 0h` with a forced clock keeps the optimized-away
#   files while their tombstones are younger than the retention and
#   deletes exactly them once it has passed; the table reads the same.
# Needs the ctest "rgw" fixture (KS_S3_ENDPOINT).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -n "${KS_S3_ENDPOINT:-}" ] || { echo "SKIP: no KS_S3_ENDPOINT (rgw fixture)"; exit 77; }
URL=s3://${KS_S3_BUCKET:-ksink-test}/opt-$$-$RANDOM
TABLE_URL=$URL/user_events
CONF=$WORK/ksink.yaml
start_broker user-events:16

cat >"$CONF" <<YAML
app_id: opt
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-opt
reactor: { workers: 2 }
storage:
  url: $URL
  s3:
    endpoint: $KS_S3_ENDPOINT
    region: us-east-1
    part_size: 5MiB
tables:
  - name: user_events
    topics: [user-events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    compression: zstd
    flush: { records: 150, bytes: 64MiB, interval: 1s }
    errors: { tolerance: all }
http: { listen: "127.0.0.1:0" }
YAML

# inspect --json field of the table on RGW
inspect() {
  "$KSINK" inspect "$TABLE_URL" --json -c "$CONF" 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s)[process.argv[1]])}catch{console.log(0)}})' "$1"
}
hash_at() { node "$KS_SOURCE_DIR/test/tools/table_hash.mjs" "$WORK/table" "$@"; }

"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic user-events \
  --count 40000 --seed 21 --invalid-permille 50 --expect "$WORK/expect1.jsonl" \
  >"$WORK/produce1.out" 2>"$WORK/produce1.err" || fail "producer 1: $(cat "$WORK/produce1.err")"
VALID1=$(grep -c '"valid":true' "$WORK/expect1.jsonl")
run_member w; W=$MEMBER_PID
deadline=$((SECONDS + 90))
until [ "$(s3_table_rows "$TABLE_URL")" -ge "$VALID1" ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the first $VALID1 rows not committed in 90 s: $(tail -3 "$WORK/w.err")"
  sleep 1
done
FILES_BEFORE=$(inspect files)
[ "$FILES_BEFORE" -ge 200 ] || fail "only $FILES_BEFORE files before optimize"
log "$VALID1 rows in $FILES_BEFORE files; producing more while optimizing"

"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic user-events \
  --count 24000 --seed 22 --invalid-permille 50 --rate 1500 --expect "$WORK/expect2.jsonl" \
  >"$WORK/produce2.out" 2>"$WORK/produce2.err" &
PRODUCER=$!
PIDS+=($PRODUCER)
COMMITTED='"msg":"table user_events: committed version'
n=$(count_log "$WORK/w.err" "$COMMITTED")
wait_log "$WORK/w.err" "$COMMITTED" $((n + 2)) 60 # the writer is committing the new records

"$KSINK" optimize "$TABLE_URL" --target-size 1MiB -c "$CONF" >"$WORK/optimize.out" 2>"$WORK/optimize.err" ||
  fail "optimize exited $?: $(cat "$WORK/optimize.err")"
cat "$WORK/optimize.out"
kill -0 "$PRODUCER" 2>/dev/null || fail "the producer finished before the optimize did: no concurrent writer"
summary=$(grep '^optimize: version ' "$WORK/optimize.out") || fail "no summary: $(cat "$WORK/optimize.out")"
V=$(sed -E 's/^optimize: version ([0-9]+): .*/\1/' <<<"$summary")
PLANNED=$(sed -E 's/.*planned at version ([0-9]+),.*/\1/' <<<"$summary")
REMOVED=$(sed -E 's/.*removed ([0-9]+) files.*/\1/' <<<"$summary")
ADDED=$(sed -E 's/.*added ([0-9]+) files.*/\1/' <<<"$summary")
BINS=$(grep -c '^optimized [0-9]* files (' "$WORK/optimize.out")
[ "$REMOVED" -ge 200 ] || fail "removed only $REMOVED files"
[ "$ADDED" = "$BINS" ] && [ "$ADDED" -ge 2 ] && [ "$ADDED" -le 10 ] || fail "added $ADDED files in $BINS bins"
[ "$V" -gt $((PLANNED + 1)) ] || fail "no writer commit between the plan (v$PLANNED) and the optimize (v$V)"
log "optimize: v$V (planned at v$PLANNED): $REMOVED files -> $ADDED"

wait "$PRODUCER" || fail "producer 2: $(cat "$WORK/produce2.err")"
VALID=$((VALID1 + $(grep -c '"valid":true' "$WORK/expect2.jsonl")))
deadline=$((SECONDS + 90))
until [ "$(s3_table_rows "$TABLE_URL")" -ge "$VALID" ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "$VALID rows not committed in 90 s"
  sleep 1
done
stop_member w "$W"

"$KS_BUILD_DIR/test/ks_s3_tool" download "$TABLE_URL" "$WORK/table" || fail "download failed"
E=$WORK/table/_delta_log/$(printf %020d "$V").json
grep -q '"operation":"OPTIMIZE"' "$E" || fail "v$V is not the optimize's commit"
[ "$(grep -c '"remove"' "$E")" = "$REMOVED" ] || fail "v$V: not $REMOVED removes"
! grep -q '"dataChange":true' "$E" || fail "v$V: an action with dataChange true"
before=$(hash_at --version $((V - 1)) | sed 's/^version=[0-9]* files=[0-9]* //')
at=$(hash_at --version "$V" | sed 's/^version=[0-9]* files=[0-9]* //')
[ "$before" = "$at" ] || fail "rows differ across the optimize: v$((V - 1)) $before, v$V $at"
log "rows before and at the optimize: $at"
node "$KS_SOURCE_DIR/test/tools/verify_delta.mjs" --table "$WORK/table" --quiet \
  --expect "$WORK/expect1.jsonl" --expect "$WORK/expect2.jsonl" --app-id opt --topic user-events ||
  fail "verify_delta after optimize"
final=$(hash_at)

# vacuum: the tombstones are as old as the optimize's commit
T=$(grep -o '"deletionTimestamp":[0-9]*' "$E" | sed -n '1s/.*://p')
"$KSINK" vacuum "$TABLE_URL" --retain 0h --now-ms $((T - 1)) -c "$CONF" >"$WORK/vacuum1.out" 2>/dev/null ||
  fail "vacuum 1 exited $?"
grep -q '^vacuum: deleted 0 files' "$WORK/vacuum1.out" || fail "vacuum before the retention passed: $(cat "$WORK/vacuum1.out")"
"$KSINK" vacuum "$TABLE_URL" --retain 1h -c "$CONF" >"$WORK/vacuum2.out" 2>/dev/null || fail "vacuum 2 exited $?"
grep -q '^vacuum: deleted 0 files' "$WORK/vacuum2.out" || fail "vacuum --retain 1h: $(cat "$WORK/vacuum2.out")"
"$KSINK" vacuum "$TABLE_URL" --retain 0h --now-ms $((T + 1000)) -c "$CONF" >"$WORK/vacuum3.out" 2>/dev/null ||
  fail "vacuum 3 exited $?"
grep -q "^vacuum: deleted $REMOVED files" "$WORK/vacuum3.out" || fail "vacuum after the retention: $(tail -1 "$WORK/vacuum3.out")"
grep -o '"remove":{"path":"[^"]*"' "$E" | sed 's/.*"path":"//; s/"$//' | sort >"$WORK/removed"
sed -n 's/^deleted //p' "$WORK/vacuum3.out" | sort >"$WORK/deleted"
diff -u "$WORK/removed" "$WORK/deleted" >/dev/null || fail "vacuum deleted other files than the optimize removed"
rm -rf "$WORK/table"
"$KS_BUILD_DIR/test/ks_s3_tool" download "$TABLE_URL" "$WORK/table" || fail "download 2 failed"
[ "$(hash_at)" = "$final" ] || fail "the table reads differently after vacuum"
node "$KS_SOURCE_DIR/test/tools/verify_delta.mjs" --table "$WORK/table" --quiet \
  --expect "$WORK/expect1.jsonl" --expect "$WORK/expect2.jsonl" --app-id opt --topic user-events ||
  fail "verify_delta after vacuum"
echo "optimize_s3: files before=$FILES_BEFORE removed=$REMOVED added=$ADDED version=$V planned=$PLANNED; $summary"
log "optimize_s3: passed"
