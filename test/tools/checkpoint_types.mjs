// Reads a Delta checkpoint Parquet file with DuckDB and prints, one line
// each, "<column>\t<DuckDB type>" for the top-level columns, then
// "rows\t<n>" and "actions\t<add> <txn> <metaData> <protocol> <remove>"
// (non-null rows of each struct). Usage: node checkpoint_types.mjs FILE
import { DuckDBInstance } from '@duckdb/node-api';

const file = process.argv[2];
if (!file) {
  console.error('usage: checkpoint_types.mjs FILE');
  process.exit(2);
}
const q = (s) => "'" + s.replaceAll("'", "''") + "'";
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const src = `read_parquet(${q(file)})`;
const desc = (await con.runAndReadAll(`DESCRIBE SELECT * FROM ${src}`)).getRows();
for (const r of desc) console.log(`${r[0]}\t${r[1]}`);
const n = (await con.runAndReadAll(
  `SELECT count(*), count(add), count(txn), count(metaData), count(protocol),
          count(remove) FROM ${src}`)).getRows()[0];
console.log(`rows\t${n[0]}`);
console.log(`actions\t${n[1]} ${n[2]} ${n[3]} ${n[4]} ${n[5]}`);
// A few values through DuckDB's own nested readers.
const v = (await con.runAndReadAll(
  `SELECT protocol.minReaderVersion, protocol.minWriterVersion FROM ${src}
   WHERE protocol IS NOT NULL`)).getRows()[0];
console.log(`protocol\t${v[0]} ${v[1]}`);
const p = (await con.runAndReadAll(
  `SELECT max(txn.version) FROM ${src} WHERE txn IS NOT NULL`)).getRows()[0];
console.log(`max_txn\t${p[0]}`);
