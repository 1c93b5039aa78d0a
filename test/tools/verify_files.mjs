#!/usr/bin/env node
// verify_files: the end-to-end check of a `format: jsonl` or `format: parquet`
// table written by ksink (no Delta log), independent of ksink's C code.
//
//   node test/tools/verify_files.mjs --dir DIR --expect FILE --topic T
//        [--count]   (only print how many records the files hold)
//
// Every file under DIR (hidden and temp files aside) must be named
// <topic>+<partition>+<first offset, 10 digits>.<ext> and parse: .jsonl,
// .jsonl.gz (zlib), .jsonl.zst (fzstd), .parquet (DuckDB). Records are
// matched to the producer's expect file: a JSON line by its exact text
// (valid values are unique in the demo corpus), a Parquet row by
// (_kafka_partition, _kafka_offset) and its user_id. Every valid record
// must be present exactly once, in the file of its partition, at or after
// the file's first offset, in offset order; no invalid record may be.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { decompress } from 'fzstd';
import { DuckDBInstance } from '@duckdb/node-api';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf('--' + name);
  return i >= 0 ? args[i + 1] : undefined;
};
const dir = opt('dir'), expectFile = opt('expect'), topic = opt('topic');
const countOnly = args.includes('--count');
// --cuts: the table's recorded cuts (_ksink/<topic>+<p>/<first>.json) must
// account for every file: each file in exactly one cut of its partition,
// its records inside that cut's [first, last], cuts of a partition never
// overlapping, every file a cut lists present. Files older than a
// partition's oldest cut belong to cuts retired by cut_retention.
const checkCuts = args.includes('--cuts');
if (!dir || (!countOnly && (!expectFile || !topic))) {
  console.error('usage: verify_files.mjs --dir DIR --expect FILE --topic T [--count]');
  process.exit(2);
}

