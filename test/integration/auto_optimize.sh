#!/usr/bin/env bash
# Automatic optimize in `ksink run` (tables[].optimize): while records
# arrive and small files are committed, the committer bin-packs them in the
# background. Checks: at least one OPTIMIZE commit lands between data
# commits; at each, DuckDB reads the same row multiset as at the version
# before it; at the end every valid record is in the table exactly once
# (verify_delta, merged stats included), each OPTIMIZE rewrote at least
# min_files files into fewer, and the process stops cleanly on SIGTERM.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TABLE=$WORK/lake/user_events
start_broker user-events:16
cat >"$WORK/ksink.yaml" <<YAML
app_id: auto
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-auto
reactor: { workers: 2 }
storage:
  url: file://$WORK/lake
tables:
  - name: user_events
    topics: [user-events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    compression: zstd
    flush: { records: 150, bytes: 64MiB, interval: 1s }
    optimize: { enabled: true, target_size: 1MiB, min_files: 10 }
    errors: { tolerance: all }
http: { listen: "127.0.0.1:0" }
YAML

"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic user-events \
  --count 36000 --seed 31 --invalid-permille 50 --rate 2000 --expect "$WORK/expect.jsonl" \
  >"$WORK/produce.out" 2>"$WORK/produce.err" &
PRODUCER=$!
PIDS+=($PRODUCER)
run_member w; W=$MEMBER_PID
wait_log "$WORK/w.err" '"msg":"table user_events: optimized version' 1 90
kill -0 "$PRODUCER" 2>/dev/null || fail "the producer was done before the first optimize"
log "optimized while records arrive: $(grep -m1 'optimized version' "$WORK/w.err")"
wait "$PRODUCER" || fail "producer: $(cat "$WORK/produce.err")"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")
deadline=$((SECONDS + 90))
until [ "$(table_rows "$TABLE")" -ge "$VALID" ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "$VALID rows not committed in 90 s"
  sleep 0.5
done
stop_member w "$W"

node "$KS_SOURCE_DIR/test/tools/verify_delta.mjs" --table "$TABLE" --quiet \
  --expect "$WORK/expect.jsonl" --app-id auto --topic user-events || fail "verify_delta"
opt=$(grep -l '"operation":"OPTIMIZE"' "$TABLE"/_delta_log/*.json | sort)
[ -n "$opt" ] || fail "no OPTIMIZE commit in the log"
for e in $opt; do
  v=$((10#$(basename "$e" .json)))
  a=$(node "$KS_SOURCE_DIR/test/tools/table_hash.mjs" "$TABLE" --version $((v - 1)) | sed 's/^version=[0-9]* files=[0-9]* //')
  b=$(node "$KS_SOURCE_DIR/test/tools/table_hash.mjs" "$TABLE" --version "$v" | sed 's/^version=[0-9]* files=[0-9]* //')
  [ "$a" = "$b" ] || fail "v$v (OPTIMIZE) changed the rows: $a -> $b"
  removes=$(grep -c '"remove"' "$e")
  news=$(grep -c '"add"' "$e")
  [ "$removes" -ge 10 ] && [ "$news" -lt "$removes" ] || fail "v$v: $removes files -> $news"
  log "v$v (OPTIMIZE): $removes files -> $news, rows unchanged"
done
adds=$(cat "$TABLE"/_delta_log/*.json | grep -c '"add"')

# `ksink optimize` on the same table: a dry run writes nothing; bad usage
# exits 2 with a message, a missing table 1
v0=$(ls "$TABLE/_delta_log" | grep -c '\.json$')
"$KSINK" optimize "file://$TABLE" --target-size 64MiB --dry-run >"$WORK/dry.out" || fail "dry run exited $?"
grep -q '^optimize: dry run at version' "$WORK/dry.out" || fail "dry run: $(cat "$WORK/dry.out")"
[ "$(ls "$TABLE/_delta_log" | grep -c '\.json$')" = "$v0" ] || fail "the dry run committed"
set +e
"$KSINK" optimize "file://$TABLE" --where day=1 2>"$WORK/where.err"; rc=$?
[ $rc -eq 2 ] && grep -q 'day is not a partition column of the table (it has none)' "$WORK/where.err" ||
  fail "--where on a column that is not a partition column: exit $rc, $(cat "$WORK/where.err")"
"$KSINK" optimize "file://$TABLE" --target-size huge 2>/dev/null; [ $? -eq 2 ] || fail "bad --target-size: want exit 2"
"$KSINK" optimize "file://$TABLE" --min-files 1 2>/dev/null; [ $? -eq 2 ] || fail "--min-files 1: want exit 2"
"$KSINK" optimize 2>/dev/null; [ $? -eq 2 ] || fail "no URL: want exit 2"
"$KSINK" optimize "file://$WORK/none" 2>/dev/null; [ $? -eq 1 ] || fail "missing table: want exit 1"
set -e
echo "auto_optimize: $(echo "$opt" | wc -w) OPTIMIZE commits; $adds files written; $VALID rows"
log "auto_optimize: passed"
