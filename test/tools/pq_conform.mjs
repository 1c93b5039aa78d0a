// Parquet conformance checker: reads every DIR/*.parquet written by
// test/conformance/pq_conform with three independent readers -- DuckDB
// (@duckdb/node-api), hyparquet (+ hyparquet-compressors) and parquet-wasm
// (arrow-rs; IPC -> apache-arrow) -- and compares each row, rendered in one
// canonical JSON form, with the input record next to it (DIR/NAME.json:
// schema, row groups, records), and each reader's column-chunk statistics
// (DuckDB parquet_metadata, hyparquet metadata) with statistics computed
// here from the records. Exit 1 on any difference, naming case, reader,
// row or column.
//
// Reader defects found, and how each is handled (never by loosening the
// check of the readers that are right):
//  - hyparquet returns DECIMAL values and DECIMAL statistics as JS numbers,
//    computed as Number(unscaled) * 10 ** -scale (convert.js, metadata.js):
//    not exact past 2^53 nor for most scales. LogicalTypes.md defines
//    DECIMAL as an exact unscaled integer. For hyparquet, decimals are
//    compared with that same formula applied to the expected unscaled
//    value, which still catches a wrong unscaled value at double precision;
//    DuckDB and arrow compare the exact digits.
//  - apache-arrow's row accessors turn TIMESTAMP(MICROS) into milliseconds;
//    the raw BigInt64 microseconds of the column are read instead (not a
//    reader defect in arrow-rs: the IPC data holds the exact values).
// Usage: node pq_conform.mjs DIR
import fs from 'node:fs'
import path from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { parquetMetadata, parquetReadObjects, readColumnIndex, readOffsetIndex } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import { readParquet } from 'parquet-wasm/node'
import { tableFromIPC, makeVector } from 'apache-arrow'

const dir = process.argv[2]
if (!dir) {
  console.error('usage: pq_conform.mjs DIR')
  process.exit(2)
}

// ---- lossless JSON: numbers keep their text, objects their key order ----

class Num {
  constructor(text) { this.n = text }
}

function parseLossless(text) {
  let i = 0
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i])) i++ }
  function value() {
    ws()
    const c = text[i]
    if (c === '{') {
      i++
      const m = new Map()
      ws()
      if (text[i] === '}') { i++; return m }
      for (;;) {
        ws()
        const k = str()
        ws()
        i++ // ':'
        m.set(k, value())
        ws()
        if (text[i++] === '}') return m
      }
    }
    if (c === '[') {
      i++
      const a = []
      ws()
      if (text[i] === ']') { i++; return a }
      for (;;) {
        a.push(value())
        ws()
        if (text[i++] === ']') return a
      }
    }
    if (c === '"') return str()
    if (text.startsWith('true', i)) { i += 4; return true }
    if (text.startsWith('false', i)) { i += 5; return false }
    if (text.startsWith('null', i)) { i += 4; return null }
    const m = /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?/.exec(text.slice(i, i + 400))
    if (!m) throw new Error(`bad JSON at ${i}`)
    i += m[0].length
    return new Num(m[0])
  }
  function str() {
    let j = i + 1
    while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1
    const s = JSON.parse(text.slice(i, j + 1))
    i = j + 1
    return s
  }
  return value()
}

// ---- schema -----------------------------------------------------------

function plainSchema(v) {
  if (v instanceof Map) {
    const o = {}
    for (const [k, x] of v) o[k] = plainSchema(x)
    return o
  }
  if (Array.isArray(v)) return v.map(plainSchema)
  if (v instanceof Num) return Number(v.n)
  return v
}

// leaves in file column order, each with the path of nodes above it
function leaves(fields) {
  const out = []
  const walk = (n, pathNames) => {
    const p = [...pathNames, n.name]
    if (n.kind === 'leaf') out.push({ node: n, path: p })
    else if (n.kind === 'struct') for (const f of n.fields) walk(f, p)
    else if (n.kind === 'list') walk(n.element, [...p, 'list'])
    else {
      out.push({ node: { name: 'key', kind: 'leaf', type: 'string', rep: 'required' },
        path: [...p, 'key_value', 'key'] })
      walk(n.value, [...p, 'key_value'])
    }
  }
  for (const f of fields) walk(f, [])
  return out
}

