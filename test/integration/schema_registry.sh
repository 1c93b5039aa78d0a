#!/usr/bin/env bash
# Schema Registry records end to end: values written by Confluent's own
# JavaScript serializers (@confluentinc/schemaregistry: AvroSerializer,
# JsonSerializer) against the registry fixture, produced with kafkajs into
# the mock broker, read by `ksink run` into two Delta tables:
#   orders (value_format avro): nested record, array, map, nullable
#     unions, a two-branch union, decimal, timestamp-millis/-micros, date,
#     enum; schema v1, then v2 which adds "note" with a default, also in
#     the header form (__value_schema_id: magic 1 + GUID). The table
#     takes v2 (the subject's newest) at start-up; v1 records resolve
#     against it by name and read null in "note";
#   events (value_format json_schema), plus records that cannot be tied
#     to a schema: not in the wire format, an unknown schema id, a prefix
#     cut short.
# Midway the registry goes down for 30 s just before records of a schema
# id ksink has not seen arrive: their partitions pause, nothing is
# rejected or lost, /readyz says why, and they land once the registry
# answers again.
# schema_registry.url lists a dead URL first (tried in turn).
#
# Checked with DuckDB, row by row: every valid record exactly once with
# its values and the documented column types; the rejects by reason
# (/metrics): bad_wire_format 2, unknown_schema_id 1, nothing else.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=150
start_broker orders:3 events:2

python3 "$KS_SOURCE_DIR/test/fixtures/schema_registry/registry.py" \
  --port-file "$WORK/sr.port" >"$WORK/sr.out" 2>"$WORK/sr.err" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/sr.port" ] && break; sleep 0.1; done
[ -s "$WORK/sr.port" ] || fail "registry did not start: $(cat "$WORK/sr.err")"
SR=http://127.0.0.1:$(cat "$WORK/sr.port")
log "registry at $SR"

node "$KS_SOURCE_DIR/test/tools/sr_serialize.mjs" "$SR" "$WORK" "$N"
log "serialized: $(cat "$WORK/ids.json")"
# records no schema can be found for: JSON text (no magic byte), schema id
# 999, a 3-byte prefix
{
  printf '{"id":1}' | base64 -w0; echo
  printf '\0\0\0\003\347{"id":1}' | base64 -w0; echo
  printf '\0\0\0' | base64 -w0; echo
} >"$WORK/bad.b64"

cat >"$WORK/ksink.yaml" <<YAML
app_id: sr
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: sr
  session.timeout.ms: 6000
reactor: { workers: 2 }
storage: { url: "file://$WORK/lake" }
schema_registry:
  url: [ "http://127.0.0.1:1", "$SR" ]
tables:
  - name: orders
    topics: [orders]
    value_format: avro
    flush: { records: 100, interval: 1s }
  - name: events
    topics: [events]
    value_format: json_schema
    flush: { records: 100, interval: 1s }
    errors: { tolerance: all, log.enable: false }
http: { listen: "127.0.0.1:0" }
YAML

# ksink validate: the same records, one base64 value a line
"$KSINK" validate --value-format avro --schema-registry "http://127.0.0.1:1,$SR" \
  "$WORK/avro.b64" >"$WORK/validate.out" 2>"$WORK/validate.err" ||
  fail "validate avro: $(tail -3 "$WORK/validate.out" "$WORK/validate.err")"
[ "$(grep -c '^ok$' "$WORK/validate.out")" = $((2 * N)) ] || fail "validate avro: $(sort "$WORK/validate.out" | uniq -c)"
rc=0
"$KSINK" validate --value-format json_schema --schema-registry "$SR" - \
  <"$WORK/bad.b64" >"$WORK/validate.out" 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "validate of bad records: exit $rc"
sed -n 1p "$WORK/validate.out" | grep -q '^invalid  first byte is 123, not the magic byte 0' ||
  fail "validate: $(cat "$WORK/validate.out")"
sed -n 2p "$WORK/validate.out" | grep -q '^invalid  /schemas/ids/999: not in the registry' ||
  fail "validate: $(cat "$WORK/validate.out")"
sed -n 3p "$WORK/validate.out" | grep -q '^invalid  record of 3 bytes ends inside the 5-byte schema id prefix' ||
  fail "validate: $(cat "$WORK/validate.out")"

# ksink check asks the registry for each table's subject
"$KSINK" check -c "$WORK/ksink.yaml" >"$WORK/check.out" 2>&1 || fail "check: $(cat "$WORK/check.out")"
grep -qE '^ok +schema registry: table orders: subject orders-value \(17 columns' "$WORK/check.out" ||
  fail "check: $(cat "$WORK/check.out")"
