// Self-test of verify_delta.mjs: builds tiny Delta tables by hand (Parquet
// from DuckDB's COPY, the log written here line by line), checks that a good
// table passes, and that each kind of damage fails the right check with a
// message naming the offending row.
//
//   node --test test/tools/                 (via verify_delta.test.mjs)
//   node --test test/tools/verify_delta.selftest.mjs

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { rfc3339ToMicros, deepEqual } from './verify_delta.mjs';

const VERIFY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'verify_delta.mjs');
const TOPIC = 'events';
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-delta-selftest-'));

// What "the producer delivered": two partitions, valid and invalid records,
// offsets, escapes, raw UTF-8, a record without properties, a +02:00 offset.
const RECORDS = [
  [0, 0, true, { user_id: 17, event_type: 'page_view', timestamp: '2024-06-01T10:00:00.000001Z', properties: { url: 'https://shop.example.com/', device: { os: 'iOS', browser: 'Safari' } } }],
  [0, 1, false, '{"user_id":18,"event_type":"click"', 'malformed_json'],
  [0, 2, true, { user_id: 4000000000123, event_type: 'search', timestamp: '2024-06-01T12:00:00.5+02:00', properties: { query: 'caf\u00e9 "french press"', results: 3 } }],
  [0, 3, true, { user_id: 19, event_type: 'login', timestamp: '2024-06-01T10:00:02.123456Z' }],
  [1, 0, true, { user_id: 5, event_type: 'add_to_cart', timestamp: '2024-06-01T10:00:03.000000Z', properties: { sku: 'SKU-00042', price: 19.99, quantity: 2, currency: null } }],
  [1, 1, false, '{"user_id":"6","event_type":"click","timestamp":"2024-06-01T10:00:04Z"}', 'wrong_type'],
  [1, 2, true, { user_id: 7, event_type: 'purchase', timestamp: '2024-06-01T10:00:05.250000-05:00', properties: { items: [{ sku: 'SKU-1', price: 5 }], total: 5, currency: 'EUR', name: 'Zo\u00eb M\u00fcller \ud83c\udf89' } }],
];