function walk(d, out = []) {
  if (!fs.existsSync(d)) return out;
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    if (e.name.startsWith('.') || e.name.startsWith('_')) continue;
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

function jsonLines(file) {
  let buf = fs.readFileSync(file);
  if (file.endsWith('.gz')) buf = zlib.gunzipSync(buf);
  else if (file.endsWith('.zst')) buf = Buffer.from(decompress(new Uint8Array(buf)));
  const text = buf.toString('utf8');
  if (text.length && !text.endsWith('\n')) throw new Error(`${file}: last line not terminated`);
  return text.length ? text.slice(0, -1).split('\n') : [];
}

const files = walk(dir).sort();
const db = countOnly || files.some((f) => f.endsWith('.parquet'))
  ? await (await DuckDBInstance.create(':memory:')).connect() : null;
const q = (s) => "'" + s.replaceAll("'", "''") + "'";

async function parquetRows(file) {
  const r = await db.runAndReadAll(
    `SELECT _kafka_partition, _kafka_offset, user_id FROM read_parquet(${q(file)}, hive_partitioning = false)`);
  return r.getRows().map(([p, o, u]) => ({ p: Number(p), o: Number(o), u: u === null ? null : Number(u) }));
}

if (countOnly) {
  let n = 0;
  for (const f of files) {
    try {
      n += f.endsWith('.parquet') ? (await parquetRows(f)).length : jsonLines(f).length;
    } catch { /* a file being written: counted next time */ }
  }
  console.log(n);
  process.exit(0);
}

const expect = fs.readFileSync(expectFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const valid = new Map(); // "p:o" -> record
const byText = new Map(); // normalized value -> "p:o"
let dupText = 0;
for (const e of expect) {
  if (!e.valid) continue;
  valid.set(`${e.partition}:${e.offset}`, e);
  const t = e.value.replace(/[\r\n]/g, ' ');
  if (byText.has(t)) dupText++;
  byText.set(t, `${e.partition}:${e.offset}`);
}
const failures = [];
const seen = new Map();
const owner = new Map(); // file under the table -> its recorded cut
const oldest = new Map(); // partition -> first offset of its oldest cut
if (checkCuts) {
  const root = path.join(dir, '_ksink');
  const parts = fs.existsSync(root) ? fs.readdirSync(root) : [];
  if (!parts.length) failures.push('no recorded cuts under _ksink/');
  let ncuts = 0;
  for (const pd of parts) {
    // a put killed mid-way leaves a hidden temp file (swept later)
    const cuts = fs.readdirSync(path.join(root, pd)).filter((n) => !n.startsWith('.')).sort()
      .map((n) => ({ n, ...JSON.parse(fs.readFileSync(path.join(root, pd, n), 'utf8')) }));
    ncuts += cuts.length;
    if (cuts.length) oldest.set(Number(pd.split('+').pop()), cuts[0].first);
    for (let i = 0; i < cuts.length; i++) {
      const c = cuts[i];
      if (c.n !== String(c.first).padStart(20, '0') + '.json') failures.push(`${pd}/${c.n}: names first ${c.first}`);
      if (i && cuts[i - 1].last >= c.first) failures.push(`${pd}: cuts [${cuts[i - 1].first}, ${cuts[i - 1].last}] and [${c.first}, ${c.last}] overlap`);
      for (const f of c.files) {
        if (owner.has(f)) failures.push(`${f} listed by two cuts`);
        owner.set(f, c);
        if (!fs.existsSync(path.join(dir, f))) failures.push(`${pd}/${c.n}: lists ${f}, which is missing`);
      }
    }
  }
  console.log(`${ncuts} recorded cuts list ${owner.size} files`);
}
const nameRe = new RegExp(`^${topic.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\+(\\d+)\\+(\\d{10,})\\.(jsonl|jsonl\\.gz|jsonl\\.zst|parquet)$`);
for (const f of files) {
  const m = path.basename(f).match(nameRe);
  if (!m) { failures.push(`unexpected file ${f}`); continue; }
  const part = Number(m[1]), first = Number(m[2]);
  let recs;
  try {
    if (m[3] === 'parquet') {
      recs = (await parquetRows(f)).map((r) => {
        const e = valid.get(`${r.p}:${r.o}`);
        if (e && JSON.parse(e.value).user_id !== r.u) failures.push(`${f}: ${r.p}:${r.o} user_id ${r.u}`);
        return e ? `${r.p}:${r.o}` : `invalid ${r.p}:${r.o}`;
      });
    } else {
      recs = jsonLines(f).map((l) => byText.get(l) ?? `unknown line ${l.slice(0, 80)}`);
    }
  } catch (err) {
    failures.push(`${f}: does not parse: ${err.message}`);
    continue;
  }
  let last = -1;
  const cut = owner.get(path.relative(dir, f));
  if (checkCuts && !cut && !(first < (oldest.get(part) ?? -1)))
    failures.push(`${f}: in no recorded cut`);
  for (const k of recs) {
    if (!valid.has(k)) { failures.push(`${f}: ${k}`); continue; }
    const [p, o] = k.split(':').map(Number);
    if (cut && (o < cut.first || o > cut.last)) failures.push(`${f}: offset ${o} outside its cut [${cut.first}, ${cut.last}]`);
    if (p !== part) failures.push(`${f}: record of partition ${p}`);
    if (o < first) failures.push(`${f}: offset ${o} before the file's first offset ${first}`);
    if (o <= last) failures.push(`${f}: offset ${o} after ${last}`);
    last = o;
    seen.set(k, (seen.get(k) || 0) + 1);
  }
}
let missing = 0, dups = 0;
for (const k of valid.keys()) {
  const n = seen.get(k) || 0;
  if (n === 0) missing++;
  if (n > 1) dups++;
}
if (dupText) failures.push(`${dupText} valid values are not unique: the check cannot tell them apart`);
if (missing) failures.push(`${missing} valid records missing`);
if (dups) failures.push(`${dups} valid records present more than once`);
console.log(`${files.length} files, ${[...seen.values()].reduce((a, b) => a + b, 0)} records, ${valid.size} valid expected`);
if (failures.length) {
  for (const f of failures.slice(0, 20)) console.log('FAIL ' + f);
  process.exit(1);
}
console.log('PASS every valid record exactly once');
