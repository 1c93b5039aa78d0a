// Debezium change events in Avro, as Debezium's AvroConverter writes them
// (an Envelope record: before/after as ["null", Value], a Source record,
// op, ts_ms, transaction), serialized by Confluent's own JavaScript
// AvroSerializer (@confluentinc/schemaregistry) against the registry at
// REGISTRY_URL. Writes to OUT_DIR:
//   dbz.b64            one record a line, in produce order: an insert
//                      per id, an update of even ids, a delete of ids
//                      divisible by 3: "<value> <key>" or, for odd ids,
//                      "<value> <key> <__key_schema_id header>" (base64);
//                      the key {"id": n} by the JsonSerializer (JSON
//                      Schema), in the header form for odd ids; after each
//                      delete its tombstone, the value written "-"
//   dbz_rewrite.jsonl  the rows debezium_unwrap { deletes: rewrite,
//                      add_fields: [op, source.ts_ms] } must give
//   dbz_drop.jsonl     the rows with deletes: drop
//   dbz_counts.json    {"events": n, "deletes": n}
// source.ts_ms is unique per event: the rows' key.
// Usage: node dbz_avro.mjs REGISTRY_URL OUT_DIR [N]
import {
  SchemaRegistryClient, AvroSerializer, JsonSerializer, SerdeType,
  HeaderSchemaIdSerializer,
} from '@confluentinc/schemaregistry';
import { writeFileSync } from 'node:fs';

const [url, out, nArg] = process.argv.slice(2);
const N = Number(nArg || 60);
const client = new SchemaRegistryClient({ baseURLs: [url] });

const value = {
  type: 'record', name: 'Value', namespace: 'db.shop.customers',
  fields: [
    { name: 'id', type: 'int' },
    { name: 'name', type: ['null', 'string'], default: null },
    { name: 'qty', type: 'long' },
    { name: 'updated_at', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ],
};
const envelope = {
  type: 'record', name: 'Envelope', namespace: 'db.shop.customers',
  fields: [
    { name: 'before', type: ['null', value], default: null },
    { name: 'after', type: ['null', 'Value'], default: null },
    { name: 'source', type: { type: 'record', name: 'Source', namespace: 'io.debezium.connector.postgresql',
      fields: [
        { name: 'version', type: 'string' },
        { name: 'connector', type: 'string' },
        { name: 'name', type: 'string' },
        { name: 'ts_ms', type: 'long' },
        { name: 'snapshot', type: ['string', 'null'], default: 'false' },
        { name: 'db', type: 'string' },
        { name: 'table', type: 'string' },
        { name: 'lsn', type: ['null', 'long'], default: null },
      ] } },
    { name: 'op', type: 'string' },
    { name: 'ts_ms', type: ['null', 'long'], default: null },
    { name: 'transaction', type: ['null', { type: 'record', name: 'block',
      namespace: 'event', fields: [
        { name: 'id', type: 'string' },
        { name: 'total_order', type: 'long' },
        { name: 'data_collection_order', type: 'long' },
      ] }], default: null },
  ],
};

const id = await client.register('dbz-value',
  { schemaType: 'AVRO', schema: JSON.stringify(envelope) });
const ser = new AvroSerializer(client, SerdeType.VALUE, { useSchemaId: id });
const keySchema = {
  $schema: 'http://json-schema.org/draft-07/schema#', title: 'Key',
  type: 'object', properties: { id: { type: 'integer' } }, required: ['id'],
};
const kid = await client.register('dbz-key',
  { schemaType: 'JSON', schema: JSON.stringify(keySchema) });
const kser = new JsonSerializer(client, SerdeType.KEY, { useSchemaId: kid });
const kserHdr = new JsonSerializer(client, SerdeType.KEY,
  { useSchemaId: kid, schemaIdSerializer: HeaderSchemaIdSerializer });

const iso = (ms) => new Date(ms).toISOString().slice(0, 19) +
  '.' + String(ms % 1000).padStart(3, '0') + '000Z';
const values = [], rewrite = [], drop = [];
let events = 0, deletes = 0;
for (let i = 0; i < N; i++) {
  const row = (name, qty, k) => ({ id: i, name, qty, updated_at: 1700000000000 + i * 1000 + k });
  const evs = [['c', null, row(i % 5 ? `n${i}` : null, i, 0)]];
  if (i % 2 === 0) evs.push(['u', evs[0][2], row(`m${i}`, i * 10, 1)]);
  if (i % 3 === 0) evs.push(['d', evs[evs.length - 1][2], null]);
  for (const [k, [op, before, after]] of evs.entries()) {
    const ts = 1710000000000 + i * 10 + k;
    values.push({
      before, after,
      source: { version: '2.5.0.Final', connector: 'postgresql', name: 'db',
                ts_ms: ts, snapshot: 'false', db: 'shop', table: 'customers',
                lsn: i % 2 ? 1000 + i : null },
      op, ts_ms: ts + 5,
      transaction: i % 4 ? null : { id: `tx${i}`, total_order: k + 1, data_collection_order: k + 1 },
    });
    const r = op === 'd' ? before : after;
    const base = { id: r.id, name: r.name, qty: r.qty, updated_at: iso(r.updated_at),
                   __op: op, __source_ts_ms: ts, _kafka_key: JSON.stringify({ id: i }) };
    rewrite.push(JSON.stringify({ ...base, __deleted: op === 'd' ? 'true' : 'false' }));
    if (op !== 'd') drop.push(JSON.stringify({ ...base, __deleted: null }));
    events++;
    deletes += op === 'd';
  }
}
const lines = [];
for (const v of values) {
  const i = (v.after || v.before).id;
  const val = (await ser.serialize('dbz', v)).toString('base64');
  if (i % 2 === 0) {
    const key = await kser.serialize('dbz', { id: i });
    lines.push(`${val} ${key.toString('base64')}`);
    if (v.op === 'd') lines.push(`- ${key.toString('base64')}`);
  } else {
    const headers = {};
    const key = await kserHdr.serialize('dbz', { id: i }, headers);
    const h = headers.__key_schema_id;
    if (!h || h[0] !== 1 || h.length !== 17) throw new Error('no key header form');
    const kh = `${key.toString('base64')} ${Buffer.from(h).toString('base64')}`;
    lines.push(`${val} ${kh}`);
    if (v.op === 'd') lines.push(`- ${kh}`);
  }
}
writeFileSync(`${out}/dbz.b64`, lines.join('\n') + '\n');
writeFileSync(`${out}/dbz_rewrite.jsonl`, rewrite.join('\n') + '\n');
writeFileSync(`${out}/dbz_drop.jsonl`, drop.join('\n') + '\n');
writeFileSync(`${out}/dbz_counts.json`, JSON.stringify({ events, deletes, id }));
