#!/usr/bin/env bash
# Tables ksink creates with Delta table features (tables[].table_features,
# tables[].properties): writer v7 with inCommitTimestamp, v2Checkpoint,
# deletionVectors, rowTracking (and the domainMetadata it implies),
# changeDataFeed, appendOnly and vacuumProtocolCheck, and a second table
# with columnMapping, inCommitTimestamp, rowTracking and
# delta.parquet.compression.codec zstd; checkpoints after every version.
# Run 1 creates the tables; run 2 appends to them (the features honoured
# by the append path, as for a table another engine wrote).
# test/tools/delta_corpus.mjs checks run 2 against the table after run 1:
# protocol and properties unchanged, commitInfo first with rising
# inCommitTimestamps, fresh row ids above the high-water mark with the
# commit's version, the delta.rowTracking domain advanced, every record
# exactly once (DuckDB), checkpoints DuckDB reads. Also: the protocol and
# the properties of version 0, and a feature ksink cannot create refused
# with exit 2 naming it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COUNT=${KS_IT_COUNT:+600}
COUNT=${COUNT:-3000}
TOOL="node $KS_SOURCE_DIR/test/tools/delta_corpus.mjs"
start_broker ev:4 cm:2
PORT=$((20000 + RANDOM % 30000))
TABLE=$WORK/lake/ev
cat >"$WORK/schema.json" <<'JSON'
{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"},
 "score":{"type":"number"},"at":{"type":"string","format":"date-time"}},"required":["id"]}
