#!/usr/bin/env bash
# Schemaless mode: a Delta table with no `schema:` learns its columns from
# the records. Generation A (id, name, score, tags, ok, meta{src}) creates
# the table; then type-breaking records and records with names that cannot
# be columns arrive, together with generation B, which adds top-level
# fields (email), a struct (profile), an array of structs (items), a field
# inside an existing struct (meta.region) and the element type of an array
# first seen empty. ksink is stopped and started again, so the columns
# come back from the table's schemaString; generation C adds a field in a
# nested struct (profile.zip), one inside the array's elements
# (items[].price) and a top-level one, and one record breaks a column
# learnt in the first run. Two workers learn concurrently over 4
# partitions.
#
# Checked: config refusals (no schema without add_columns, format parquet);
# every valid record is in the table exactly once with exactly its values
# (read back with DuckDB file by file, a column a file lacks read as null);
# old rows null in the new columns; the log's metaData actions only add
# nullable columns and keep id and createdTime; files follow the columns of
# the metaData in force when they were committed; the final schemaString
# has the learnt types; the rejects are counted by reason (type_conflict,
# new_field) and are exactly the dead letters, with a message naming the
# field.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_broker events:4 events-dlq:1
TABLE=$WORK/lake/events

# conf EVOLUTION FORMAT > FILE
conf() {
  cat <<YAML
app_id: sl
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: sl
  session.timeout.ms: 6000
reactor: { workers: 2 }
storage:
  url: file://$WORK/lake
tables:
  - name: events
    topics: [events]
    format: $2
    schema_evolution: $1
    flush: { records: 150, interval: 1s }
    errors:
      tolerance: all
      deadletterqueue: { topic.name: events-dlq, context.headers.enable: true }
      log.enable: false
http: { listen: "127.0.0.1:0" }
YAML
}

expect_refused() {
  local rc=0
  "$KSINK" run -c "$1" >/dev/null 2>"$WORK/refused.err" || rc=$?
  [ "$rc" = 2 ] || fail "$(basename "$1"): exit $rc, want 2: $(tail -3 "$WORK/refused.err")"
  grep -qF -- "$2" "$WORK/refused.err" || fail "$(basename "$1"): no \"$2\" in: $(cat "$WORK/refused.err")"
  [ ! -e "$TABLE" ] || fail "$(basename "$1") wrote to the lake"
  log "refused: $(head -c 240 "$WORK/refused.err")"
}
conf none delta >"$WORK/none.yaml"
expect_refused "$WORK/none.yaml" "tables[0].schema: without a schema the columns are learnt from the records, which needs schema_evolution: add_columns"
conf add_columns parquet >"$WORK/parquet.yaml"
expect_refused "$WORK/parquet.yaml" "tables[0].schema: schemaless mode (no schema: columns learnt from the records) writes Delta tables"

# stop_ksink METRICS_FILE REJECTS: scrapes /metrics once REJECTS records
# were rejected in all (batches with rejects commit once their dead
# letters are acknowledged), then SIGTERM; exit 0, no error
stop_ksink() {
  scrape_until "$PORT" "$1" 60 rejects_reach "$1" "$2"
  [ -s "$1" ] || fail "no /metrics"
  kill -TERM "$KSINK_PID"
  local rc=0
  wait "$KSINK_PID" || rc=$?
  [ "$rc" = 0 ] || fail "ksink exited $rc: $(tail -5 "$WORK/ksink.err")"
  if grep -q '"level":"error"' "$WORK/ksink.err"; then
    fail "ksink logged errors: $(grep '"level":"error"' "$WORK/ksink.err" | head -3)"
  fi
}

# rejects_reach METRICS N: N records rejected in all
rejects_reach() {
  [ "$(awk '/^ksink_records_rejected_total\{/ {n += $2} END {print n + 0}' "$1")" -ge "$2" ]
}

# rejected METRICS REASON
rejected() {
  awk -v r="reason=\"$2\"" '/^ksink_records_rejected_total\{/ && index($0, r) {n += $2} END {print n + 0}' "$1"
}

# expect_rejects RUN METRICS TYPE_CONFLICTS NEW_FIELDS
expect_rejects() {
  local tc nf
  tc=$(rejected "$2" type_conflict)
  nf=$(rejected "$2" new_field)
  [ "$tc" = "$3" ] && [ "$nf" = "$4" ] ||
    fail "$1 rejected $tc type_conflict (want $3), $nf new_field (want $4)"
  log "$1: rejects: $tc type_conflict, $nf new_field"
}

