// The row multiset of a Delta table at a version, independent of ksink's
// C code: replays _delta_log/*.json up to the version (default: the
// newest), reads the active Parquet files with DuckDB and prints one line
//   version=<V> files=<F> rows=<N> hash=<md5 of the sorted rows as JSON>
// Two versions hold the same rows (with multiplicity) exactly when their
// rows and hash agree; the order of rows and files does not matter.
//
//   node test/tools/table_hash.mjs DIR [--version V]
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const args = process.argv.slice(2);
const dir = args[0];
if (!dir) {
  console.error('usage: table_hash.mjs DIR [--version V]');
  process.exit(2);
}
const vi = args.indexOf('--version');
const logDir = path.join(dir, '_delta_log');
const entries = fs.readdirSync(logDir).filter((f) => /^\d{20}\.json$/.test(f)).sort();
const newest = entries.length ? Number(entries[entries.length - 1].slice(0, 20)) : -1;
const upTo = vi >= 0 ? Number(args[vi + 1]) : newest;
if (!(upTo >= 0 && upTo <= newest)) {
  console.error(`table_hash: version ${args[vi + 1]} not in 0..${newest}`);
  process.exit(2);
}
const active = new Map();
let expected = 0;
for (const f of entries) {
  const v = Number(f.slice(0, 20));
  if (v !== expected) throw new Error(`log gap: ${f} after version ${expected - 1}`);
  expected++;
  if (v > upTo) break;
  for (const line of fs.readFileSync(path.join(logDir, f), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const a = JSON.parse(line);
    if (a.add) active.set(a.add.path, a.add);
    if (a.remove) active.delete(a.remove.path);
  }
}
const files = [...active.keys()].map((p) => path.join(dir, decodeURIComponent(p)));
let rows = 0;
let hash = 'd41d8cd98f00b204e9800998ecf8427e';
if (files.length) {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const list = files.map((f) => "'" + f.replaceAll("'", "''") + "'").join(',');
  const r = await con.runAndReadAll(
    `SELECT count(*)::BIGINT AS n, md5(string_agg(j, chr(10) ORDER BY j)) AS h
       FROM (SELECT to_json(t)::VARCHAR AS j FROM read_parquet([${list}]) t)`);
  const row = r.getRowObjects()[0];
  rows = Number(row.n);
  hash = row.h;
}
console.log(`version=${upTo} files=${files.length} rows=${rows} hash=${hash}`);
