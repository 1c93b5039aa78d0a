// Every expected row in a Delta table exactly once, value by value, read
// with DuckDB (independent of ksink's C code), and the columns' types.
//
//   node verify_rows.mjs DIR EXPECTED.jsonl KEY [COLUMN=TYPE ...]
//
// Replays _delta_log to the active files, reads them with read_parquet
// (union_by_name: files written before a column existed read null), and
// compares each row with the expected line whose KEY matches, over the
// expected line's fields; _kafka_* columns are not compared. Top-level
// timestamps are compared as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC),
// decimals and dates as their text. COLUMN=TYPE checks DuckDB's type name
// of a column (e.g. price=DECIMAL(9,2)). Prints "ok N rows"; exits 1 with
// the first differences otherwise.
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const [dir, expectedFile, key, ...typeArgs] = process.argv.slice(2);
const logDir = path.join(dir, '_delta_log');
const active = new Map();
for (const f of fs.readdirSync(logDir).filter((f) => /^\d{20}\.json$/.test(f)).sort()) {
  for (const line of fs.readFileSync(path.join(logDir, f), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const a = JSON.parse(line);
    if (a.add) active.set(a.add.path, a.add);
    if (a.remove) active.delete(a.remove.path);
  }
}
const files = [...active.keys()].map((p) => path.join(dir, decodeURIComponent(p)));
if (!files.length) { console.error('no active files'); process.exit(1); }
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run("SET TimeZone='UTC'");
const list = files.map((f) => "'" + f.replaceAll("'", "''") + "'").join(',');
const src = `read_parquet([${list}], union_by_name=true)`;
const desc = (await con.runAndReadAll(`DESCRIBE SELECT * FROM ${src}`)).getRowObjects();
const types = Object.fromEntries(desc.map((d) => [d.column_name, d.column_type]));
const problems = [];
for (const t of typeArgs) {
  const [c, want] = t.split('=');
  if (types[c] !== want) problems.push(`column ${c}: type ${types[c]}, want ${want}`);
}
const sel = desc.map((d) => {
  const q = '"' + d.column_name.replaceAll('"', '""') + '"';
  if (d.column_type.startsWith('TIMESTAMP'))
    return `strftime(${q}, '%Y-%m-%dT%H:%M:%S.%fZ') AS ${q}`;
  if (d.column_type.startsWith('DECIMAL') || d.column_type === 'DATE')
    return `${q}::VARCHAR AS ${q}`;
  return q;
}).join(', ');
const got = (await con.runAndReadAll(
  `SELECT to_json(t)::VARCHAR AS j FROM (SELECT ${sel} FROM ${src}) t`))
  .getRowObjects().map((r) => JSON.parse(r.j));
const expected = fs.readFileSync(expectedFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const want = new Map(expected.map((e) => [String(e[key]), e]));
const seen = new Map();
const canon = (v) => JSON.stringify(v, (k, x) =>
  x && typeof x === 'object' && !Array.isArray(x)
    ? Object.fromEntries(Object.keys(x).sort().map((kk) => [kk, x[kk]])) : x);
for (const row of got) {
  const id = String(row[key]);
  seen.set(id, (seen.get(id) || 0) + 1);
  const e = want.get(id);
  if (!e) { problems.push(`unexpected row ${id}: ${JSON.stringify(row)}`); continue; }
  for (const [k, v] of Object.entries(e)) {
    if (canon(row[k]) !== canon(v))
      problems.push(`row ${id} column ${k}: got ${canon(row[k])}, want ${canon(v)}`);
  }
  for (const k of Object.keys(row))
    if (!k.startsWith('_kafka_') && !(k in e))
      problems.push(`row ${id}: column ${k} not expected`);
}
for (const id of want.keys())
  if (seen.get(id) !== 1) problems.push(`row ${id} seen ${seen.get(id) || 0} times`);
if (problems.length) {
  console.error(problems.slice(0, 15).join('\n'));
  console.error(`${problems.length} problems`);
  process.exit(1);
}
console.log(`ok ${got.length} rows`);
