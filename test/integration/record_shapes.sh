#!/usr/bin/env bash
# Kafka records as they really arrive, produced by librdkafka's Python
# client (python3-confluent-kafka, test/tools/record_shapes.py): keys and
# headers (repeated names, null values, bytes that are not UTF-8),
# tombstones, Debezium change events in both JSON shapes. Three tables:
#  - orders: key (string) and headers columns, null_values: ignore, a
#    filter on a header, replace_field (exclude + rename), a timestamp
#    conversion and insert_field;
#  - cdc: topics_regex "^cdc\..+" with Debezium events unwrapped (deletes
#    rewritten, add_fields op and source.ts_ms), key (json); a topic of the
#    regex created after start-up (schemas.enable true) is picked up;
#  - cdcdrop: deletes dropped, tombstones rejected (null_values: dlq).
# Each table is read back by DuckDB and compared value by value with the
# rows derived from what was produced: every valid record exactly once.
# Then null_values: fail stops a pipeline at a tombstone with a clear error.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PY=/usr/bin/python3
$PY -c 'import confluent_kafka' 2>/dev/null || {
  echo "SKIP: python3-confluent-kafka is not installed (scripts/deps.sh)"
  exit 77
}
TOOLS=$KS_SOURCE_DIR/test/tools
start_broker orders:4 cdc.a:2 cdcdrop:2 tombfail:1

cat >"$WORK/orders.json" <<'JSON'
{"type": "object", "additionalProperties": false,
 "required": ["id", "user_id", "created_at", "source", "src_topic",
              "src_partition", "src_offset"],
 "properties": {
   "id": {"type": "integer"},
   "user_id": {"type": "string"},
   "created_at": {"type": "string", "format": "date-time"},
   "nested": {"type": "object", "properties": {
     "a": {"type": "integer"},
     "tags": {"type": "array", "items": {"type": "string"}}}},
   "source": {"type": "string"},
   "src_topic": {"type": "string"},
   "src_partition": {"type": "integer"},
   "src_offset": {"type": "integer"}}}
JSON
cat >"$WORK/cdc.json" <<'JSON'
{"type": "object", "additionalProperties": false,
 "required": ["id", "__op"],
 "properties": {
   "id": {"type": "integer"},
   "name": {"type": ["string", "null"]},
   "__op": {"type": "string", "enum": ["c", "r", "u", "d"]},
   "__source_ts_ms": {"type": "integer"},
   "__deleted": {"type": "string"}}}
JSON

cat >"$WORK/ksink.yaml" <<YAML
app_id: shapes-it
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-shapes-it
  topic.metadata.refresh.interval.ms: 1000
  # the rebalance that adds the new topic waits session.timeout.ms - 1 s
  # on the mock broker
  session.timeout.ms: 6000
  heartbeat.interval.ms: 1000
reactor: { workers: 2 }
storage:
  url: file://$WORK/lake
tables:
  - name: orders
    topics: [orders]
    schema: $WORK/orders.json
    flush: { records: 100, interval: 1s }
    key: { format: string }
    headers: { column: _kafka_headers }
    null_values: ignore
    transforms:
      - filter: { predicate: { header: test-event } }
      - replace_field: { exclude: [password], rename: { uid: user_id } }
      - timestamp_converter: { field: created_at, format: "yyyy-MM-dd HH:mm:ss", target: timestamp }
      - insert_field: { static: { source: web }, topic: src_topic, partition: src_partition, offset: src_offset }
  - name: cdc
    topics_regex: "^cdc\\\\..+"
    schema: $WORK/cdc.json
    flush: { records: 100, interval: 1s }
    key: { format: json, column: _kafka_key }
    null_values: ignore
    transforms:
      - debezium_unwrap: { deletes: rewrite, add_fields: [op, source.ts_ms] }
  - name: cdcdrop
    topics: [cdcdrop]
    schema: $WORK/cdc.json
    flush: { records: 100, interval: 1s }
    key: { format: json }
    null_values: dlq
    transforms:
      - debezium_unwrap: { deletes: drop, add_fields: [op] }
http: { listen: "127.0.0.1:0" }
YAML

$PY "$TOOLS/record_shapes.py" produce "$BOOTSTRAP" "$WORK" start \
  >"$WORK/produce.out" 2>"$WORK/produce.err" || fail "producer: $(cat "$WORK/produce.err")"
rows() { wc -l <"$WORK/expect_$1.jsonl"; }
count() { awk -v t="$1" -v k="$2" -F'"n": ' 'index($0, "\"table\": \"" t "\"") && index($0, "\"kind\": \"" k "\"") {n += $2 + 0} END {print n + 0}' "$WORK/counts.jsonl"; }
log "produced: orders $(rows orders) rows, cdc $(rows cdc), cdcdrop $(rows cdcdrop)"

