#!/usr/bin/env bash
# Checkpoints, `ksink inspect` and `ksink vacuum` on a table of 25 commits
# made by ksink's committer (test/fixtures/ks_delta_table.c):
# - two checkpoints (v10, v20), _last_checkpoint at v20, and DuckDB reads
#   the checkpoint with the protocol's column types;
# - the same checkpoint rewritten by DuckDB (another writer: each codec,
#   data pages v1 and v2) is read by ksink as the only way to the table's
#   state, and inspect prints the same;
# - inspect's text and JSON against the contract (CLI.md);
# - vacuum with --retain 0h and a forced clock: a removed file and an
#   orphan go, referenced files and _delta_log stay, --dry-run deletes
#   nothing, a retention longer than the files' age keeps them.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T=$WORK/t
mkdir -p "$T"
"$KS_BUILD_DIR/test/ks_delta_table" "$T" 25 2>"$WORK/fixture.err" ||
  fail "fixture: $(cat "$WORK/fixture.err")"
L=$T/_delta_log
ls "$L" >"$WORK/log.ls"
[ "$(grep -c 'checkpoint.parquet$' "$WORK/log.ls")" = 2 ] || fail "checkpoints: $(cat "$WORK/log.ls")"
[ -f "$L/00000000000000000010.checkpoint.parquet" ] || fail "no v10 checkpoint"
[ -f "$L/00000000000000000020.checkpoint.parquet" ] || fail "no v20 checkpoint"
size=$(stat -c %s "$L/00000000000000000020.checkpoint.parquet")
want="{\"version\":20,\"size\":26,\"sizeInBytes\":$size,\"numOfAddFiles\":21}"
[ "$(cat "$L/_last_checkpoint")" = "$want" ] || fail "_last_checkpoint: $(cat "$L/_last_checkpoint")"

# DuckDB: the protocol's checkpoint schema
node "$KS_SOURCE_DIR/test/tools/checkpoint_types.mjs" "$L/00000000000000000020.checkpoint.parquet" \
  >"$WORK/types" || fail "DuckDB cannot read the checkpoint"
cat >"$WORK/types.want" <<'TYPES'
txn	STRUCT(appId VARCHAR, "version" BIGINT, lastUpdated BIGINT)
add	STRUCT(path VARCHAR, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR, tags MAP(VARCHAR, VARCHAR))
remove	STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN, extendedFileMetadata BOOLEAN, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT)
metaData	STRUCT(id VARCHAR, "name" VARCHAR, description VARCHAR, format STRUCT(provider VARCHAR, "options" MAP(VARCHAR, VARCHAR)), schemaString VARCHAR, partitionColumns VARCHAR[], "configuration" MAP(VARCHAR, VARCHAR), createdTime BIGINT)
protocol	STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER)
rows	26
actions	21 3 1 1 0
protocol	1 2
max_txn	2099
TYPES
diff -u "$WORK/types.want" "$WORK/types" || fail "checkpoint types differ"

# inspect: JSON
"$KSINK" inspect "file://$T" --json >"$WORK/inspect.json" || fail "inspect --json exited $?"
node -e '
const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const want = {version: 24, files: 25, rows: 250, bytes: 7 * 10 + 8 * 15,
  last_checkpoint: 20, partition_columns: [],
  txn: {"test-events-0": 2499, "test-events-1": 2299, "test-events-2": 2399}};
for (const [k, v] of Object.entries(want))
  if (JSON.stringify(j[k]) !== JSON.stringify(v))
    throw new Error(`${k}: ${JSON.stringify(j[k])}, want ${JSON.stringify(v)}`);
if (j.schema.type !== "struct" || j.schema.fields[1].type.type !== "array")
  throw new Error("schema: " + JSON.stringify(j.schema));
if (j.protocol.minReaderVersion !== 1 || j.protocol.minWriterVersion !== 2)
  throw new Error("protocol");
' "$WORK/inspect.json" || fail "inspect --json: $(cat "$WORK/inspect.json")"

# inspect: text
"$KSINK" inspect "file://$T" >"$WORK/inspect.txt" || fail "inspect exited $?"
for line in "version:           24" "last checkpoint:   20" "files:             25" \
  "rows:              250" "partition columns: none" "  id: long not null" \
  "  tags: array<string>" "  test-events-0: 2499"; do
  grep -qxF "$line" "$WORK/inspect.txt" || fail "inspect text lacks '$line': $(cat "$WORK/inspect.txt")"
done