// ---- canonical values --------------------------------------------------

const dbl = (x) => (Object.is(x, -0) ? '-0' : String(x))
const DAY_US = 86400000000n

function daysFromIso(s) { // YYYY-MM-DD
  const t = Date.UTC(Number(s.slice(0, 4)), Number(s.slice(5, 7)) - 1, Number(s.slice(8, 10)))
  // Date.UTC maps years 0..99 to 1900+; the suite's years are >= 1000
  return Math.round(t / 86400000)
}

// 'YYYY-MM-DD?HH:MM:SS[.ffffff]' + zone ('Z' or '+00') -> microseconds
function microsFromIso(s) {
  const days = BigInt(daysFromIso(s.slice(0, 10)))
  const h = BigInt(s.slice(11, 13)), m = BigInt(s.slice(14, 16)), sec = BigInt(s.slice(17, 19))
  let frac = 0n
  const f = /^\.([0-9]+)/.exec(s.slice(19))
  if (f) frac = BigInt(f[1].padEnd(6, '0').slice(0, 6))
  return (days * DAY_US + ((h * 60n + m) * 60n + sec) * 1000000n + frac).toString()
}

function unscaled(text, scale) { // '-12.5' at scale 3 -> -12500n
  const neg = text.startsWith('-')
  const [ip, fp = ''] = text.replace('-', '').split('.')
  const v = BigInt(ip + fp.padEnd(scale, '0').slice(0, scale))
  return neg ? -v : v
}

// hyparquet's DECIMAL rendering (see the header)
const hypDecimal = (u, scale) => dbl(Number(u) * 10 ** -scale)

function canon(n, v, A) {
  if (v === null || v === undefined) return 'null'
  switch (n.kind) {
    case 'leaf': return A.leaf(n, v)
    case 'struct':
      return '{' + n.fields.map((f) => JSON.stringify(f.name) + ':' + canon(f, A.field(v, f.name), A)).join(',') + '}'
    case 'list':
      return '[' + A.items(v).map((e) => canon(n.element, e, A)).join(',') + ']'
    default:
      return '{' + A.entries(v).map(([k, x]) => JSON.stringify(k) + ':' + canon(n.value, x, A)).join(',') + '}'
  }
}

const rowCanon = (schema, row, A) => canon({ kind: 'struct', fields: schema }, row, A)

// the input records (hyp: decimals as hyparquet renders them)
function expectedAdapter(hyp) {
  return {
    field: (v, k) => v.get(k),
    items: (v) => v,
    entries: (v) => [...v],
    leaf(n, v) {
      switch (n.type) {
        case 'boolean': return String(v)
        case 'int32': case 'int64': return BigInt(v.n).toString()
        case 'double': return dbl(Number(v.n))
        case 'string': return JSON.stringify(v)
        case 'timestamp': return microsFromIso(v)
        case 'date': return String(daysFromIso(v))
        case 'decimal': {
          const u = unscaled(v.n, n.scale)
          return hyp ? hypDecimal(u, n.scale) : u.toString()
        }
      }
      throw new Error('type ' + n.type)
    },
  }
}

const duckAdapter = {
  field: (v, k) => v[k],
  items: (v) => v,
  entries: (v) => (Array.isArray(v) ? v.map((e) => [e.key, e.value]) : Object.entries(v)),
  leaf(n, v) {
    switch (n.type) {
      case 'boolean': case 'int32': return String(v)
      case 'int64': return BigInt(v).toString()
      case 'double': return dbl(typeof v === 'string' ? Number(v) : v)
      case 'string': return JSON.stringify(v)
      case 'timestamp': return microsFromIso(v)
      case 'date': return String(daysFromIso(v))
      case 'decimal': return unscaled(v, n.scale).toString()
    }
    throw new Error('type ' + n.type)
  },
}

