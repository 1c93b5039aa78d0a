#!/usr/bin/env bash
# Debezium change events in Avro (the shape of Debezium's AvroConverter),
# serialized by Confluent's own AvroSerializer (test/tools/dbz_avro.mjs)
# against the registry fixture, keyed by the row's key through the JSON
# Schema serializer (prefix and __key_schema_id header forms; key.format:
# json_schema), produced with python3-confluent-kafka with a tombstone
# after each delete, unwrapped by debezium_unwrap while the Avro decoder
# reads them (value_format: avro):
#   dbz:     deletes rewritten (`before` + __deleted "true"), add_fields
#            op and source.ts_ms, then insert_field of the record's
#            partition and offset (checked against _kafka_*);
#   dbzdrop: deletes dropped.
# Both tables are read back with DuckDB row by row (every insert, update
# and kept delete exactly once with its key, types checked); the skipped
# counts are the tombstones (and the dropped deletes); nothing is rejected.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PY=/usr/bin/python3
$PY -c 'import confluent_kafka' 2>/dev/null || {
  echo "SKIP: python3-confluent-kafka is not installed (scripts/deps.sh)"
  exit 77
}
N=60
start_broker dbz:2 dbzdrop:2

python3 "$KS_SOURCE_DIR/test/fixtures/schema_registry/registry.py" \
  --port-file "$WORK/sr.port" >"$WORK/sr.out" 2>"$WORK/sr.err" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/sr.port" ] && break; sleep 0.1; done
[ -s "$WORK/sr.port" ] || fail "registry did not start: $(cat "$WORK/sr.err")"
SR=http://127.0.0.1:$(cat "$WORK/sr.port")

node "$KS_SOURCE_DIR/test/tools/dbz_avro.mjs" "$SR" "$WORK" "$N" ||
  fail "serializer failed"
log "serialized: $(cat "$WORK/dbz_counts.json")"
deletes=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["deletes"])' "$WORK/dbz_counts.json")

# keyed as Debezium keys them (the row's key, {"id": n}, written by the
# JSON Schema serializer, half in the __key_schema_id header form), with a
# tombstone after each delete (tombstones.on.delete)
for t in dbz dbzdrop; do
  $PY - "$BOOTSTRAP" "$t" "$WORK/dbz.b64" <<'PY' || fail "produce to $t"
import base64, sys
from confluent_kafka import Producer
bootstrap, topic, path = sys.argv[1:4]
p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
for line in open(path):
    f = line.split()
    value = None if f[0] == "-" else base64.b64decode(f[0])
    headers = [("__key_schema_id", base64.b64decode(f[2]))] if len(f) > 2 else None
    p.produce(topic, value=value, key=base64.b64decode(f[1]), headers=headers)
    p.poll(0)
sys.exit(1 if p.flush(30) else 0)
PY
done

cat >"$WORK/row.json" <<'JSON'
{"type": "object", "additionalProperties": false,
 "required": ["id", "qty", "updated_at", "__op", "__source_ts_ms"],
 "properties": {
   "id": {"type": "integer"},
   "name": {"type": ["string", "null"]},
   "qty": {"type": "integer"},
   "updated_at": {"type": "string", "format": "date-time"},
   "__op": {"type": "string", "enum": ["c", "r", "u", "d"]},
   "__source_ts_ms": {"type": "integer"},
   "__deleted": {"type": "string"}}}
JSON
# dbz's rows also carry the coordinates insert_field adds
$PY - "$WORK/row.json" "$WORK/row_meta.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["properties"]["src_partition"] = s["properties"]["src_offset"] = {"type": "integer"}
s["required"] += ["src_partition", "src_offset"]
json.dump(s, open(sys.argv[2], "w"))
PY
cat >"$WORK/ksink.yaml" <<YAML
app_id: dbz-avro
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: dbz-avro
  session.timeout.ms: 6000
reactor: { workers: 2 }
storage: { url: "file://$WORK/lake" }
schema_registry:
  url: "$SR"
