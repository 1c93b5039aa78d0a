#!/usr/bin/env node
// verify_delta: the end-to-end check of a Delta table written by ksink,
// independent of ksink's C code. It replays _delta_log/*.json itself, reads
// the active Parquet files with DuckDB, and compares every row with what the
// producer says it delivered (ks_produce --expect, one JSON line per record).
//
//   node test/tools/verify_delta.mjs --table DIR --expect FILE [--expect FILE2...]
//        [--app-id ksink] [--topic T] [--samples 10] [--quiet]
//
// Checks (each reported PASS/FAIL; exit 1 if any fails, 2 on bad usage):
//   log          versions 0..N contiguous, every line one JSON action, exactly
//                one protocol and one metaData in version 0 (a later metaData
//                may only add nullable columns: schema evolution), every add
//                has path/size/modificationTime/dataChange/stats, add/remove
//                replay is consistent, txn versions never go backwards
//   files        every active file exists with the size its add says
//   schema       column types (DESCRIBE, per file)
//   exactly_once (_kafka_partition, _kafka_offset) unique and equal to the
//                valid records of --expect; no invalid record in the table
//   values       user_id, event_type, timestamp (as UTC micros), properties
//                (the struct as JSON deep-equal to the record's, absent and
//                null fields alike; NULL when the record had none), topic
//   stats        add.stats numRecords and min/max/nullCount of user_id,
//                _kafka_offset, event_type against DuckDB over that file
//   txn          per partition with valid records: txn(<app>-<topic>-<P>)
//                >= max valid offset, and every valid offset <= txn is present
//
// Also importable: `verifyDelta(opts)` returns { ok, checks, summary }.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';

const EXPECTED_TYPES = {
  _kafka_partition: 'INTEGER',
  _kafka_offset: 'BIGINT',
  _kafka_topic: 'VARCHAR',
  _kafka_timestamp: 'TIMESTAMP WITH TIME ZONE',
  user_id: 'BIGINT',
  event_type: 'VARCHAR',
  timestamp: 'TIMESTAMP WITH TIME ZONE',
  properties: 'STRUCT(',
};
const STATS_COLUMNS = ['user_id', '_kafka_offset', 'event_type'];
const ACTIONS = new Set(['add', 'remove', 'metaData', 'protocol', 'txn', 'commitInfo',
  'cdc', 'domainMetadata', 'checkpointMetadata', 'sidecar']);

// ---- small helpers ----

class Check {
  constructor(name, samples) {
    this.name = name;
    this.samples = samples;
    this.failures = 0;
    this.messages = [];
    this.notes = [];
    this.skipped = null;
    this.info = '';
  }
  fail(msg) {
    if (this.failures++ < this.samples) this.messages.push(msg);
  }
  note(msg) { this.notes.push(msg); }
  get ok() { return this.failures === 0; }
}

const key = (p, o) => `${p}:${o}`;
const trunc = (s, n = 200) => (s.length > n ? s.slice(0, n) + '...' : s);
const show = (v) => trunc(typeof v === 'string' ? JSON.stringify(v)
  : typeof v === 'bigint' ? v.toString() : JSON.stringify(v) ?? String(v));
const sqlStr = (s) => `'${String(s).replace(/'/g, "''")}'`;

// RFC 3339 date-time to UTC microseconds (BigInt), or null if not one.
export function rfc3339ToMicros(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|([+-])(\d{2}):(\d{2}))$/.exec(s);
  if (!m) return null;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number);
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 60) return null;
  const mdays = [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28,
    31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (d > mdays[mo - 1]) return null;
  const frac = BigInt(((m[7] ?? '') + '000000').slice(0, 6));
  let us = BigInt(Date.UTC(y, mo - 1, d, h, mi, se)) * 1000n + frac;
  if (m[9]) {
    const off = BigInt(Number(m[10]) * 60 + Number(m[11])) * 60000000n;
    us = m[9] === '+' ? us - off : us + off;
  }
  return us;
}

// A struct column has every field: absent and null are the same there.
export function dropNulls(v) {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (v === null || typeof v !== 'object') return v;
  const o = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) o[k] = dropNulls(x);
  return o;
}

export function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
}

