#!/usr/bin/env node
// delta_corpus: records for, and the check of, an append by ksink to a Delta
// table written by another engine (test/integration/delta_corpus.sh).
//
//   node delta_corpus.mjs gen BEFORE.json COUNT OUT.jsonl
//       records whose fields are the table's columns (BEFORE.json is
//       `ksink inspect --json --files` of the copy before the run)
//   node delta_corpus.mjs verify --orig DIR --table DIR --before F --after F
//        --expect FILE [--expect FILE...] [--own-app APP]
//       (--own-app: txns of appIds APP/* -- or the older APP-* -- are
//       ksink's own and may move)
//
// verify checks, independent of ksink's C code except for the two inspect
// outputs (the project's own reader):
//   originals   every file active before is active after, with the same
//               deletion vector, and byte-identical to the source folder's
//               copy (so every original row is still there, unchanged); no
//               commit of ksink removes anything
//   log         every new entry parses; no protocol action (the protocol and
//               its features stay as they were); a metaData action keeps the
//               table's id, configuration and every field as it was stated;
//               no add carries a deletionVector; commitInfo is first and its
//               inCommitTimestamp above the previous one when the table has
//               in-commit timestamps; other writers' txns are kept
//   rows        rows after = rows before + new records; the domains kept
//               (delta.rowTracking only moves up)
//   row_ids     rowTracking tables: every new add has baseRowId above the old
//               high-water mark, ranges disjoint, defaultRowCommitVersion =
//               the commit's version, the high-water mark covers them
//   records     DuckDB reads every new file; (_kafka_partition,
//               _kafka_offset) is exactly the set delivered (each once), and
//               each top-level scalar column equals the record's value
//               (partition columns through the add's partitionValues)
//   checkpoint  a checkpoint written during the run is read by DuckDB and
//               holds the table's add actions
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const die = (m) => { console.error(`delta_corpus: ${m}`); process.exit(2); };
const readJson = (f) => JSON.parse(fs.readFileSync(f, 'utf8'));

// ---- gen -------------------------------------------------------------------

function value(type, i, part) {
  if (typeof type === 'object') {
    if (type.type === 'struct') {
      const o = {};
      for (const f of type.fields) o[f.name] = value(f.type, i, false);
      return o;
    }
    if (type.type === 'array') return [value(type.elementType, i, false), value(type.elementType, i + 1, false)];
    if (type.type === 'map') return { [`k${i % 5}`]: value(type.valueType, i, false) };
    return null;
  }
  const n = part ? i % 3 : i;
  switch (type) {
    case 'byte': return n % 100;
    case 'short': return n % 30000;
    case 'integer': return part ? n : (n * 7919) % 2000000000;
    case 'long': return part ? n : 1e12 + n;
    case 'float': case 'double': return n + 0.25;
    case 'boolean': return n % 2 === 0;
    case 'string': return part ? `p${n}` : `s${n}-${'x'.repeat(n % 7)}`;
    case 'date': return `2024-01-${String((n % 28) + 1).padStart(2, '0')}`;
    case 'timestamp': return new Date(1.7e12 + n * 1000).toISOString();
    // no zone; six fraction digits, never all zero
    case 'timestamp_ntz': return new Date(1.7e12 + n * 1000).toISOString().slice(0, 19) + `.${String(n % 999999 + 1).padStart(6, '0')}`;
    case 'binary': return Buffer.from(`b${n}\u0000\xff`, 'latin1').toString('base64');
    default: {
      const d = /^decimal\((\d+),(\d+)\)$/.exec(type);
      if (!d) return null;
      // half as JSON numbers, half as their text; s fraction digits
      const s = Number(d[2]), ip = Math.min(Number(d[1]) - s, 6);
      const t = `${n % 10 ** ip}${s ? '.' + String(n % 10 ** Math.min(s, 6)).padStart(s, '0') : ''}`;
      return n % 2 ? Number(t) : t;
    }
  }
}