# inspect: usage and missing tables
set +e
"$KSINK" inspect 2>/dev/null; [ $? -eq 2 ] || fail "inspect without URL: want exit 2"
"$KSINK" inspect "file://$WORK/none" 2>/dev/null; [ $? -eq 1 ] || fail "missing table: want exit 1"
"$KSINK" inspect "http://x/t" 2>/dev/null; [ $? -eq 2 ] || fail "bad URL: want exit 2"
set -e

# the v20 checkpoint rewritten by another writer, the only way to v0..v19
for variant in "uncompressed V1" "snappy V1" "gzip V2" "zstd V2"; do
  C=$WORK/c
  rm -rf "$C" && cp -r "$T" "$C"
  # shellcheck disable=SC2086
  node "$KS_SOURCE_DIR/test/tools/pq_rewrite.mjs" "$L/00000000000000000020.checkpoint.parquet" \
    "$C/_delta_log/00000000000000000020.checkpoint.parquet" $variant || fail "rewrite $variant"
  rm "$C/_delta_log/00000000000000000010.checkpoint.parquet"
  for v in $(seq 0 19); do rm "$C/_delta_log/$(printf %020d "$v").json"; done
  "$KSINK" inspect "file://$C" --json >"$WORK/c.json" 2>"$WORK/c.err" ||
    fail "checkpoint by DuckDB ($variant) unreadable: $(cat "$WORK/c.err")"
  cmp -s "$WORK/inspect.json" "$WORK/c.json" ||
    fail "checkpoint by DuckDB ($variant) reads differently: $(cat "$WORK/c.json")"
done

# vacuum: remove part-000 (a commit the way optimize would write it), add
# an orphan, then vacuum with --retain 0h one minute in the future
printf '{"remove":{"path":"part-000.parquet","deletionTimestamp":1000,"dataChange":true}}\n' \
  >"$L/00000000000000000025.json"
echo orphan >"$T/orphan-of-a-crash.parquet"
mkdir -p "$T/day=1" && echo nested >"$T/day=1/orphan.parquet"
future=$(( $(date +%s) * 1000 + 60000 ))

"$KSINK" vacuum "file://$T" --retain 0h --now-ms "$future" --dry-run >"$WORK/dry" 2>"$WORK/dry.err" ||
  fail "vacuum --dry-run exited $?: $(cat "$WORK/dry.err")"
sort "$WORK/dry" >"$WORK/dry.sorted"
printf '%s\n' "vacuum: would delete 3 files (21 bytes); kept 24 referenced, 0 newer than the retention" \
  "would delete day=1/orphan.parquet" "would delete orphan-of-a-crash.parquet" \
  "would delete part-000.parquet" | sort >"$WORK/dry.want"
diff -u "$WORK/dry.want" "$WORK/dry.sorted" || fail "dry-run output"
[ -f "$T/part-000.parquet" ] && [ -f "$T/orphan-of-a-crash.parquet" ] || fail "dry-run deleted files"

# a retention longer than the files' age keeps everything
"$KSINK" vacuum "file://$T" --retain 168h >"$WORK/keep" 2>&1 || fail "vacuum 168h exited $?"
grep -q "^vacuum: deleted 0 files (0 bytes); kept 24 referenced, 3 newer than the retention$" "$WORK/keep" ||
  fail "vacuum 168h: $(cat "$WORK/keep")"

before=$(ls "$L" | wc -l)
"$KSINK" vacuum "file://$T" --retain 0h --now-ms "$future" >"$WORK/vac" 2>/dev/null || fail "vacuum exited $?"
grep -q "^vacuum: deleted 3 files (21 bytes); kept 24 referenced" "$WORK/vac" || fail "vacuum: $(cat "$WORK/vac")"
[ ! -e "$T/part-000.parquet" ] && [ ! -e "$T/orphan-of-a-crash.parquet" ] &&
  [ ! -e "$T/day=1/orphan.parquet" ] || fail "vacuum left unreferenced files"
for i in $(seq 1 24); do
  [ -f "$T/$(printf part-%03d.parquet "$i")" ] || fail "vacuum deleted referenced part-$i"
done
[ "$(ls "$L" | wc -l)" = "$before" ] || fail "vacuum touched _delta_log"
"$KSINK" inspect "file://$T" --json | grep -q '"files":24,' || fail "table after vacuum"

set +e
"$KSINK" vacuum "file://$T" >/dev/null 2>&1; [ $? -eq 2 ] || fail "vacuum without --retain: want exit 2"
"$KSINK" vacuum "file://$T" --retain soon >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad --retain: want exit 2"
"$KSINK" vacuum "file://$T" --retain 0h --now-ms soon >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad --now-ms: want exit 2"
set -e
log "table tools ok"