// UTF-8 byte order, which is how Parquet and DuckDB order VARCHAR.
const cmpUtf8 = (a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

// Delta writers may truncate string stats: min to a prefix, max to a prefix
// followed by a high tie-breaker character (so it still bounds the data).
function stringMinOk(stat, actual) {
  return typeof stat === 'string' && (stat === actual || (actual.startsWith(stat) && stat.length > 0));
}
function stringMaxOk(stat, actual) {
  if (typeof stat !== 'string') return false;
  if (stat === actual) return true;
  const core = stat.replace(/[\u{7f}-\u{10ffff}]+$/u, '');
  return cmpUtf8(stat, actual) >= 0 && actual.startsWith(core) && core.length > 0 && core !== stat;
}

// ---- inputs ----

function readExpect(files, check) {
  const byKey = new Map();
  const perPart = new Map(); // partition -> { maxValid, maxAny, valid: [offsets] }
  let valid = 0, invalid = 0;
  for (const file of files) {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      let r;
      try { r = JSON.parse(line); } catch (e) {
        throw new Error(`${file}:${i + 1}: not JSON: ${e.message}`);
      }
      if (!Number.isInteger(r.partition) || !Number.isInteger(r.offset) || typeof r.valid !== 'boolean'
          || typeof r.value !== 'string') {
        throw new Error(`${file}:${i + 1}: expected {"partition","offset","valid","value"}`);
      }
      const k = key(r.partition, r.offset);
      if (byKey.has(k)) {
        check.fail(`expect file lists partition ${r.partition} offset ${r.offset} twice`);
        return;
      }
      byKey.set(k, { valid: r.valid, kind: r.kind, value: r.value });
      let pp = perPart.get(r.partition);
      if (!pp) perPart.set(r.partition, pp = { maxValid: -1, maxAny: -1, valid: [] });
      pp.maxAny = Math.max(pp.maxAny, r.offset);
      if (r.valid) {
        valid++;
        pp.maxValid = Math.max(pp.maxValid, r.offset);
        pp.valid.push(r.offset);
      } else {
        invalid++;
      }
    });
  }
  return { byKey, perPart, valid, invalid };
}

