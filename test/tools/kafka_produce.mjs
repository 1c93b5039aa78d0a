// Produces each line of FILE (base64 of the record value, as
// sr_serialize.mjs writes them; "<value> <header>" adds the
// __value_schema_id header) as one record to TOPIC with kafkajs (a
// Kafka client not written by this project), keyed by line number so
// records spread over the partitions. Usage:
//   node kafka_produce.mjs BOOTSTRAP TOPIC FILE [FIRST [COUNT]]
import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';

const [bootstrap, topic, file, firstArg, countArg] = process.argv.slice(2);
const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
const first = Number(firstArg || 0);
const count = countArg === undefined ? lines.length - first : Number(countArg);
const kafka = new Kafka({ clientId: 'ksink-test', brokers: [bootstrap], logLevel: logLevel.ERROR });
const producer = kafka.producer({ allowAutoTopicCreation: false });
await producer.connect();
const messages = lines.slice(first, first + count).map((l, i) => {
  const [v, h] = l.split(' ');
  const m = { key: `k${first + i}`, value: Buffer.from(v, 'base64') };
  if (h) m.headers = { __value_schema_id: Buffer.from(h, 'base64') };
  return m;
});
for (let i = 0; i < messages.length; i += 100)
  await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 100) });
await producer.disconnect();
console.log(`produced ${messages.length} to ${topic}`);
