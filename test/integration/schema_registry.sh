#!/usr/bin/env bash
# Schema Registry records end to end: values written by Confluent's own
# JavaScript serializers (@confluentinc/schemaregistry: AvroSerializer,
# JsonSerializer) against the registry fixture, produced with kafkajs into
# the mock broker, read by `ksink run` into two Delta tables:
#   orders (value_format avro, schema_evolution: add_columns): nested
#     record, array, map, nullable unions, a two-branch union, decimal,
#     timestamp-millis/-micros, date, enum. Only schema v1 is registered
#     when ksink starts; its records land. Mid-stream v2 is registered,
#     which adds "note" with a default, and v2 records follow (also in
#     the header form, __value_schema_id: magic 1 + GUID): the running
#     table gains the column "note" (a metaData commit), v1 rows read null
#     in it. Then v3, which makes qty a string: its records are rejected
#     as schema_change naming the column;
#   events (value_format json_schema), plus records that cannot be tied
#     to a schema: not in the wire format, an unknown schema id, a prefix
#     cut short.
# ksink starts while the registry is down for 5 s: start-up waits for it.
# The registry goes down for 30 s just before the v2 records (a schema id
# ksink has not seen) arrive: their partitions pause, nothing is rejected
# or lost, /readyz says why, and they land once the registry answers
# again.
# schema_registry.url lists a dead URL first (tried in turn); the registry
# demands HTTP basic auth (schema_registry.basic_auth_user_info).
#
# Checked with DuckDB, row by row: every valid record exactly once with
# its values and the documented column types; the rejects by reason
# (/metrics): bad_wire_format 2, unknown_schema_id 1, schema_change 3,
# nothing else.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=150
start_broker orders:3 events:2

export SR_USER_INFO="sr-user:s3cr:et"
python3 "$KS_SOURCE_DIR/test/fixtures/schema_registry/registry.py" \
  --auth "$SR_USER_INFO" --port-file "$WORK/sr.port" >"$WORK/sr.out" 2>"$WORK/sr.err" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/sr.port" ] && break; sleep 0.1; done
[ -s "$WORK/sr.port" ] || fail "registry did not start: $(cat "$WORK/sr.err")"
SR=http://127.0.0.1:$(cat "$WORK/sr.port")
log "registry at $SR"

node "$KS_SOURCE_DIR/test/tools/sr_serialize.mjs" "$SR" "$WORK" "$N" v1
log "serialized v1: $(cat "$WORK/ids_v1.json")"
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
  basic_auth_user_info: "$SR_USER_INFO"
tables:
  - name: orders
    topics: [orders]
    value_format: avro
    schema_evolution: add_columns
    flush: { records: 100, interval: 1s }
    errors: { tolerance: all, log.enable: false }
  - name: events
    topics: [events]
    value_format: json_schema
    flush: { records: 100, interval: 1s }
    errors: { tolerance: all, log.enable: false }
http: { listen: "127.0.0.1:0" }
YAML

PRODUCE="node $KS_SOURCE_DIR/test/tools/kafka_produce.mjs $BOOTSTRAP"
# v1 orders (the schema the table starts from), events, bad records
$PRODUCE orders "$WORK/avro_v1.b64"
$PRODUCE events "$WORK/json.b64"
$PRODUCE events "$WORK/bad.b64"

