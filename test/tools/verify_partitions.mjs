#!/usr/bin/env node
// verify_partitions: checks a partitioned Delta table written by ksink
// against the records sent (independent of ksink's C code).
//
//   node test/tools/verify_partitions.mjs --table DIR --values FILE
//        --inspect FILE   (the output of `ksink inspect URL --json --files`)
//
// FILE's lines are the records, each {"n": unique id, "k": string|null,
// "ts": RFC 3339}; the table is partition_by [k, day] with day derived
// from ts (UTC date). Checks:
//   log      every add's partitionValues are {k, day} as PROTOCOL.md
//            serializes them ("" and null -> null), its path is a URI whose
//            decoding is an existing file under DIR, and the directories
//            are k=<Hive-escaped>/day=<date> (__HIVE_DEFAULT_PARTITION__
//            for null)
//   files    the data files hold no k or day column (DuckDB DESCRIBE)
//   duckdb   read_parquet(hive_partitioning) over the decoded paths gives
//            every record once with its k and day
//   ksink    the snapshot reader's files and partitionValues (inspect) equal
//            the log's, partition_columns is [k, day]
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const args = process.argv.slice(2);
const opt = (n) => { const i = args.indexOf('--' + n); return i >= 0 ? args[i + 1] : undefined; };
const table = opt('table'), valuesFile = opt('values'), inspectFile = opt('inspect');
if (!table || !valuesFile || !inspectFile) {
  console.error('usage: verify_partitions.mjs --table DIR --values FILE --inspect FILE');
  process.exit(2);
}
const failures = [];
const fail = (m) => failures.push(m);

// Hive/Spark escapePathName, written from its description
const ESC = new Set(['"', '#', '%', "'", '*', '/', ':', '=', '?', '\\', '\x7f', '{', '[', ']', '^']);
const hiveEscape = (s) => [...s].map((c) => (c.charCodeAt(0) < 0x20 || ESC.has(c)
  ? '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0') : c)).join('');
const dayOf = (ts) => new Date(ts).toISOString().slice(0, 10);

const records = fs.readFileSync(valuesFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const byN = new Map(records.map((r) => [r.n, r]));

// ---- log
const logDir = path.join(table, '_delta_log');
const active = new Map();
let partitionColumns = null;
for (const f of fs.readdirSync(logDir).filter((f) => /^\d{20}\.json$/.test(f)).sort()) {
  for (const line of fs.readFileSync(path.join(logDir, f), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const a = JSON.parse(line);
    if (a.metaData) partitionColumns = a.metaData.partitionColumns;
    if (a.add) active.set(a.add.path, a.add);
    if (a.remove) active.delete(a.remove.path);
  }
}
if (JSON.stringify(partitionColumns) !== '["k","day"]') fail(`metaData.partitionColumns ${JSON.stringify(partitionColumns)}`);
const files = [];
for (const [p, a] of active) {
  const pv = a.partitionValues;
  const rel = decodeURIComponent(p);
  const file = path.join(table, rel);
  if (!fs.existsSync(file)) { fail(`add.path ${p} decodes to ${rel}: no such file`); continue; }
  const want = `k=${pv.k === null ? '__HIVE_DEFAULT_PARTITION__' : hiveEscape(pv.k)}/day=${pv.day === null ? '__HIVE_DEFAULT_PARTITION__' : pv.day}/`;
  if (!rel.startsWith(want)) fail(`${rel}: directories are not ${want}`);
  if (!/^[A-Za-z0-9\-_.~/=%]*$/.test(p)) fail(`add.path ${p} is not URI-encoded`);
  files.push({ file, pv, rows: JSON.parse(a.stats).numRecords });
}

// ---- DuckDB
const db = await (await DuckDBInstance.create(':memory:')).connect();
const q = (s) => "'" + s.replaceAll("'", "''") + "'";
const list = '[' + files.map((f) => q(f.file)).join(',') + ']';
const cols = (await db.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${list}, hive_partitioning = false)`))
  .getRows().map((r) => r[0]);
if (cols.includes('k') || cols.includes('day')) fail(`partition columns stored in the data files: ${cols}`);
const seen = new Map();
for (const f of files) {
  // per file: the partition values as the directory names give them
  const rows = (await db.runAndReadAll(`SELECT n FROM read_parquet(${q(f.file)}, hive_partitioning = false)`)).getRows();
  if (rows.length !== f.rows) fail(`${f.file}: ${rows.length} rows, stats say ${f.rows}`);
  for (const [nRaw] of rows) {
    const n = Number(nRaw), r = byN.get(n);
    seen.set(n, (seen.get(n) || 0) + 1);
    if (!r) { fail(`unknown row n=${n}`); continue; }
    const k = r.k === '' || r.k === undefined ? null : r.k;
    if (f.pv.k !== k) fail(`n=${n}: partitionValues.k ${JSON.stringify(f.pv.k)}, record has ${JSON.stringify(r.k)}`);
    if (f.pv.day !== dayOf(r.ts)) fail(`n=${n}: partitionValues.day ${f.pv.day}, record's is ${dayOf(r.ts)}`);
  }
}
const hive = (await db.runAndReadAll(
  `SELECT n, k, CAST(day AS VARCHAR) FROM read_parquet(${list}, hive_partitioning = true, hive_types = {'day': DATE})`)).getRows();
let hiveOk = 0;
for (const [nRaw, k, day] of hive) {
  const r = byN.get(Number(nRaw));
  if (!r) continue;
  const wantK = r.k === '' || r.k === undefined ? null : r.k;
  if (day !== dayOf(r.ts)) fail(`duckdb n=${nRaw}: day ${day}, want ${dayOf(r.ts)}`);
  if (k === wantK) hiveOk++;
  else fail(`duckdb n=${nRaw}: k ${JSON.stringify(k)} from the directory, want ${JSON.stringify(wantK)}`);
}
for (const r of records) if ((seen.get(r.n) || 0) !== 1) fail(`n=${r.n} present ${seen.get(r.n) || 0} times`);

// ---- ksink's snapshot reader
const ins = JSON.parse(fs.readFileSync(inspectFile, 'utf8'));
if (JSON.stringify(ins.partition_columns) !== '["k","day"]') fail(`inspect partition_columns ${JSON.stringify(ins.partition_columns)}`);
if (ins.rows !== records.length) fail(`inspect rows ${ins.rows}, sent ${records.length}`);
const insFiles = new Map(ins.active_files.map((f) => [f.path, f.partition_values]));
if (insFiles.size !== active.size) fail(`inspect lists ${insFiles.size} files, the log ${active.size}`);
for (const [p, a] of active)
  if (JSON.stringify(insFiles.get(p)) !== JSON.stringify(a.partitionValues))
    fail(`inspect ${p}: ${JSON.stringify(insFiles.get(p))} != ${JSON.stringify(a.partitionValues)}`);
const dayField = JSON.stringify(ins.schema.fields.find((f) => f.name === 'day'));
if (!dayField || !dayField.includes('"date"')) fail(`schema's day field: ${dayField}`);

console.log(`${active.size} files, ${records.length} records, ${hiveOk} read back by DuckDB's hive_partitioning with their k`);
if (failures.length) {
  for (const f of failures.slice(0, 30)) console.log('FAIL ' + f);
  process.exit(1);
}
console.log('PASS partition values, paths and escaping');
