// Records as Confluent's own JavaScript serializers write them
// (@confluentinc/schemaregistry: AvroSerializer, JsonSerializer), with
// their schemas registered in the registry at REGISTRY_URL. Writes to
// OUT_DIR, one record a line. PHASE v1 registers orders' schema v1 and
// events' schema; v2 registers orders' v2 (v2 adds "note" with a
// default); all (the default) does both:
//   v1: avro_v1.b64     orders (Avro): N with schema v1, base64 of the value
//       avro_v1.jsonl   those records as JSON (what each column must hold;
//                       note null)
//       json.b64/.jsonl events (JSON Schema serializer)
//       refd.b64        5 records of a JSON Schema with a reference
//                       (subject customer), then one the referenced
//                       schema refuses (customer.name a number)
//       ids_v1.json     {"avro_v1": id, "json": id, "refd": id}
//   v2: avro_v2.b64     orders: N with v2
//       avro_hdr.b64    N more with v2 in the header form: "<value> <header>",
//                       the __value_schema_id header (magic 1 + GUID) base64
//       avro_v2.jsonl   the 2N records of v2 as JSON
//       ids_v2.json     {"avro_v2": id}
//   v3 (only when asked): avro_v3.b64  3 orders with v3, which makes
//       qty a string (a change no table may take)
// Usage: node sr_serialize.mjs REGISTRY_URL OUT_DIR [N [PHASE]]
import {
  SchemaRegistryClient, AvroSerializer, JsonSerializer, SerdeType,
  HeaderSchemaIdSerializer,
} from '@confluentinc/schemaregistry';
import { writeFileSync } from 'node:fs';

const [url, out, nArg, phaseArg] = process.argv.slice(2);
const phase = phaseArg || 'all';
const N = Number(nArg || 50);
// SR_USER_INFO (user:password): the registry demands basic auth
const client = new SchemaRegistryClient({
  baseURLs: [url],
  ...(process.env.SR_USER_INFO ? { basicAuthCredentials:
    { credentialsSource: 'USER_INFO', userInfo: process.env.SR_USER_INFO } } : {}),
});

const fields = [
  { name: 'id', type: 'long' },
  { name: 'qty', type: 'int' },
  { name: 'price', type: { type: 'bytes', logicalType: 'decimal', precision: 9, scale: 2 } },
  { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } },
  { name: 'ts_us', type: { type: 'long', logicalType: 'timestamp-micros' } },
  { name: 'day', type: { type: 'int', logicalType: 'date' } },
  { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['NEW', 'PAID', 'SHIPPED'] } },
  { name: 'tags', type: { type: 'array', items: 'string' } },
  { name: 'attrs', type: { type: 'map', values: 'long' } },
  { name: 'addr', type: { type: 'record', name: 'Addr', fields: [
    { name: 'city', type: 'string' },
    { name: 'zip', type: ['null', 'int'], default: null }] } },
  { name: 'alt', type: ['null', 'long', 'string'], default: null },
  { name: 'ok', type: 'boolean' },
  { name: 'score', type: 'double' },
];
const v1 = { type: 'record', name: 'Order', namespace: 'shop', fields };
const v2 = { ...v1, fields: [...fields,
  { name: 'note', type: ['null', 'string'], default: null }] };

// DECIMAL(9,2) unscaled as Avro's big-endian two's complement
function decBytes(unscaled) {
  let hex = BigInt.asUintN(64, BigInt(unscaled)).toString(16).padStart(16, '0');
  let b = Buffer.from(hex, 'hex');
  while (b.length > 1 && ((b[0] === 0 && !(b[1] & 0x80)) || (b[0] === 0xff && (b[1] & 0x80))))
    b = b.subarray(1);
  return b;
}
function iso(ms, us) {
  const base = new Date(ms).toISOString().slice(0, 19);
  return `${base}.${String(us).padStart(6, '0')}Z`;
}

function order(i, withNote) {
  const unscaled = (i % 7 === 0 ? -1 : 1) * (i * 12345 + 7);
  const ms = 1700000000000 + i * 86400123;
  const us = BigInt(ms) * 1000n + BigInt(i % 1000);
  const day = 19000 + i;
  const avro = {
    id: i, qty: i % 2 ? -i : i * 1000, price: decBytes(unscaled), ts: ms,
    ts_us: Number(us), day, status: ['NEW', 'PAID', 'SHIPPED'][i % 3],
    tags: Array.from({ length: i % 4 }, (_, k) => `t${k}`),
    attrs: Object.fromEntries(Array.from({ length: i % 3 }, (_, k) => [`k${k}`, i * k])),
    addr: { city: `city ${i} ✓`, zip: i % 5 ? 10000 + i : null },
    alt: i % 3 === 0 ? null : i % 3 === 1 ? i * 7 : `s${i}`,
    ok: i % 2 === 0, score: i / 8,
  };
  const neg = unscaled < 0, abs = Math.abs(unscaled);
  const json = {
    id: i, qty: avro.qty,
    price: `${neg ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`,
    ts: iso(ms, (ms % 1000) * 1000), ts_us: iso(ms, Number(us % 1000000n)),
    day: new Date(day * 86400000).toISOString().slice(0, 10),
    status: avro.status, tags: avro.tags, attrs: avro.attrs, addr: avro.addr,
    alt: i % 3 === 0 ? null : i % 3 === 1 ? { long: i * 7, string: null } : { long: null, string: `s${i}` }, ok: avro.ok, score: avro.score,
  };
  if (withNote) {
    avro.note = i % 2 ? `note ${i}` : null;
    json.note = avro.note;
  }
  return { avro, json };
}

const subject = 'orders-value';

