#!/usr/bin/python3
"""Records as Kafka really carries them, for test/integration/record_shapes.sh.

Produced with python3-confluent-kafka (librdkafka's Python client), not with
ksink's code: keys, headers (repeated names, null values, values that are not
UTF-8), tombstones, and Debezium change events in both JSON shapes
(schemas.enable false and true). Each delivered record's partition and offset
come from the client's delivery report, and the row ksink must write for it
is derived here, independently of ksink, into WORK/expect_<table>.jsonl.

  record_shapes.py produce BOOTSTRAP WORK start|late
  record_shapes.py tombfail BOOTSTRAP
  record_shapes.py check WORK TABLE DUMP.jsonl   (exit 1 on any difference)
"""
import base64
import json
import os
import sys
from datetime import datetime, timezone

from confluent_kafka import Producer

N_ORDERS = 400
N_CDC = 60


def producer(bootstrap):
    return Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                     "linger.ms": 5})


class Sink:
    """Produces records; calls want(partition, offset) -> expected row or
    None once each is delivered."""

    def __init__(self, bootstrap, work):
        self.p = producer(bootstrap)
        self.work = work
        self.rows = {}
        self.failed = []
        self.counts = {}

    def send(self, topic, key, value, headers, table, want, kind):
        def report(err, msg):
            if err is not None:
                self.failed.append(str(err))
                return
            self.counts[(table, kind)] = self.counts.get((table, kind), 0) + 1
            row = want(msg.partition(), msg.offset()) if want else None
            if row is not None:
                row["_kafka_topic"] = topic
                row["_kafka_partition"] = msg.partition()
                row["_kafka_offset"] = msg.offset()
                self.rows.setdefault(table, []).append(row)

        self.p.produce(topic, value=value, key=key, headers=headers,
                       on_delivery=report)
        self.p.poll(0)

    def finish(self):
        left = self.p.flush(30)
        if left or self.failed:
            sys.exit(f"record_shapes: {left} undelivered, errors {self.failed[:3]}")
        for table, rows in self.rows.items():
            with open(os.path.join(self.work, f"expect_{table}.jsonl"), "a") as f:
                for r in rows:
                    f.write(json.dumps(r, sort_keys=True) + "\n")
        with open(os.path.join(self.work, "counts.jsonl"), "a") as f:
            for (table, kind), n in sorted(self.counts.items()):
                f.write(json.dumps({"table": table, "kind": kind, "n": n}) + "\n")


def us(dt):
    return int(dt.replace(tzinfo=timezone.utc).timestamp()) * 1000000


def orders(s):
    """Table orders: key string, headers, null_values ignore, a filter on
    header test-event, exclude + rename, a timestamp conversion, an
    insert_field."""
    for i in range(N_ORDERS):
        key = None if i % 50 == 0 else f"k{i}".encode()
        headers = [("trace", f"t{i}".encode())]
        if i % 7 == 0:
            headers.append(("bin", bytes([0xFF, 0xFE, i % 256])))
        if i % 11 == 0:
            headers += [("dup", b"first"), ("dup", b"last")]
        if i % 13 == 0:
            headers.append(("nullh", None))
        if i % 10 == 3:
            headers.append(("test-event", b"1"))
        created = datetime(2024, 1 + i % 12, 1 + i % 28, i % 24, i % 60, i % 60)
        doc = {"id": i, "uid": f"u{i}", "password": "hunter2",
               "created_at": created.strftime("%Y-%m-%d %H:%M:%S")}
        if i % 3 == 0:
            doc["nested"] = {"a": i, "tags": ["x", f"t{i}"]}
        tomb = i % 25 == 4
        value = None if tomb else json.dumps(doc).encode()
        if i % 10 == 3:
            kind = "filtered"
        elif tomb:
            kind = "tombstone"
        else:
            kind = "row"

        def want(part, off, i=i, key=key, headers=headers, doc=doc,
                 created=created, kind=kind):
            if kind != "row":
                return None
            hmap, b64 = {}, []
            for name, v in headers:
                if v is None:
                    hmap[name] = None
                    continue
                try:
                    hmap[name] = v.decode("utf-8")
                except UnicodeDecodeError:
                    hmap[name] = base64.b64encode(v).decode()
                    b64.append(name)
            return {"id": i, "user_id": f"u{i}", "created_at": us(created),
                    "nested": doc.get("nested"), "source": "web",
                    "src_topic": "orders", "src_partition": part,
                    "src_offset": off,
                    "_kafka_key": key.decode() if key is not None else None,
                    "_kafka_headers": hmap,
                    "_kafka_headers_base64": b64 or None}

        s.send("orders", key, value, headers, "orders", want, kind)