// Replays the log; fills check with problems, returns the snapshot.
function readLog(table, check) {
  const logDir = path.join(table, '_delta_log');
  const snap = { versions: 0, active: new Map(), txn: new Map(), adds: 0, removes: 0, metaData: null,
    protocol: null };
  let names;
  try { names = fs.readdirSync(logDir); } catch (e) {
    check.fail(`cannot list ${logDir}: ${e.message}`);
    return snap;
  }
  const versions = names.filter((n) => /^\d{20}\.json$/.test(n)).map((n) => Number(n.slice(0, 20)))
    .sort((a, b) => a - b);
  const odd = names.filter((n) => !/^\d{20}\.json$/.test(n) && !/^\d{20}\.checkpoint(\.\d+\.\d+)?\.parquet$/.test(n)
    && n !== '_last_checkpoint' && !/^\d{20}\.crc$/.test(n));
  if (odd.length) check.note(`other files in _delta_log (ignored): ${odd.slice(0, 5).join(', ')}`);
  if (versions.length === 0) {
    check.fail('no commit files (_delta_log/00000000000000000000.json ...)');
    return snap;
  }
  versions.forEach((v, i) => {
    if (v !== i) check.fail(`versions not contiguous from 0: expected version ${i}, found ${v}`);
  });
  snap.versions = versions.length;
  let protocols = 0, metas = 0, metasAt0 = 0;

  for (const v of versions) {
    const name = `${String(v).padStart(20, '0')}.json`;
    const text = fs.readFileSync(path.join(logDir, name), 'utf8');
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const addedHere = new Set(), removedHere = new Set(), txnHere = new Set();
    let actionsHere = 0;
    lines.forEach((line, i) => {
      const where = `${name}:${i + 1}`;
      let a;
      try { a = JSON.parse(line); } catch (e) {
        check.fail(`${where}: not valid JSON (${e.message}): ${trunc(line, 120)}`);
        return;
      }
      if (a === null || typeof a !== 'object' || Array.isArray(a) || Object.keys(a).length !== 1) {
        check.fail(`${where}: a line must be an object with exactly one action: ${trunc(line, 120)}`);
        return;
      }
      const kind = Object.keys(a)[0], act = a[kind];
      actionsHere++;
      if (!ACTIONS.has(kind)) check.fail(`${where}: unknown action "${kind}"`);
      switch (kind) {
        case 'protocol':
          protocols++;
          snap.protocol = act;
          if (v !== 0) check.fail(`${where}: protocol action outside version 0`);
          if (!Number.isInteger(act.minReaderVersion) || !Number.isInteger(act.minWriterVersion)) {
            check.fail(`${where}: protocol lacks minReaderVersion/minWriterVersion`);
          }
          break;
        case 'metaData': {
          metas++;
          if (v === 0) metasAt0++;
          const prev = snap.metaData;
          snap.metaData = act;
          if (typeof act.id !== 'string' || act.format?.provider !== 'parquet'
              || typeof act.schemaString !== 'string' || !Array.isArray(act.partitionColumns)) {
            check.fail(`${where}: metaData needs id, format.provider "parquet", schemaString, partitionColumns`);
            break;
          }
          let schema;
          try {
            schema = JSON.parse(act.schemaString);
            if (schema.type !== 'struct' || !Array.isArray(schema.fields)) throw new Error('not a struct');
          } catch (e) {
            check.fail(`${where}: metaData.schemaString is not a struct schema: ${e.message}`);
            break;
          }
          if (v !== 0) {
            let why = null;
            if (!prev) why = 'no metaData before it';
            else if (act.id !== prev.id) why = `id ${prev.id} -> ${act.id}`;
            else if (JSON.stringify(act.partitionColumns) !== JSON.stringify(prev.partitionColumns)) why = 'partitionColumns changed';
            else {
              try { why = onlyAdds(JSON.parse(prev.schemaString), schema, ''); } catch (e) { why = e.message; }
            }
            if (why) check.fail(`${where}: metaData outside version 0 does more than add nullable columns: ${why}`);
          }
          break;
        }
        case 'add': {
          snap.adds++;
          for (const f of ['path', 'size', 'modificationTime', 'dataChange', 'stats']) {
            if (act[f] === undefined || act[f] === null) check.fail(`${where}: add lacks "${f}"`);
          }
          if (typeof act.path !== 'string') return;
          if (addedHere.has(act.path)) check.fail(`${where}: ${act.path} added twice in one version`);
          addedHere.add(act.path);
          if (snap.active.has(act.path) && !removedHere.has(act.path)) {
            check.fail(`${where}: add of ${act.path}, which is already active (added in version ${snap.active.get(act.path).version})`);
          }
          let stats = null;
          if (typeof act.stats === 'string') {
            try { stats = JSON.parse(act.stats); } catch (e) {
              check.fail(`${where}: add.stats is not JSON: ${e.message}`);
            }
          } else if (act.stats !== undefined && act.stats !== null) {
            check.fail(`${where}: add.stats must be a JSON string`);
          }
          snap.active.set(act.path, { add: act, stats, version: v });
          break;
        }
        case 'remove':
          snap.removes++;
          if (typeof act.path !== 'string') { check.fail(`${where}: remove lacks path`); return; }
          if (removedHere.has(act.path)) check.fail(`${where}: ${act.path} removed twice in one version`);
          removedHere.add(act.path);
          if (!snap.active.has(act.path)) check.fail(`${where}: remove of ${act.path}, which is not active`);
          snap.active.delete(act.path);
          break;
        case 'txn': {
          if (typeof act.appId !== 'string' || !Number.isInteger(act.version)) {
            check.fail(`${where}: txn needs appId (string) and version (integer)`);
            return;
          }
          if (txnHere.has(act.appId)) check.fail(`${where}: two txn actions for ${act.appId} in one version`);
          txnHere.add(act.appId);
          const prev = snap.txn.get(act.appId);
          if (prev && act.version < prev.version) {
            check.fail(`${where}: txn ${act.appId} goes backwards: ${prev.version} (version ${prev.at}) -> ${act.version}`);
          }
          snap.txn.set(act.appId, { version: act.version, at: v });
          break;
        }
        default:
          break;
      }
    });
    if (actionsHere === 0) check.fail(`${name}: empty commit`);
  }
  if (protocols !== 1) check.fail(`the log has ${protocols} protocol actions, expected exactly 1 (in version 0)`);
  if (metasAt0 !== 1) check.fail(`version 0 has ${metasAt0} metaData actions, expected exactly 1 (${metas} in the log)`);
  return snap;
}