# ksink starts while the registry is down: start-up waits for the
# subjects' schemas (asking again with backoff), then runs
curl -sf -XPOST "$SR/__control/down?seconds=5" >/dev/null
run_ksink
wait_log "$WORK/ksink.err" 'start-up waits, asking again' 1 20
PORT=$(http_port "$WORK/ksink.err" 60)
wait_rows "$WORK/lake/orders" "$N"
wait_rows "$WORK/lake/events" "$N"
log "v1 orders and events landed"
grep -q '"note' "$WORK"/lake/orders/_delta_log/*.json &&
  fail "the table has note before v2 exists"

# v2 is registered mid-stream
node "$KS_SOURCE_DIR/test/tools/sr_serialize.mjs" "$SR" "$WORK" "$N" v2
log "serialized v2: $(cat "$WORK/ids_v2.json")"
cat "$WORK/avro_v1.b64" "$WORK/avro_v2.b64" >"$WORK/avro.b64"
cat "$WORK/avro_v1.jsonl" "$WORK/avro_v2.jsonl" >"$WORK/avro.jsonl"

# the registry goes down; v2 orders (an id ksink has not asked for) arrive
curl -sf -XPOST "$SR/__control/down?seconds=30" >/dev/null
DOWN_AT=$SECONDS
$PRODUCE orders "$WORK/avro_v2.b64"
$PRODUCE orders "$WORK/avro_hdr.b64"
sleep 8
rows=$(table_rows "$WORK/lake/orders")
[ "$rows" = "$N" ] || fail "orders has $rows rows while the registry is down, want $N"
grep -q 'records wait' "$WORK/ksink.err" || fail "no 'records wait' in the log"
paused=$(curl -sf "http://127.0.0.1:$PORT/metrics" | awk '/^ksink_partitions_paused/ {n += $2} END {print n + 0}')
log "registry down: orders at $rows rows, $paused partitions paused"
[ "$paused" -ge 1 ] || fail "no partition paused while the registry is down"
ready=$(curl -s "http://127.0.0.1:$PORT/readyz")
case $ready in *"schema registry unreachable"*) ;; *) fail "/readyz while the registry is down: $ready" ;; esac
log "/readyz: $ready"
wait_rows "$WORK/lake/orders" $((3 * N))
log "v2 orders landed $((SECONDS - DOWN_AT)) s after the registry went down"
ready=$(curl -s "http://127.0.0.1:$PORT/readyz")
[ "$ready" = ready ] || fail "/readyz after the registry came back: $ready"
[ $((SECONDS - DOWN_AT)) -ge 29 ] || fail "v2 orders landed before the registry came back"
grep -q 'adds column note' "$WORK/ksink.err" || fail "no 'adds column note' in the log"
# the log: the first metaData without note, a later one that adds it
first=$(ls "$WORK"/lake/orders/_delta_log/*.json | head -1)
grep -q '"metaData"' "$first" && ! grep -q 'note' "$first" || fail "first commit: $(head -c 600 "$first")"
grep -l '"metaData"' "$WORK"/lake/orders/_delta_log/*.json | tail -n +2 | xargs grep -l 'note' >/dev/null ||
  fail "no later metaData adds note"

# v3 changes qty's type: refused per record, the column named
node "$KS_SOURCE_DIR/test/tools/sr_serialize.mjs" "$SR" "$WORK" "$N" v3
$PRODUCE orders "$WORK/avro_v3.b64"
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$PORT/metrics" | grep '^ksink_records_rejected_total{' |
    grep 'reason="schema_change"' | grep -q ' 3$' && break
  sleep 0.2
done
grep -qE 'schema id [0-9]+ from the registry refused.*column qty' "$WORK/ksink.err" ||
  fail "v3 not refused naming qty: $(grep -i 'schema id' "$WORK/ksink.err" | tail -3)"

# ksink validate: the same records, one base64 value a line (without
# credentials: refused by the registry, said so)
rc=0
"$KSINK" validate --value-format avro --schema-registry "$SR" "$WORK/avro.b64" \
  >"$WORK/validate.out" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q '401' "$WORK/validate.out" ||
  fail "validate without credentials: exit $rc: $(head -3 "$WORK/validate.out")"
export SR_BASIC_AUTH_USER_INFO=$SR_USER_INFO
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

# a JSON Schema with a reference (Confluent's references: the referenced
# schema under the name the $ref uses), fetched through
# /subjects/customer/versions/1: five valid, one the referenced schema
# refuses
rc=0
"$KSINK" validate --value-format json_schema --schema-registry "$SR" \
  "$WORK/refd.b64" >"$WORK/validate.out" 2>"$WORK/validate.err" || rc=$?
[ "$rc" = 1 ] && [ "$(grep -c '^ok$' "$WORK/validate.out")" = 5 ] &&
  sed -n 6p "$WORK/validate.out" | grep -q '^invalid /customer/name type: expected string' ||
  fail "validate with a reference: exit $rc: $(cat "$WORK/validate.out" "$WORK/validate.err")"

# ksink check asks the registry for each table's subject
"$KSINK" check -c "$WORK/ksink.yaml" >"$WORK/check.out" 2>&1 || fail "check: $(cat "$WORK/check.out")"
grep -qE '^ok +schema registry: table orders: subject orders-value \(17 columns' "$WORK/check.out" ||
  fail "check: $(cat "$WORK/check.out")"
grep -qE '^ok +schema registry: table events: subject events-value' "$WORK/check.out" ||
  fail "check: $(cat "$WORK/check.out")"

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
[ "$(rejected schema_change)" = 3 ] || fail "schema_change rejects: $(rejected schema_change), want 3"
[ "$all" = 6 ] || fail "$all rejects in all, want 6: $(grep '^ksink_records_rejected_total{' "$WORK/metrics.txt" | grep -v ' 0$')"

node "$KS_SOURCE_DIR/test/tools/verify_rows.mjs" "$WORK/lake/orders" "$WORK/avro.jsonl" id \
  id=BIGINT qty=INTEGER 'price=DECIMAL(9,2)' 'ts=TIMESTAMP WITH TIME ZONE' \
  'ts_us=TIMESTAMP WITH TIME ZONE' day=DATE status=VARCHAR 'tags=VARCHAR[]' \
  'attrs=MAP(VARCHAR, BIGINT)' 'addr=STRUCT(city VARCHAR, zip INTEGER)' \
  'alt=STRUCT(long BIGINT, string VARCHAR)' ok=BOOLEAN score=DOUBLE note=VARCHAR
node "$KS_SOURCE_DIR/test/tools/verify_rows.mjs" "$WORK/lake/events" "$WORK/json.jsonl" id \
  id=BIGINT name=VARCHAR 'at=TIMESTAMP WITH TIME ZONE' 'tags=VARCHAR[]' \
  'meta=STRUCT(n DOUBLE)'
log "ok"
