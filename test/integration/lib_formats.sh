# Shared body of the formats_* tests (sourced): FORMAT, CODEC and LAYOUT set
# by the caller; SECOND_MEMBER=1 adds a second group member after the
# crashes, whose joining revokes partitions from the first (their open
# batches are dropped and read again by the new owner) and whose SIGTERM
# hands them back. 8 partitions of keyed demo records (5% invalid) are sunk
# as `format: $FORMAT` files cut only by flush.records; ksink is SIGKILLed
# twice mid-stream and restarted, then SIGTERMed. Every file must parse and
# hold every valid record exactly once (test/tools/verify_files.mjs).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# KS_IT_COUNT (the sanitizer pass sets one) lowers it, never raises it
COUNT=${KS_IT_COUNT:-40000}
[ "$COUNT" -le 40000 ] || COUNT=40000
# three quarters while ksink is killed twice, the rest (seed 12, other
# values) after the restart, with the second member when there is one
FIRST=$((COUNT * 3 / 4))
RATE=$((FIRST / 16 + 1))
start_broker events:8

cat >"$WORK/ksink.yaml" <<YAML
app_id: it
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-it
  session.timeout.ms: 6000
  heartbeat.interval.ms: 500
reactor: { workers: 2 }
storage:
  url: file://$WORK/lake
tables:
  - name: events
    topics: [events]
    format: $FORMAT
    compression: $CODEC
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
$LAYOUT
    flush: { records: 300, bytes: 1GiB, interval: 1h }
    errors: { tolerance: all }
http: { listen: "127.0.0.1:0" }
YAML

"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic events \
  --count "$FIRST" --seed 11 --invalid-permille 50 --rate "$RATE" \
  --expect "$WORK/expect1.jsonl" >"$WORK/produce.out" 2>"$WORK/produce.err" &
PRODUCER=$!
PIDS+=($PRODUCER)

DIR=$WORK/lake/events
# crash rounds poll the number of files (cheap); the checks count records
data_files() { { find "$DIR" -type f ! -name '.*' 2>/dev/null || true; } | wc -l; }
file_rows() { node "$KS_SOURCE_DIR/test/tools/verify_files.mjs" --dir "$DIR" --count; }
# records the newest ksink run consumed (its /metrics; port 0 is logged)
consumed() {
  local port
  port=$(grep -o '(port [0-9]*)' "$WORK/ksink.err" | tail -1 | tr -dc 0-9)
  curl -sf "http://127.0.0.1:$port/metrics" | awk '/^ksink_records_consumed_total/ {s += $2; n++} END {if (n) print s}' || true
}
crash_rounds 2 data_files 0.2
wait "$PRODUCER" || fail "producer failed: $(cat "$WORK/produce.err")"
run_ksink
if [ "${SECOND_MEMBER:-0}" = 1 ]; then
  run_member m2
  M2=$MEMBER_PID
  wait_log "$WORK/m2.err" 'assigned [0-9]+ partitions' 1 60
fi
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic events \
  --count $((COUNT - FIRST)) --seed 12 --invalid-permille 50 --rate "$RATE" \
  --expect "$WORK/expect2.jsonl" >>"$WORK/produce.out" 2>>"$WORK/produce.err" ||
  fail "producer failed: $(cat "$WORK/produce.err")"
cat "$WORK/expect1.jsonl" "$WORK/expect2.jsonl" >"$WORK/expect.jsonl"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")
log "producer done: $VALID valid of $(wc -l <"$WORK/expect.jsonl") delivered"
if [ "${SECOND_MEMBER:-0}" = 1 ]; then
  log "SIGTERM to the second member"
  assigned=$(count_log "$WORK/ksink.err" 'assigned [0-9]+ partitions')
  stop_member m2 "$M2"
  wait_log "$WORK/ksink.err" 'assigned [0-9]+ partitions' $((assigned + 1)) 60
fi
# The last records of each partition wait for flush.records or the
# shutdown flush: wait until this run consumed everything there is (its
# consumed counter stops moving).
wait_log "$WORK/ksink.err" 'http: serving' 3 60
prev=-1 stable=0
for _ in $(seq 120); do
  cur=$(consumed)
  if [ -n "$cur" ] && [ "$cur" != 0 ] && [ "$cur" = "$prev" ]; then
    stable=$((stable + 1))
    [ "$stable" -ge 4 ] && break
  else
    stable=0
  fi
  prev=$cur
  sleep 1
done
log "files hold $(file_rows) records; SIGTERM"
stop_member ksink "$KSINK_PID"
log "files written again after a restart (already there): $(count_log "$WORK/ksink.err" 'already exists')"
[ -z "$(find "$DIR" -name '.*ksink-upload*')" ] || log "temp files left: $(find "$DIR" -name '.*ksink-upload*' | wc -l)"
node "$KS_SOURCE_DIR/test/tools/verify_files.mjs" --dir "$DIR" \
  --expect "$WORK/expect.jsonl" --topic events

# REPLAY=1: a consumer group with no committed offsets reads the whole
# topic again. Every batch is cut where the first runs cut it (record
# counts; the one shutdown flush ended each partition at its end, where
# this run ends it too), so every file is refused as already there and
# nothing new appears.
if [ "${REPLAY:-0}" = 1 ]; then
  files_before=$(data_files)
  sed -i 's/group.id: ksink-it$/group.id: ksink-it-replay/' "$WORK/ksink.yaml"
  : >"$WORK/ksink.err"
  run_ksink
  wait_log "$WORK/ksink.err" 'http: serving' 1 60
  total=$(wc -l <"$WORK/expect.jsonl")
  for _ in $(seq 300); do
    cur=$(consumed)
    [ "${cur:-0}" -ge "$total" ] && break
    sleep 0.5
  done
  [ "${cur:-0}" -ge "$total" ] || fail "replay consumed ${cur:-0} of $total records"
  stop_member ksink "$KSINK_PID"
  existed=$(count_log "$WORK/ksink.err" 'already exists')
  log "replay: $existed of $files_before files already there, $(data_files) files now"
  [ "$(data_files)" = "$files_before" ] || fail "the replay wrote new files"
  [ "$existed" = "$files_before" ] || fail "the replay met $existed existing files of $files_before"
  node "$KS_SOURCE_DIR/test/tools/verify_files.mjs" --dir "$DIR" \
    --expect "$WORK/expect.jsonl" --topic events
fi