const hypAdapter = {
  field: (v, k) => v[k],
  items: (v) => v,
  entries: (v) => (v instanceof Map ? [...v] : Object.entries(v)),
  leaf(n, v) {
    switch (n.type) {
      case 'boolean': return String(v)
      case 'int32': case 'int64': case 'timestamp': case 'date': return BigInt(v).toString()
      case 'double': return dbl(v)
      case 'string': return JSON.stringify(v)
      case 'decimal': return dbl(v)
    }
    throw new Error('type ' + n.type)
  },
}

// arrow: values are {d: Data, i: index}; null when not valid
const vectors = new WeakMap()
function vec(d) {
  let v = vectors.get(d)
  if (!v) vectors.set(d, (v = makeVector(d)))
  return v
}
function at(d, i) {
  if (d.offset !== 0) throw new Error('sliced arrow data')
  return d.nullCount > 0 && !d.getValid(i) ? null : { d, i }
}
const arrowAdapter = (fieldsOf) => ({
  field: (v, k) => at(v.d.children[fieldsOf(v.d).indexOf(k)], v.i),
  items(v) {
    const o = v.d.valueOffsets, out = []
    for (let j = o[v.i]; j < o[v.i + 1]; j++) out.push(at(v.d.children[0], j))
    return out
  },
  entries(v) {
    const o = v.d.valueOffsets, kv = v.d.children[0], out = []
    for (let j = o[v.i]; j < o[v.i + 1]; j++) out.push([vec(kv.children[0]).get(j), at(kv.children[1], j)])
    return out
  },
  leaf(n, { d, i }) {
    switch (n.type) {
      case 'boolean': case 'int32': case 'int64': return String(vec(d).get(i))
      case 'double': return dbl(vec(d).get(i))
      case 'string': return JSON.stringify(vec(d).get(i))
      case 'timestamp': return d.values[i].toString() // raw microseconds
      case 'date': return String(d.values[i])
      case 'decimal': return BigInt(String(vec(d).get(i))).toString()
    }
    throw new Error('type ' + n.type)
  },
})

// ---- expected statistics -----------------------------------------------

function collect(n, v, leafIdx, acc) {
  // acc: per leaf {entries, values[]}; leafIdx: the index of n's first leaf
  const nl = countLeaves(n)
  const absent = () => { for (let k = 0; k < nl; k++) acc[leafIdx + k].entries++ }
  if (v === null || v === undefined) return absent()
  if (n.kind === 'leaf') {
    acc[leafIdx].entries++
    acc[leafIdx].values.push(v)
    return
  }
  if (n.kind === 'struct') {
    let k = leafIdx
    for (const f of n.fields) {
      collect(f, v.get(f.name), k, acc)
      k += countLeaves(f)
    }
    return
  }
  const items = n.kind === 'list' ? v : [...v]
  if (items.length === 0) return absent()
  for (const it of items) {
    if (n.kind === 'list') collect(n.element, it, leafIdx, acc)
    else {
      acc[leafIdx].entries++
      acc[leafIdx].values.push(it[0])
      collect(n.value, it[1], leafIdx + 1, acc)
    }
  }
}
function countLeaves(n) {
  if (n.leafCount !== undefined) return n.leafCount
  const c = n.kind === 'leaf' ? 1
    : n.kind === 'struct' ? n.fields.reduce((s, f) => s + countLeaves(f), 0)
      : n.kind === 'list' ? countLeaves(n.element) : 1 + countLeaves(n.value)
  Object.defineProperty(n, 'leafCount', { value: c })
  return c
}

// UTF-8 aware truncation as the spec allows it: min is a prefix; max is a
// prefix with its last code point incremented (the bound must stay above
// every value), or absent when no code point can be incremented.
function truncMin(b, max) {
  if (b.length <= max) return b
  let cut = max
  while (cut > 0 && (b[cut] & 0xc0) === 0x80) cut--
  return b.subarray(0, cut)
}
function truncMax(b, max) {
  if (b.length <= max) return { v: b, exact: true }
  const cps = [...truncMin(b, max).toString('utf8')]
  while (cps.length) {
    let cp = cps.pop().codePointAt(0) + 1
    if (cp === 0xd800) cp = 0xe000
    if (cp <= 0x10ffff) return { v: Buffer.from(cps.join('') + String.fromCodePoint(cp), 'utf8'), exact: false }
  }
  return { v: null, exact: false }
}