async function phaseV1() {
  const id1 = await client.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(v1) });
  const ser1 = new AvroSerializer(client, SerdeType.VALUE, { useSchemaId: id1 });
  const b64 = [], jl = [];
  for (let i = 0; i < N; i++) {
    const r = order(i, false);
    b64.push((await ser1.serialize('orders', r.avro)).toString('base64'));
    jl.push(JSON.stringify({ ...r.json, note: null }));
  }
  writeFileSync(`${out}/avro_v1.b64`, b64.join('\n') + '\n');
  writeFileSync(`${out}/avro_v1.jsonl`, jl.join('\n') + '\n');

  const eventSchema = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Event', type: 'object',
    properties: {
      id: { type: 'integer' },
      name: { type: 'string', maxLength: 20 },
      at: { type: 'string', format: 'date-time' },
      tags: { type: 'array', items: { type: 'string' } },
      meta: { type: 'object', properties: { n: { type: ['number', 'null'] } } },
    },
    required: ['id', 'name', 'at'],
  };
  const jid = await client.register('events-value',
    { schemaType: 'JSON', schema: JSON.stringify(eventSchema) });
  const jser = new JsonSerializer(client, SerdeType.VALUE,
    { useSchemaId: jid });
  const jb64 = [], jjl = [];
  for (let i = 0; i < N; i++) {
    const v = { id: i, name: `ev${i}`, at: iso(1700000000000 + i * 1000, 0),
                tags: i % 2 ? ['a', 'b'] : [], meta: { n: i % 3 ? i / 2 : null } };
    jb64.push((await jser.serialize('events', v)).toString('base64'));
    jjl.push(JSON.stringify(v));
  }
  writeFileSync(`${out}/json.b64`, jb64.join('\n') + '\n');
  writeFileSync(`${out}/json.jsonl`, jjl.join('\n') + '\n');
  // a JSON Schema with a reference (subject "customer", named by the URI
  // the referrer's $ref uses)
  const customer = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'http://example.com/customer.schema.json',
    type: 'object',
    properties: { name: { type: 'string' }, vip: { type: 'boolean' } },
    required: ['name'],
  };
  await client.register('customer', { schemaType: 'JSON', schema: JSON.stringify(customer) });
  const referrer = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'http://example.com/order.schema.json',
    type: 'object',
    properties: { id: { type: 'integer' }, customer: { $ref: 'customer.schema.json' } },
    required: ['id', 'customer'],
  };
  const rid = await client.register('refd-value', {
    schemaType: 'JSON', schema: JSON.stringify(referrer),
    references: [{ name: 'customer.schema.json', subject: 'customer', version: 1 }],
  });
  const rser = new JsonSerializer(client, SerdeType.VALUE, { useSchemaId: rid });
  const rb64 = [];
  for (let i = 0; i < 5; i++) {
    const v = { id: i, customer: { name: `c${i}`, vip: i % 2 === 0 } };
    rb64.push((await rser.serialize('refd', v)).toString('base64'));
  }
  // by hand: the wire format around a value the referenced schema refuses
  const bad = Buffer.concat([Buffer.from([0, rid >>> 24, (rid >>> 16) & 255, (rid >>> 8) & 255, rid & 255]),
    Buffer.from(JSON.stringify({ id: 9, customer: { name: 7 } }))]);
  rb64.push(bad.toString('base64'));
  writeFileSync(`${out}/refd.b64`, rb64.join('\n') + '\n');
  writeFileSync(`${out}/ids_v1.json`, JSON.stringify({ avro_v1: id1, json: jid, refd: rid }));
}

async function phaseV2() {
  const b64 = [], jl = [];
  const id2 = await client.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(v2) });
  const ser2 = new AvroSerializer(client, SerdeType.VALUE, { useSchemaId: id2 });
  for (let i = N; i < 2 * N; i++) {
    const r = order(i, true);
    b64.push((await ser2.serialize('orders', r.avro)).toString('base64'));
    jl.push(JSON.stringify(r.json));
  }
  const ser3 = new AvroSerializer(client, SerdeType.VALUE,
    { useSchemaId: id2, schemaIdSerializer: HeaderSchemaIdSerializer });
  const hdr = [];
  for (let i = 2 * N; i < 3 * N; i++) {
    const r = order(i, true);
    const headers = {};
    const value = await ser3.serialize('orders', r.avro, headers);
    const h = headers.__value_schema_id;
    if (!h || h[0] !== 1 || h.length !== 17) throw new Error('no header form');
    hdr.push(`${value.toString('base64')} ${Buffer.from(h).toString('base64')}`);
    jl.push(JSON.stringify(r.json));
  }
  writeFileSync(`${out}/avro_hdr.b64`, hdr.join('\n') + '\n');
  writeFileSync(`${out}/avro_v2.b64`, b64.join('\n') + '\n');
  writeFileSync(`${out}/avro_v2.jsonl`, jl.join('\n') + '\n');
  writeFileSync(`${out}/ids_v2.json`, JSON.stringify({ avro_v2: id2 }));
}

async function phaseV3() {
  const v3 = { ...v2, fields: v2.fields.map(
    (f) => (f.name === 'qty' ? { name: 'qty', type: 'string' } : f)) };
  const id3 = await client.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(v3) });
  const ser = new AvroSerializer(client, SerdeType.VALUE, { useSchemaId: id3 });
  const b64 = [];
  for (let i = 3 * N; i < 3 * N + 3; i++) {
    const r = order(i, true);
    b64.push((await ser.serialize('orders', { ...r.avro, qty: `q${i}` })).toString('base64'));
  }
  writeFileSync(`${out}/avro_v3.b64`, b64.join('\n') + '\n');
}

if (phase === 'v3') await phaseV3();
else {
  if (phase !== 'v2') await phaseV1();
  if (phase !== 'v1') await phaseV2();
}
