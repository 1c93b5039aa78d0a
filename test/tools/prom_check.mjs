// prom_check: a strict reader of the Prometheus text exposition format
// 0.0.4 for scrapes of ksink's /metrics.
//
//   node prom_check.mjs [--require FAMILY[{label,...}]]... SCRAPE...
//
// (scrape files in scrape order). --require: every scrape must declare
// FAMILY (a family with a series per partition may have none yet), and
// each of its samples must carry exactly those labels (plus le on a
// histogram's _bucket).
//
// Every line must be a comment (# HELP / # TYPE, each at most once per
// family, TYPE before the family's samples), blank, or a sample
// `name{label="value",...} value [timestamp]` with valid metric and label
// names, escapes (\\ \" \n only) and a float value. Samples of one family
// are contiguous; no series appears twice in a scrape. Histograms: buckets
// cumulative in le order, a +Inf bucket equal to _count, and _sum present.
// Across scrapes, every counter series (and histogram bucket/_count) never
// decreases. Prints the last scrape's series as JSON on success
// ({"series": {"name{labels}": value}}), exits 1 with the first problems.
import fs from 'node:fs';

const args = process.argv.slice(2);
const required = [];
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--require') {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([a-zA-Z0-9_,]*)\})?$/.exec(args[++i] ?? '');
    if (!m) { console.error(`bad --require ${args[i]}`); process.exit(2); }
    required.push({ family: m[1], labels: m[2] ? m[2].split(',').filter(Boolean).sort() : [] });
  } else files.push(args[i]);
}
if (!files.length) { console.error('usage: prom_check.mjs [--require FAMILY[{labels}]]... SCRAPE...'); process.exit(2); }
const problems = [];
const bad = (f, n, m) => { if (problems.push(`${f}:${n}: ${m}`) <= 20) console.error(`${f}:${n}: ${m}`); };
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/, LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const VALUE = /^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|[+-]?Inf|NaN)$/;
const num = (s) => (s === '+Inf' || s === 'Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s));

function parseLabels(s, f, n) {
  const labels = [];
  let i = 0;
  while (i < s.length) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(s.slice(i));
    if (!m) { bad(f, n, `bad label at ${JSON.stringify(s.slice(i))}`); return null; }
    i += m[0].length;
    let v = '';
    for (;;) {
      if (i >= s.length) { bad(f, n, 'unterminated label value'); return null; }
      const c = s[i++];
      if (c === '"') break;
      if (c === '\\') {
        const e = s[i++];
        if (e === '\\' || e === '"') v += e; else if (e === 'n') v += '\n';
        else { bad(f, n, `bad escape \\${e}`); return null; }
      } else v += c;
    }
    if (labels.some(([k]) => k === m[1])) bad(f, n, `label ${m[1]} twice`);
    labels.push([m[1], v]);
    if (i < s.length) {
      if (s[i] !== ',') { bad(f, n, `expected , in labels at ${JSON.stringify(s.slice(i))}`); return null; }
      i++;
    }
  }
  return labels;
}

