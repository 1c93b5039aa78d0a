#!/usr/bin/env node
// verify_poison: the read-back of the poison-pill catalog test
// (test/integration/poison_pills.sh), independent of ksink's C code. It
// replays the Delta log itself, reads every active Parquet file with
// DuckDB and checks, partition by partition, that each good record is in
// the table exactly once and no poison record is.
//
//   node verify_poison.mjs --table DIR --expect P:FILE[:BAD_LINE]... \
//        [--null-ts P:OFFSET]...
//
// --expect: the ks_produce --expect file of Kafka partition P; line
// BAD_LINE (1-based, optional) is the poison record, which must be absent.
// Every other record must be present once, with its "n" field intact.
// --null-ts: the row at P:OFFSET must be there with a NULL
// _kafka_timestamp (a timestamp out of range); every other row has one.
// Exit 1 on any difference, 2 on bad usage.
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const args = process.argv.slice(2);
let table = null;
const expects = [];
const nullTs = new Set();
for (let i = 0; i < args.length; i += 2) {
  const v = args[i + 1];
  if (args[i] === '--table') table = v;
  else if (args[i] === '--expect') {
    const [p, file, bad] = v.split(':');
    expects.push({ p: Number(p), file, bad: bad ? Number(bad) : 0 });
  } else if (args[i] === '--null-ts') nullTs.add(v);
  else {
    console.error(`verify_poison: unknown argument ${args[i]}`);
    process.exit(2);
  }
}
if (!table || expects.length === 0) {
  console.error('usage: verify_poison.mjs --table DIR --expect P:FILE[:BAD]... [--null-ts P:OFF]...');
  process.exit(2);
}

const failures = [];
const fail = (m) => { if (failures.push(m) <= 20) console.error(`FAIL: ${m}`); };

// the active files after replaying the log
const logDir = path.join(table, '_delta_log');
const active = new Set();
for (const f of fs.readdirSync(logDir).filter((x) => /^\d{20}\.json$/.test(x)).sort()) {
  for (const line of fs.readFileSync(path.join(logDir, f), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const a = JSON.parse(line);
    if (a.add) active.add(decodeURIComponent(a.add.path));
    if (a.remove) active.delete(decodeURIComponent(a.remove.path));
  }
}
const files = [...active].map((p) => path.join(table, p));
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const list = files.map((f) => `'${f.replace(/'/g, "''")}'`).join(',');
const rows = files.length === 0 ? [] : (await con.runAndReadAll(
  `SELECT _kafka_partition, _kafka_offset, n, _kafka_timestamp IS NULL
     FROM read_parquet([${list}], hive_partitioning = false)`)).getRows();

const seen = new Map(); // "p:o" -> [n, tsNull, count]
for (const [p, o, n, tsNull] of rows) {
  const k = `${p}:${o}`;
  const s = seen.get(k);
  if (s) s[2]++;
  else seen.set(k, [Number(n), tsNull, 1]);
}
let good = 0;
const wanted = new Set();
for (const e of expects) {
  const lines = fs.readFileSync(e.file, 'utf8').split('\n').filter((l) => l.trim());
  lines.forEach((l, i) => {
    const r = JSON.parse(l);
    const k = `${r.partition}:${r.offset}`;
    if (r.partition !== e.p) fail(`${e.file}: record ${i + 1} went to partition ${r.partition}, not ${e.p}`);
    const s = seen.get(k);
    if (e.bad === i + 1) {
      if (s) fail(`poison record ${k} is in the table`);
      return;
    }
    good++;
    wanted.add(k);
    if (!s) return fail(`record ${k} (line ${i + 1} of ${path.basename(e.file)}) is missing`);
    if (s[2] !== 1) fail(`record ${k} is in the table ${s[2]} times`);
    let n = null;
    try { n = JSON.parse(r.value).n; } catch { /* not JSON: no n to compare */ }
    if (n !== null && s[0] !== n) fail(`record ${k}: n ${s[0]}, produced ${n}`);
    const wantNull = nullTs.has(k);
    if (s[1] !== wantNull) fail(`record ${k}: _kafka_timestamp ${s[1] ? 'NULL' : 'set'}, want ${wantNull ? 'NULL' : 'set'}`);
  });
}
for (const k of seen.keys())
  if (!wanted.has(k)) fail(`row ${k} is in the table but was not expected`);
console.log(`verify_poison: ${rows.length} rows in ${files.length} files; ${good} good records expected; ${failures.length} failures`);
process.exit(failures.length ? 1 : 0);