def envelope(op, before, after, ts, schemas):
    payload = {"before": before, "after": after,
               "source": {"version": "2.5.0.Final", "connector": "postgresql",
                          "name": "db", "ts_ms": ts, "db": "shop",
                          "table": "customers", "lsn": 123},
               "op": op, "ts_ms": ts + 7, "transaction": None}
    if not schemas:
        return payload
    row = {"type": "struct", "optional": True, "fields": [
        {"type": "int32", "optional": False, "field": "id"},
        {"type": "string", "optional": True, "field": "name"}]}
    schema = {"type": "struct", "name": "db.shop.customers.Envelope",
              "fields": [dict(row, field="before"), dict(row, field="after"),
                         {"type": "struct", "field": "source", "fields": []},
                         {"type": "string", "field": "op"},
                         {"type": "int64", "optional": True, "field": "ts_ms"}]}
    return {"schema": schema, "payload": payload}


def cdc(s, topic, table, schemas, rewrite, base):
    """Debezium change events: an insert per id, an update of even ids, a
    delete (and its tombstone) of ids divisible by 3."""
    for n in range(N_CDC):
        i = base + n
        key = json.dumps({"id": i}, separators=(",", ":")).encode()
        events = [("c", None, {"id": i, "name": f"n{i}"})]
        if i % 2 == 0:
            events.append(("u", {"id": i, "name": f"n{i}"},
                           {"id": i, "name": f"m{i}"}))
        if i % 3 == 0:
            last = events[-1][2]
            events.append(("d", last, None))
        for k, (op, before, after) in enumerate(events):
            ts = 1700000000000 + i * 10 + k
            value = json.dumps(envelope(op, before, after, ts, schemas)).encode()

            def want(part, off, op=op, before=before, after=after, ts=ts,
                     key=key):
                if op == "d" and not rewrite:
                    return None
                row = dict(after if op != "d" else before)
                row["__op"] = op
                if rewrite:
                    row["__source_ts_ms"] = ts
                    row["__deleted"] = "true" if op == "d" else "false"
                row["_kafka_key"] = key.decode()
                return row

            s.send(topic, key, value, [("dbz", b"1")], table, want,
                   "delete" if op == "d" else "row")
            if op == "d":
                s.send(topic, key, None, None, table, None, "tombstone")


def main():
    cmd = sys.argv[1]
    if cmd == "produce":
        bootstrap, work, phase = sys.argv[2:5]
        s = Sink(bootstrap, work)
        if phase == "start":
            orders(s)
            cdc(s, "cdc.a", "cdc", False, True, 0)
            cdc(s, "cdcdrop", "cdcdrop", True, False, 1000)
        else:
            cdc(s, "cdc.b", "cdc", True, True, 500)
        s.finish()
    elif cmd == "tombfail":
        p = producer(sys.argv[2])
        for v in [b'{"id":1}', None, b'{"id":2}']:
            p.produce("tombfail", value=v, key=b"k", partition=0)
        if p.flush(30):
            sys.exit("tombfail: undelivered")
    elif cmd == "check":
        work, table, dump = sys.argv[2:5]
        with open(os.path.join(work, f"expect_{table}.jsonl")) as f:
            want = [json.loads(l) for l in f if l.strip()]
        with open(dump) as f:
            got = [json.loads(l) for l in f if l.strip()]
        where = lambda r: (r.get("_kafka_topic"), r.get("_kafka_partition"),
                           r.get("_kafka_offset"))
        byw = {}
        bad = []
        for r in got:
            k = where(r)
            if k in byw:
                bad.append(f"duplicate row {k}")
            byw[k] = r
        for w in want:
            k = where(w)
            r = byw.pop(k, None)
            if r is None:
                bad.append(f"missing row {k}: {w}")
                continue
            for col, v in w.items():
                if r.get(col) != v:
                    bad.append(f"{k} {col}: got {r.get(col)!r}, want {v!r}")
        for k, r in byw.items():
            bad.append(f"unexpected row {k}: {r}")
        for b in bad[:20]:
            print(b, file=sys.stderr)
        if bad:
            sys.exit(f"{table}: {len(bad)} differences ({len(got)} rows read, "
                     f"{len(want)} expected)")
        print(f"{table}: {len(want)} rows, every value as expected")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