function writeExpect(file) {
  const lines = RECORDS.map(([p, o, valid, rec, kind]) => JSON.stringify({
    partition: p, offset: o, valid, kind: valid ? 'valid' : kind, key: '1',
    value: typeof rec === 'string' ? rec : JSON.stringify(rec),
  }));
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

// Rows as ksink would write them for the valid records.
function rowsOf(pred = () => true) {
  return RECORDS.filter(([p, o, valid]) => valid && pred(p, o)).map(([p, o, , rec]) => ({
    p, o, user_id: rec.user_id, event_type: rec.event_type, ts_us: rfc3339ToMicros(rec.timestamp),
    properties: rec.properties === undefined ? null : JSON.stringify(rec.properties),
  }));
}

const q = (s) => `'${String(s).replace(/'/g, "''")}'`;

// The properties struct of conf/schemas/user-events.json, the fields the
// records above use.
const PROPS = 'STRUCT(url VARCHAR, device STRUCT(os VARCHAR, browser VARCHAR), '
  + 'query VARCHAR, results BIGINT, sku VARCHAR, price DECIMAL(12,2), quantity BIGINT, '
  + 'items STRUCT(sku VARCHAR, price DECIMAL(12,2), quantity BIGINT)[], '
  + 'total DECIMAL(12,2), currency VARCHAR, name VARCHAR)';
const money = 'DECIMAL(12,2)';
const PROPS_SHAPE = JSON.stringify({ url: 'VARCHAR', device: { os: 'VARCHAR', browser: 'VARCHAR' },
  query: 'VARCHAR', results: 'BIGINT', sku: 'VARCHAR', price: money, quantity: 'BIGINT',
  items: [{ sku: 'VARCHAR', price: money, quantity: 'BIGINT' }], total: money,
  currency: 'VARCHAR', name: 'VARCHAR' });

let conn;
async function db() {
  if (!conn) {
    conn = await (await DuckDBInstance.create(':memory:')).connect();
    await conn.run("SET TimeZone = 'UTC'");
  }
  return conn;
}

async function writeParquet(file, rows) {
  const c = await db();
  const values = rows.map((r) => `(${r.p}::INTEGER, ${r.o}::BIGINT, ${q(TOPIC)}, make_timestamp(1717236000000000)::TIMESTAMPTZ, `
    + `${r.user_id}::BIGINT, ${q(r.event_type)}, make_timestamp(${r.ts_us}::BIGINT)::TIMESTAMPTZ, `
    + `${r.properties === null ? `NULL::${PROPS}` : `json_transform(${q(r.properties)}, ${q(PROPS_SHAPE)})::${PROPS}`})`).join(',\n');
  await c.run(`COPY (SELECT * FROM (VALUES ${values}) t(_kafka_partition, _kafka_offset, _kafka_topic, _kafka_timestamp,
    user_id, event_type, "timestamp", properties)) TO ${q(file)} (FORMAT PARQUET)`);
}

function statsOf(rows) {
  const by = (f, cmp) => rows.map(f).reduce((a, b) => (cmp(a, b) <= 0 ? a : b));
  const num = (a, b) => a - b, str = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  return JSON.stringify({
    numRecords: rows.length,
    minValues: { user_id: by((r) => r.user_id, num), _kafka_offset: by((r) => r.o, num), event_type: by((r) => r.event_type, str) },
    maxValues: { user_id: by((r) => r.user_id, (a, b) => b - a), _kafka_offset: by((r) => r.o, (a, b) => b - a), event_type: by((r) => r.event_type, (a, b) => str(b, a)) },
    nullCount: { user_id: 0, _kafka_offset: 0, event_type: 0 },
  });
}

const SCHEMA = JSON.stringify({ type: 'struct', fields: [
  ['_kafka_partition', 'integer'], ['_kafka_offset', 'long'], ['_kafka_topic', 'string'],
  ['_kafka_timestamp', 'timestamp'], ['user_id', 'long'], ['event_type', 'string'],
  ['timestamp', 'timestamp'], ['properties', 'string']].map(([name, type]) => ({ name, type, nullable: true, metadata: {} })) });

// Builds a table: commits[i] = { files: [{ name, rows, stats? }], txn: {partition: version}, remove: [names] }.
async function buildTable(name, commits, { mutate } = {}) {
  const dir = path.join(root, name);
  fs.mkdirSync(path.join(dir, '_delta_log'), { recursive: true });
  const logs = [[
    { protocol: { minReaderVersion: 1, minWriterVersion: 2 } },
    { metaData: { id: '3f1e0c1e-0000-4000-8000-000000000001', format: { provider: 'parquet', options: {} }, schemaString: SCHEMA, partitionColumns: [], configuration: {}, createdTime: 1717236000000 } },
    { commitInfo: { operation: 'CREATE TABLE', timestamp: 1717236000000 } },
  ]];
  for (const c of commits) {
    const actions = [];
    for (const r of c.remove ?? []) actions.push({ remove: { path: r, deletionTimestamp: 1717236000000, dataChange: true } });
    for (const f of c.files ?? []) {
      await writeParquet(path.join(dir, f.name), f.rows);
      const size = fs.statSync(path.join(dir, f.name)).size;
      actions.push({ add: { path: f.name, partitionValues: {}, size, modificationTime: 1717236000000, dataChange: true, stats: f.stats ?? statsOf(f.rows) } });
    }
    for (const [p, v] of Object.entries(c.txn ?? {})) actions.push({ txn: { appId: `ksink-${TOPIC}-${p}`, version: v, lastUpdated: 1717236000000 } });
    actions.push({ commitInfo: { operation: 'STREAMING UPDATE', timestamp: 1717236000000 } });
    logs.push(actions);
  }
  let texts = logs.map((acts) => acts.map((a) => JSON.stringify(a)).join('\n') + '\n');
  if (mutate) texts = mutate(texts);
  texts.forEach((t, v) => {
    if (t !== null) fs.writeFileSync(path.join(dir, '_delta_log', `${String(v).padStart(20, '0')}.json`), t);
  });
  return dir;
}

function verify(dir, ...extra) {
  const expect = path.join(root, 'expect.jsonl');
  const r = spawnSync(process.execPath, [VERIFY, '--table', dir, '--expect', expect, '--topic', TOPIC, ...extra], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

const P0 = rowsOf((p) => p === 0), P1 = rowsOf((p) => p === 1);
const good = [
  { files: [{ name: 'part-00000-a.parquet', rows: P0 }], txn: { 0: 3 } },
  { files: [{ name: 'part-00001-b.parquet', rows: P1 }], txn: { 1: 1 } },
  { txn: { 1: 2 } }, // the last record of partition 1 ... is in file b already
];

test.before(() => writeExpect(path.join(root, 'expect.jsonl')));
// KS_KEEP_SELFTEST=1 keeps the tables for a look with verify_delta.mjs.
test.after(() => { if (!process.env.KS_KEEP_SELFTEST) fs.rmSync(root, { recursive: true, force: true }); });

test('helpers: RFC 3339 to UTC micros, deep equality', () => {
  assert.equal(rfc3339ToMicros('1970-01-01T00:00:00Z'), 0n);
  assert.equal(rfc3339ToMicros('2024-06-01T12:00:00.5+02:00'), rfc3339ToMicros('2024-06-01T10:00:00.500000Z'));
  assert.equal(rfc3339ToMicros('2024-06-01T05:00:00.000001-05:00'), 1717236000000001n);
  assert.equal(rfc3339ToMicros('2024-02-30T00:00:00Z'), null);
  assert.equal(rfc3339ToMicros('2024-06-01 10:00:00Z'), null);
  assert.ok(deepEqual({ a: [1, { b: null }], c: 'x' }, { c: 'x', a: [1, { b: null }] }));
  assert.ok(!deepEqual({ a: 1 }, { a: 1, b: undefined }));
  assert.ok(!deepEqual([1, 2], { 0: 1, 1: 2 }));
});

test('a correct table passes every check', async () => {
  const dir = await buildTable('good', good);
  const r = verify(dir);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /3 versions|4 versions/);
  for (const c of ['log', 'files', 'schema', 'exactly_once', 'values', 'stats', 'txn']) {
    assert.match(r.out, new RegExp(`PASS ${c}\\b`), r.out);
  }
  assert.match(r.out, /5 rows/);
});

test('a duplicated row fails exactly_once and names it', async () => {
  const dup = P1.filter((r) => r.o === 2);
  const dir = await buildTable('duplicate', [...good, { files: [{ name: 'part-00001-c.parquet', rows: dup }], txn: { 1: 2 } }]);
  const r = verify(dir);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /FAIL exactly_once/);
  assert.match(r.out, /duplicate: partition 1 offset 2 appears again in part-00001-/);
  assert.match(r.out, /verify_delta: FAIL \(exactly_once\)/);
});

test('a missing row fails exactly_once and txn, and names it', async () => {
  const rows = P0.filter((r) => r.o !== 2);
  const dir = await buildTable('missing', [{ files: [{ name: 'part-00000-a.parquet', rows }], txn: { 0: 3 } }, ...good.slice(1)]);
  const r = verify(dir);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /FAIL exactly_once/);
  assert.match(r.out, /missing: partition 0 offset 2: \{"user_id":4000000000123/);
  assert.match(r.out, /FAIL txn[\s\S]*partition 0: txn ksink-events-0 version 3 claims offsets the table lacks: 1 valid records, first offset 2/);
});

test('an invalid record in the table fails exactly_once', async () => {
  const bad = { p: 1, o: 1, user_id: 6, event_type: 'click', ts_us: rfc3339ToMicros('2024-06-01T10:00:04Z'), properties: null };
  const rows = [...P1, bad].sort((a, b) => a.o - b.o);
  const dir = await buildTable('invalid', [good[0], { files: [{ name: 'part-00001-b.parquet', rows }], txn: { 1: 2 } }]);
  const r = verify(dir);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /invalid record present: partition 1 offset 1 kind wrong_type/);
});

