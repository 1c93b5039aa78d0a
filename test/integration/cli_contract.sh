#!/usr/bin/env bash
# The command-line contract (CLI.md): exit codes and messages for usage,
# config and schema errors; errors.tolerance none stopping before the first
# bad record (and again after a restart, duplicating nothing); a table
# whose schema differs from the configured one refused at start-up.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

expect_exit() { # CODE PATTERN CMD...
  local want=$1 pat=$2
  shift 2
  local rc=0
  "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
  [ "$rc" = "$want" ] || fail "$*: exit $rc, want $want; stderr: $(cat "$WORK/err")"
  if [ -n "$pat" ]; then
    grep -qE "$pat" "$WORK/out" "$WORK/err" || fail "$*: output lacks /$pat/: $(cat "$WORK/out" "$WORK/err")"
  fi
  log "ok: exit $want: $*"
}

expect_exit 0 "^ksink [0-9]+\.[0-9]+\.[0-9]+ \([0-9a-f]{7,}(-dirty)?|unknown\)$" "$KSINK" --version
head -1 "$WORK/out" | grep -qE '^ksink [0-9]+\.[0-9]+\.[0-9]+ \(' || fail "--version first line: $(head -1 "$WORK/out")"
grep -q '^libraries: librdkafka .*libuv .*yajl .*curl .*zstd .*snappy ' "$WORK/out" || fail "--version libraries: $(cat "$WORK/out")"
expect_exit 0 "usage: ksink" "$KSINK" --help
expect_exit 2 "usage: ksink" "$KSINK"
expect_exit 2 "unknown command" "$KSINK" frobnicate
expect_exit 2 "usage: ksink run" "$KSINK" run
expect_exit 2 "nope.yaml: cannot read" "$KSINK" run -c "$WORK/nope.yaml"
expect_exit 2 "expected a positive number" "$KSINK" demo --events many

cat >"$WORK/bad-key.yaml" <<YAML
kafka:
  bootstrap.servers: 127.0.0.1:1
storage:
  url: file://$WORK/lake
tables:
  - name: t
    topics: [t]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flsh: { records: 10 }
http: { listen: "127.0.0.1:0" }
YAML
expect_exit 2 "bad-key.yaml:9: tables\[0\]\.flsh: unknown key \(did you mean \"flush\"\?\)" \
  "$KSINK" run -c "$WORK/bad-key.yaml"

sed 's/flsh: { records: 10 }/flush: { interval: thirty }/' "$WORK/bad-key.yaml" >"$WORK/bad-dur.yaml"
expect_exit 2 "bad-dur.yaml:9: tables\[0\]\.flush\.interval: expected a duration" \
  "$KSINK" run -c "$WORK/bad-dur.yaml"

# a schema that breaks the draft-07 meta-schema (oneOf needs at least one
# schema) is refused at start-up with its path
cat >"$WORK/oneof.json" <<'JSON'
{"type": "object", "properties": {"a": {"oneOf": []}}}
JSON
sed -e "s#schema: .*#schema: $WORK/oneof.json#" -e 's/    flsh: { records: 10 }//' \
  "$WORK/bad-key.yaml" >"$WORK/bad-schema.yaml"
expect_exit 2 "oneof.json: /properties/a/oneOf: expected a non-empty array of schemas" \
  "$KSINK" run -c "$WORK/bad-schema.yaml"

# errors.tolerance none: the pipeline stops at the first bad record.
start_broker events:4
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic events --count 4000 \
  --seed 11 --invalid-permille 20 --expect "$WORK/expect.jsonl" >/dev/null 2>"$WORK/produce.err" \
  || fail "producer: $(cat "$WORK/produce.err")"
cat >"$WORK/strict.yaml" <<YAML
app_id: strict
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: strict
  session.timeout.ms: 6000
reactor: { workers: 1 }
storage:
  url: file://$WORK/lake
tables:
  - name: events
    topics: [events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flush: { records: 100000, interval: 1s }
    errors: { tolerance: none }
http: { listen: "127.0.0.1:0" }
YAML
# A taken http.listen port fails the run at start (the broker's port is
# one that is surely taken), before anything is consumed.
sed "s#listen: \"127.0.0.1:0\"#listen: \"$BOOTSTRAP\"#" "$WORK/strict.yaml" >"$WORK/busy.yaml"
expect_exit 1 "http.listen $BOOTSTRAP: address already in use" \
  timeout 60 "$KSINK" run -c "$WORK/busy.yaml"
[ ! -d "$WORK/lake/events" ] || fail "a run that could not listen wrote to the lake"

for attempt in 1 2; do
  rc=0
  timeout 120 "$KSINK" run -c "$WORK/strict.yaml" 2>"$WORK/strict.err" || rc=$?
  [ "$rc" = 1 ] || fail "tolerance none, run $attempt: exit $rc, want 1: $(tail -5 "$WORK/strict.err")"
  grep -q "errors.tolerance is none" "$WORK/strict.err" || fail "no reason logged: $(tail -5 "$WORK/strict.err")"
  log "ok: tolerance none stopped run $attempt with exit 1"
done
# Every row is valid, none lies past its partition's first invalid record,
# and nothing was written twice across the two runs.
node --input-type=module - "$WORK/lake/events" "$WORK/expect.jsonl" <<'JS'
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
const [table, expectFile] = process.argv.slice(2);
const firstBad = new Map();
for (const line of fs.readFileSync(expectFile, 'utf8').split('\n')) {
  if (!line) continue;
  const r = JSON.parse(line);
  if (!r.valid && !(firstBad.get(r.partition) <= r.offset)) firstBad.set(r.partition, r.offset);
}
const logDir = path.join(table, '_delta_log');
const active = new Set();
for (const f of fs.readdirSync(logDir).filter((f) => f.endsWith('.json')).sort())
  for (const l of fs.readFileSync(path.join(logDir, f), 'utf8').split('\n').filter(Boolean)) {
    const a = JSON.parse(l);
    if (a.add) active.add(path.join(table, a.add.path));
  }
const db = await (await DuckDBInstance.create(':memory:')).connect();
if (active.size === 0) { console.log('no files committed before the first bad record'); process.exit(0); }
const list = [...active].map((f) => `'${f}'`).join(',');
const rows = (await db.runAndReadAll(
  `SELECT _kafka_partition, _kafka_offset, count(*) AS n FROM read_parquet([${list}]) GROUP BY 1, 2`)).getRows();
for (const [p, o, n] of rows) {
  if (Number(n) !== 1) { console.error(`duplicate ${p}@${o}`); process.exit(1); }
  if (firstBad.has(p) && Number(o) >= firstBad.get(p)) { console.error(`row ${p}@${o} past first bad record at ${firstBad.get(p)}`); process.exit(1); }
}
console.log(`${rows.length} rows, all before each partition's first bad record, none twice`);
JS

# A table is not silently reused with different columns.
sed -e "s#schema: .*#schema: $WORK/other.json#" "$WORK/strict.yaml" >"$WORK/other.yaml"
echo '{"type":"object","properties":{"id":{"type":"string"}},"required":["id"]}' >"$WORK/other.json"
[ -d "$WORK/lake/events/_delta_log" ] || fail "strict run committed nothing: cannot test the schema check"
expect_exit 2 "different schema" "$KSINK" run -c "$WORK/other.yaml"
log "cli_contract: passed"
