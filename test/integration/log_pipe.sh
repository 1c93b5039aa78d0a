#!/usr/bin/env bash
# The log pipe's reader goes away: ksink's stderr is a FIFO whose reader
# (a log shipper) copies lines until ksink's "http: serving" line and then
# exits. Every later log line (one per reject: errors.log.enable) is written
# to a pipe with no reader. SIGPIPE must not kill the process: the records
# produced afterwards -- 5% invalid, each one logged -- are all committed
# (verify_delta, DuckDB, record by record), /readyz stays 200 and SIGTERM
# ends it with exit 0 (not 141 or a signal). The lines the reader did copy
# are whole JSON objects, none longer than PIPE_BUF.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# the broken pipe is the point, not the volume: KS_IT_COUNT (60,000 in the
# sanitizer pass) is not followed
COUNT=5000
start_broker events:2

cat >"$WORK/ksink.yaml" <<YAML
app_id: logpipe
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-logpipe
reactor: { workers: 2 }
storage:
  url: file://$WORK/lake
tables:
  - name: events
    topics: [events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flush: { records: 1000, interval: 1s }
    errors:
      tolerance: all
      log.enable: true
      log.include.messages: true
http: { listen: "127.0.0.1:0" }
log: { format: json }
YAML

mkfifo "$WORK/log.fifo"
(
  while IFS= read -r line; do
    printf '%s\n' "$line" >>"$WORK/ksink.err"
    case $line in *'"http: serving'*) break ;; esac
  done <"$WORK/log.fifo"
) &
READER=$!
PIDS+=($READER)
"$KSINK" run -c "$WORK/ksink.yaml" >"$WORK/ksink.out" 2>"$WORK/log.fifo" &
KSINK_PID=$!
PIDS+=($KSINK_PID)
PORT=$(http_port "$WORK/ksink.err")
[ -n "$PORT" ] || fail "no http line from ksink: $(cat "$WORK/ksink.err")"
for _ in $(seq 50); do kill -0 "$READER" 2>/dev/null || break; sleep 0.1; done
kill -0 "$READER" 2>/dev/null && fail "the log reader did not exit"
case $(readlink "/proc/$KSINK_PID/fd/2") in *log.fifo) ;; *) fail "ksink's stderr is $(readlink "/proc/$KSINK_PID/fd/2")" ;; esac
log "log reader gone after $(wc -l <"$WORK/ksink.err") lines; ksink's stderr is a pipe without a reader"

"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic events \
  --count "$COUNT" --seed 11 --invalid-permille 50 \
  --expect "$WORK/expect.jsonl" >"$WORK/produce.out" 2>"$WORK/produce.err" ||
  fail "producer failed: $(cat "$WORK/produce.err")"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")
INVALID=$(grep -c '"valid":false' "$WORK/expect.jsonl")
metric() {
  curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '
    { name = $1; sub(/[{].*/, "", name) }
    name == m { sum += $2; found = 1 }
    END { print found ? sum : 0 }'
}
TABLE=$WORK/lake/events
for _ in $(seq 600); do
  kill -0 "$KSINK_PID" 2>/dev/null || break
  [ "$(table_rows "$TABLE")" -ge "$VALID" ] && break
  sleep 0.1
done
rc=0
kill -0 "$KSINK_PID" 2>/dev/null || { wait "$KSINK_PID" || rc=$?; fail "ksink died writing to the reader-less pipe: exit $rc"; }
[ "$(table_rows "$TABLE")" -ge "$VALID" ] || fail "table has $(table_rows "$TABLE") of $VALID rows"
for _ in $(seq 50); do [ "$(metric ksink_records_rejected_total)" -ge "$INVALID" ] && break; sleep 0.1; done
[ "$(metric ksink_records_rejected_total)" = "$INVALID" ] ||
  fail "rejected $(metric ksink_records_rejected_total), want $INVALID"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")" = 200 ] ||
  fail "/readyz: $(curl -s "http://127.0.0.1:$PORT/readyz")"
log "$VALID valid records committed and $INVALID rejects logged into the broken pipe; ksink up"

kill -TERM "$KSINK_PID"
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 0 ] || fail "ksink exited $rc after SIGTERM with its log pipe broken"
node -e '
const fs = require("fs");
const lines = fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean);
for (const l of lines) {
  if (Buffer.byteLength(l) + 1 > 4096) throw new Error(`a log line of ${l.length} bytes`);
  JSON.parse(l);
}' "$WORK/ksink.err" || fail "the copied log lines are not whole JSON objects under PIPE_BUF"
node "$KS_SOURCE_DIR/test/tools/verify_delta.mjs" --table "$TABLE" \
  --expect "$WORK/expect.jsonl" --app-id logpipe --topic events --quiet
log "log_pipe: passed"