run_ksink
PORT=$(http_port "$WORK/ksink.err")
wait_rows "$WORK/lake/orders" "$(rows orders)"
wait_rows "$WORK/lake/cdc" "$(rows cdc)"
wait_rows "$WORK/lake/cdcdrop" "$(rows cdcdrop)"

# a topic of the regex created now (the mock creates it on first produce)
$PY "$TOOLS/record_shapes.py" produce "$BOOTSTRAP" "$WORK" late \
  >>"$WORK/produce.out" 2>>"$WORK/produce.err" || fail "producer: $(cat "$WORK/produce.err")"
log "cdc.b created after start-up: cdc now expects $(rows cdc) rows"
wait_rows "$WORK/lake/cdc" "$(rows cdc)"
metric() { awk -v m="$1" -v l="$2" 'index($0, m "{") == 1 && index($0, l) {n += $NF} END {print n + 0}' "$WORK/metrics"; }
# skips and rejects after the last rows are counted once consumed
counted() {
  [ "$(metric ksink_records_skipped_total 'table="orders"')" -ge $(($(count orders filtered) + $(count orders tombstone))) ] &&
    [ "$(metric ksink_records_skipped_total 'table="cdc"')" -ge "$(count cdc tombstone)" ] &&
    [ "$(metric ksink_records_skipped_total 'table="cdcdrop"')" -ge "$(count cdcdrop delete)" ] &&
    [ "$(metric ksink_records_rejected_total 'table="cdcdrop",reason="null_value"')" -ge "$(count cdcdrop tombstone)" ]
}
scrape_until "$PORT" "$WORK/metrics" 60 counted
[ -s "$WORK/metrics" ] || fail "no /metrics"
kill -TERM "$KSINK_PID"
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 0 ] || fail "ksink exited $rc: $(tail -5 "$WORK/ksink.err")"

for t in orders cdc cdcdrop; do
  node "$TOOLS/delta_dump.mjs" "$WORK/lake/$t" >"$WORK/dump_$t.jsonl" || fail "cannot read table $t"
  $PY "$TOOLS/record_shapes.py" check "$WORK" "$t" "$WORK/dump_$t.jsonl" || fail "table $t differs"
done

# skipped: tombstones ignored and records filtered (orders), tombstones
# (cdc), deletes dropped (cdcdrop); rejected: the tombstones of cdcdrop
want_skipped_orders=$(( $(count orders filtered) + $(count orders tombstone) ))
got=$(metric ksink_records_skipped_total 'table="orders"')
[ "$got" = "$want_skipped_orders" ] || fail "orders: skipped $got, expected $want_skipped_orders"
got=$(metric ksink_records_skipped_total 'table="cdc"')
[ "$got" = "$(count cdc tombstone)" ] || fail "cdc: skipped $got, expected $(count cdc tombstone)"
got=$(metric ksink_records_skipped_total 'table="cdcdrop"')
[ "$got" = "$(count cdcdrop delete)" ] || fail "cdcdrop: skipped $got, expected $(count cdcdrop delete) deletes"
got=$(metric ksink_records_rejected_total 'table="cdcdrop",reason="null_value"')
[ "$got" = "$(count cdcdrop tombstone)" ] || fail "cdcdrop: $got null_value rejects, expected $(count cdcdrop tombstone)"
got=$(metric ksink_records_rejected_total 'table="orders"')
[ "$got" = 0 ] || fail "orders: $got rejects"
log "skipped and rejected counts as produced"

# null_values: fail stops the pipeline at the tombstone
$PY "$TOOLS/record_shapes.py" tombfail "$BOOTSTRAP" || fail "tombfail producer"
echo '{"type": "object", "properties": {"id": {"type": "integer"}}}' >"$WORK/tomb.json"
cat >"$WORK/fail.yaml" <<YAML
app_id: shapes-fail
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-shapes-fail
storage:
  url: file://$WORK/lake
tables:
  - name: tombfail
    topics: [tombfail]
    schema: $WORK/tomb.json
    flush: { records: 1, interval: 1s }
    null_values: fail
YAML
rc=0
timeout 60 "$KSINK" run -c "$WORK/fail.yaml" >"$WORK/fail.out" 2>"$WORK/fail.err" || rc=$?
[ "$rc" = 1 ] || fail "null_values: fail: ksink exited $rc, expected 1: $(tail -3 "$WORK/fail.err")"
grep -q 'tombfail\[0\]@1 is a tombstone (null value) and null_values is fail' "$WORK/fail.err" ||
  fail "no clear error for the tombstone: $(tail -5 "$WORK/fail.err")"
log "record_shapes: passed"
