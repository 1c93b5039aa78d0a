// Records as Confluent's own JavaScript serializers write them
// (@confluentinc/schemaregistry: AvroSerializer, JsonSerializer), with
// their schemas registered in the registry at REGISTRY_URL. Writes to
// OUT_DIR, one record a line:
//   avro.b64        orders (Avro): N with schema v1, then N with v2
//                   (v2 adds "note" with a default), base64 of the value
//   avro_hdr.b64    N more with v2 in the header form: "<value> <header>",
//                   the __value_schema_id header (magic 1 + GUID) base64
//   avro.jsonl      all those records as JSON (what each column must hold)
//   json.b64/.jsonl events (JSON Schema serializer)
//   ids.json        {"avro_v1": id, "avro_v2": id, "json": id}
// Usage: node sr_serialize.mjs REGISTRY_URL OUT_DIR [N]
import {
  SchemaRegistryClient, AvroSerializer, JsonSerializer, SerdeType,
  HeaderSchemaIdSerializer,
} from '@confluentinc/schemaregistry';
import { writeFileSync } from 'node:fs';

const [url, out, nArg] = process.argv.slice(2);
const N = Number(nArg || 50);
const client = new SchemaRegistryClient({ baseURLs: [url] });

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
const id1 = await client.register(subject, { schemaType: 'AVRO', schema: JSON.stringify(v1) });
const ser1 = new AvroSerializer(client, SerdeType.VALUE, { useSchemaId: id1 });
const b64 = [], jl = [];
for (let i = 0; i < N; i++) {
  const r = order(i, false);
  b64.push((await ser1.serialize('orders', r.avro)).toString('base64'));
  jl.push(JSON.stringify({ ...r.json, note: null }));
}
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
writeFileSync(`${out}/avro.b64`, b64.join('\n') + '\n');
writeFileSync(`${out}/avro.jsonl`, jl.join('\n') + '\n');

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
writeFileSync(`${out}/ids.json`, JSON.stringify({ avro_v1: id1, avro_v2: id2, json: jid }));