function gen(beforeFile, count, out) {
  const b = readJson(beforeFile);
  const parts = new Set(b.partition_columns);
  const fields = b.schema.fields.filter((f) => !f.name.startsWith('_kafka_'));
  const lines = [];
  // values that keep the table's constraints: an invariant "<col> < N"
  // bounds its column, a generated column "<col> + K" is computed
  const bound = new Map(), gen = new Map();
  for (const f of fields) {
    let inv = f.metadata?.['delta.invariants'];
    if (inv) {
      try { inv = JSON.parse(inv).expression.expression; } catch { /* bare */ }
      const m = /^\s*`?(\w+)`?\s*<\s*(\d+)\s*$/.exec(inv);
      if (m) bound.set(m[1], Number(m[2]));
    }
    const g = f.metadata?.['delta.generationExpression'];
    const m = g && /^\s*(\w+)\s*\+\s*(\d+)\s*$/.exec(g);
    if (m) gen.set(f.name, [m[1], Number(m[2])]);
  }
  for (let i = 0; i < count; i++) {
    const r = {};
    for (const f of fields) r[f.name] = value(f.type, i, parts.has(f.name));
    for (const [c, n] of bound) r[c] = i % n;
    for (const [c, [src, k]] of gen) r[c] = r[src] + k;
    lines.push(JSON.stringify(r));
  }
  fs.writeFileSync(out, lines.join('\n') + '\n');
}

// ---- verify ----------------------------------------------------------------

function logEntries(dir) {
  const log = path.join(dir, '_delta_log');
  return fs.readdirSync(log).filter((n) => /^\d{20}\.json$/.test(n))
    .map((n) => ({ version: Number(n.slice(0, 20)), file: path.join(log, n) }))
    .sort((a, b) => a.version - b.version);
}

