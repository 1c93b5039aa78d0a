#!/usr/bin/env bash
# Poison-pill catalog: one bad record in the middle of good ones, one Kafka
# partition per case, through one `ksink run` (Delta, partitioned by a
# string column, errors.tolerance all, a DLQ topic with context headers):
#   p0 a 1,000,000-byte invalid record: its dead letter is over the DLQ
#      producer's message.max.bytes, so it is sent truncated, with its
#      original size and position in __ksink.* headers
#   p1 a 300-byte partition value: rejected as partition_value
#   p2 a 150,000-item array under uniqueItems (last item = first): rejected
#      as uniqueItems in milliseconds (hash-based)
#   p3 a catastrophic pattern ^(a+)+$ against 40 a's and a '!': rejected
#      as schema/budget
#   p4 a 20 MB record: too_large before parsing, dead letter truncated
#      (produced zstd-compressed: the mock broker keeps only the newest
#      5 MiB of a partition, as sent)
#   p5 a producer timestamp of INT64_MAX ms: stored, _kafka_timestamp NULL,
#      counted
#   p6 a DLQ that refuses (topic authorization failed, injected by the
#      broker): the dead letter is counted and let go, nothing stalls
# and a DLQ topic that does not exist (the broker answers unknown topic):
# `ksink run` refuses to start, exit 1, naming the topic.
# For each case the good records after the bad one are committed within
# 60 s (read back with DuckDB, record by record, exactly once), the bad one
# is accounted for (DLQ content read back with a separate client, or the
# metric), the process stays up, and SIGTERM ends it within 6 s.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$KS_BUILD_DIR/test/ks_mock_broker" --topic poison:8 --topic poison-dlq:1 \
  --topic-error missing-dlq:3 --produce-error 29:5 --port-file "$WORK/bootstrap" \
  >"$WORK/broker.out" 2>"$WORK/broker.err" &
BROKER_PID=$!
PIDS+=($BROKER_PID)
for _ in $(seq 100); do [ -s "$WORK/bootstrap" ] && break; sleep 0.1; done
[ -s "$WORK/bootstrap" ] || fail "mock broker did not start: $(cat "$WORK/broker.err")"
BOOTSTRAP=$(head -1 "$WORK/bootstrap")
log "broker at $BOOTSTRAP"

cat >"$WORK/schema.json" <<'JSON'
{"type": "object", "required": ["n", "region"],
 "properties": {"n": {"type": "integer"}, "region": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "integer"}, "uniqueItems": true},
                "code": {"type": "string", "pattern": "^(a+)+$"},
                "pad": {"type": "string"}}}
JSON
write_conf() { # DLQ_TOPIC
  cat >"$WORK/ksink.yaml" <<YAML
app_id: poison
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-poison
  session.timeout.ms: 6000
  heartbeat.interval.ms: 500
reactor: { workers: 2 }
storage:
  url: file://$WORK/lake
tables:
  - name: events
    topics: [poison]
    schema: $WORK/schema.json
    partition_by: [region]
    flush: { records: 1000, interval: 1s }
    errors:
      tolerance: all
      deadletterqueue:
        topic.name: $1
        context.headers.enable: true
http: { listen: "127.0.0.1:0" }
YAML
}

# --- a DLQ topic that does not exist: start-up fails, exit 1, says which ---
write_conf missing-dlq
rc=0
timeout 60 "$KSINK" run -c "$WORK/ksink.yaml" >"$WORK/missing.out" 2>"$WORK/missing.err" || rc=$?
[ "$rc" = 1 ] || fail "missing DLQ topic: exit $rc, want 1: $(tail -3 "$WORK/missing.err")"
grep -q 'dead-letter topic \\"missing-dlq\\" cannot be written' "$WORK/missing.err" ||
  fail "missing DLQ topic: no message naming it: $(tail -3 "$WORK/missing.err")"
log "missing DLQ topic: exit 1, $(grep -o 'dead-letter topic[^"]*"[^"]*"[^;]*' "$WORK/missing.err" | head -1)"

