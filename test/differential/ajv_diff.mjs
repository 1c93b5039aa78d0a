// Differential test: ksink's streaming validator (through `ksink validate`)
// against ajv (draft-07, strict off, ajv-formats) on seeded random
// schema/instance pairs. Any disagreement fails and prints the case --
// unless the spec itself, computed here independently, says ajv is the one
// that is wrong; those are counted and explained, never silently skipped.
//
//   node test/differential/ajv_diff.mjs <ksink> [schemas=260] [seed=1]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Ajv = require('ajv');
const addFormats = require('ajv-formats');

const [ksink, nSchemasArg, seedArg] = process.argv.slice(2);
if (!ksink) {
  console.error('usage: ajv_diff.mjs <ksink> [schemas] [seed]');
  process.exit(2);
}
const N_SCHEMAS = Number(nSchemasArg || 260);
const INSTANCES = 10;
let seed = Number(seedArg || process.env.KS_DIFF_SEED || 1) >>> 0;

// mulberry32: small, seedable, reproducible across node versions
function rnd() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rnd() * a.length)];
const chance = (p) => rnd() < p;
const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));

const TYPES = ['null', 'boolean', 'integer', 'number', 'string', 'object', 'array'];
const KEYS = ['a', 'b', 'c', 'x1', 'x2', 'é', ''];
const NUMS = [0, 1, -1, 2, 3, 2.5, -3.5, 10, 0.1, 0.3, 0.7, 1e2, 1e-2, 7, 100, 0.5, 1.5];
const STRS = ['', 'a', 'ab', 'abc', 'abcd', 'é', 'éé', '😀', 'x1', 'A', 'hello world',
  '2024-01-31', '2024-02-30', '2024-01-31T12:00:00Z', '2024-01-31T25:00:00Z',
  '12:00:00Z', 'a@b.co', 'no-at.example', '192.168.0.1', '256.1.1.1', '::1', '1::2::3',
  'example.com', '-bad-.com', '123e4567-e89b-12d3-a456-426614174000', 'not-a-uuid',
  '/a/b~0', '/a~2', 'http://x.org/a?b#c', 'rel/path', '1985-04-12T23:20:50.52+01:00'];
const PATTERNS = ['^a', 'b$', '^[a-c]+$', '\\d', '^x\\d$', '^.{2}$', 'é', '^\\w+$', '^$'];
const FORMATS = ['date', 'date-time', 'time', 'email', 'ipv4', 'ipv6', 'hostname', 'uuid',
  'json-pointer', 'uri', 'uri-reference'];

function genValue(depth) {
  const k = depth > 2 ? int(0, 3) : int(0, 5);
  switch (k) {
    case 0: return pick([null, true, false]);
    case 1: return pick(NUMS);
    case 2: case 3: return pick(STRS);
    case 4: {
      const n = int(0, 4), a = [];
      for (let i = 0; i < n; i++) a.push(genValue(depth + 1));
      if (n && chance(0.2)) a.push(a[0]); // duplicates for uniqueItems
      return a;
    }
    default: {
      const o = {};
      const n = int(0, 4);
      for (let i = 0; i < n; i++) o[pick(KEYS)] = genValue(depth + 1);
      return o;
    }
  }
}

