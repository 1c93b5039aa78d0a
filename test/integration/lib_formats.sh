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
data_files() { { find "$DIR" -type f ! -name '.*' ! -path '*/_ksink/*' 2>/dev/null || true; } | wc -l; }
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
if [ "${SECOND_MEMBER:-0}" = 1 ]; then
  # POST .../restart rewinds every writer: each partition continues after
  # the newest cut it recorded, so only the records of its open batch (less
  # than flush.records each) are read again, not its whole assignment
  port=$(grep -o '(port [0-9]*)' "$WORK/ksink.err" | tail -1 | tr -dc 0-9)
  before=$(consumed)
  rewinds=$(count_log "$WORK/ksink.err" 'rewind done')
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/connectors/it/restart")
  [ "$code" = 204 ] || fail "restart answered $code"
  wait_log "$WORK/ksink.err" 'rewind done' $((rewinds + 2)) 60
  prev=-1
  for _ in $(seq 60); do
    cur=$(consumed)
    [ "$cur" = "$prev" ] && break
    prev=$cur
    sleep 1
  done
  again=$((cur - before))
  log "restart: $again records read again (8 partitions, flush.records 300)"
  [ "$again" -lt 2400 ] || fail "the restart read $again records again"
fi
log "files hold $(file_rows) records; SIGTERM"
stop_member ksink "$KSINK_PID"
log "files written again after a restart (already there): $(count_log "$WORK/ksink.err" 'already exists')"
[ -z "$(find "$DIR" -name '.*ksink-upload*')" ] || log "temp files left: $(find "$DIR" -name '.*ksink-upload*' | wc -l)"
node "$KS_SOURCE_DIR/test/tools/verify_files.mjs" --dir "$DIR" \
  --expect "$WORK/expect.jsonl" --topic events --cuts

if [ "${CUT_RETENTION:-0}" = 1 ]; then
  cuts=$(find "$DIR/_ksink" -type f | wc -l)
  parts=$(ls "$DIR/_ksink" | wc -l)
  log "cut_retention: $cuts recorded cuts left for $(data_files) files in $parts partitions"
  [ "$cuts" -lt "$(data_files)" ] || fail "no recorded cut was removed"
  [ "$parts" = 8 ] || fail "a partition lost its recorded cuts"
  for pd in "$DIR"/_ksink/*/; do
    [ -n "$(ls "$pd")" ] || fail "$pd has no cut left"
  done
fi

# REPLAY=1: the recorded cuts, not the group's offsets, say where each
# partition resumes (stages/table/cuts.h).
# 0. The group's offsets rewound to 0 (below).
# 1. A consumer group with no committed offsets (a changed group.id) starts
#    after the recorded cuts: nothing is read again, no file appears.
# 2. The files of each partition's newest cut are deleted, as if the
#    writer had died between recording the cut and storing its files: the
#    next start reads exactly that cut again (stopped once by SIGTERM
#    while it does), and the same files come back under the same names.
if [ "${REPLAY:-0}" = 1 ]; then
  files_before=$(data_files)
  # 0. the group's committed offsets rewound to 0 by another client (as
  #    `kafka-consumer-groups --reset-offsets --to-earliest`): a start,
  #    a SIGTERM a second after its assignment, and a start to idle read
  #    nothing again and write no file
  "$KS_BUILD_DIR/test/ks_set_offsets" --bootstrap "$BOOTSTRAP" --group ksink-it \
    --topic events --partitions 8 --offset 0 >"$WORK/setoff.out" 2>&1 ||
    fail "rewinding the group's offsets failed: $(cat "$WORK/setoff.out")"
  : >"$WORK/ksink.err"
  run_ksink
  wait_log "$WORK/ksink.err" 'assigned [0-9]+ partitions' 1 60
  sleep 1
  stop_member ksink "$KSINK_PID"
  run_ksink
  wait_log "$WORK/ksink.err" 'assigned [0-9]+ partitions' 2 60
  sleep 3
  cur=$(consumed)
  stop_member ksink "$KSINK_PID"
  past=$(count_log "$WORK/ksink.err" 'recorded cuts hold its records up to')
  log "replay with offsets rewound to 0: consumed ${cur:-?}, $past partition starts past the commits, $(data_files) files of $files_before"
  [ "${cur:-0}" = 0 ] || fail "offsets rewound to 0: $cur records read again"
  [ "$past" -ge 8 ] || fail "offsets rewound to 0: only $past partitions started after their cuts"
  [ "$(data_files)" = "$files_before" ] || fail "offsets rewound to 0: new files"
  sed -i 's/group.id: ksink-it$/group.id: ksink-it-replay/' "$WORK/ksink.yaml"
  : >"$WORK/ksink.err"
  run_ksink
  wait_log "$WORK/ksink.err" 'assigned [0-9]+ partitions' 1 60
  sleep 3
  cur=$(consumed)
  stop_member ksink "$KSINK_PID"
  log "replay with a new group: consumed ${cur:-?}, $(data_files) files of $files_before"
  [ "${cur:-0}" = 0 ] || fail "a new group read $cur records again"
  [ "$(data_files)" = "$files_before" ] || fail "a new group wrote new files"
  node "$KS_SOURCE_DIR/test/tools/verify_files.mjs" --dir "$DIR" \
    --expect "$WORK/expect.jsonl" --topic events --cuts

  # the newest cut of every partition loses its files
  lost=0 reread=0
  : >"$WORK/lost.txt"
  for pd in "$DIR"/_ksink/*/; do
    newest=$(ls "$pd" | sort | tail -1)
    read -r first last files < <(node -e '
      const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      console.log(c.first, c.last, c.files.join(" "));' "$pd$newest")
    for f in $files; do
      rm -f "$DIR/$f" && echo "$f" >>"$WORK/lost.txt" && lost=$((lost + 1))
    done
    reread=$((reread + last - first + 1))
  done
  log "deleted the $lost files of the newest cuts ($reread offsets)"
  : >"$WORK/ksink.err"
  run_ksink
  wait_log "$WORK/ksink.err" 'assigned [0-9]+ partitions' 1 60
  stop_member ksink "$KSINK_PID"
  run_ksink
  wait_log "$WORK/ksink.err" 'assigned [0-9]+ partitions' 2 60
  for _ in $(seq 120); do
    back=0
    while read -r f; do [ -f "$DIR/$f" ] && back=$((back + 1)); done <"$WORK/lost.txt"
    [ "$back" = "$lost" ] && break
    sleep 0.5
  done
  stop_member ksink "$KSINK_PID"
  log "$back of $lost files written again; $(data_files) files of $files_before"
  [ "$back" = "$lost" ] || fail "only $back of $lost lost files were written again"
  [ "$(data_files)" = "$files_before" ] || fail "reading the cuts again made other files"
  grep -q 'misses files: reading it again' "$WORK/ksink.err" ||
    fail "no cut was read again: $(tail -5 "$WORK/ksink.err")"
  node "$KS_SOURCE_DIR/test/tools/verify_files.mjs" --dir "$DIR" \
    --expect "$WORK/expect.jsonl" --topic events --cuts
fi