# --- the records ---
good() { # P FROM TO: good records n=FROM..TO of partition P
  local n
  for n in $(seq "$2" "$3"); do
    printf '{"n":%d,"region":"r%d","tags":[%d,%d],"code":"aaa"}\n' "$n" "$1" "$n" $((n + 1))
  done
}
# values files: 20 good, the poison (line 21), 20 good
node -e '
const fs = require("fs"), w = process.argv[1];
const pad = (p, total) => { // {"n":"bad","region":"rP","pad":"xxx"} of total bytes
  const head = `{"n":"bad","region":"r${p}","pad":"`, tail = `"}`;
  return head + "x".repeat(total - head.length - tail.length) + tail;
};
fs.writeFileSync(`${w}/bad0`, pad(0, 1000000) + "\n");
fs.writeFileSync(`${w}/bad1`, JSON.stringify({n: 20, region: "R".repeat(300)}) + "\n");
const tags = Array.from({length: 150000}, (_, i) => i); tags.push(0);
fs.writeFileSync(`${w}/bad2`, JSON.stringify({n: 20, region: "r2", tags}) + "\n");
fs.writeFileSync(`${w}/bad3`, JSON.stringify({n: 20, region: "r3", code: "a".repeat(40) + "!"}) + "\n");
fs.writeFileSync(`${w}/bad4`, pad(4, 20 * 1000 * 1000) + "\n");
fs.writeFileSync(`${w}/bad5`, JSON.stringify({n: 20, region: "r5"}) + "\n");
fs.writeFileSync(`${w}/bad6`, JSON.stringify({n: "bad", region: "r6"}) + "\n");
' "$WORK"
[ "$(wc -c <"$WORK/bad0")" = 1000001 ] || fail "bad0 is not 1,000,000 bytes"
for p in 0 1 2 3 4 5 6; do
  { good $p 0 19; cat "$WORK/bad$p"; good $p 21 40; } >"$WORK/values$p"
done
produce() { # P VALUES EXPECT [ARGS...]
  local p=$1 v=$2 e=$3
  shift 3
  "$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic poison --partition "$p" \
    --values "$v" --expect "$e" -X message.max.bytes=30000000 "$@" \
    >>"$WORK/produce.out" 2>>"$WORK/produce.err" || fail "producer failed: $(tail -3 "$WORK/produce.err")"
}
for p in 0 1 2 3; do produce $p "$WORK/values$p" "$WORK/expect$p"; done
produce 5 "$WORK/values5" "$WORK/expect5" --timestamp-ms 21:9223372036854775807
# zstd: 20 MB of one letter stays far under the mock's 5 MiB per partition
produce 4 "$WORK/values4" "$WORK/expect4" -X compression.codec=zstd

