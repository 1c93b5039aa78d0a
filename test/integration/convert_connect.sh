#!/usr/bin/env bash
# `ksink convert-connect FILE` on Confluent S3 sink configs shaped like the
# examples of its configuration reference (test/data/connect/): a
# TimeBasedPartitioner + JsonFormat .properties file, a FieldPartitioner +
# ParquetFormat connector JSON ({"name", "config"}), and a RecordField
# TimeBasedPartitioner with topics.regex as a bare config map. Each YAML
# must carry the keys over as documented and load as a ksink config (once
# its schema files exist: `ksink check` passes its config and schema
# items); every key not carried over must be named on stderr with a reason.
# Then the loader's hint: a Connect key in a ksink file names the ksink key.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DATA=$KS_SOURCE_DIR/test/data/connect

# convert NAME FILE: YAML in $WORK/NAME.yaml, stderr in $WORK/NAME.err
convert() {
  "$KSINK" convert-connect "$2" >"$WORK/$1.yaml" 2>"$WORK/$1.err" ||
    fail "$1: exit $?: $(cat "$WORK/$1.err")"
}
has() { grep -qF -- "$2" "$WORK/$1.yaml" || fail "$1: no line '$2' in: $(cat "$WORK/$1.yaml")"; }
says() { grep -qE -- "$2" "$WORK/$1.err" || fail "$1: stderr does not say '$2': $(cat "$WORK/$1.err")"; }
# loads NAME: with schemas in place and local storage, the config loads
loads() {
  mkdir -p "$WORK/schemas"
  for s in $(grep -o 'schemas/[A-Za-z0-9_]*\.json' "$WORK/$1.yaml"); do
    echo '{"type": "object", "properties": {"id": {"type": "integer"},
      "country": {"type": "string"}, "status": {"type": "string"},
      "updated_at": {"type": "string", "format": "date-time"}}}' >"$WORK/$s"
  done
  sed "s|^  url: .*|  url: \"file://$WORK/lake\"|" "$WORK/$1.yaml" >"$WORK/$1.local.yaml"
  local rc=0
  (cd "$WORK" && KAFKA_BOOTSTRAP_SERVERS=mock AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y \
    "$KSINK" check -c "$1.local.yaml" --timeout 5s) >"$WORK/$1.check" 2>&1 || rc=$?
  grep -qE '^ok +config:' "$WORK/$1.check" || fail "$1: the converted config does not load: $(cat "$WORK/$1.check")"
  grep -qE '^FAIL +schema' "$WORK/$1.check" && fail "$1: $(cat "$WORK/$1.check")"
  [ "$rc" = 0 ] || fail "$1: ksink check exit $rc: $(cat "$WORK/$1.check")"
}

# 1. TimeBasedPartitioner, JsonFormat with gzip, two topics
convert time "$DATA/s3_time_based_json.properties"
has time 'app_id: "clicks-s3"'
has time 'group.id: "connect-clicks-s3"'
has time 'url: "s3://analytics-raw/topics"'
has time 'region: "eu-west-1"'
has time 'part_size: 5242880'
has time 'workers: 2   # tasks.max'
has time '  - name: clicks'
has time '  - name: page_views'
has time 'topics: ["page-views"]'
has time 'path: "page-views"'
has time 'format: jsonl'
has time 'compression: gzip'
has time 'flush: { records: 1000, interval: 10m }'
has time "path_format: \"'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH\""
has time 'timezone: "UTC"'
has time 'deadletterqueue.topic.name: "clicks-dlq"'
says time '^partition.duration.ms: not carried over: '
says time '^locale: not carried over: '
says time '^storage.class: not carried over: '
says time '^schema.compatibility: not carried over: '
says time '^rotate.interval.ms: carried over as flush.interval'
loads time

# 2. FieldPartitioner, ParquetFormat (zstd), connector JSON with name/config
convert field "$DATA/s3_field_parquet.json"
has field 'app_id: "orders-s3"'
has field 'url: "s3://lake-bucket/raw"'
has field 'endpoint: "http://minio:9000"'
has field 'addressing: path'
has field 'format: parquet'
has field 'compression: zstd'
has field 'flush: { records: 5000, interval: 1h }'
has field 'partition_by: ["country", "status"]'
has field 'fetch.max.bytes: "52428800"'
says field '^consumer.override.max.poll.records: not carried over: librdkafka has no such consumer property'
has field 'access_key_id: ${AWS_ACCESS_KEY_ID}'
grep -q 'not-a-real-secret\|AKIDEXAMPLE' "$WORK/field.yaml" && fail "credentials copied into the YAML"
says field '^value.converter: not carried over: io.confluent.connect.avro.AvroConverter'
says field '^value.converter.schema.registry.url: not carried over: '
has field '      - debezium_unwrap: { deletes: drop }'
has field '    null_values: ignore   # ExtractNewRecordState'"'"'s drop.tombstones'
says field '^aws.access.key.id, aws.secret.access.key: not copied'
[ "$(grep -c '^aws.secret.access.key' "$WORK/field.err")" = 0 ] || fail "a key reported twice: $(cat "$WORK/field.err")"
loads field