produce() {
  cat "$1" >>"$WORK/all.jsonl"
  "$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic events \
    --values "$1" >/dev/null 2>"$WORK/produce.err" ||
    fail "producer: $(cat "$WORK/produce.err")"
}

# ---- run 1: generation A, the rejects, generation B ----
for i in $(seq 1 400); do
  echo "{\"id\":$i,\"name\":\"u$i\",\"score\":$i.5,\"tags\":[\"t$((i % 3))\",\"x\"],\"ok\":$([ $((i % 2)) = 0 ] && echo true || echo false),\"meta\":{\"src\":\"s$((i % 5))\"},\"empty_first\":[],\"nothing\":null}"
done >"$WORK/genA.jsonl"
cat >"$WORK/bad1.jsonl" <<'JSON'
{"id":"x1","name":"bad"}
{"id":900002,"score":"high"}
{"id":900003,"meta":7}
{"id":900004,"tags":[1,2]}
{"id":900005,"fresh":[1,"a"]}
{"id":900006,"ok":"yes"}
{"id":1.5,"name":"bad"}
[1,2]
{"id":900010,"bad name":1}
{"id":900011,"ID":3}
{"id":900012,"_KAFKA_offset":1}
{"id":900013,"a=b":1}
JSON
for i in $(seq 1001 1400); do
  echo "{\"id\":$i,\"name\":\"u$i\",\"score\":$i,\"tags\":[],\"ok\":true,\"meta\":{\"src\":\"s$((i % 5))\",\"region\":\"r$((i % 3))\"},\"email\":\"u$i@example.com\",\"profile\":{\"age\":$((i % 90)),\"city\":\"c$((i % 7))\"},\"items\":[{\"sku\":\"k$i\",\"qty\":$((i % 4))},{\"sku\":\"z\",\"qty\":null}],\"empty_first\":[\"e$i\"]}"
done >"$WORK/genB.jsonl"

conf add_columns delta >"$WORK/ksink.yaml"
produce "$WORK/genA.jsonl"
run_ksink
PORT=$(http_port "$WORK/ksink.err")
wait_rows "$TABLE" 400
produce "$WORK/bad1.jsonl"
produce "$WORK/genB.jsonl"
wait_rows "$TABLE" 800
stop_ksink "$WORK/metrics1" 12
expect_rejects "run 1 (800 rows)" "$WORK/metrics1" 8 4

# ---- run 2: the columns come back from the table; generation C ----
for i in $(seq 2001 2400); do
  echo "{\"id\":$i,\"name\":\"u$i\",\"score\":0.25,\"ok\":false,\"email\":null,\"profile\":{\"age\":$((i % 90)),\"city\":\"c$((i % 7))\",\"zip\":\"z$((i % 11))\"},\"items\":[{\"sku\":\"k$i\",\"qty\":1,\"price\":$((i % 50)).75}],\"flag2\":$([ $((i % 3)) = 0 ] && echo true || echo false)}"
  [ "$i" = 2200 ] && echo '{"id":900020,"email":5}'
done >"$WORK/genC.jsonl"
run_ksink
PORT=$(http_port "$WORK/ksink.err")
produce "$WORK/genC.jsonl"
wait_rows "$TABLE" 1200
stop_ksink "$WORK/metrics2" 1
expect_rejects "run 2 (1200 rows)" "$WORK/metrics2" 1 0
grep -q "schema generation" "$WORK/ksink.err" || fail "no schema generation logged"

"$KS_BUILD_DIR/test/ks_consume" --bootstrap "$BOOTSTRAP" --topic events-dlq \
  --count 13 >"$WORK/dlq.jsonl" 2>"$WORK/consume.err" ||
  fail "DLQ: $(cat "$WORK/consume.err")"
if "$KS_BUILD_DIR/test/ks_consume" --bootstrap "$BOOTSTRAP" --topic events-dlq \
  --count 14 --timeout-ms 3000 >/dev/null 2>&1; then
  fail "the DLQ holds more than 13 records"
fi