tables:
  - name: dbz
    topics: [dbz]
    value_format: avro
    schema: $WORK/row_meta.json
    flush: { records: 100, interval: 1s }
    key: { format: json_schema }
    null_values: ignore
    transforms:
      - debezium_unwrap: { deletes: rewrite, add_fields: [op, source.ts_ms] }
      - insert_field: { partition: src_partition, offset: src_offset }
  - name: dbzdrop
    topics: [dbzdrop]
    value_format: avro
    schema: $WORK/row.json
    flush: { records: 100, interval: 1s }
    key: { format: json_schema }
    null_values: ignore
    transforms:
      - debezium_unwrap: { deletes: drop, add_fields: [op, source.ts_ms] }
http: { listen: "127.0.0.1:0" }
YAML

run_ksink
PORT=$(http_port "$WORK/ksink.err")
wait_rows "$WORK/lake/dbz" "$(wc -l <"$WORK/dbz_rewrite.jsonl")"
wait_rows "$WORK/lake/dbzdrop" "$(wc -l <"$WORK/dbz_drop.jsonl")"
metric() { awk -v m="$1" -v l="$2" 'index($0, m "{") == 1 && index($0, l) {n += $NF} END {print n + 0}' "$WORK/metrics"; }
# the trailing tombstones and deletes are counted once consumed
scrape_until "$PORT" "$WORK/metrics" 60 eval \
  '[ "$(metric ksink_records_skipped_total "table=\"dbz\"")" -ge "$deletes" ] &&
   [ "$(metric ksink_records_skipped_total "table=\"dbzdrop\"")" -ge $((2 * deletes)) ]'
[ -s "$WORK/metrics" ] || fail "no /metrics"
kill -TERM "$KSINK_PID"
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 0 ] || fail "ksink exited $rc: $(tail -5 "$WORK/ksink.err")"

got=$(metric ksink_records_rejected_total 'table="dbz')
[ "$got" = 0 ] || fail "$got rejects: $(grep '^ksink_records_rejected_total{' "$WORK/metrics" | grep -v ' 0$')"
got=$(metric ksink_records_skipped_total 'table="dbz"')
[ "$got" = "$deletes" ] || fail "dbz: skipped $got, expected the $deletes tombstones"
got=$(metric ksink_records_skipped_total 'table="dbzdrop"')
[ "$got" = $((2 * deletes)) ] || fail "dbzdrop: skipped $got, expected $deletes tombstones + $deletes deletes"

# insert_field saw each Avro record's own coordinates: src_* equal
# _kafka_* in every row (then copied into the expected rows, so that
# verify_rows compares every other column and the types)
node "$KS_SOURCE_DIR/test/tools/delta_dump.mjs" "$WORK/lake/dbz" >"$WORK/dump_dbz.jsonl"
$PY - "$WORK/dump_dbz.jsonl" "$WORK/dbz_rewrite.jsonl" "$WORK/dbz_expect.jsonl" <<'PY' ||
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
bad = [r for r in rows if r["src_partition"] != r["_kafka_partition"]
       or r["src_offset"] != r["_kafka_offset"]]
print(f"dbz: {len(rows)} rows, {len(bad)} with other coordinates {bad[:2]}")
at = {r["__source_ts_ms"]: r for r in rows}
with open(sys.argv[3], "w") as out:
    for l in open(sys.argv[2]):
        e = json.loads(l)
        r = at.get(e["__source_ts_ms"], {})
        e["src_partition"], e["src_offset"] = r.get("src_partition"), r.get("src_offset")
        out.write(json.dumps(e) + "\n")
sys.exit(1 if bad or not rows else 0)
PY
  fail "table dbz: insert_field coordinates differ"
types=(id=BIGINT name=VARCHAR qty=BIGINT 'updated_at=TIMESTAMP WITH TIME ZONE'
  __op=VARCHAR __source_ts_ms=BIGINT)
node "$KS_SOURCE_DIR/test/tools/verify_rows.mjs" "$WORK/lake/dbz" \
  "$WORK/dbz_expect.jsonl" __source_ts_ms "${types[@]}" __deleted=VARCHAR \
  src_partition=BIGINT src_offset=BIGINT || fail "table dbz differs"
node "$KS_SOURCE_DIR/test/tools/verify_rows.mjs" "$WORK/lake/dbzdrop" \
  "$WORK/dbz_drop.jsonl" __source_ts_ms "${types[@]}" ||
  fail "table dbzdrop differs"
log "debezium_avro: passed"