// Why `to` is more than `from` plus nullable fields (Delta's ADD COLUMNS,
// at any struct depth, inside arrays and maps too), or null.
function onlyAdds(from, to, at) {
  if (typeof from === 'string' || typeof to === 'string') {
    return JSON.stringify(from) === JSON.stringify(to) ? null : `${at || 'root'}: ${JSON.stringify(from)} -> ${JSON.stringify(to)}`;
  }
  if (from.type !== to.type) return `${at || 'root'}: ${from.type} -> ${to.type}`;
  if (from.type === 'array') {
    if (from.containsNull !== to.containsNull) return `${at}: containsNull changed`;
    return onlyAdds(from.elementType, to.elementType, `${at}[]`);
  }
  if (from.type === 'map') {
    if (from.valueContainsNull !== to.valueContainsNull) return `${at}: valueContainsNull changed`;
    return onlyAdds(from.keyType, to.keyType, `${at}.key`) ?? onlyAdds(from.valueType, to.valueType, `${at}.value`);
  }
  if (from.type !== 'struct') return JSON.stringify(from) === JSON.stringify(to) ? null : `${at}: ${JSON.stringify(from)} -> ${JSON.stringify(to)}`;
  const next = new Map(to.fields.map((f) => [f.name, f]));
  for (const f of from.fields) {
    const g = next.get(f.name);
    const here = at ? `${at}.${f.name}` : f.name;
    if (!g) return `${here} dropped`;
    if (g.nullable !== f.nullable) return `${here}: nullable ${f.nullable} -> ${g.nullable}`;
    const why = onlyAdds(f.type, g.type, here);
    if (why) return why;
    next.delete(f.name);
  }
  for (const [name, g] of next) {
    if (!g.nullable) return `${at ? `${at}.${name}` : name} added as non-nullable`;
  }
  return null;
}

function resolveDataPath(table, p) {
  if (/^file:/i.test(p)) return fileURLToPath(p);
  if (/^[a-z][a-z0-9+.-]*:/i.test(p)) return null; // s3:// and friends: not local
  return path.join(table, decodeURIComponent(p));
}

async function streamRows(conn, sql, onRow) {
  const result = await conn.stream(sql);
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    for (const row of chunk.getRows()) onRow(row);
  }
}

// ---- the checks ----

