// Prints every row of a Delta table's active files as one JSON object per
// line, read by DuckDB (an independent Parquet reader): maps as objects,
// lists as arrays, timestamps as microseconds since the epoch. Used by the
// integration tests that compare tables value by value.
//   node delta_dump.mjs TABLE_DIR
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const table = process.argv[2];
const dir = path.join(table, '_delta_log');
let logs = [];
try {
  logs = fs.readdirSync(dir).filter((f) => /^\d{20}\.json$/.test(f)).sort();
} catch {
  process.exit(0);
}
const active = new Set();
for (const f of logs) {
  for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const a = JSON.parse(line);
    if (a.add) active.add(decodeURIComponent(a.add.path));
    if (a.remove) active.delete(decodeURIComponent(a.remove.path));
  }
}
if (active.size === 0) process.exit(0);
const q = (s) => `'${s.replaceAll("'", "''")}'`;
const files = [...active].map((p) => q(path.join(table, p))).join(', ');
const instance = await DuckDBInstance.create(':memory:');
const conn = await instance.connect();
const from = `read_parquet([${files}], union_by_name=true, hive_partitioning=false)`;
const cols = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`)).getRows();
const sel = cols.map(([name, type]) => {
  const id = `"${name.replaceAll('"', '""')}"`;
  return type.startsWith('TIMESTAMP') ? `epoch_us(${id}) AS ${id}` : id;
});
const reader = await conn.runAndReadAll(
  `SELECT to_json(t)::VARCHAR FROM (SELECT ${sel.join(', ')} FROM ${from}) t`);
const out = reader.getRows().map((r) => r[0]).join('\n');
process.stdout.write(out ? out + '\n' : '');