JSON
conf() { # FEATURES
  cat <<YAML
app_id: cf
kafka: { bootstrap.servers: $BOOTSTRAP, group.id: cf, session.timeout.ms: 6000 }
reactor: { workers: 2 }
storage: { url: file://$WORK/lake }
http: { listen: "127.0.0.1:$PORT" }
tables:
  - name: ev
    topics: [ev]
    schema: $WORK/schema.json
    flush: { records: 250, interval: 1s }
    table_features: $1
    properties: { delta.checkpointInterval: "1", delta.logRetentionDuration: "interval 30 days" }
  - name: cm
    topics: [cm]
    schema: $WORK/schema.json
    flush: { records: 250, interval: 1s }
    table_features: [columnMapping, inCommitTimestamp, rowTracking]
    properties: { delta.checkpointInterval: "1", delta.parquet.compression.codec: zstd }
YAML
}

conf "[identityColumns]" >"$WORK/bad.yaml"
rc=0
"$KSINK" run -c "$WORK/bad.yaml" >/dev/null 2>"$WORK/bad.err" || rc=$?
[ "$rc" = 2 ] && grep -q '"identityColumns" is not a feature ksink creates tables with' "$WORK/bad.err" ||
  fail "identityColumns: exit $rc: $(cat "$WORK/bad.err")"
[ ! -e "$TABLE" ] || fail "the refused config wrote a table"

conf "[inCommitTimestamp, v2Checkpoint, deletionVectors, rowTracking, changeDataFeed, appendOnly, vacuumProtocolCheck]" >"$WORK/ksink.yaml"

gen() { # N FIRST FILE
  for i in $(seq "$2" $(($2 + $1 - 1))); do
    echo "{\"id\":$i,\"name\":\"n$i\",\"score\":$i.5,\"at\":\"2026-01-01T00:00:$(printf %02d $((i % 60))).000Z\"}"
  done >"$3"
}
run() { # N FIRST TAG: produce, run until the table has every row, stop
  gen "$1" "$2" "$WORK/$3.jsonl"
  for tp in ev cm; do
    "$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic $tp --values "$WORK/$3.jsonl" \
      --expect "$WORK/$3.$tp.expect" >/dev/null 2>"$WORK/produce.err" || fail "producer: $(cat "$WORK/produce.err")"
  done
  run_ksink
  wait_rows "$TABLE" $(($2 + $1 - 1))
  wait_rows "$WORK/lake/cm" $(($2 + $1 - 1))
  kill -TERM "$KSINK_PID"
  local rc=0
  wait "$KSINK_PID" || rc=$?
  [ "$rc" = 0 ] || fail "ksink exited $rc: $(tail -5 "$WORK/ksink.err")"
  ! grep -q '"level":"error"' "$WORK/ksink.err" || fail "errors: $(grep '"level":"error"' "$WORK/ksink.err" | head -3)"
}

t0=$SECONDS
run $((COUNT / 3)) 1 a
v0=$TABLE/_delta_log/00000000000000000000.json
node -e "
  const l = require('fs').readFileSync('$v0', 'utf8').trim().split('\n').map(JSON.parse);
  const p = l.find(a => a.protocol).protocol, m = l.find(a => a.metaData).metaData;
  const want = {minReaderVersion: 3, minWriterVersion: 7,
    readerFeatures: ['v2Checkpoint', 'deletionVectors', 'vacuumProtocolCheck'],
    writerFeatures: ['inCommitTimestamp', 'v2Checkpoint', 'deletionVectors', 'rowTracking', 'domainMetadata', 'changeDataFeed', 'appendOnly', 'vacuumProtocolCheck']};
  if (JSON.stringify(p) !== JSON.stringify(want)) throw new Error('protocol ' + JSON.stringify(p));
  if (!l[0].commitInfo || typeof l[0].commitInfo.inCommitTimestamp !== 'number') throw new Error('v0: commitInfo not first with inCommitTimestamp');
  const c = m.configuration;
  for (const [k, v] of Object.entries({'delta.enableInCommitTimestamps': 'true', 'delta.enableRowTracking': 'true',
      'delta.enableDeletionVectors': 'true', 'delta.enableChangeDataFeed': 'true', 'delta.appendOnly': 'true',
      'delta.checkpointPolicy': 'v2', 'delta.checkpointInterval': '1'}))
    if (c[k] !== v) throw new Error(k + ' = ' + c[k]);
  const adds = l.filter(a => a.add);
  if (!adds.length || adds.some(a => typeof a.add.baseRowId !== 'number' || a.add.defaultRowCommitVersion !== 0))
    throw new Error('v0 adds without row ids');
" || fail "version 0 of the created table"
log "run 1: created at reader 3 / writer 7 with the features and properties asked for"

node -e "
  const l = require('fs').readFileSync('$WORK/lake/cm/_delta_log/00000000000000000000.json', 'utf8').trim().split('\n').map(JSON.parse);
  const p = l.find(a => a.protocol).protocol, m = l.find(a => a.metaData).metaData;
  if (!p.readerFeatures.includes('columnMapping') || !p.writerFeatures.includes('columnMapping')) throw new Error('protocol ' + JSON.stringify(p));
  const s = JSON.parse(m.schemaString);
  const ids = s.fields.map(f => f.metadata['delta.columnMapping.id']);
  if (m.configuration['delta.columnMapping.mode'] !== 'name' || Number(m.configuration['delta.columnMapping.maxColumnId']) !== Math.max(...ids))
    throw new Error('configuration ' + JSON.stringify(m.configuration));
  if (new Set(ids).size !== s.fields.length || s.fields.some(f => !/^col-/.test(f.metadata['delta.columnMapping.physicalName'])))
    throw new Error('fields ' + m.schemaString);
" || fail "version 0 of the column-mapped table"
log "run 1: the column-mapped table has ids and physical names, maxColumnId their largest"

for tb in ev cm; do
  cp -r "$WORK/lake/$tb" "$WORK/orig.$tb"
  "$KSINK" inspect "file://$WORK/lake/$tb" --json --files >"$WORK/before.$tb.json"
done
run $((COUNT - COUNT / 3)) $((COUNT / 3 + 1)) b
for tb in ev cm; do
  "$KSINK" inspect "file://$WORK/lake/$tb" --json --files >"$WORK/after.$tb.json"
  "$KSINK" inspect "file://$WORK/lake/$tb" | sed -n '2,8p' | sed 's/^/  /'
  out=$($TOOL verify --orig "$WORK/orig.$tb" --table "$WORK/lake/$tb" --before "$WORK/before.$tb.json" \
    --after "$WORK/after.$tb.json" --expect "$WORK/b.$tb.expect" --own-app cf) || fail "$tb: $out"
  # checkpoints after every version: at least one of run 2 checked
  case "$out" in *checkpoint:*) ;; *) fail "$tb: no checkpoint written in run 2: $out" ;; esac
  log "run 2, $tb: $out"
done
# delta.parquet.compression.codec: every data file of cm is zstd, of ev snappy
node --input-type=module -e "
  import { DuckDBInstance } from '@duckdb/node-api';
  const c = await (await DuckDBInstance.create(':memory:')).connect();
  for (const [tb, want] of [['cm', 'ZSTD'], ['ev', 'SNAPPY']]) {
    const r = (await c.runAndReadAll(\"SELECT DISTINCT compression FROM parquet_metadata('$WORK/lake/\" + tb + \"/*.parquet')\")).getRows().map(x => x[0]);
    if (r.length !== 1 || r[0] !== want) throw new Error(tb + ': ' + r);
  }
" || fail "compression codecs"
log "delta.parquet.compression.codec honoured (cm zstd, ev snappy)"
log "done in $((SECONDS - t0)) s"