export async function verifyDelta(opts) {
  const samples = opts.samples ?? 10;
  const checks = Object.fromEntries(['log', 'files', 'schema', 'exactly_once', 'values', 'stats', 'txn']
    .map((n) => [n, new Check(n, samples)]));
  const summary = { rows: 0, files: 0, versions: 0, expectValid: 0, expectInvalid: 0 };
  const table = path.resolve(opts.table);

  const expect = readExpect(opts.expect, checks.exactly_once);
  summary.expectValid = expect.valid;
  summary.expectInvalid = expect.invalid;

  const snap = readLog(table, checks.log);
  summary.versions = snap.versions;
  summary.files = snap.active.size;
  summary.adds = snap.adds;
  summary.removes = snap.removes;
  checks.log.info = `${snap.versions} versions, ${snap.adds} adds, ${snap.removes} removes, ${snap.txn.size} txn appIds`;

  // files: present, readable, sized as the log says
  const files = []; // { abs, logPath, entry }
  for (const [p, entry] of snap.active) {
    const abs = resolveDataPath(table, p);
    if (!abs) { checks.files.fail(`${p}: not a local path; this verifier reads local tables only`); continue; }
    let st;
    try { st = fs.statSync(abs); } catch (e) {
      checks.files.fail(`${p}: active in the log (version ${entry.version}) but ${e.code ?? e.message}`);
      continue;
    }
    if (typeof entry.add.size === 'number' && st.size !== entry.add.size) {
      checks.files.fail(`${p}: add.size ${entry.add.size} but the file has ${st.size} bytes`);
    }
    files.push({ abs, logPath: p, entry });
  }

  checks.files.info = `${files.length} files, ${files.reduce((n, f) => n + (f.entry.add.size ?? 0), 0)} bytes`;

  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const byAbs = new Map(files.map((f) => [f.abs, f]));
  const seen = new Map(); // key -> first file
  const fileList = `[${files.map((f) => sqlStr(f.abs)).join(', ')}]`;
  const readAll = `read_parquet(${fileList}, filename=true, hive_partitioning=false, union_by_name=true)`;

  // schema: per file, so one odd file cannot hide behind the others
  let schemaOk = files.length > 0;
  for (const f of files) {
    let rows;
    try {
      rows = (await conn.runAndReadAll(
        `DESCRIBE SELECT * FROM read_parquet(${sqlStr(f.abs)}, hive_partitioning=false)`)).getRows();
    } catch (e) {
      checks.schema.fail(`${f.logPath}: DuckDB cannot read it: ${e.message}`);
      schemaOk = false;
      continue;
    }
    const types = Object.fromEntries(rows.map((r) => [r[0], r[1]]));
    for (const [col, want] of Object.entries(EXPECTED_TYPES)) {
      const t = types[col];
      if (want.endsWith('(') ? !t?.startsWith(want) : t !== want) {
        checks.schema.fail(`${f.logPath}: column ${col} is ${types[col] ?? 'missing'}, expected ${want}`);
        schemaOk = false;
      }
    }
  }
  if (files.length === 0) checks.schema.skipped = 'no active files';
  else checks.schema.info = `${files.length} files, ${Object.keys(EXPECTED_TYPES).length} columns typed as expected`;

  // exactly_once + values, one pass over every row
  let topic = opts.topic;
  const topics = new Set();
  if (schemaOk) {
    const sql = `SELECT _kafka_partition, _kafka_offset, _kafka_topic, user_id, event_type,
                        epoch_us("timestamp"), to_json(properties)::VARCHAR, filename, _kafka_timestamp IS NULL
                 FROM ${readAll}`;
    const eo = checks.exactly_once, va = checks.values;
    await streamRows(conn, sql, (r) => {
      const [p, o, tp, uid, et, tsUs, props, file, kts] = r;
      summary.rows++;
      const where = `partition ${p} offset ${o}`;
      const fname = byAbs.get(file)?.logPath ?? file;
      if (p === null || o === null) { eo.fail(`row with NULL _kafka_partition/_kafka_offset in ${fname}`); return; }
      const k = key(p, o);
      if (seen.has(k)) {
        eo.fail(`duplicate: ${where} appears again in ${fname} (first in ${seen.get(k)})`);
        return;
      }
      seen.set(k, fname);
      topics.add(tp);
      const exp = expect.byKey.get(k);
      if (!exp) { eo.fail(`unexpected: ${where} (${fname}) is not in --expect`); return; }
      if (!exp.valid) {
        eo.fail(`invalid record present: ${where} kind ${exp.kind} (${fname}): ${trunc(exp.value, 160)}`);
        return;
      }
      const doc = JSON.parse(exp.value);
      const bad = [];
      if (uid === null || BigInt(doc.user_id) !== uid) bad.push(`user_id ${show(uid)} != ${doc.user_id}`);
      if (et !== doc.event_type) bad.push(`event_type ${show(et)} != ${show(doc.event_type)}`);
      const wantUs = rfc3339ToMicros(doc.timestamp);
      if (tsUs === null || wantUs === null || tsUs !== wantUs) {
        bad.push(`timestamp ${show(tsUs)} us != ${show(doc.timestamp)} = ${show(wantUs)} us`);
      }
      if (doc.properties === undefined) {
        if (props !== null) bad.push(`properties ${show(props)} should be NULL (record has none)`);
      } else if (props === null) {
        bad.push(`properties NULL, expected ${show(doc.properties)}`);
      } else {
        let got;
        try { got = JSON.parse(props); } catch (e) { bad.push(`properties not JSON: ${show(props)}`); }
        if (got !== undefined && !deepEqual(dropNulls(got), dropNulls(doc.properties))) {
          bad.push(`properties ${trunc(props, 160)} != ${trunc(JSON.stringify(doc.properties), 160)}`);
        }
      }
      if (opts.topic && tp !== opts.topic) bad.push(`_kafka_topic ${show(tp)} != ${show(opts.topic)}`);
      if (kts) bad.push('_kafka_timestamp is NULL');
      if (bad.length) va.fail(`${where} (${fname}): ${bad.join('; ')}`);
    });
    let missing = 0;
    for (const [k, exp] of expect.byKey) {
      if (exp.valid && !seen.has(k)) {
        missing++;
        eo.fail(`missing: partition ${k.replace(':', ' offset ')}: ${trunc(exp.value, 160)}`);
      }
    }
    if (missing) eo.note(`${missing} valid records missing from the table`);
    eo.info = `${summary.rows} rows vs ${expect.valid} valid records (${expect.invalid} invalid excluded)`;
    va.info = `${summary.rows} rows compared`;
    if (!topic && topics.size === 1) topic = [...topics][0];
  } else {
    const why = files.length === 0 ? null : 'schema check failed';
    if (why) {
      checks.exactly_once.skipped = why;
      checks.values.skipped = why;
    } else {
      // an empty table: fine only if nothing valid was expected
      for (const [k, exp] of expect.byKey) {
        if (exp.valid) checks.exactly_once.fail(`missing: partition ${k.replace(':', ' offset ')} (the table has no active files)`);
      }
    }
  }

  // stats: one grouped query over all files
  if (schemaOk) {
    const cols = STATS_COLUMNS.map((c) => `min("${c}")::VARCHAR, max("${c}")::VARCHAR, count(*) - count("${c}")`).join(', ');
    const actual = new Map();
    await streamRows(conn, `SELECT filename, count(*), ${cols} FROM ${readAll} GROUP BY filename`, (r) => {
      actual.set(r[0], r);
    });
    for (const f of files) {
      const st = f.entry.stats, where = f.logPath;
      const r = actual.get(f.abs);
      const n = r ? Number(r[1]) : 0;
      if (!st) { checks.stats.fail(`${where}: no stats`); continue; }
      if (st.numRecords !== n) checks.stats.fail(`${where}: stats.numRecords ${st.numRecords}, file has ${n} rows`);
      if (!r) continue;
      STATS_COLUMNS.forEach((c, i) => {
        const [mn, mx, nulls] = [r[2 + 3 * i], r[3 + 3 * i], Number(r[4 + 3 * i])];
        const smin = st.minValues?.[c], smax = st.maxValues?.[c], snull = st.nullCount?.[c];
        if (snull !== nulls) checks.stats.fail(`${where}: nullCount.${c} ${show(snull)}, DuckDB counts ${nulls}`);
        if (mn === null) {
          if (smin !== undefined && smin !== null) checks.stats.fail(`${where}: minValues.${c} ${show(smin)} but the column is all NULL`);
          return;
        }
        if (c === 'event_type') {
          if (!stringMinOk(smin, mn)) checks.stats.fail(`${where}: minValues.${c} ${show(smin)}, DuckDB min ${show(mn)}`);
          if (!stringMaxOk(smax, mx)) checks.stats.fail(`${where}: maxValues.${c} ${show(smax)}, DuckDB max ${show(mx)}`);
        } else {
          // numbers in JSON stats are doubles; ksink's ids stay below 2^53
          if (typeof smin !== 'number' || smin !== Number(mn)) checks.stats.fail(`${where}: minValues.${c} ${show(smin)}, DuckDB min ${mn}`);
          if (typeof smax !== 'number' || smax !== Number(mx)) checks.stats.fail(`${where}: maxValues.${c} ${show(smax)}, DuckDB max ${mx}`);
        }
      });
    }
    checks.stats.info = `${files.length} files`;
  } else if (files.length) {
    checks.stats.skipped = 'schema check failed';
  } else {
    checks.stats.skipped = 'no active files';
  }

  // txn: the log's position per partition covers what the table holds
  const appId = opts.appId ?? 'ksink';
  if (!topic) {
    checks.txn.skipped = 'topic unknown (pass --topic)';
  } else {
    summary.topic = topic;
    for (const [p, pp] of [...expect.perPart].sort((a, b) => a[0] - b[0])) {
      if (pp.maxValid < 0) continue;
      // ksink's appId "<app>/<topic>/<p>"; tables written before it have
      // "<app>-<topic>-<p>", which ksink reads until the new one exists
      const legacy = `${appId}-${topic}-${p}`;
      const id = snap.txn.has(`${appId}/${topic}/${p}`) ? `${appId}/${topic}/${p}` : legacy;
      const t = snap.txn.get(id);
      if (!t) { checks.txn.fail(`partition ${p}: no txn for appId ${id} (max valid offset ${pp.maxValid})`); continue; }
      if (t.version < pp.maxValid) {
        checks.txn.fail(`partition ${p}: txn ${id} version ${t.version} < max valid offset ${pp.maxValid}`);
      }
      let absent = 0, first = null;
      for (const o of pp.valid) {
        if (o <= t.version && !seen.has(key(p, o))) { absent++; first ??= o; }
      }
      if (absent && schemaOk) {
        checks.txn.fail(`partition ${p}: txn ${id} version ${t.version} claims offsets the table lacks: ${absent} valid records, first offset ${first}`);
      }
      if (t.version > pp.maxAny) {
        checks.txn.note(`partition ${p}: txn ${id} version ${t.version} is past the last expected offset ${pp.maxAny} (other producers?)`);
      }
    }
    checks.txn.info = `${[...expect.perPart.values()].filter((pp) => pp.maxValid >= 0).length} partitions, appId ${appId}/${topic}/<P>`;
    const known = [...snap.txn.keys()].filter((id) => id.startsWith(`${appId}/${topic}/`) || id.startsWith(`${appId}-${topic}-`)).length;
    summary.txnAppIds = known;
  }

  conn.close?.();
  return { ok: Object.values(checks).every((c) => c.ok), checks, summary };
}