test('a wrong value fails values with expected and actual', async () => {
  const rows = P1.map((r) => (r.o === 0 ? { ...r, properties: '{"sku":"SKU-00042","price":19.98,"quantity":2,"tags":["a","b"],"note":null}' } : r));
  const rows0 = P0.map((r) => (r.o === 3 ? { ...r, ts_us: r.ts_us + 1n } : r));
  const dir = await buildTable('values', [{ files: [{ name: 'a.parquet', rows: rows0 }], txn: { 0: 3 } },
    { files: [{ name: 'b.parquet', rows }], txn: { 1: 2 } }]);
  const r = verify(dir);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /FAIL values/);
  assert.match(r.out, /partition 1 offset 0 \(b.parquet\): properties .*19\.98/);
  assert.match(r.out, /partition 0 offset 3 \(a.parquet\): timestamp 1717236002123457 us/);
  assert.match(r.out, /PASS exactly_once/);
});

test('wrong stats fail stats', async () => {
  const stats = JSON.parse(statsOf(P0));
  stats.maxValues._kafka_offset = 2;
  stats.minValues.event_type = 'page_view';
  const dir = await buildTable('stats', [{ files: [{ name: 'a.parquet', rows: P0, stats: JSON.stringify(stats) }], txn: { 0: 3 } }, ...good.slice(1)]);
  const r = verify(dir);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /a.parquet: maxValues._kafka_offset 2, DuckDB max 3/);
  assert.match(r.out, /a.parquet: minValues.event_type "page_view", DuckDB min "login"/);
});