grep -qE '^ok +schema registry: table events: subject events-value' "$WORK/check.out" ||
  fail "check: $(cat "$WORK/check.out")"

PRODUCE="node $KS_SOURCE_DIR/test/tools/kafka_produce.mjs $BOOTSTRAP"
# v2 orders (the schema the table starts from), events, bad records
$PRODUCE orders "$WORK/avro.b64" "$N" "$N"
$PRODUCE orders "$WORK/avro_hdr.b64"
$PRODUCE events "$WORK/json.b64"
$PRODUCE events "$WORK/bad.b64"

run_ksink
PORT=$(http_port "$WORK/ksink.err")
wait_rows "$WORK/lake/orders" $((2 * N))
wait_rows "$WORK/lake/events" "$N"
log "v2 orders and events landed"

# the registry goes down; v1 orders (an id ksink has not asked for) arrive
curl -sf -XPOST "$SR/__control/down?seconds=30" >/dev/null
DOWN_AT=$SECONDS
$PRODUCE orders "$WORK/avro.b64" 0 "$N"
sleep 8
rows=$(table_rows "$WORK/lake/orders")
[ "$rows" = $((2 * N)) ] || fail "orders has $rows rows while the registry is down, want $((2 * N))"
grep -q 'records wait' "$WORK/ksink.err" || fail "no 'records wait' in the log"
paused=$(curl -sf "http://127.0.0.1:$PORT/metrics" | awk '/^ksink_partitions_paused/ {n += $2} END {print n + 0}')
log "registry down: orders at $rows rows, $paused partitions paused"
[ "$paused" -ge 1 ] || fail "no partition paused while the registry is down"
ready=$(curl -s "http://127.0.0.1:$PORT/readyz")
case $ready in *"schema registry unreachable"*) ;; *) fail "/readyz while the registry is down: $ready" ;; esac
log "/readyz: $ready"
wait_rows "$WORK/lake/orders" $((3 * N))
log "v1 orders landed $((SECONDS - DOWN_AT)) s after the registry went down"
ready=$(curl -s "http://127.0.0.1:$PORT/readyz")
[ "$ready" = ready ] || fail "/readyz after the registry came back: $ready"
[ $((SECONDS - DOWN_AT)) -ge 29 ] || fail "v1 orders landed before the registry came back"

sleep 2
curl -sf "http://127.0.0.1:$PORT/metrics" >"$WORK/metrics.txt"
kill -TERM "$KSINK_PID"
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 0 ] || fail "ksink exited $rc: $(tail -5 "$WORK/ksink.err")"

rejected() {
  awk -v r="reason=\"$1\"" '/^ksink_records_rejected_total\{/ && index($0, r) {n += $2} END {print n + 0}' "$WORK/metrics.txt"
}
all=$(awk '/^ksink_records_rejected_total\{/ {n += $2} END {print n + 0}' "$WORK/metrics.txt")
[ "$(rejected bad_wire_format)" = 2 ] || fail "bad_wire_format rejects: $(rejected bad_wire_format), want 2"
[ "$(rejected unknown_schema_id)" = 1 ] || fail "unknown_schema_id rejects: $(rejected unknown_schema_id), want 1"
[ "$all" = 3 ] || fail "$all rejects in all, want 3: $(grep '^ksink_records_rejected_total{' "$WORK/metrics.txt" | grep -v ' 0$')"

node "$KS_SOURCE_DIR/test/tools/verify_rows.mjs" "$WORK/lake/orders" "$WORK/avro.jsonl" id \
  id=BIGINT qty=INTEGER 'price=DECIMAL(9,2)' 'ts=TIMESTAMP WITH TIME ZONE' \
  'ts_us=TIMESTAMP WITH TIME ZONE' day=DATE status=VARCHAR 'tags=VARCHAR[]' \
  'attrs=MAP(VARCHAR, BIGINT)' 'addr=STRUCT(city VARCHAR, zip INTEGER)' \
  'alt=STRUCT(long BIGINT, string VARCHAR)' ok=BOOLEAN score=DOUBLE note=VARCHAR
node "$KS_SOURCE_DIR/test/tools/verify_rows.mjs" "$WORK/lake/events" "$WORK/json.jsonl" id \
  id=BIGINT name=VARCHAR 'at=TIMESTAMP WITH TIME ZONE' 'tags=VARCHAR[]' \
  'meta=STRUCT(n DOUBLE)'
log "ok"