let defs; // definitions of the schema being generated
function genSchema(depth) {
  if (chance(depth > 1 ? 0.25 : 0.06)) return chance(0.7);
  const s = {};
  const budget = depth > 2 ? 1 : int(1, 4);
  for (let i = 0; i < budget; i++) {
    switch (int(0, depth > 2 ? 9 : 19)) {
      case 0: s.type = chance(0.7) ? pick(TYPES) : [pick(TYPES), pick(TYPES)].filter((v, j, a) => a.indexOf(v) === j); break;
      case 1: { // distinct values: ajv refuses duplicates (draft-07 only says SHOULD be unique)
        const vals = [genValue(2), genValue(2), pick(NUMS)];
        s.enum = vals.filter((v, j) => vals.findIndex((w) => JSON.stringify(w) === JSON.stringify(v)) === j); break; }
      case 2: s.const = genValue(2); break;
      case 3: s[pick(['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'])] = pick(NUMS); break;
      case 4: s.multipleOf = pick([1, 2, 0.5, 0.1, 3, 0.01]); break;
      case 5: s[pick(['minLength', 'maxLength'])] = int(0, 3); break;
      case 6: s.pattern = pick(PATTERNS); break;
      case 7: s.format = pick(FORMATS); break;
      case 8: s[pick(['minItems', 'maxItems', 'minProperties', 'maxProperties'])] = int(0, 3); break;
      case 9: s.required = [pick(KEYS), pick(KEYS)].filter((v, j, a) => a.indexOf(v) === j); break;
      case 10: { s.properties = {}; for (let j = int(1, 3); j > 0; j--) s.properties[pick(KEYS)] = genSchema(depth + 1); break; }
      case 11: s.additionalProperties = genSchema(depth + 1); break;
      case 12: s.patternProperties = { [pick(PATTERNS)]: genSchema(depth + 1) }; break;
      case 13: s.items = chance(0.5) ? genSchema(depth + 1) : [genSchema(depth + 1), genSchema(depth + 1)];
        if (Array.isArray(s.items) && chance(0.5)) s.additionalItems = genSchema(depth + 1); break;
      case 14: s.contains = genSchema(depth + 1); break;
      case 15: s.uniqueItems = chance(0.8); break;
      case 16: s[pick(['allOf', 'anyOf', 'oneOf'])] = [genSchema(depth + 1), genSchema(depth + 1)]; break;
      case 17: if (chance(0.5)) s.not = genSchema(depth + 1);
        else { s.if = genSchema(depth + 1); s.then = genSchema(depth + 1); if (chance(0.6)) s.else = genSchema(depth + 1); } break;
      case 18: s.dependencies = { [pick(KEYS)]: chance(0.5) ? [pick(KEYS)] : genSchema(depth + 1) }; break;
      default: if (chance(0.5)) s.propertyNames = { maxLength: int(0, 2) };
        else { // reserve the name first: no cycles (both sides would just recurse)
          const name = `d${Object.keys(defs).length}`; defs[name] = true; defs[name] = genSchema(depth + 1); return { $ref: `#/definitions/${name}` }; }
    }
  }
  return s;
}

// ---- the spec, independently, where ajv is known to deviate. Each rule
// recomputes the draft-07 answer for one keyword on a value the walk
// actually reaches; a disagreement is blamed on ajv only when a rule finds
// ajv's answer for that keyword differs from the spec's there.
//  - multipleOf by a non-integer: ajv divides binary floats (0.3 / 0.1 =
//    2.9999999999999996, "not a multiple"); draft-07 6.2.1 divides decimals.
//  - required/dependencies naming "": ajv's generated code tests the
//    missing name for truthiness, so a missing "" is never reported
//    (draft-07 6.5.3/6.5.7: every listed name must be present).
//  - uri-reference: ajv-formats accepts a relative reference whose first
//    segment holds ':' ("1985-04-12T23:20:50Z"); RFC 3986 4.2 (path-noscheme)
//    forbids it, since it would read as a scheme.
//  - contains on an empty array: no element matches, so draft-07 6.4.6 says
//    invalid; ajv 8.20 answers valid when "items" is an array whose schema
//    itself uses "contains" (its generated code reuses the flag). Checked
//    by asking ajv for that very subschema and array.
function decimal(x) { // exact decimal of a JS number's shortest rendering
  const [m, e] = x.toExponential().split('e');
  const digits = m.replace('-', '').replace('.', '');
  const frac = (m.split('.')[1] || '').length;
  return { n: BigInt((x < 0 ? '-' : '') + digits), p: Number(e) - frac };
}
function isMultiple(x, d) {
  const a = decimal(x), b = decimal(d);
  const p = Math.min(a.p, b.p);
  const A = a.n * 10n ** BigInt(a.p - p), B = b.n * 10n ** BigInt(b.p - p);
  return A % B === 0n;
}
function subAjv() {
  const a = new Ajv({ strict: false, logger: false });
  addFormats(a);
  return a;
}
function noschemeColon(s) {
  return !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(s) && /^[^/?#]*:/.test(s);
}
function ajvDeviations(schema, value) {
  const found = [];
  const visit = (s, v) => {
    if (s === null || typeof s !== 'object') return;
    if (typeof v === 'number' && typeof s.multipleOf === 'number' &&
        Number.isInteger(v / s.multipleOf) !== isMultiple(v, s.multipleOf))
      found.push(`multipleOf: ${v} / ${s.multipleOf} (spec 6.2.1: decimal division; ajv divides binary floats)`);
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const names = [...(s.required || [])];
      for (const [k, d] of Object.entries(s.dependencies || {}))
        if (k in v && Array.isArray(d)) names.push(...d);
      if (names.includes('') && !('' in v))
        found.push('required/dependencies: "" missing (ajv never reports a missing empty name)');
    }
    if (Array.isArray(v) && v.length === 0 && s.contains !== undefined &&
        subAjv().validate({ ...s, definitions: defsOf }, v))
      found.push('contains: empty array (spec 6.4.6: no element matches; ajv says valid)');
    if (typeof v === 'string' && s.format === 'uri-reference' && noschemeColon(v))
      found.push(`uri-reference: ${JSON.stringify(v)} (RFC 3986 4.2: ':' in the first segment of a relative path)`);
    for (const k of ['allOf', 'anyOf', 'oneOf']) (s[k] || []).forEach((x) => visit(x, v));
    for (const k of ['not', 'if', 'then', 'else']) if (s[k]) visit(s[k], v);
    if (s.$ref) visit(defsOf[s.$ref.split('/').pop()], v);
    if (Array.isArray(v)) v.forEach((e, i) => {
      visit(Array.isArray(s.items) ? s.items[i] ?? s.additionalItems : s.items, e);
      visit(s.contains, e);
    });
    if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, e] of Object.entries(v)) {
      visit(s.properties?.[k], e);
      visit(s.additionalProperties, e);
      for (const [p, ps] of Object.entries(s.patternProperties || {})) if (new RegExp(p, 'u').test(k)) visit(ps, e);
      for (const d of Object.values(s.dependencies || {})) visit(d, v);
    }
  };
  visit(schema, value);
  return found;
}
let defsOf;

