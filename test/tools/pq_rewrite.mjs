// Rewrites a Parquet file with DuckDB (another writer than ksink's), for
// the reader tests: node pq_rewrite.mjs IN OUT CODEC [V1|V2]
// CODEC: uncompressed | snappy | gzip | zstd.
import { DuckDBInstance } from '@duckdb/node-api';

const [inp, out, codec, version = 'V1'] = process.argv.slice(2);
if (!codec) {
  console.error('usage: pq_rewrite.mjs IN OUT CODEC [V1|V2]');
  process.exit(2);
}
const q = (s) => "'" + s.replaceAll("'", "''") + "'";
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run(`COPY (SELECT * FROM read_parquet(${q(inp)})) TO ${q(out)}
  (FORMAT parquet, COMPRESSION ${codec}, PARQUET_VERSION ${version})`);