// ---- command line ----

function parseArgs(argv) {
  const o = { expect: [], samples: 10 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    const need = () => { if (v === undefined) usage(`${a} needs a value`); i++; return v; };
    if (a === '--table') o.table = need();
    else if (a === '--expect') o.expect.push(need());
    else if (a === '--app-id') o.appId = need();
    else if (a === '--topic') o.topic = need();
    else if (a === '--samples') o.samples = Number(need());
    else if (a === '--quiet') o.quiet = true;
    else usage(`unknown argument ${a}`);
  }
  if (!o.table || o.expect.length === 0) usage('--table and --expect are required');
  return o;
}

function usage(msg) {
  console.error(`verify_delta: ${msg}\nusage: node verify_delta.mjs --table DIR --expect FILE [--expect FILE]... `
    + '[--app-id ksink] [--topic T] [--samples N] [--quiet]');
  process.exit(2);
}

export function report(res, opts, out = console.log) {
  const s = res.summary;
  out(`verify_delta: ${opts.table}: ${s.versions} versions, ${s.files} active files `
    + `(${s.adds} adds, ${s.removes} removes), ${s.rows} rows; expect ${s.expectValid} valid + `
    + `${s.expectInvalid} invalid records${s.topic ? `, topic ${s.topic}` : ''}`);
  for (const c of Object.values(res.checks)) {
    const status = c.skipped ? (c.ok ? 'SKIP' : 'FAIL') : c.ok ? 'PASS' : 'FAIL';
    const why = c.skipped ? `(${c.skipped})` : c.ok ? c.info : `(${c.failures} problem${c.failures === 1 ? '' : 's'})`;
    out(`  ${status} ${c.name.padEnd(13)}${why}`.trimEnd());
    for (const m of c.messages) out(`       ${m}`);
    if (c.failures > c.messages.length) out(`       ... and ${c.failures - c.messages.length} more`);
    if (!opts.quiet || !c.ok) for (const n of c.notes) out(`       note: ${n}`);
  }
  const failed = Object.values(res.checks).filter((c) => !c.ok).map((c) => c.name);
  out(failed.length ? `verify_delta: FAIL (${failed.join(', ')})` : 'verify_delta: OK');
}

// Run as a program -- but not when `node --test test/` merely loads every
// file under test/ without arguments.
const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain && !(process.env.NODE_TEST_CONTEXT && process.argv.length <= 2)) {
  const opts = parseArgs(process.argv.slice(2));
  try {
    const res = await verifyDelta(opts);
    report(res, opts);
    process.exit(res.ok ? 0 : 1);
  } catch (e) {
    console.error(`verify_delta: FAIL: ${e.message}`);
    process.exit(1);
  }
}