const work = mkdtempSync(join(tmpdir(), 'ksink-ajv-'));
let pairs = 0, agree = 0, ajvWrong = 0;
const wrongKinds = {};
const disagreements = [];
try {
  for (let k = 0; k < N_SCHEMAS; k++) {
    defs = {};
    const root = genSchema(0);
    const schema = typeof root === 'boolean' ? root : { ...root, definitions: defs };
    defsOf = defs;
    const instances = [];
    for (let i = 0; i < INSTANCES; i++) instances.push(genValue(0));
    const ajv = new Ajv({ strict: false, allErrors: false, logger: false });
    addFormats(ajv);
    let validate;
    try { validate = ajv.compile(schema); } catch (e) {
      disagreements.push({ schema, why: `ajv refused the schema: ${e.message}` });
      continue;
    }
    const sfile = join(work, 's.json'), ifile = join(work, 'in.jsonl');
    writeFileSync(sfile, JSON.stringify(schema));
    writeFileSync(ifile, instances.map((v) => JSON.stringify(v)).join('\n') + '\n');
    const r = spawnSync(ksink, ['validate', '--schema', sfile, ifile], { encoding: 'utf8' });
    if (r.status === 2) {
      disagreements.push({ schema, why: `ksink refused the schema: ${r.stderr.trim()}` });
      continue;
    }
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    if (lines.length !== instances.length) {
      disagreements.push({ schema, why: `ksink printed ${lines.length} verdicts for ${instances.length} lines` });
      continue;
    }
    instances.forEach((inst, i) => {
      pairs++;
      const a = validate(inst), kv = lines[i] === 'ok';
      if (a === kv) { agree++; return; }
      const dev = ajvDeviations(schema, inst);
      if (dev.length) {
        ajvWrong++;
        const kind = dev[0].split(':')[0];
        wrongKinds[kind] = (wrongKinds[kind] || 0) + 1;
        if (wrongKinds[kind] <= 2) console.log(`ajv wrong, ksink ${kv ? 'valid' : 'invalid'}: ${dev[0]}; instance ${JSON.stringify(inst)}`);
        return;
      }
      disagreements.push({ schema, instance: inst, ajv: a, ksink: lines[i] });
    });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
for (const d of disagreements.slice(0, 20)) console.log('DISAGREEMENT', JSON.stringify(d));
console.log(`${pairs} pairs from ${N_SCHEMAS} schemas: ${agree} agree, ${ajvWrong} where ajv contradicts the spec ${JSON.stringify(wrongKinds)}, ${disagreements.length} disagreements`);
process.exit(disagreements.length ? 1 : 0);