function parse(f) {
  const types = new Map(), helps = new Set(), series = new Map(), done = new Set();
  let current = null;
  const lines = fs.readFileSync(f, 'utf8').split('\n');
  if (lines[lines.length - 1] !== '') bad(f, lines.length, 'no final newline');
  lines.forEach((line, k) => {
    const n = k + 1;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([^ ]+) ?(.*)$/.exec(line);
      if (!m) return; // other comments are allowed
      const [, kind, name, rest] = m;
      if (!NAME.test(name)) bad(f, n, `bad metric name ${name}`);
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) bad(f, n, `bad type ${rest}`);
        if (types.has(name)) bad(f, n, `second TYPE for ${name}`);
        if (done.has(name) || series.has(name)) bad(f, n, `TYPE after samples of ${name}`);
        types.set(name, rest);
      } else {
        if (helps.has(name)) bad(f, n, `second HELP for ${name}`);
        helps.add(name);
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([^ ]+)(?: (-?\d+))?$/.exec(line);
    if (!m) { bad(f, n, `not a sample: ${JSON.stringify(line)}`); return; }
    const [, name, ls, value] = m;
    if (!VALUE.test(value)) bad(f, n, `bad value ${value}`);
    if (types.get(name) === 'counter' && num(value) < 0) bad(f, n, `counter ${name} is negative: ${value}`);
    const labels = ls === undefined ? [] : parseLabels(ls, f, n);
    if (!labels) return;
    const family = [...types.keys()].find((t) => name === t ||
      (types.get(t) === 'histogram' && [`${t}_bucket`, `${t}_sum`, `${t}_count`].includes(name))) ?? name;
    if (current !== family) {
      if (done.has(family)) bad(f, n, `samples of ${family} are not contiguous`);
      if (current) done.add(current);
      current = family;
    }
    const key = `${name}{${labels.map(([a, b]) => `${a}=${JSON.stringify(b)}`).join(',')}}`;
    if (series.has(key)) bad(f, n, `series ${key} twice`);
    series.set(key, { name, family, labels, value: num(value), type: types.get(family) ?? 'untyped', line: n });
  });
  // histograms
  for (const [fam, type] of types) {
    if (type !== 'histogram') continue;
    const groups = new Map();
    for (const s of series.values()) {
      if (s.family !== fam) continue;
      const rest = s.labels.filter(([k]) => k !== 'le').map(([a, b]) => `${a}=${b}`).join(',');
      if (!groups.has(rest)) groups.set(rest, { buckets: [], count: null, sum: null });
      const g = groups.get(rest);
      if (s.name.endsWith('_bucket')) {
        const le = s.labels.find(([k]) => k === 'le');
        if (!le) bad(f, s.line, `${s.name} without le`); else g.buckets.push([num(le[1]), s.value]);
      } else if (s.name.endsWith('_count')) g.count = s.value;
      else if (s.name.endsWith('_sum')) g.sum = s.value;
    }
    for (const [rest, g] of groups) {
      if (g.buckets.some(([le]) => Number.isNaN(le))) bad(f, 0, `${fam}{${rest}}: a bucket's le is not a number`);
      for (let i = 1; i < g.buckets.length; i++)
        if (!(g.buckets[i][0] > g.buckets[i - 1][0])) bad(f, 0, `${fam}{${rest}}: le values not in increasing order`);
      if (g.sum !== null && g.sum < 0) bad(f, 0, `${fam}{${rest}}: negative _sum`);
      for (let i = 1; i < g.buckets.length; i++)
        if (g.buckets[i][1] < g.buckets[i - 1][1]) bad(f, 0, `${fam}{${rest}}: buckets not cumulative`);
      const inf = g.buckets.find(([le]) => le === Infinity);
      if (!inf) bad(f, 0, `${fam}{${rest}}: no +Inf bucket`);
      else if (g.count !== inf[1]) bad(f, 0, `${fam}{${rest}}: _count ${g.count} != +Inf bucket ${inf[1]}`);
      if (g.sum === null) bad(f, 0, `${fam}{${rest}}: no _sum`);
    }
  }
  for (const { family, labels } of required) {
    const type = types.get(family);
    if (!type) { bad(f, 0, `required family ${family} is missing`); continue; }
    const samples = [...series.values()].filter((x) => x.family === family);
    for (const x of samples) {
      const names = x.labels.map(([k]) => k).filter((k) => !(type === 'histogram' && k === 'le' && x.name.endsWith('_bucket'))).sort();
      if (names.join(',') !== labels.join(','))
        bad(f, x.line, `${x.name} has labels {${names}}, expected {${labels}}`);
    }
  }
  return series;
}

let prev = null;
let last = null;
for (const f of files) {
  const s = parse(f);
  if (prev) {
    for (const [key, x] of s) {
      const monotonic = x.type === 'counter' || (x.type === 'histogram' && !x.name.endsWith('_sum'));
      const p = prev.get(key);
      if (monotonic && p && x.value < p.value) bad(f, x.line, `counter ${key} went down: ${p.value} -> ${x.value}`);
    }
  }
  prev = s;
  last = s;
}
if (problems.length) { console.error(`prom_check: ${problems.length} problems in ${files.length} scrapes`); process.exit(1); }
console.log(JSON.stringify({ scrapes: files.length, series: Object.fromEntries([...last].map(([k, v]) => [k, v.value])) }));