write_conf poison-dlq
T0=$SECONDS
run_ksink
PORT=$(http_port "$WORK/ksink.err")
metric() { # the sum of a family's series matching a label filter (awk regex)
  curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" -v f="${2:-}" '
    { name = $1; sub(/[{].*/, "", name) }
    name == m && index($1, f) { sum += $2; found = 1 }
    END { print found ? sum : "" }'
}
partition_rows() { # P: committed rows of Kafka partition P (DuckDB)
  node -e '
const fs = require("fs"), path = require("path");
const [dir, p] = process.argv.slice(1);
let n = 0;
const log = path.join(dir, "_delta_log");
const active = new Map();
try {
  for (const f of fs.readdirSync(log).filter((x) => /^\d{20}\.json$/.test(x)).sort())
    for (const l of fs.readFileSync(path.join(log, f), "utf8").split("\n")) {
      if (!l.trim()) continue;
      const a = JSON.parse(l);
      if (a.add) active.set(a.add.path, JSON.parse(a.add.stats));
      if (a.remove) active.delete(a.remove.path);
    }
} catch { console.log(0); process.exit(0); }
for (const s of active.values())
  if (s.minValues && s.minValues._kafka_partition <= +p && s.maxValues._kafka_partition >= +p &&
      s.minValues._kafka_partition === s.maxValues._kafka_partition) n += s.numRecords;
console.log(n);' "$WORK/lake/events" "$1"
}
wait_partition() { # P N SECONDS
  local deadline=$((SECONDS + $3))
  while [ "$(partition_rows "$1")" -lt "$2" ]; do
    kill -0 "$KSINK_PID" 2>/dev/null || fail "ksink exited: $(tail -5 "$WORK/ksink.err")"
    [ "$SECONDS" -lt "$deadline" ] || fail "partition $1: $(partition_rows "$1") of $2 rows after $3 s: $(tail -5 "$WORK/ksink.err")"
    sleep 0.5
  done
}

# every case but the 20 MB one: the 40 good records committed within 60 s
for p in 0 1 2 3 4; do wait_partition $p 40 60; done
wait_partition 5 41 60
log "p0-p4: 40 good rows each, p5: 41 rows, $((SECONDS - T0)) s after start"

# the DLQ holds p0-p4's poison records, truncated when they were too large
curl -s "http://127.0.0.1:$PORT/metrics" >"$WORK/metrics1"
for _ in $(seq 300); do [ "$(metric ksink_deadletter_pending)" = 0 ] && break; sleep 0.1; done
"$KS_BUILD_DIR/test/ks_consume" --bootstrap "$BOOTSTRAP" --topic poison-dlq --count 5 \
  >"$WORK/dlq.jsonl" 2>"$WORK/consume.err" || fail "DLQ: $(cat "$WORK/consume.err")"
node -e '
const fs = require("fs");
const [w] = process.argv.slice(1);
const fails = [];
const b64 = (s) => (s === null ? null : Buffer.from(s, "base64"));
const byPart = new Map();
for (const l of fs.readFileSync(`${w}/dlq.jsonl`, "utf8").split("\n").filter(Boolean)) {
  const r = JSON.parse(l);
  const h = new Map(r.headers.map(([k, v]) => [k, v === null ? null : b64(v).toString("utf8")]));
  byPart.set(Number(h.get("__connect.errors.partition")), { r, h });
}
const expectOf = (p) => JSON.parse(fs.readFileSync(`${w}/expect${p}`, "utf8")
  .split("\n").filter(Boolean)[20]);
const want = { 0: [true, "expected integer"], 1: [false, "partition column region"],
               2: [false, "items 0 and 150000 are equal"], 3: [false, "budget"],
               4: [true, "larger than the limit"] };
for (const [ps, [truncated, reason]] of Object.entries(want)) {
  const p = Number(ps), d = byPart.get(p), e = expectOf(p);
  if (!d) { fails.push(`p${p}: no dead letter`); continue; }
  const { r, h } = d, orig = fs.readFileSync(`${w}/bad${p}`).subarray(0, -1);
  if (Number(h.get("__connect.errors.offset")) !== e.offset) fails.push(`p${p}: offset ${h.get("__connect.errors.offset")}, want ${e.offset}`);
  const msg = h.get("__connect.errors.exception.message") || "";
  if (!msg.includes(reason)) fails.push(`p${p}: exception message "${msg.slice(0, 200)}" lacks "${reason}"`);
  const v = b64(r.value);
  if (truncated) {
    if (h.get("__ksink.truncated") !== "true") fails.push(`p${p}: no __ksink.truncated header`);
    if (Number(h.get("__ksink.original.value.bytes")) !== orig.length) fails.push(`p${p}: original size ${h.get("__ksink.original.value.bytes")}, want ${orig.length}`);
    if (h.get("__ksink.original.offset") !== String(e.offset) || h.get("__ksink.original.partition") !== String(p) || h.get("__ksink.original.topic") !== "poison")
      fails.push(`p${p}: __ksink.original.* position headers wrong`);
    if (!(v.length > 900000 && v.length < orig.length && orig.subarray(0, v.length).equals(v))) fails.push(`p${p}: value of ${v.length} bytes is not a head of the ${orig.length}-byte record`);
  } else if (!v.equals(orig)) fails.push(`p${p}: value differs from the record`);
  console.log(`DLQ p${p}: ${v.length} value bytes${truncated ? ` of ${orig.length} (truncated)` : ""}; ${msg.slice(0, 120)}`);
}
if (byPart.size !== 5) fails.push(`DLQ has records of ${byPart.size} partitions, want 5`);
for (const f of fails) console.error(`FAIL: ${f}`);
process.exit(fails.length ? 1 : 0);
' "$WORK" || fail "dead letters differ"
check_metric() { # FAMILY FILTER WANT
  local v
  v=$(awk -v m="$1" -v f="$2" '{ name = $1; sub(/[{].*/, "", name) }
    name == m && index($1, f) { sum += $2; found = 1 } END { print found ? sum : "" }' "$WORK/metrics1")
  [ "$v" = "$3" ] || fail "$1{$2} = '$v', want $3"
}
check_metric ksink_records_rejected_total 'reason="schema"' 3
check_metric ksink_records_rejected_total 'reason="partition_value"' 1
check_metric ksink_records_rejected_total 'reason="too_large"' 1
check_metric ksink_records_rejected_by_keyword_total 'keyword="budget"' 1
check_metric ksink_records_rejected_by_keyword_total 'keyword="uniqueItems"' 1
check_metric ksink_timestamps_out_of_range_total '' 1
check_metric ksink_deadletter_failures_total 'reason="dlq_too_large"' 2
[ "$(metric ksink_ready)" = 1 ] || fail "not ready: $(curl -s "http://127.0.0.1:$PORT/readyz")"

# --- a DLQ that refuses: stop, queue p6, make the broker refuse the next
# Produce requests (authorization), start again ---
T=$SECONDS
kill -TERM "$KSINK_PID"
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 0 ] || fail "ksink exited $rc after SIGTERM: $(tail -5 "$WORK/ksink.err")"
[ $((SECONDS - T)) -le 6 ] || fail "SIGTERM took $((SECONDS - T)) s (limit 6)"
produce 6 "$WORK/values6" "$WORK/expect6"
kill -USR1 "$BROKER_PID"
sleep 0.5
run_ksink
PORT=$(http_port "$WORK/ksink.err")
wait_partition 6 40 60
for _ in $(seq 100); do [ -n "$(metric ksink_deadletter_failures_total 'reason="dlq_refused"')" ] &&
  [ "$(metric ksink_deadletter_failures_total 'reason="dlq_refused"')" -ge 1 ] && break; sleep 0.1; done
[ "$(metric ksink_deadletter_failures_total 'reason="dlq_refused"')" -ge 1 ] ||
  fail "the refused dead letter is not counted: $(grep -i dlq "$WORK/ksink.err" | tail -3)"
grep -q 'poison\[6\]@20 was refused' "$WORK/ksink.err" || fail "no log line naming the refused dead letter"
[ "$(metric ksink_ready)" = 1 ] || fail "not ready after the refusal: $(curl -s "http://127.0.0.1:$PORT/readyz")"
log "p6: the DLQ refused the dead letter (counted, logged), the 20 after it committed"
T=$SECONDS
kill -TERM "$KSINK_PID"
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 0 ] || fail "ksink exited $rc after SIGTERM: $(tail -5 "$WORK/ksink.err")"
[ $((SECONDS - T)) -le 6 ] || fail "SIGTERM took $((SECONDS - T)) s (limit 6)"

node "$KS_SOURCE_DIR/test/tools/verify_poison.mjs" --table "$WORK/lake/events" \
  --expect "0:$WORK/expect0:21" --expect "1:$WORK/expect1:21" --expect "2:$WORK/expect2:21" \
  --expect "3:$WORK/expect3:21" --expect "4:$WORK/expect4:21" --expect "5:$WORK/expect5" \
  --expect "6:$WORK/expect6:21" --null-ts "5:20" || fail "table read-back differs"
log "poison_pills: passed in $SECONDS s"
