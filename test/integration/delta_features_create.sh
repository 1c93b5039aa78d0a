#!/usr/bin/env bash
# Tables ksink creates with Delta table features (tables[].table_features,
# tables[].properties): writer v7 with inCommitTimestamp, v2Checkpoint,
# deletionVectors, rowTracking (and the domainMetadata it implies),
# changeDataFeed, appendOnly and vacuumProtocolCheck, checkpoints every 3
# versions. Run 1 creates the table; run 2 appends to it (the features
# honoured by the append path, as for a table another engine wrote).
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
start_broker ev:4
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
    properties: { delta.checkpointInterval: "3", delta.logRetentionDuration: "interval 30 days" }
YAML
}

conf "[columnMapping]" >"$WORK/bad.yaml"
rc=0
"$KSINK" run -c "$WORK/bad.yaml" >/dev/null 2>"$WORK/bad.err" || rc=$?
[ "$rc" = 2 ] && grep -q '"columnMapping" is not a feature ksink creates tables with' "$WORK/bad.err" ||
  fail "columnMapping: exit $rc: $(cat "$WORK/bad.err")"
[ ! -e "$TABLE" ] || fail "the refused config wrote a table"

conf "[inCommitTimestamp, v2Checkpoint, deletionVectors, rowTracking, changeDataFeed, appendOnly, vacuumProtocolCheck]" >"$WORK/ksink.yaml"

gen() { # N FIRST FILE
  for i in $(seq "$2" $(($2 + $1 - 1))); do
    echo "{\"id\":$i,\"name\":\"n$i\",\"score\":$i.5,\"at\":\"2026-01-01T00:00:$(printf %02d $((i % 60))).000Z\"}"
  done >"$3"
}
run() { # N FIRST TAG: produce, run until the table has every row, stop
  gen "$1" "$2" "$WORK/$3.jsonl"
  "$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic ev --values "$WORK/$3.jsonl" \
    --expect "$WORK/$3.expect" >/dev/null 2>"$WORK/produce.err" || fail "producer: $(cat "$WORK/produce.err")"
  run_ksink
  wait_rows "$TABLE" $(($2 + $1 - 1))
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
      'delta.checkpointPolicy': 'v2', 'delta.checkpointInterval': '3'}))
    if (c[k] !== v) throw new Error(k + ' = ' + c[k]);
  const adds = l.filter(a => a.add);
  if (!adds.length || adds.some(a => typeof a.add.baseRowId !== 'number' || a.add.defaultRowCommitVersion !== 0))
    throw new Error('v0 adds without row ids');
" || fail "version 0 of the created table"
log "run 1: created at reader 3 / writer 7 with the features and properties asked for"

cp -r "$TABLE" "$WORK/orig"
"$KSINK" inspect "file://$TABLE" --json --files >"$WORK/before.json"
run $((COUNT - COUNT / 3)) $((COUNT / 3 + 1)) b
"$KSINK" inspect "file://$TABLE" --json --files >"$WORK/after.json"
"$KSINK" inspect "file://$TABLE" | sed 's/^/  /'
out=$($TOOL verify --orig "$WORK/orig" --table "$TABLE" --before "$WORK/before.json" \
  --after "$WORK/after.json" --expect "$WORK/b.expect" --own-app cf) || fail "$out"
log "run 2: $out"
log "done in $((SECONDS - t0)) s"
