#!/usr/bin/env bash
# Schema evolution on restart: ksink writes 300 records with schema v1, is
# stopped, and starts again with v2, which adds two optional fields (email
# at the top level, city inside the profile struct). Before that, changed
# schemas that must be refused are tried: v2 with schema_evolution none, a
# type change (user_id string) and a new required field -- each exits 2
# naming the schema and the column, and leaves the table untouched. The v2
# run then commits one metaData (same id and createdTime, the new columns
# nullable, the table's columns first), writes 300 more records and sends
# 5 type-breaking ones (user_id a string) to the DLQ. Read back with DuckDB
# as a Delta reader does (every active file, a column a file lacks read as
# null): 600 rows, the old ones null in the new columns, the new ones with
# their values, files written after the change in the schemaString's column
# order, none of the bad records; the DLQ holds exactly the 5 with the
# validator's reason, and the rejected metric says 5.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_broker events:4 events-dlq:1
TABLE=$WORK/lake/events

cat >"$WORK/v1.json" <<'JSON'
{"type": "object", "required": ["user_id"],
 "properties": {
   "user_id": {"type": "integer"},
   "name": {"type": "string"},
   "profile": {"type": "object", "properties": {"age": {"type": "integer"}}}}}
JSON
cat >"$WORK/v2.json" <<'JSON'
{"type": "object", "required": ["user_id"],
 "properties": {
   "user_id": {"type": "integer"},
   "email": {"type": "string", "format": "email"},
   "name": {"type": "string"},
   "profile": {"type": "object", "properties": {
     "city": {"type": ["string", "null"]},
     "age": {"type": "integer"}}}}}
JSON
sed 's/"user_id": {"type": "integer"}/"user_id": {"type": "string"}/' "$WORK/v2.json" >"$WORK/v2-string.json"
sed 's/"required": \["user_id"\]/"required": ["user_id", "email"]/' "$WORK/v2.json" >"$WORK/v2-required.json"

# conf SCHEMA EVOLUTION > FILE
conf() {
  cat <<YAML
app_id: evo
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: evo
  session.timeout.ms: 6000
reactor: { workers: 2 }
storage:
  url: file://$WORK/lake
tables:
  - name: events
    topics: [events]
    schema: $1
    schema_evolution: $2
    flush: { records: 100, interval: 1s }
    errors:
      tolerance: all
      deadletterqueue: { topic.name: events-dlq, context.headers.enable: true }
      log.enable: false
http: { listen: "127.0.0.1:0" }
YAML
}

stop_ksink() {
  kill -TERM "$KSINK_PID"
  local rc=0
  wait "$KSINK_PID" || rc=$?
  [ "$rc" = 0 ] || fail "ksink exited $rc: $(tail -5 "$WORK/ksink.err")"
  if grep -q '"level":"error"' "$WORK/ksink.err"; then
    fail "ksink logged errors: $(grep '"level":"error"' "$WORK/ksink.err" | head -3)"
  fi
}

produce() {
  "$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic events \
    --values "$1" >/dev/null 2>"$WORK/produce.err" ||
    fail "producer: $(cat "$WORK/produce.err")"
}

# ---- generation 1 ----
for i in $(seq 1 300); do
  echo "{\"user_id\":$i,\"name\":\"u$i\",\"profile\":{\"age\":$((i % 90))}}"
done >"$WORK/gen1.jsonl"
conf "$WORK/v1.json" add_columns >"$WORK/ksink.yaml"
produce "$WORK/gen1.jsonl"
run_ksink
PORT=$(http_port "$WORK/ksink.err")
wait_rows "$TABLE" 300
stop_ksink
log "generation 1: 300 rows with schema v1"
VERSIONS=$(ls "$TABLE/_delta_log" | grep -c '\.json$')

