// verify_dlq: checks a dead-letter topic read back by ks_consume against
// what ks_produce delivered.
//
//   node verify_dlq.mjs EXPECT.jsonl DLQ.jsonl SOURCE_TOPIC CONNECTOR
//
// Every invalid record of EXPECT must be in DLQ exactly once, found by its
// __connect.errors.partition/offset headers, with its key and value bytes
// intact and Connect's headers set (topic, connector name, numeric task
// id, stage, exception class, a message carrying the validator's reason);
// no valid record may be there. Exit 1 on any difference.
import fs from 'node:fs';

const [expectFile, dlqFile, topic, connector] = process.argv.slice(2);
if (!connector) {
  console.error('usage: verify_dlq.mjs EXPECT DLQ SOURCE_TOPIC CONNECTOR');
  process.exit(2);
}
const lines = (f) => fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim());
const expect = new Map();
for (const l of lines(expectFile)) {
  const e = JSON.parse(l);
  expect.set(`${e.partition}:${e.offset}`, e);
}
const failures = [];
const fail = (m) => { if (failures.push(m) <= 10) console.error(`FAIL: ${m}`); };
const seen = new Set();
const b64 = (s) => (s === null ? null : Buffer.from(s, 'base64'));
let n = 0;
for (const l of lines(dlqFile)) {
  n++;
  const r = JSON.parse(l);
  const h = new Map(r.headers.map(([k, v]) => [k, v === null ? null : b64(v).toString('utf8')]));
  const where = `DLQ ${r.partition}@${r.offset}`;
  const p = h.get('__connect.errors.partition'), o = h.get('__connect.errors.offset');
  if (h.get('__connect.errors.topic') !== topic) fail(`${where}: __connect.errors.topic ${h.get('__connect.errors.topic')}`);
  const k = `${p}:${o}`;
  const e = expect.get(k);
  if (!e) { fail(`${where}: source ${k} was never produced`); continue; }
  if (seen.has(k)) fail(`${where}: source ${k} is in the DLQ twice`);
  seen.add(k);
  if (e.valid) fail(`${where}: source ${k} is a valid record`);
  const want = e.value_base64 !== undefined ? Buffer.from(e.value_base64, 'base64') : Buffer.from(e.value, 'utf8');
  const got = b64(r.value) ?? Buffer.alloc(0);
  if (!got.equals(want)) fail(`${where}: value differs from source ${k}: ${got.toString('utf8').slice(0, 80)}`);
  const key = b64(r.key);
  if ((key ? key.toString('utf8') : null) !== e.key) fail(`${where}: key ${key} != ${e.key}`);
  if (h.get('__connect.errors.connector.name') !== connector) fail(`${where}: connector.name ${h.get('__connect.errors.connector.name')}`);
  if (!/^\d+$/.test(h.get('__connect.errors.task.id') ?? '')) fail(`${where}: task.id ${h.get('__connect.errors.task.id')}`);
  if (h.get('__connect.errors.stage') !== 'VALUE_CONVERTER') fail(`${where}: stage ${h.get('__connect.errors.stage')}`);
  if (h.get('__connect.errors.exception.class.name') !== 'org.apache.kafka.connect.errors.DataException') fail(`${where}: exception.class.name`);
  const msg = h.get('__connect.errors.exception.message') ?? '';
  if (!msg.includes(': ')) fail(`${where}: exception.message ${JSON.stringify(msg)} has no "<pointer>: <reason>"`);
}
let missing = 0;
for (const [k, e] of expect) {
  if (!e.valid && !seen.has(k)) {
    missing++;
    fail(`invalid record ${k} (${e.kind}) is not in the DLQ`);
  }
}
console.log(`verify_dlq: ${n} DLQ records, ${seen.size} distinct sources, ${missing} missing, ${failures.length} failures`);
process.exit(failures.length ? 1 : 0);