node --input-type=module - "$TABLE" "$WORK/all.jsonl" "$WORK/dlq.jsonl" <<'JS'
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
const [table, allFile, dlqFile] = process.argv.slice(2);
const fail = (m) => { console.error(`FAIL: ${m}`); process.exit(1); };

// the log: metaData history and the active files with the version that added them
const logDir = path.join(table, '_delta_log');
const active = new Map();
const metas = [];
for (const f of fs.readdirSync(logDir).filter((f) => /^\d{20}\.json$/.test(f)).sort()) {
  const version = Number(f.slice(0, 20));
  for (const l of fs.readFileSync(path.join(logDir, f), 'utf8').split('\n').filter(Boolean)) {
    const a = JSON.parse(l);
    if (a.metaData) metas.push({ version, ...a.metaData, schema: JSON.parse(a.metaData.schemaString) });
    if (a.add) active.set(a.add.path, version);
    if (a.remove) active.delete(a.remove.path);
  }
}
if (metas.length < 3) fail(`${metas.length} metaData actions, want at least 3 (create, run 1 growth, run 2 growth)`);
// each metaData keeps every column (same type, same nullability) and adds nullable ones
const keep = (a, b, where) => {
  for (const f of a.fields) {
    const g = b.fields.find((x) => x.name === f.name);
    if (!g) fail(`${where}: column ${f.name} dropped`);
    if (g.nullable !== f.nullable) fail(`${where}: ${f.name} nullability changed`);
    const ta = f.type, tb = g.type;
    if (typeof ta === 'string' || typeof tb === 'string') {
      if (ta !== tb) fail(`${where}: ${f.name} ${JSON.stringify(ta)} -> ${JSON.stringify(tb)}`);
    } else if (ta.type !== tb.type) fail(`${where}: ${f.name} kind changed`);
    else if (ta.type === 'struct') keep(ta, tb, `${where}.${f.name}`);
    else if (ta.type === 'array') {
      const ea = ta.elementType, eb = tb.elementType;
      if (typeof ea === 'string' ? ea !== eb : ea.type !== eb.type) fail(`${where}: ${f.name} element changed`);
      if (typeof ea !== 'string' && ea.type === 'struct') keep(ea, eb, `${where}.${f.name}.element`);
    }
  }
  for (const g of b.fields)
    if (!a.fields.some((f) => f.name === g.name) && g.nullable !== true) fail(`${where}: new column ${g.name} not nullable`);
};
for (let i = 1; i < metas.length; i++) {
  if (metas[i].id !== metas[0].id || metas[i].createdTime !== metas[0].createdTime)
    fail(`metaData of version ${metas[i].version} changed id or createdTime`);
  keep(metas[i - 1].schema, metas[i].schema, `version ${metas[i].version}`);
}
// the learnt types
const last = metas[metas.length - 1].schema;
const typeText = (t) => typeof t === 'string' ? t
  : t.type === 'struct' ? `struct<${t.fields.map((f) => `${f.name}:${typeText(f.type)}`).join(',')}>`
  : t.type === 'array' ? `array<${typeText(t.elementType)}>` : JSON.stringify(t);
const want = {
  id: 'long', name: 'string', score: 'double', tags: 'array<string>', ok: 'boolean',
  meta: 'struct<src:string,region:string>', empty_first: 'array<string>', email: 'string',
  profile: 'struct<age:long,city:string,zip:string>',
  items: 'array<struct<sku:string,qty:long,price:double>>', flag2: 'boolean',
  _kafka_topic: 'string', _kafka_partition: 'integer', _kafka_offset: 'long', _kafka_timestamp: 'timestamp',
};
const got = Object.fromEntries(last.fields.map((f) => [f.name, typeText(f.type)]));
for (const [k, v] of Object.entries(want)) if (got[k] !== v) fail(`column ${k}: ${got[k]}, want ${v}`);
for (const k of Object.keys(got)) if (!(k in want)) fail(`unexpected column ${k}: ${got[k]}`);
if (last.fields.some((f) => f.name !== '_kafka_topic' && f.name.startsWith('_kafka') && false)) fail('');

// the metaData in force at a version
const metaAt = (v) => metas.filter((m) => m.version <= v).pop().schema;
const topNames = (s) => s.fields.map((f) => f.name);