function actions(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

function decodePath(p) {
  try { return decodeURIComponent(p); } catch { return p; }
}

async function verify(opts) {
  const fails = [];
  const pass = [];
  const check = (name, ok, msg) => { if (ok) pass.push(name); else fails.push(`${name}: ${msg}`); };
  const before = readJson(opts.before);
  const after = readJson(opts.after);
  const expect = opts.expect.flatMap((f) => fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));

  // originals
  const afterFiles = new Map(after.active_files.map((f) => [f.path, f]));
  let missing = 0, changed = 0;
  for (const f of before.active_files) {
    const a = afterFiles.get(f.path);
    if (!a || a.deleted_rows !== f.deleted_rows || a.size !== f.size) { missing++; continue; }
    const rel = decodePath(f.path);
    const x = path.join(opts.orig, rel), y = path.join(opts.table, rel);
    if (fs.existsSync(x) && !fs.readFileSync(x).equals(fs.readFileSync(y))) changed++;
  }
  check('originals', missing === 0 && changed === 0,
    `${missing} original files no longer active as they were, ${changed} changed on disk`);

  // log
  const old = before.version;
  const entries = logEntries(opts.table).filter((e) => e.version > old);
  let lastIct = before.in_commit_timestamp;
  const ict = lastIct !== null || (before.protocol.writerFeatures || []).includes('inCommitTimestamp');
  const newAdds = [];
  const logErr = [];
  let hwmSeen = before.row_id_high_water_mark;
  for (const e of entries) {
    const acts = actions(e.file);
    acts.forEach((a, i) => {
      if (a.protocol) logErr.push(`v${e.version}: protocol action`);
      if (a.remove) logErr.push(`v${e.version}: remove of ${a.remove.path}`);
      if (a.cdc) logErr.push(`v${e.version}: cdc action`);
      if (a.metaData) {
        const m = a.metaData;
        const s = JSON.parse(m.schemaString);
        if (m.id !== before.metadata_id && before.metadata_id) logErr.push(`v${e.version}: metaData.id changed`);
        for (const f of before.schema.fields) {
          const g = s.fields.find((x) => x.name === f.name);
          if (!g || JSON.stringify(g) !== JSON.stringify(f)) logErr.push(`v${e.version}: field ${f.name} changed`);
        }
      }
      if (a.add) {
        if (a.add.deletionVector) logErr.push(`v${e.version}: add with a deletionVector`);
        newAdds.push({ ...a.add, version: e.version });
      }
      if (a.domainMetadata && a.domainMetadata.domain === 'delta.rowTracking')
        hwmSeen = JSON.parse(a.domainMetadata.configuration).rowIdHighWaterMark;
      if (a.commitInfo && ict) {
        if (i !== 0) logErr.push(`v${e.version}: commitInfo is not the first action`);
        const t = a.commitInfo.inCommitTimestamp;
        if (typeof t !== 'number' || (lastIct !== null && t <= lastIct))
          logErr.push(`v${e.version}: inCommitTimestamp ${t} not above ${lastIct}`);
        lastIct = t;
      }
    });
  }
  for (const [app, v] of Object.entries(before.txn))
    if (!(opts['own-app'] && (app.startsWith(`${opts['own-app']}/`) || app.startsWith(`${opts['own-app']}-`))) &&
        after.txn[app] !== v) logErr.push(`txn ${app} is ${after.txn[app]}, was ${v}`);
  check('log', entries.length > 0 && logErr.length === 0, entries.length ? logErr.slice(0, 5).join('; ') : 'no new commits');
  check('protocol', JSON.stringify(after.protocol) === JSON.stringify(before.protocol),
    `${JSON.stringify(before.protocol)} -> ${JSON.stringify(after.protocol)}`);

  // rows, domains
  check('rows', after.rows === before.rows + expect.length,
    `${after.rows} rows, want ${before.rows} + ${expect.length}`);
  const domErr = [];
  for (const [d, c] of Object.entries(before.domains)) {
    if (d === 'delta.rowTracking') continue;
    if (after.domains[d] !== c) domErr.push(`domain ${d} changed or dropped`);
  }
  // clustering: every new file states stats for the clustering columns
  const cl = before.domains['delta.clustering'];
  if (cl) {
    const cols = (JSON.parse(cl).clusteringColumns || []).map((c) => c.join('.'));
    for (const a of newAdds) {
      const st = JSON.parse(a.stats);
      for (const c of cols)
        if (!(c in (st.minValues || {})) || !(c in (st.maxValues || {})) || !(c in (st.nullCount || {})))
          domErr.push(`${a.path}: no stats for clustering column ${c}`);
    }
  }
  check('domains', domErr.length === 0, domErr.slice(0, 5).join('; '));

  // row ids
  const tracking = (before.protocol.writerFeatures || []).includes('rowTracking');
  if (tracking) {
    const errs = [];
    const base = before.row_id_high_water_mark ?? -1;
    const ranges = [];
    for (const a of newAdds) {
      const n = JSON.parse(a.stats).numRecords;
      if (typeof a.baseRowId !== 'number' || a.baseRowId <= base) errs.push(`${a.path}: baseRowId ${a.baseRowId} not above ${base}`);
      if (a.defaultRowCommitVersion !== a.version) errs.push(`${a.path}: defaultRowCommitVersion ${a.defaultRowCommitVersion} in v${a.version}`);
      ranges.push([a.baseRowId, a.baseRowId + n - 1]);
    }
    ranges.sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < ranges.length; i++)
      if (ranges[i][0] <= ranges[i - 1][1]) errs.push(`row id ranges overlap at ${ranges[i][0]}`);
    if (ranges.length && hwmSeen < ranges[ranges.length - 1][1]) errs.push(`high-water mark ${hwmSeen} below ${ranges[ranges.length - 1][1]}`);
    check('row_ids', errs.length === 0, errs.slice(0, 5).join('; '));
  }

  // records, through DuckDB
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  await conn.run("SET TimeZone='UTC'");
  const want = new Map(expect.map((x) => [`${x.partition}/${x.offset}`, JSON.parse(x.value)]));
  const seen = new Set();
  const recErr = [];
  const parts = new Set(before.partition_columns);
  const scalars = before.schema.fields.filter((f) => typeof f.type === 'string' && !f.name.startsWith('_kafka_'));
  // column mapping: files name columns by physical name, with field_ids
  const finalSchema = JSON.parse(after.schema_string ?? JSON.stringify(after.schema));
  const phys = new Map(finalSchema.fields.map((f) => [f.name, f.metadata?.['delta.columnMapping.physicalName'] ?? f.name]));
  const ids = new Map(finalSchema.fields.map((f) => [phys.get(f.name), f.metadata?.['delta.columnMapping.id']]));
  const mapped = finalSchema.fields.some((f) => f.metadata?.['delta.columnMapping.id'] !== undefined);
  const P = (name) => phys.get(name) ?? name;
  for (const a of newAdds) {
    const abs = path.join(opts.table, decodePath(a.path));
    if (mapped) {
      const sch = (await conn.runAndReadAll(
        `SELECT name, field_id FROM parquet_schema('${abs.replaceAll("'", "''")}')`)).getRowObjectsJson();
      const logical = new Map([...phys].map(([l, p]) => [p, l]));
      for (const [p, id] of ids) {
        if (parts.has(logical.get(p))) continue;
        if (!(p in a.partitionValues) && [...parts].some((l) => P(l) === p)) continue;
        const col = sch.find((x) => x.name === p);
        if (!col || Number(col.field_id) !== id) { recErr.push(`${a.path}: column ${p} ${col ? `has field_id ${col.field_id}` : 'missing'}, want ${id}`); break; }
      }
      const st = JSON.parse(a.stats);
      for (const p of Object.keys(st.nullCount ?? {}))
        if (!ids.has(p)) { recErr.push(`${a.path}: stats keyed by ${p}, not a physical name`); break; }
    }
    // binary as base64, decimals and wall-clock times as text
    const repl = scalars.filter((f) => !parts.has(f.name) && (f.type === 'binary' || f.type === 'timestamp_ntz' || f.type.startsWith('decimal')))
      .map((f) => {
        const q = `"${P(f.name).replaceAll('"', '""')}"`;
        const e = f.type === 'binary' ? `base64(${q})` : f.type === 'timestamp_ntz' ? `strftime(${q}, '%Y-%m-%dT%H:%M:%S.%f')` : `${q}::VARCHAR`;
        return `${e} AS ${q}`;
      });
    const rows = (await conn.runAndReadAll(
      `SELECT * ${repl.length ? `REPLACE (${repl.join(', ')})` : ''} FROM read_parquet('${abs.replaceAll("'", "''")}', hive_partitioning=false)`)).getRowObjectsJson();
    for (const r0 of rows) {
      const r = Object.fromEntries(finalSchema.fields.map((f) => [f.name, r0[P(f.name)]]));
      const k = `${r._kafka_partition}/${r._kafka_offset}`;
      if (seen.has(k)) { recErr.push(`record ${k} twice`); continue; }
      seen.add(k);
      const w = want.get(k);
      if (!w) { recErr.push(`record ${k} was never produced`); continue; }
      for (const f of scalars) {
        let got = parts.has(f.name) ? a.partitionValues[P(f.name)] : r[f.name];
        let exp = w[f.name];
        if (f.type === 'timestamp') {
          exp = Date.parse(exp);
          got = parts.has(f.name) ? Date.parse(got.replace(' ', 'T') + 'Z') : Date.parse(String(got).replace(' ', 'T').replace(/(\+00(:00)?)?$/, 'Z'));
        }
        if (f.type === 'timestamp_ntz' && parts.has(f.name)) got = got.replace(' ', 'T');
        if (f.type.startsWith('decimal') && got !== null && exp !== null) { got = Number(got); exp = Number(exp); }
        if (String(got) !== String(exp)) { recErr.push(`record ${k} column ${f.name}: ${got}, want ${exp}`); break; }
      }
    }
  }
  if (seen.size !== want.size) recErr.push(`${seen.size} of ${want.size} records in the new files`);
  check('records', recErr.length === 0, recErr.slice(0, 5).join('; '));

  // checkpoints written by ksink
  const log = path.join(opts.table, '_delta_log');
  const cks = fs.readdirSync(log).filter((n) => /^\d{20}\.checkpoint\.parquet$/.test(n) && Number(n.slice(0, 20)) > old);
  for (const c of cks) {
    const q = (sql) => conn.runAndReadAll(sql).then((r) => r.getRowObjectsJson());
    const f = `read_parquet('${path.join(log, c)}', union_by_name=true)`;
    const described = await q(`DESCRIBE SELECT * FROM ${f}`);
    const cols = described.map((r) => r.column_name);
    const addType = described.find((r) => r.column_name === 'add')?.column_type ?? '';
    const [r] = await q(`SELECT count(*) FILTER (WHERE add IS NOT NULL)::INTEGER AS adds,
      ${cols.includes('checkpointMetadata') ? 'count(*) FILTER (WHERE checkpointMetadata IS NOT NULL)' : '0'}::INTEGER AS ckmeta,
      ${cols.includes('domainMetadata') ? 'count(*) FILTER (WHERE domainMetadata IS NOT NULL)' : '0'}::INTEGER AS domains,
      ${addType.includes('deletionVector') ? 'count(*) FILTER (WHERE add.deletionVector IS NOT NULL)' : '0'}::INTEGER AS dvs,
      to_json(first(protocol) FILTER (WHERE protocol IS NOT NULL))::VARCHAR AS protocol FROM ${f}`);
    const errs = [];
    if (r.adds <= 0) errs.push(`${r.adds} add rows`);
    const v2 = (before.protocol.writerFeatures || []).includes('v2Checkpoint');
    if (v2 && r.ckmeta !== 1) errs.push(`${r.ckmeta} checkpointMetadata rows in a v2Checkpoint table`);
    const p = JSON.parse(r.protocol);
    for (const k of ['readerFeatures', 'writerFeatures'])
      if (JSON.stringify(p[k] ?? undefined) !== JSON.stringify(before.protocol[k]))
        errs.push(`protocol.${k} ${JSON.stringify(p[k])}, the table has ${JSON.stringify(before.protocol[k])}`);
    if (r.domains < Object.keys(before.domains).length) errs.push(`${r.domains} domainMetadata rows, the table has ${Object.keys(before.domains).length}`);
    const dvFiles = before.active_files.filter((x) => x.deleted_rows > 0).length;
    if (r.dvs < dvFiles) errs.push(`${r.dvs} adds with a deletion vector, the table has ${dvFiles}`);
    check(`checkpoint:${Number(c.slice(0, 20))}`, errs.length === 0, errs.join('; '));
  }
  conn.closeSync?.();
  const summary = `${newAdds.length} new files, ${seen.size} records, ${entries.length} commits, ${cks.length} checkpoints`;
  for (const f of fails) console.log(`FAIL ${f}`);
  console.log(`${fails.length ? 'FAIL' : 'PASS'} ${pass.join(' ')} (${summary})`);
  return fails.length === 0;
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'gen') {
  if (rest.length !== 3) die('usage: gen BEFORE.json COUNT OUT.jsonl');
  gen(rest[0], Number(rest[1]), rest[2]);
} else if (cmd === 'verify') {
  const o = { expect: [] };
  for (let i = 0; i < rest.length; i += 2) {
    const k = rest[i].replace(/^--/, '');
    if (k === 'expect') o.expect.push(rest[i + 1]); else o[k] = rest[i + 1];
  }
  for (const k of ['orig', 'table', 'before', 'after']) if (!o[k]) die(`verify needs --${k}`);
  process.exit((await verify(o)) ? 0 : 1);
} else {
  die('usage: gen ... | verify ...');
}