// canonical min/max/null_count/num_values of one chunk ({hyp} for hyparquet)
function chunkStats(leaf, acc, statsBytes, hyp) {
  const n = leaf.node, vals = acc.values
  const st = { nulls: acc.entries - vals.length, num: acc.entries, min: null, max: null, maxExact: true }
  if (!vals.length) return st
  let lo, hi, key, show
  switch (n.type) {
    case 'boolean': key = (v) => (v ? 1 : 0); show = (v) => String(v); break
    case 'int32': case 'int64': key = (v) => BigInt(v.n); show = (v) => BigInt(v.n).toString(); break
    case 'double': key = (v) => Number(v.n); show = (v) => dbl(Number(v.n)); break
    case 'timestamp': key = (v) => BigInt(microsFromIso(v)); show = (v) => microsFromIso(v); break
    case 'date': key = (v) => daysFromIso(v); show = (v) => String(daysFromIso(v)); break
    case 'decimal': key = (v) => unscaled(v.n, n.scale)
      show = (v) => (hyp ? hypDecimal(unscaled(v.n, n.scale), n.scale) : unscaled(v.n, n.scale).toString()); break
    case 'string': {
      const bs = vals.map((v) => Buffer.from(v, 'utf8'))
      lo = bs.reduce((a, b) => (Buffer.compare(b, a) < 0 ? b : a))
      hi = bs.reduce((a, b) => (Buffer.compare(b, a) > 0 ? b : a))
      st.min = JSON.stringify(truncMin(lo, statsBytes).toString('utf8'))
      const t = truncMax(hi, statsBytes)
      st.max = t.v && JSON.stringify(t.v.toString('utf8'))
      st.maxExact = t.exact
      return st
    }
  }
  lo = hi = vals[0]
  for (const v of vals) {
    if (key(v) < key(lo)) lo = v
    if (key(v) > key(hi)) hi = v
  }
  st.min = show(lo)
  st.max = show(hi)
  if (n.type === 'double') { // zero bounds: -0.0 min, +0.0 max
    if (Number(lo.n) === 0) st.min = '-0'
    if (Number(hi.n) === 0) st.max = '0'
  }
  return st
}

function duckStat(n, s) {
  if (s === null || s === undefined) return null
  switch (n.type) {
    case 'boolean': return s
    case 'int32': case 'int64': return BigInt(s).toString()
    case 'double': return dbl(Number(s))
    case 'string': return JSON.stringify(s)
    case 'timestamp': return microsFromIso(s)
    case 'date': return String(daysFromIso(s))
    case 'decimal': return unscaled(s, n.scale).toString()
  }
}

function hypStat(n, v) {
  if (v === null || v === undefined) return null
  switch (n.type) {
    case 'boolean': return String(v)
    case 'int32': case 'int64': case 'timestamp': case 'date': return BigInt(v).toString()
    case 'double': case 'decimal': return dbl(v)
    case 'string': return JSON.stringify(Buffer.from(v).toString('utf8'))
  }
}

// ---- the run ------------------------------------------------------------

const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
const db = await DuckDBInstance.create(':memory:')
const con = await db.connect()
await con.run("SET TimeZone = 'UTC'")
const q = (s) => "'" + s.replaceAll("'", "''") + "'"
const parsers = { timestampFromMicroseconds: (x) => x, dateFromDays: (d) => d }
const hypMetaParsers = { ...parsers, stringFromBytes: (b) => b }

const tally = { duckdb: 0, hyparquet: 0, 'parquet-wasm': 0, stats_duckdb: 0, stats_hyparquet: 0, page_index_hyparquet: 0 }
let failures = 0, rowsChecked = 0, chunks = 0
function fail(name, reader, msg) {
  failures++
  if (failures <= 40) console.error(`FAIL ${name} [${reader}] ${msg}`)
}