// expected rows: every valid record, by id
const records = fs.readFileSync(allFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const expected = new Map();
for (const r of records) if (typeof r === 'object' && !Array.isArray(r) && Number.isInteger(r.id) && r.id < 900000) expected.set(r.id, r);

// same: the row's value for a record's, absent and null alike; a field
// whose only values so far were empty ([]) had no column yet (null)
const same = (rec, row, field) => {
  if (rec === undefined) rec = null;
  if (row === undefined) row = null;
  if (rec === null || row === null) return rec === row || (field === 'empty_first' && Array.isArray(rec) && rec.length === 0 && row === null);
  if (Array.isArray(rec)) return Array.isArray(row) && rec.length === row.length && rec.every((x, i) => same(x, row[i], null));
  if (typeof rec === 'object') {
    if (typeof row !== 'object') return false;
    for (const k of new Set([...Object.keys(rec), ...Object.keys(row)])) if (!same(rec[k], row[k], null)) return false;
    return true;
  }
  if (typeof rec === 'number') return Number(row) === rec;
  return rec === row;
};

const db = await (await DuckDBInstance.create(':memory:')).connect();
const seen = new Set();
let files = 0;
for (const [p, version] of active) {
  files++;
  const file = path.join(table, p).replaceAll("'", "''");
  const cols = (await db.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`)).getRows().map((c) => c[0]);
  // a file's columns are a subset of the metaData in force when it was added, in its order
  const inForce = topNames(metaAt(version));
  const order = cols.map((c) => inForce.indexOf(c));
  if (order.some((i) => i < 0)) fail(`${p}: columns ${cols} not all in the schema of version ${version}`);
  const rows = (await db.runAndReadAll(`SELECT to_json(t)::VARCHAR AS j FROM read_parquet('${file}') t`)).getRowObjects();
  for (const { j } of rows) {
    const row = JSON.parse(j);
    const id = Number(row.id);
    if (!expected.has(id)) fail(`row with id ${row.id} is no valid record`);
    if (seen.has(id)) fail(`id ${id} twice`);
    seen.add(id);
    const rec = expected.get(id);
    for (const k of new Set([...Object.keys(rec), ...Object.keys(row)])) {
      if (k.startsWith('_kafka_') || k === 'nothing') continue;
      if (!same(rec[k], row[k], k)) fail(`id ${id}: ${k} is ${JSON.stringify(row[k])}, the record has ${JSON.stringify(rec[k])}`);
    }
    if (id <= 400 && (row.email ?? null) !== null) fail(`old row ${id} has an email`);
  }
}
if (seen.size !== expected.size) fail(`${seen.size} rows, ${expected.size} valid records`);

// dead letters: exactly the 13 rejects, each with a message naming the field
const b64 = (s) => (s === null ? null : Buffer.from(s, 'base64').toString());
const dlq = fs.readFileSync(dlqFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const wantMsg = [
  [/"id":"x1"/, /^\/id: /], [/"high"/, /^\/score: /], [/"meta":7/, /^\/meta: /], [/"tags":\[1,2\]/, /^\/tags\/0: /],
  [/"fresh"/, /^\/fresh\/1: column is long, the record has a string/], [/"yes"/, /^\/ok: /], [/"id":1\.5/, /^\/id: /],
  [/^\[1,2\]$/, /expected object/], [/"bad name"/, /^\/bad name: field name "bad name" cannot be a Delta column/],
  [/"ID":3/, /^\/ID: field "ID" and column "id" differ only in case/],
  [/_KAFKA_offset/, /clashes with ksink's column "_kafka_offset"/], [/"a=b"/, /cannot be a Delta column/],
  [/"email":5/, /^\/email: /],
];
if (dlq.length !== wantMsg.length) fail(`${dlq.length} dead letters, want ${wantMsg.length}`);
for (const d of dlq) {
  const v = b64(d.value);
  const h = Object.fromEntries(d.headers.map(([k, x]) => [k, b64(x)]));
  const msg = h['__connect.errors.exception.message'];
  const w = wantMsg.find(([rv]) => rv.test(v));
  if (!w) fail(`unexpected dead letter ${v}`);
  if (!w[1].test(msg)) fail(`dead letter ${v}: message "${msg}"`);
}
console.log(`${seen.size} rows in ${files} files, ${metas.length} metaData actions, ` +
  `${last.fields.length} columns, ${dlq.length} dead letters with their reasons`);
JS
log "schemaless: passed"
