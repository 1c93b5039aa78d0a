// Independent Parquet reader for ksink's tests: reads one file with DuckDB
// and prints, one line each, tab-separated:
//   type   <column> <DuckDB type>
//   schema <column> <physical> <repetition> <converted> <logical>
//   row    <value>...           (file order)
//   stat   <row group> <column> <stats_min> <stats_max> <stats_min_value>
//          <stats_max_value> <null_count> <num_values> <compression>
//          <encodings>
//   file   <created_by> <num_rows> <num_row_groups> <format_version>
//   kv     <key> <value>
// (stats_min/max are the legacy fields, *_value the current ones; all four
// as JSON string literals.)
// Values: null, true/false, integers in decimal, strings as JSON literals,
// DOUBLE as "d:" + the 16 hex digits of its IEEE bits (exact), TIMESTAMP
// WITH TIME ZONE as epoch microseconds, DATE as days since 1970-01-01.
// Usage: node pq_read.mjs FILE
import { DuckDBInstance } from '@duckdb/node-api';

const file = process.argv[2];
if (!file) {
  console.error('usage: pq_read.mjs FILE');
  process.exit(2);
}
const q = (s) => "'" + s.replaceAll("'", "''") + "'";
const ident = (s) => '"' + s.replaceAll('"', '""') + '"';
const show = (v) => (v === null || v === undefined ? 'null' : String(v));

function value(v, type) {
  if (v === null || v === undefined) return 'null';
  if (type === 'DOUBLE') {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    return 'd:' + b.readBigUInt64LE().toString(16).padStart(16, '0');
  }
  if (type === 'VARCHAR') return JSON.stringify(v);
  return String(v);
}

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run("SET TimeZone = 'UTC'");
const src = `read_parquet(${q(file)})`;
const out = [];

const desc = (await (await con.runAndReadAll(`DESCRIBE SELECT * FROM ${src}`)).getRows());
const types = desc.map((r) => [String(r[0]), String(r[1])]);
for (const [name, type] of types) out.push(['type', name, type].join('\t'));

const sch = (await con.runAndReadAll(
  `SELECT name, type, repetition_type, converted_type, logical_type
   FROM parquet_schema(${q(file)}) WHERE num_children IS NULL OR num_children = 0`)).getRows();
for (const r of sch) out.push(['schema', ...r.map(show)].join('\t'));

const sel = types.map(([name, type]) => {
  if (type === 'TIMESTAMP WITH TIME ZONE') return `epoch_us(${ident(name)})`;
  if (type === 'DATE') return `(${ident(name)} - DATE '1970-01-01')`;
  return ident(name);
});
if (sel.length) {
  const rows = (await con.runAndReadAll(`SELECT ${sel.join(', ')} FROM ${src}`)).getRows();
  for (const r of rows)
    out.push(['row', ...r.map((v, i) => value(v, types[i][1]))].join('\t'));
}

const st = (await con.runAndReadAll(
  `SELECT row_group_id, path_in_schema, stats_min, stats_max,
          stats_min_value, stats_max_value, stats_null_count,
          num_values, compression, encodings
   FROM parquet_metadata(${q(file)}) ORDER BY row_group_id, column_id`)).getRows();
const lit = (v) => (v === null || v === undefined ? 'null' : JSON.stringify(String(v)));
for (const r of st)
  out.push(['stat', ...r.map((v, i) => (i >= 2 && i <= 5 ? lit(v) : show(v)))].join('\t'));

const fm = (await con.runAndReadAll(
  `SELECT created_by, num_rows, num_row_groups, format_version
   FROM parquet_file_metadata(${q(file)})`)).getRows();
for (const r of fm) out.push(['file', ...r.map(show)].join('\t'));
const kv = (await con.runAndReadAll(
  `SELECT key::VARCHAR, value::VARCHAR FROM parquet_kv_metadata(${q(file)})`)).getRows();
for (const r of kv) out.push(['kv', ...r.map(show)].join('\t'));

process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