test('truncated string stats are accepted when they still bound the data', async () => {
  const stats = JSON.parse(statsOf(P0));
  stats.minValues.event_type = 'lo';
  stats.maxValues.event_type = 'sea\u{10ffff}';
  const dir = await buildTable('stats-trunc', [{ files: [{ name: 'a.parquet', rows: P0, stats: JSON.stringify(stats) }], txn: { 0: 3 } }, ...good.slice(1)]);
  const r = verify(dir);
  assert.equal(r.code, 0, r.out);
});

test('a txn behind the data, or going backwards, fails', async () => {
  const dir = await buildTable('txn', [{ files: [{ name: 'a.parquet', rows: P0 }], txn: { 0: 2 } }, good[1], { txn: { 1: 0 } }]);
  const r = verify(dir);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /partition 0: txn ksink-events-0 version 2 < max valid offset 3/);
  assert.match(r.out, /txn ksink-events-1 goes backwards: 1 \(version 2\) -> 0/);
});

test('a broken log fails log: gap, bad JSON, second metaData, add without stats, remove of an unknown file', async () => {
  const dir = await buildTable('log', good, {
    mutate: (t) => {
      t[1] = t[1].replace(/,"stats":"(?:[^"\\]|\\.)*"/, '') + '{"metaData":{"id":"x"}}\n{not json\n{"remove":{"path":"nope.parquet","dataChange":true}}\n';
      t[2] = null; // version 2 missing
      return t;
    },
  });
  const r = verify(dir);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /FAIL log/);
  assert.match(r.out, /expected version 2, found 3/);
  assert.match(r.out, /00000000000000000001.json:\d+: add lacks "stats"/);
  assert.match(r.out, /00000000000000000001.json:\d+: not valid JSON/);
  assert.match(r.out, /00000000000000000001.json:\d+: metaData needs id, format.provider "parquet", schemaString, partitionColumns/);
  assert.match(r.out, /remove of nope.parquet, which is not active/);
});

test('a later metaData may add nullable columns, nothing else', async () => {
  const evolved = (change) => (t) => {
    const meta = JSON.parse(t[0].split('\n')[1]).metaData;
    const schema = JSON.parse(meta.schemaString);
    change(schema);
    t[2] = JSON.stringify({ metaData: { ...meta, schemaString: JSON.stringify(schema) } }) + '\n' + t[2];
    return t;
  };
  const ok = await buildTable('evolved', good, { mutate: evolved((s) => s.fields.push(
    { name: 'email', type: 'string', nullable: true, metadata: {} },
    { name: 'profile', type: { type: 'struct', fields: [{ name: 'city', type: 'string', nullable: true, metadata: {} }] }, nullable: true, metadata: {} })) });
  const r1 = verify(ok);
  assert.equal(r1.code, 0, r1.out);
  for (const [name, change, why] of [
    ['retyped', (s) => { s.fields[4].type = 'string'; }, /user_id: "long" -> "string"/],
    ['dropped', (s) => { s.fields.splice(5, 1); }, /event_type dropped/],
    ['required', (s) => s.fields.push({ name: 'x', type: 'long', nullable: false, metadata: {} }), /x added as non-nullable/],
  ]) {
    const r = verify(await buildTable(name, good, { mutate: evolved(change) }));
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, why);
  }
});

test('a removed file no longer counts; a wrong column type fails schema', async () => {
  // file b is replaced by c (same rows), as compaction would: still passes
  const ok = await buildTable('compacted', [...good, { remove: ['part-00001-b.parquet'], files: [{ name: 'part-00001-c.parquet', rows: P1 }] }]);
  const r1 = verify(ok);
  assert.equal(r1.code, 0, r1.out);
  assert.match(r1.out, /2 active files \(3 adds, 1 removes\)/);

  const dir = await buildTable('schema', good);
  const c = await db();
  const f = path.join(dir, 'part-00000-a.parquet');
  await c.run(`COPY (SELECT * REPLACE (_kafka_partition::BIGINT AS _kafka_partition) FROM read_parquet(${q(f)})) TO ${q(f + '.tmp')} (FORMAT PARQUET)`);
  fs.renameSync(f + '.tmp', f);
  const r2 = verify(dir);
  assert.equal(r2.code, 1, r2.out);
  assert.match(r2.out, /part-00000-a.parquet: column _kafka_partition is BIGINT, expected INTEGER/);
  assert.match(r2.out, /add.size \d+ but the file has \d+ bytes|PASS files/);
});