# ---- refused changes ----
# expect_refused CONF MESSAGE...: exit 2, stderr names the schema and each
# MESSAGE, nothing added to the log
expect_refused() {
  local conf=$1 rc=0
  shift
  "$KSINK" run -c "$conf" >/dev/null 2>"$WORK/refused.err" || rc=$?
  [ "$rc" = 2 ] || fail "$(basename "$conf"): exit $rc, want 2: $(tail -3 "$WORK/refused.err")"
  for m in "$@"; do
    grep -qF -- "$m" "$WORK/refused.err" || fail "$(basename "$conf"): no \"$m\" in: $(cat "$WORK/refused.err")"
  done
  [ "$(ls "$TABLE/_delta_log" | grep -c '\.json$')" = "$VERSIONS" ] ||
    fail "$(basename "$conf") changed the log"
  log "refused as expected: $(head -c 300 "$WORK/refused.err")"
}
conf "$WORK/v2.json" none >"$WORK/none.yaml"
expect_refused "$WORK/none.yaml" "different schema than $WORK/v2.json" \
  "column profile.city: not in the table (new columns need schema_evolution: add_columns)"
conf "$WORK/v2-string.json" add_columns >"$WORK/string.yaml"
expect_refused "$WORK/string.yaml" "$WORK/v2-string.json" \
  "column user_id: the table has long, the schema gives string"
conf "$WORK/v2-required.json" add_columns >"$WORK/required.yaml"
expect_refused "$WORK/required.yaml" "$WORK/v2-required.json" \
  "column email: new and required; a column added to a table that has rows must be nullable"

# ---- generation 2 ----
for i in $(seq 1001 1300); do
  echo "{\"user_id\":$i,\"email\":\"u$i@example.com\",\"name\":\"u$i\",\"profile\":{\"city\":\"c$((i % 7))\",\"age\":$((i % 90))}}"
  if [ $((i % 60)) = 0 ]; then
    echo "{\"user_id\":\"bad$i\",\"name\":\"bad\",\"profile\":{\"age\":1}}"
  fi
done >"$WORK/gen2.jsonl"
BAD=$(grep -c '"bad' "$WORK/gen2.jsonl")
conf "$WORK/v2.json" add_columns >"$WORK/ksink.yaml"
run_ksink
PORT=$(http_port "$WORK/ksink.err")
wait_log "$WORK/ksink.err" "schema evolved in version $VERSIONS: 2 new nullable columns" 1 60
produce "$WORK/gen2.jsonl"
wait_rows "$TABLE" 600
# the batches holding the rejects commit once their dead letters are acknowledged
schema_rejects() { awk '/^ksink_records_rejected_total\{.*reason="schema"/ {n += $2} END {print n + 0}' "$WORK/metrics"; }
scrape_until "$PORT" "$WORK/metrics" 60 eval '[ "$(schema_rejects)" -ge "$BAD" ]'
[ -s "$WORK/metrics" ] || fail "no /metrics"
REJECTED=$(schema_rejects)
stop_ksink
[ "$REJECTED" = "$BAD" ] || fail "rejected metric $REJECTED, $BAD type-breaking records produced"
log "generation 2: 300 rows with schema v2, $REJECTED rejected"

"$KS_BUILD_DIR/test/ks_consume" --bootstrap "$BOOTSTRAP" --topic events-dlq \
  --count "$BAD" >"$WORK/dlq.jsonl" 2>"$WORK/consume.err" ||
  fail "DLQ: $(cat "$WORK/consume.err")"
if "$KS_BUILD_DIR/test/ks_consume" --bootstrap "$BOOTSTRAP" --topic events-dlq \
  --count $((BAD + 1)) --timeout-ms 3000 >/dev/null 2>&1; then
  fail "the DLQ holds more than $BAD records"
fi

node --input-type=module - "$TABLE" "$WORK/dlq.jsonl" "$VERSIONS" <<'JS'
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
const [table, dlqFile, evolvedAt] = process.argv.slice(2);
const fail = (m) => { console.error(`FAIL: ${m}`); process.exit(1); };

// replay the log
const logDir = path.join(table, '_delta_log');
const active = new Map();
const metas = [];
for (const f of fs.readdirSync(logDir).filter((f) => /^\d{20}\.json$/.test(f)).sort()) {
  const version = Number(f.slice(0, 20));
  for (const l of fs.readFileSync(path.join(logDir, f), 'utf8').split('\n').filter(Boolean)) {
    const a = JSON.parse(l);
    if (a.metaData) metas.push({ version, ...a.metaData });
    if (a.add) active.set(a.add.path, version);
    if (a.remove) active.delete(a.remove.path);
  }
}
if (metas.length !== 2) fail(`${metas.length} metaData actions, want 2`);
const [m0, m1] = metas;
if (m1.version !== Number(evolvedAt)) fail(`metaData in version ${m1.version}, want ${evolvedAt}`);
if (m1.id !== m0.id || m1.createdTime !== m0.createdTime) fail('the new metaData changed id or createdTime');
const schema = JSON.parse(m1.schemaString);
const names = (st) => st.fields.map((f) => f.name).join(',');
if (names(schema) !== 'user_id,name,profile,email,_kafka_topic,_kafka_partition,_kafka_offset,_kafka_timestamp')
  fail(`columns ${names(schema)}`);
