// verify_errfiles: checks the JSON Lines error files ksink wrote under
// errors.deadletter.path against what ks_produce delivered.
//
//   node verify_errfiles.mjs EXPECT.jsonl DIR SOURCE_TOPIC
//
// Every file must be named <topic>+<partition>+<first offset>.jsonl after
// its first line, hold lines of that partition in ascending offset order,
// each a JSON object with topic, partition, offset, timestamp, key, value
// (UTF-8 text, or base64 with value_base64 true), headers and an error
// (Connect's stage and class, a reason, the validator's pointer and a
// "<pointer>: <reason>" message). Every invalid record of EXPECT must be in
// exactly one line, with its bytes intact; no valid record may be there.
// Prints the line count; exits 1 on any difference.
import fs from 'node:fs';
import path from 'node:path';

const [expectFile, dir, topic] = process.argv.slice(2);
if (!topic) {
  console.error('usage: verify_errfiles.mjs EXPECT DIR SOURCE_TOPIC');
  process.exit(2);
}
const failures = [];
const fail = (m) => { if (failures.push(m) <= 10) console.error(`FAIL: ${m}`); };
const expect = new Map();
for (const l of fs.readFileSync(expectFile, 'utf8').split('\n')) {
  if (!l.trim()) continue;
  const e = JSON.parse(l);
  expect.set(`${e.partition}:${e.offset}`, e);
}
const REASONS = ['malformed_json', 'invalid_utf8', 'schema', 'too_large', 'null_value'];
const seen = new Set();
let lines = 0;
// a put the fs backend had not finished when the process was killed leaves
// its hidden temp file (".<name>.ksink-tmp-*", swept once stale): not an
// error file
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => !/^\..*\.ksink-tmp-[0-9a-f]+$/.test(f)).sort() : [];
for (const f of files) {
  const m = /^(.+)\+(\d+)\+(\d+)\.jsonl$/.exec(f);
  if (!m) { fail(`${f}: not named <topic>+<partition>+<offset>.jsonl`); continue; }
  const body = fs.readFileSync(path.join(dir, f), 'utf8');
  if (!body.endsWith('\n')) fail(`${f}: no final newline`);
  const rows = body.split('\n').filter((l) => l !== '');
  if (!rows.length) fail(`${f}: empty`);
  let prev = -1;
  rows.forEach((l, i) => {
    lines++;
    const where = `${f}:${i + 1}`;
    let r;
    try { r = JSON.parse(l); } catch (e) { fail(`${where}: not JSON: ${e.message}`); return; }
    if (r.topic !== topic || m[1] !== topic) fail(`${where}: topic ${r.topic}`);
    if (r.partition !== Number(m[2])) fail(`${where}: partition ${r.partition} in a file of ${m[2]}`);
    if (i === 0 && r.offset !== Number(m[3])) fail(`${where}: first offset ${r.offset}, name says ${m[3]}`);
    if (!(r.offset > prev)) fail(`${where}: offset ${r.offset} after ${prev}`);
    prev = r.offset;
    const k = `${r.partition}:${r.offset}`;
    const e = expect.get(k);
    if (!e) { fail(`${where}: ${k} was never produced`); return; }
    if (seen.has(k)) fail(`${where}: ${k} is in the error files twice`);
    seen.add(k);
    if (e.valid) fail(`${where}: ${k} is a valid record`);
    if (typeof r.value_base64 !== 'boolean' || typeof r.key_base64 !== 'boolean') fail(`${where}: no base64 flags`);
    const want = e.value_base64 !== undefined ? Buffer.from(e.value_base64, 'base64') : Buffer.from(e.value, 'utf8');
    const got = r.value === null ? Buffer.alloc(0) : r.value_base64 ? Buffer.from(r.value, 'base64') : Buffer.from(r.value, 'utf8');
    if (!got.equals(want)) fail(`${where}: value differs from ${k}: ${got.toString('utf8').slice(0, 80)}`);
    if (e.value_base64 !== undefined && !r.value_base64) fail(`${where}: invalid UTF-8 value not base64-encoded`);
    if (r.key !== e.key || r.key_base64) fail(`${where}: key ${r.key} != ${e.key}`);
    if (!Array.isArray(r.headers)) fail(`${where}: headers not an array`);
    if (!(r.timestamp === null || Number.isInteger(r.timestamp))) fail(`${where}: timestamp ${r.timestamp}`);
    const er = r.error ?? {};
    if (er.stage !== 'VALUE_CONVERTER') fail(`${where}: stage ${er.stage}`);
    if (er.class !== 'org.apache.kafka.connect.errors.DataException') fail(`${where}: class ${er.class}`);
    if (!REASONS.includes(er.reason)) fail(`${where}: reason ${er.reason}`);
    if (typeof er.pointer !== 'string') fail(`${where}: pointer ${er.pointer}`);
    if (typeof er.message !== 'string' || !er.message.includes(': ')) fail(`${where}: message ${JSON.stringify(er.message)}`);
  });
}
let missing = 0;
for (const [k, e] of expect) {
  if (!e.valid && !seen.has(k)) {
    missing++;
    fail(`invalid record ${k} (${e.kind}) is in no error file`);
  }
}
console.log(JSON.stringify({ files: files.length, lines, distinct: seen.size, missing, failures: failures.length }));
process.exit(failures.length ? 1 : 0);