function compareRows(name, reader, got, want) {
  if (got.length !== want.length) return fail(name, reader, `${got.length} rows, want ${want.length}`)
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) {
      let k = 0
      while (got[i][k] === want[i][k]) k++
      const cut = (s) => (k > 60 ? '...' : '') + s.slice(Math.max(0, k - 60), k + 100)
      return fail(name, reader, `row ${i}, from character ${k}:\n  got:  ${cut(got[i])}\n  want: ${cut(want[i])}`)
    }
  }
  tally[reader]++
}

for (const jf of files) {
  const name = jf.slice(0, -5)
  const file = path.join(dir, name + '.parquet')
  const meta = parseLossless(fs.readFileSync(path.join(dir, jf), 'utf8'))
  const schema = plainSchema(meta.get('schema'))
  const rows = meta.get('rows')
  const statsBytes = Number(meta.get('statsBytes').n)
  const want = rows.map((r) => rowCanon(schema, r, expectedAdapter(false)))
  const wantHyp = rows.map((r) => rowCanon(schema, r, expectedAdapter(true)))
  rowsChecked += rows.length
  const buf = fs.readFileSync(file)
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)

  // DuckDB
  try {
    const r = await con.runAndReadAll(`SELECT * FROM read_parquet(${q(file)})`)
    compareRows(name, 'duckdb', r.getRowObjectsJson().map((o) => rowCanon(schema, o, duckAdapter)), want)
  } catch (e) { fail(name, 'duckdb', e.message) }

  // hyparquet
  try {
    const objs = await parquetReadObjects({ file: ab, compressors, parsers })
    compareRows(name, 'hyparquet', objs.map((o) => rowCanon(schema, o, hypAdapter)), wantHyp)
  } catch (e) { fail(name, 'hyparquet', e.stack) }

  // parquet-wasm (arrow-rs) -> IPC -> apache-arrow
  try {
    const t = tableFromIPC(readParquet(new Uint8Array(buf)).intoIPCStream())
    const names = new WeakMap()
    const fieldsOf = (d) => {
      let f = names.get(d.type)
      if (!f) names.set(d.type, (f = d.type.children.map((c) => c.name)))
      return f
    }
    const A = arrowAdapter(fieldsOf)
    const got = []
    for (const b of t.batches) {
      const top = schema.map((f) => b.data.children[t.schema.fields.findIndex((x) => x.name === f.name)])
      for (let i = 0; i < b.numRows; i++) {
        got.push('{' + schema.map((f, k) => JSON.stringify(f.name) + ':' + canon(f, at(top[k], i), A)).join(',') + '}')
      }
    }
    compareRows(name, 'parquet-wasm', got, want)
  } catch (e) { fail(name, 'parquet-wasm', e.stack) }

  // statistics, computed from the records row group by row group
  const lv = leaves(schema)
  const rgs = meta.get('rowgroups').map((x) => Number(x.n))
  const expect = []
  let r0 = 0
  for (const nr of rgs) {
    const acc = lv.map(() => ({ entries: 0, values: [] }))
    for (const row of rows.slice(r0, r0 + nr)) {
      let k = 0
      for (const f of schema) { collect(f, row.get(f.name), k, acc); k += countLeaves(f) }
    }
    expect.push(acc)
    r0 += nr
  }
  try {
    const md = (await con.runAndReadAll(
      `SELECT row_group_id, column_id, stats_min_value, stats_max_value, stats_null_count, num_values
       FROM parquet_metadata(${q(file)}) ORDER BY row_group_id, column_id`)).getRowObjectsJson()
    if (md.length !== rgs.length * lv.length) throw new Error(`${md.length} chunks, want ${rgs.length * lv.length}`)
    let ok = true
    for (const m of md) {
      const g = Number(m.row_group_id), c = Number(m.column_id), leaf = lv[c]
      const x = chunkStats(leaf, expect[g][c], statsBytes, false)
      const got = [duckStat(leaf.node, m.stats_min_value), duckStat(leaf.node, m.stats_max_value),
        Number(m.stats_null_count), Number(m.num_values)]
      const exp = [x.min, x.max, x.nulls, x.num]
      if (JSON.stringify(got) !== JSON.stringify(exp)) {
        ok = false
        fail(name, 'stats_duckdb', `row group ${g} ${leaf.path.join('.')}: got ${JSON.stringify(got)} want ${JSON.stringify(exp)}`)
        break
      }
      chunks++
    }
    if (ok) tally.stats_duckdb++
  } catch (e) { fail(name, 'stats_duckdb', e.message) }
  try {
    const md = parquetMetadata(ab, { parsers: hypMetaParsers })
    let ok = md.row_groups.length === rgs.length
    if (!ok) fail(name, 'stats_hyparquet', `${md.row_groups.length} row groups, want ${rgs.length}`)
    md.row_groups.forEach((rg, g) => {
      rg.columns.forEach((cc, c) => {
        if (!ok) return
        const leaf = lv[c], s = cc.meta_data.statistics
        const x = chunkStats(leaf, expect[g][c], statsBytes, true)
        const got = [cc.meta_data.path_in_schema.join('.'), hypStat(leaf.node, s.min_value), hypStat(leaf.node, s.max_value),
          Number(s.null_count), Number(cc.meta_data.num_values), s.max_value === undefined ? true : s.is_max_value_exact]
        const exp = [leaf.path.join('.'), x.min, x.max, x.nulls, x.num, x.max === null ? true : x.maxExact]
        if (JSON.stringify(got) !== JSON.stringify(exp)) {
          ok = false
          fail(name, 'stats_hyparquet', `row group ${g} ${leaf.path.join('.')}: got ${JSON.stringify(got)} want ${JSON.stringify(exp)}`)
        }
      })
    })
    if (ok) tally.stats_hyparquet++
    if (pageIndexOk(name, md, buf)) tally.page_index_hyparquet++
  } catch (e) { fail(name, 'stats_hyparquet', e.stack) }
}