const field = (st, n) => st.fields.find((f) => f.name === n);
const profile = field(schema, 'profile').type;
if (names(profile) !== 'age,city') fail(`profile fields ${names(profile)}`);
for (const f of [field(schema, 'email'), field(profile, 'city')])
  if (f.type !== 'string' || f.nullable !== true) fail(`new column ${f.name}: ${JSON.stringify(f)}`);
const old = JSON.parse(m0.schemaString);
if (names(old) !== 'user_id,name,profile,_kafka_topic,_kafka_partition,_kafka_offset,_kafka_timestamp')
  fail(`v1 columns ${names(old)}`);

// every active file, read as a Delta reader does: a column it lacks is null
const db = await (await DuckDBInstance.create(':memory:')).connect();
const parts = [];
let before = 0, after = 0;
for (const [p, version] of active) {
  const file = path.join(table, p).replaceAll("'", "''");
  const cols = (await db.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`)).getRows();
  const top = cols.map((c) => c[0]).join(',');
  const prof = String(cols.find((c) => c[0] === 'profile')[1]);
  if (version > Number(evolvedAt)) {
    after++;
    if (top !== names(schema)) fail(`${p}: columns ${top}, the schemaString has ${names(schema)}`);
    if (!/^STRUCT\(age BIGINT, city VARCHAR\)$/.test(prof)) fail(`${p}: profile ${prof}`);
  } else {
    before++;
    if (top !== names(old)) fail(`${p}: columns ${top}`);
  }
  const hasEmail = top.split(',').includes('email');
  const hasCity = prof.includes('city');
  parts.push(`SELECT user_id, name, profile.age AS age, ${hasCity ? 'profile.city' : 'NULL::VARCHAR'} AS city,
    ${hasEmail ? 'email' : 'NULL::VARCHAR'} AS email FROM read_parquet('${file}')`);
}
if (before === 0 || after === 0) fail(`${before} files before the change, ${after} after`);
const rows = (await db.runAndReadAll(parts.join(' UNION ALL '))).getRowObjects();
if (rows.length !== 600) fail(`${rows.length} rows, want 600`);
const ids = new Set();
for (const r of rows) {
  const id = Number(r.user_id);
  if (ids.has(id)) fail(`user_id ${id} twice`);
  ids.add(id);
  if (r.name === 'bad') fail('a type-breaking record is in the table');
  if (Number(r.age) !== id % 90) fail(`user ${id}: age ${r.age}`);
  if (id <= 300) {
    if (r.email !== null || r.city !== null) fail(`old row ${id}: email ${r.email}, city ${r.city}`);
  } else if (r.email !== `u${id}@example.com` || r.city !== `c${id % 7}`) {
    fail(`new row ${id}: email ${r.email}, city ${r.city}`);
  }
}
for (let i = 1; i <= 300; i++) if (!ids.has(i) || !ids.has(i + 1000)) fail(`user ${i} or ${i + 1000} missing`);

// the dead letters: the bad records, with the validator's reason
const dlq = fs.readFileSync(dlqFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const b64 = (s) => (s === null ? null : Buffer.from(s, 'base64').toString());
for (const d of dlq) {
  const v = JSON.parse(b64(d.value));
  if (!String(v.user_id).startsWith('bad')) fail(`dead letter ${b64(d.value)}`);
  const h = Object.fromEntries(d.headers.map(([k, x]) => [k, b64(x)]));
  const msg = h['__connect.errors.exception.message'];
  if (msg !== '/user_id: expected integer, got string') fail(`dead letter reason ${msg}`);
}
console.log(`${rows.length} rows (${before} files before the change, ${after} after), ` +
  `old rows null in email and profile.city, ${dlq.length} dead letters`);
JS
log "schema_evolution: passed"
