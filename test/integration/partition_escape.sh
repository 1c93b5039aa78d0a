#!/usr/bin/env bash
# Partition paths with awkward values: a Delta table partitioned by a
# string column k (values with / = % spaces, unicode, quotes, control
# characters, "" and null) and a date derived from a timestamp, with
# max_open_partitions 3 so that files are finished least recently used
# first. DuckDB (read_parquet over the log's decoded paths, with and
# without hive_partitioning) and ksink's own snapshot reader (inspect
# --files) must read every record back with its values
# (test/tools/verify_partitions.mjs), before and after `ksink optimize`.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_broker part-events:4
cat >"$WORK/schema.json" <<'JSON'
{"type": "object", "required": ["n", "ts"],
 "properties": {"n": {"type": "integer"}, "k": {"type": ["string", "null"]},
                "ts": {"type": "string", "format": "date-time"}}}
JSON
node -e '
const ks = ["a/b", "x=y", "with space", "caf\u00e9 \u65e5\u672c \u2615", "100%", null, "",
            "plain", "a:b?c#d*e", "q\"uo'"'"'te", "tab\there", "back\\slash", "[br]{ce}^",
            "%2F", "dot.dash-_~", "semi;colon,comma&amp+plus"];
const out = [];
for (let n = 0; n < 240; n++) {
  const k = ks[n % ks.length];
  const ts = new Date(Date.UTC(2024, 0, 1 + (n % 3), 23, 59, 59, 500)).toISOString();
  const r = { n, ts };
  if (k !== undefined && !(k === null && n % 2)) r.k = k; // null: written or absent
  out.push(JSON.stringify(r));
}
require("fs").writeFileSync(process.argv[1], out.join("\n") + "\n");
' "$WORK/values.jsonl"

cat >"$WORK/ksink.yaml" <<YAML
app_id: it
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-it
reactor: { workers: 2 }
storage:
  url: file://$WORK/lake
tables:
  - name: parts
    topics: [part-events]
    schema: $WORK/schema.json
    partition_by: [k, day]
    derive: { day: { from: ts, as: date } }
    max_open_partitions: 3
    flush: { records: 60, interval: 1s }
    errors: { tolerance: none }
http: { listen: "127.0.0.1:0" }
YAML

"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic part-events \
  --values "$WORK/values.jsonl" --expect "$WORK/expect.jsonl" \
  >"$WORK/produce.out" 2>"$WORK/produce.err" || fail "producer failed: $(cat "$WORK/produce.err")"
run_ksink
TABLE=$WORK/lake/parts
for _ in $(seq 600); do
  [ "$(table_rows "$TABLE")" -ge 240 ] && break
  sleep 0.1
done
log "table has $(table_rows "$TABLE") rows; SIGTERM"
stop_member ksink "$KSINK_PID"
"$KSINK" inspect "file://$TABLE" --json --files >"$WORK/inspect.json" || fail "inspect failed"
log "directories: $(cd "$TABLE" && find . -mindepth 1 -maxdepth 1 -type d ! -name _delta_log | sort | tr '\n' ' ')"
node "$KS_SOURCE_DIR/test/tools/verify_partitions.mjs" --table "$TABLE" \
  --values "$WORK/values.jsonl" --inspect "$WORK/inspect.json"
# optimize bin-packs each partition's files into one in the same escaped
# directory, and every value still reads back, from the new files only
"$KSINK" optimize "file://$TABLE" --min-files 2 >"$WORK/optimize.out" ||
  fail "optimize failed: $(cat "$WORK/optimize.out")"
"$KSINK" inspect "file://$TABLE" --json --files >"$WORK/inspect.json" || fail "inspect failed"
log "after optimize: $(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).files)' "$WORK/inspect.json") active files"
node "$KS_SOURCE_DIR/test/tools/verify_partitions.mjs" --table "$TABLE" \
  --values "$WORK/values.jsonl" --inspect "$WORK/inspect.json"
log "partition_escape: passed"