// Page indexes (PageIndex.md), parsed by hyparquet: every chunk has an
// offset index whose pages tile the chunk's data pages from
// data_page_offset to the chunk's end, first rows increasing from 0 below
// the row group's rows; a column index, when present, has one entry per
// page and null counts adding up to the chunk's.
function pageIndexOk(name, md, buf) {
  const reader = (off, len) => ({ view: new DataView(buf.buffer, buf.byteOffset + off, len), offset: 0 })
  for (const [g, rg] of md.row_groups.entries()) {
    for (const cc of rg.columns) {
      const m = cc.meta_data, where = `row group ${g} ${m.path_in_schema.join('.')}`
      if (cc.offset_index_offset === undefined) return fail(name, 'page_index_hyparquet', `${where}: no offset index`), false
      const oi = readOffsetIndex(reader(Number(cc.offset_index_offset), cc.offset_index_length))
      const locs = oi.page_locations
      const start = Number(m.dictionary_page_offset ?? m.data_page_offset)
      let at = Number(m.data_page_offset), row = -1
      for (const l of locs) {
        const fr = Number(l.first_row_index)
        if (Number(l.offset) !== at || fr <= row || fr >= Number(rg.num_rows) || (row < 0 && fr !== 0)) {
          return fail(name, 'page_index_hyparquet', `${where}: page ${JSON.stringify(l, (k, v) => typeof v === 'bigint' ? Number(v) : v)} after offset ${at}, row ${row}`), false
        }
        at += l.compressed_page_size
        row = fr
      }
      if (at !== start + Number(m.total_compressed_size)) {
        return fail(name, 'page_index_hyparquet', `${where}: pages end at ${at}, chunk at ${start + Number(m.total_compressed_size)}`), false
      }
      if (cc.column_index_offset !== undefined) {
        const ci = readColumnIndex(reader(Number(cc.column_index_offset), cc.column_index_length), md.schema[0])
        const nulls = ci.null_counts.reduce((a, b) => a + Number(b), 0)
        if (ci.null_pages.length !== locs.length || nulls !== Number(m.statistics.null_count)) {
          return fail(name, 'page_index_hyparquet', `${where}: column index of ${ci.null_pages.length} pages, ${nulls} nulls`), false
        }
      }
    }
  }
  return true
}

console.log(`pq_conform: ${files.length} files, ${rowsChecked} rows, ${chunks} column chunks; ` +
  `files passing per reader: ${JSON.stringify(tally)}; failures: ${failures}`)
process.exit(failures ? 1 : 0)
