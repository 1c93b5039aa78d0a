# Shared body of the formats_* tests (sourced): FORMAT, CODEC and LAYOUT set
# by the caller. 8 partitions of keyed demo records (5% invalid) are sunk
# as `format: $FORMAT` files cut only by flush.records; ksink is SIGKILLed
# twice mid-stream and restarted, then SIGTERMed. Every file must parse and
# hold every valid record exactly once (test/tools/verify_files.mjs).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COUNT=${KS_IT_COUNT:-40000}
RATE=$((COUNT / 12 + 1))
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
    flush: { records: 700, bytes: 1GiB, interval: 1h }
    errors: { tolerance: all }
http: { listen: "127.0.0.1:0" }
YAML

"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic events \
  --count "$COUNT" --seed 11 --invalid-permille 50 --rate "$RATE" \
  --expect "$WORK/expect.jsonl" >"$WORK/produce.out" 2>"$WORK/produce.err" &
PRODUCER=$!
PIDS+=($PRODUCER)

DIR=$WORK/lake/events
file_rows() { node "$KS_SOURCE_DIR/test/tools/verify_files.mjs" --dir "$DIR" --count; }
crash_rounds 2 file_rows 0.2
run_ksink
wait "$PRODUCER" || fail "producer failed: $(cat "$WORK/produce.err")"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")
log "producer done: $VALID valid of $(wc -l <"$WORK/expect.jsonl") delivered"
# The last records of each partition wait for flush.records or the
# shutdown flush: wait until this run consumed everything there is (its
# consumed counter stops moving), or the files already hold it all.
wait_log "$WORK/ksink.err" 'http: serving' 3 60
PORT=$(grep -o '(port [0-9]*)' "$WORK/ksink.err" | tail -1 | tr -dc 0-9)
prev=-1 stable=0
for _ in $(seq 120); do
  [ "$(file_rows)" -ge "$VALID" ] && break
  cur=$(curl -sf "http://127.0.0.1:$PORT/metrics" | awk '/^ksink_records_consumed_total/ {print $2}')
  if [ -n "$cur" ] && [ "$cur" != 0 ] && [ "$cur" = "$prev" ]; then
    stable=$((stable + 1))
    [ "$stable" -ge 3 ] && break
  else
    stable=0
  fi
  prev=$cur
  sleep 1
done
log "files hold $(file_rows) records; SIGTERM"
kill -TERM "$KSINK_PID"
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 0 ] || fail "ksink exited $rc after SIGTERM: $(tail -20 "$WORK/ksink.err")"
grep -q '"level":"error"' "$WORK/ksink.err" && fail "ksink logged errors: $(grep '"level":"error"' "$WORK/ksink.err" | head -5)"
log "files written again after a restart (already there): $(count_log "$WORK/ksink.err" 'already exists')"
[ -z "$(find "$DIR" -name '.*ksink-upload*')" ] || log "temp files left: $(find "$DIR" -name '.*ksink-upload*' | wc -l)"
node "$KS_SOURCE_DIR/test/tools/verify_files.mjs" --dir "$DIR" \
  --expect "$WORK/expect.jsonl" --topic events