# 3. RecordField timestamps, topics.regex, a bare config map
convert regex "$DATA/s3_record_field_parquet.json"
has regex "path_format: \"'dt'=YYYY-MM-dd\""
has regex 'timestamp_field: "updated_at"'
has regex 'timezone: "America/New_York"'
has regex 'flush: { records: 100, interval: 7d, bytes: 1GiB }'
has regex 'topics_regex: "cdc\\..*"'
says regex '^topics.regex: carried over as topics_regex'

# every input key is either in the YAML's meaning or named on stderr: count
# the keys the stderr names plus those carried, per file, against the input
for k in $(grep -oE '^[a-z][a-z0-9.]*' "$DATA/s3_time_based_json.properties"); do
  case $k in name | connector.class | tasks.max | topics | s3.region | s3.bucket.name | \
    s3.part.size | flush.size | format.class | s3.compression.type | partitioner.class | \
    path.format | timezone | timestamp.extractor | key.converter | value.converter | \
    value.converter.schemas.enable | errors.tolerance | errors.deadletterqueue.topic.name) ;;
  *) grep -q "^$k" "$WORK/time.err" || fail "$k neither carried nor reported: $(cat "$WORK/time.err")" ;;
  esac
done

# java.util.Properties forms: "key: value", "key value", ! comments, a
# value continued over lines with a trailing backslash; stdin with -
printf '%s\n' '! a comment' 'name: multi' 'connector.class io.confluent.connect.s3.S3SinkConnector' \
  'topics = a,\' '    b' 's3.bucket.name=bkt' >"$WORK/forms.properties"
"$KSINK" convert-connect - <"$WORK/forms.properties" >"$WORK/forms.yaml" 2>"$WORK/forms.err" ||
  fail "properties forms: exit $?"
for l in 'app_id: "multi"' 'topics: ["a"]' 'topics: ["b"]' 'url: "s3://bkt/topics"'; do
  grep -qF -- "$l" "$WORK/forms.yaml" || fail "properties forms: no '$l' in $(cat "$WORK/forms.yaml")"
done

# 4. unreadable input: exit 2
rc=0
"$KSINK" convert-connect "$WORK/none.json" 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "missing file: exit $rc"
echo '{"config": ' >"$WORK/broken.json"
rc=0
"$KSINK" convert-connect "$WORK/broken.json" 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "broken JSON: exit $rc"

# 5. the loader's hint for Connect keys in a ksink file
cat >"$WORK/hint.yaml" <<YAML
kafka: { bootstrap.servers: mock }
storage: { url: "file://$WORK/lake" }
tables:
  - name: t
    topics: [t]
    flush.size: 1000
YAML
rc=0
"$KSINK" check -c "$WORK/hint.yaml" >"$WORK/hint.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "hint: exit $rc"
grep -q 'tables\[0\]\.flush\.size: a Kafka Connect key; in ksink it is tables\[\]\.flush\.records' "$WORK/hint.out" ||
  fail "no Connect hint: $(cat "$WORK/hint.out")"
sed -i 's/    flush.size: 1000/    topics.regex: "t.*"/' "$WORK/hint.yaml"
"$KSINK" run -c "$WORK/hint.yaml" >"$WORK/hint2.out" 2>&1 && fail "topics.regex accepted"
grep -q 'topics.regex: a Kafka Connect key; in ksink it is tables\[\]\.topics_regex' "$WORK/hint2.out" || fail "no hint: $(cat "$WORK/hint2.out")"

# 6. single message transforms, keys and headers, null values
convert smt "$DATA/s3_transforms.properties"
has smt '    key: { format: json, column: _kafka_key }'
has smt '    headers: { column: _kafka_headers }'
has smt '    transforms:'
has smt '      - filter: { predicate: { header: "test-event" } }'
has smt '      - extract_field: "payload"'
has smt '      - replace_field: { exclude: ["password"], rename: { "uid": "user_id" } }'
has smt '      - timestamp_converter: { field: "created_at", format: "yyyy-MM-dd HH:mm:ss", target: timestamp }'
has smt '      - insert_field: { static: { "source": "web" }, timestamp: "ingested_at", offset: "off" }'
has smt '      - filter: { predicate: { topic: "internal\\..*" }, negate: true }'
has smt '    null_values: fail'
says smt '^transforms.route: not carried over: org.apache.kafka.connect.transforms.RegexRouter has no ksink transform'
# the transforms come in Connect's order
[ "$(grep -o -- '- [a-z_]*:' "$WORK/smt.yaml" | tr '\n' ' ')" = "- name: - filter: - extract_field: - replace_field: - timestamp_converter: - insert_field: - filter: " ] ||
  fail "smt: transforms out of order: $(grep -- '- ' "$WORK/smt.yaml")"
loads smt
log "convert_connect: passed"
