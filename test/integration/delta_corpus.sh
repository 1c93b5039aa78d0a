#!/usr/bin/env bash
# Appending to Delta tables other engines wrote: the 35 tables of
# ../shared/testdata/delta-tables (Spark, Databricks, Delta Kernel), each
# copied first. No `schema:` is given: each table's columns come from its
# schemaString, its partitioning from its partition columns.
#
# Tables whose features ksink cannot honour are refused at start-up with
# exit 1 and the feature's name, and stay untouched (the expected verdicts
# are listed below). Every other table gets COUNT records on its own topic
# through one `ksink run`, then a second run adds COUNT/10 more (the
# table reopened with its new _kafka_* columns). test/tools/delta_corpus.mjs
# then checks each table: original files active and byte-identical with
# their deletion vectors, no protocol action and no remove in ksink's
# commits, the table's fields and domains kept, other writers' txns kept,
# commitInfo first with rising inCommitTimestamps where the table has them,
# row counts (deletion vectors subtracted, read by the project's reader),
# every record exactly once with its values (DuckDB over the new files) and
# checkpoints DuckDB reads.
#
# A table whose columns ksink cannot write (a type the schemaless mapping
# lacks) is refused with exit 2 and reported; the test lists them. Every
# table must be readable (V2 checkpoints with sidecars included).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CORPUS=${KS_DELTA_CORPUS:-$KS_SOURCE_DIR/../shared/testdata/delta-tables}
if [ ! -f "$CORPUS/manifest.json" ]; then
  echo "SKIP: no Delta test tables at $CORPUS (../shared/testdata/delta-tables next to the source dir)"
  exit 77
fi
# the sanitizer pass sets KS_IT_COUNT: fewer records there
if [ -n "${KS_IT_COUNT:-}" ]; then COUNT=${KS_CORPUS_COUNT:-600}; else COUNT=${KS_CORPUS_COUNT:-3000}; fi
TOOL="node $KS_SOURCE_DIR/test/tools/delta_corpus.mjs"

# folder -> the feature its refusal must name
declare -A REFUSE=(
  [identitycolumns-v2checkpoint-databricks]=identityColumns
  [icebergcompatv1-uniform-databricks]=icebergCompatV1
  [icebergcompatv2-uniform-databricks]=icebergCompatV2
  [rowtracking-liquid-preview-databricks]=liquid
  [typewidening-preview]=typeWidening-preview
  [varianttype-stable]=variantType
  [varianttype-preview-checkpoint]=variantType-preview
  [allowcolumndefaults-basic]=allowColumnDefaults
  [catalogmanaged-must-refuse]=catalogManaged
)

mapfile -t FOLDERS < <(node -e "
  const m = require('$CORPUS/manifest.json');
  for (const t of m.tables) console.log(t.folder);")
log "${#FOLDERS[@]} tables, $COUNT records each"

PORT=$((20000 + RANDOM % 30000))
mkdir -p "$WORK/lake" "$WORK/in"

# table_yaml FOLDER INDEX: one tables[] entry. No schema and no
# partition_by: both come from the table (baseline-w2-partitioned states
# its partition column anyway, which must agree).
table_yaml() {
  cat <<YAML
  - name: t$2
    path: $1
    topics: [t$2]
    flush: { records: 300, interval: 1s }
YAML
  [ "$1" != baseline-w2-partitioned ] || echo "    partition_by: [letter]"
}

conf_head() {
  cat <<YAML
app_id: corpus
kafka:
  bootstrap.servers: ${BOOTSTRAP:-localhost:1}
  group.id: corpus
  session.timeout.ms: 6000
reactor: { workers: 2 }
storage:
  url: file://$WORK/lake
http: { listen: "127.0.0.1:$PORT" }
tables:
YAML
}

# ---- copies, verdicts of the protocol check, refusals --------------------
APPEND=()
declare -A IDX
i=0
for f in "${FOLDERS[@]}"; do
  cp -r "$CORPUS/$f" "$WORK/lake/$f"
  IDX[$f]=$i
  "$KSINK" inspect "file://$WORK/lake/$f" --json --files >"$WORK/in/$f.before.json" 2>"$WORK/in/$f.inspect.err" ||
    fail "$f: not readable: $(tail -1 "$WORK/in/$f.inspect.err" | cut -c1-300)"
  ! grep -q '"level":"warn"' "$WORK/in/$f.inspect.err" ||
    fail "$f: read with warnings: $(head -2 "$WORK/in/$f.inspect.err")"
  # read from its newest checkpoint: the commits before it removed (as a
  # log cleanup leaves it) from a second copy (V2 JSON and Parquet
  # checkpoints with sidecars, classic ones): the same table must come out
  ck=$(ls "$WORK/lake/$f/_delta_log" | sed -nE 's/^([0-9]{20})\.checkpoint\..*(parquet|json)$/\1/p' | sort | tail -1)
  if [ -n "$ck" ]; then
    mkdir -p "$WORK/ckonly"
    cp -r "$CORPUS/$f" "$WORK/ckonly/$f"
    for j in "$WORK/ckonly/$f/_delta_log/"*.json; do
      b=$(basename "$j")
      [[ $b =~ ^[0-9]{20}\.json$ ]] && [ "${b:0:20}" -lt "$ck" ] && rm "$j"
    done
    "$KSINK" inspect "file://$WORK/ckonly/$f" --json --files >"$WORK/in/$f.ckonly.json" 2>"$WORK/in/$f.ckonly.err" ||
      fail "$f: not readable from checkpoint $((10#$ck)) and later commits: $(tail -1 "$WORK/in/$f.ckonly.err")"
    ! grep -q '"level":"warn"' "$WORK/in/$f.ckonly.err" ||
      fail "$f: checkpoint $((10#$ck)) read with warnings: $(head -2 "$WORK/in/$f.ckonly.err")"
    node -e "
      const a = require('$WORK/in/$f.before.json'), b = require('$WORK/in/$f.ckonly.json');
      for (const k of ['version', 'rows', 'files', 'bytes', 'protocol', 'schema', 'txn', 'domains', 'deletion_vector_files'])
        if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) throw new Error(k + ': ' + JSON.stringify(b[k]) + ' from the checkpoint, ' + JSON.stringify(a[k]) + ' from the log');
      const paths = (j) => j.active_files.map((x) => x.path + ' ' + x.deleted_rows).sort().join();
      if (paths(a) !== paths(b)) throw new Error('active files differ');
    " 2>"$WORK/ck.err" || fail "$f: from checkpoint $((10#$ck)): $(tail -1 "$WORK/ck.err")"
    log "$f: read from checkpoint $((10#$ck)) ($(ls "$WORK/lake/$f/_delta_log" | grep -E "^$ck\.checkpoint" | sed -E 's/^[0-9]{20}\.checkpoint\.//' | head -1)) and the later commits: same table"
  fi
  verdict=$(node -e "console.log(require('$WORK/in/$f.before.json').append_refused || '')")
  want=${REFUSE[$f]:-}
  if [ -n "$verdict" ] || [ -n "$want" ]; then
    [ -n "$want" ] || fail "$f: refused ($verdict), expected to be appendable"
    { conf_head; table_yaml "$f" "$i"; } >"$WORK/refuse.yaml"
    ls -R "$WORK/lake/$f" >"$WORK/refuse.before"
    rc=0
    "$KSINK" run -c "$WORK/refuse.yaml" >/dev/null 2>"$WORK/refuse.err" || rc=$?
    [ "$rc" = 1 ] || fail "$f: exit $rc, want 1: $(tail -2 "$WORK/refuse.err")"
    grep -q "table feature $want:" "$WORK/refuse.err" ||
      fail "$f: refusal does not name $want: $(cat "$WORK/refuse.err")"
    ls -R "$WORK/lake/$f" | cmp -s - "$WORK/refuse.before" || fail "$f: the refused table changed"
    log "refused $f: $(grep -o 'table feature.*' "$WORK/refuse.err" | head -1 | cut -c1-150)"
  else
    APPEND+=("$f")
  fi
  i=$((i + 1))
done

# ---- which tables ksink can write (column types) -------------------------
# Tables are opened before any is touched: a table whose columns cannot be
# written stops start-up with exit 2 naming it, and leaves the rest as
# they were; it is dropped and the others are tried again.
TOPICS=(rej0:1 rej1:1)
for f in "${APPEND[@]}"; do TOPICS+=("t${IDX[$f]}:2"); done
start_broker "${TOPICS[@]}"
WRITE=("${APPEND[@]}")
NOWRITE=()
while :; do
  { conf_head; for f in "${WRITE[@]}"; do table_yaml "$f" "${IDX[$f]}"; done; } >"$WORK/probe.yaml"
  "$KSINK" run -c "$WORK/probe.yaml" >/dev/null 2>"$WORK/probe.err" &
  pid=$!
  for _ in $(seq 30); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  if kill -0 $pid 2>/dev/null; then # past start-up: every table opened
    kill -TERM $pid
    wait $pid || fail "probe run: $(tail -3 "$WORK/probe.err")"
    break
  fi
  rc=0
  wait $pid || rc=$?
  bad_t=$(grep -o 'no schema given and the columns of the table at [^ ]* cannot be written: .*' "$WORK/probe.err" | head -1 || true)
  [ "$rc" = 2 ] && [ -n "$bad_t" ] || fail "start-up: exit $rc: $(tail -3 "$WORK/probe.err")"
  f=$(echo "$bad_t" | sed -E 's/.*the table at ([^ ]*) cannot.*/\1/')
  log "cannot write $f: ${bad_t##*cannot be written: }"
  NOWRITE+=("$f")
  keep=()
  for g in "${WRITE[@]}"; do [ "$g" = "$f" ] || keep+=("$g"); done
  WRITE=("${keep[@]}")
done
log "appending to ${#WRITE[@]} tables: ${WRITE[*]}"

# ---- the runs -------------------------------------------------------------
cp "$WORK/probe.yaml" "$WORK/ksink.yaml"

produce_all() { # N SUFFIX
  for f in "${WRITE[@]}"; do
    $TOOL gen "$WORK/in/$f.before.json" "$1" "$WORK/in/$f.$2.jsonl"
    "$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic "t${IDX[$f]}" \
      --values "$WORK/in/$f.$2.jsonl" --expect "$WORK/in/$f.$2.expect" >/dev/null 2>"$WORK/produce.err" ||
      fail "producer: $(cat "$WORK/produce.err")"
  done
}

rows_of() { "$KSINK" inspect "file://$WORK/lake/$1" --json 2>/dev/null | node -e "
  let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(JSON.parse(s).rows))"; }

run_until() { # TOTAL per table on top of the original rows
  run_ksink
  local f want deadline=$((SECONDS + 120))
  for f in "${WRITE[@]}"; do
    want=$(($(node -e "console.log(require('$WORK/in/$f.before.json').rows)") + $1))
    until [ "$(rows_of "$f")" -ge "$want" ]; do
      kill -0 "$KSINK_PID" 2>/dev/null || fail "ksink exited: $(tail -5 "$WORK/ksink.err")"
      [ $SECONDS -lt $deadline ] || fail "$f: $(rows_of "$f") rows, want $want"
      sleep 0.3
    done
  done
  kill -TERM "$KSINK_PID"
  local rc=0
  wait "$KSINK_PID" || rc=$?
  [ "$rc" = 0 ] || fail "ksink exited $rc: $(tail -5 "$WORK/ksink.err")"
  if grep -q '"level":"error"' "$WORK/ksink.err"; then
    fail "ksink logged errors: $(grep '"level":"error"' "$WORK/ksink.err" | head -3)"
  fi
}

t0=$SECONDS
produce_all "$COUNT" a
run_until "$COUNT"
log "run 1: $COUNT records into each of ${#WRITE[@]} tables in $((SECONDS - t0)) s"
produce_all $((COUNT / 10)) b
run_until $((COUNT + COUNT / 10))
log "run 2: $((COUNT / 10)) more each"

# ---- checks ---------------------------------------------------------------
bad=0
for f in "${WRITE[@]}"; do
  "$KSINK" inspect "file://$WORK/lake/$f" --json --files >"$WORK/in/$f.after.json"
  if out=$($TOOL verify --orig "$CORPUS/$f" --table "$WORK/lake/$f" \
    --before "$WORK/in/$f.before.json" --after "$WORK/in/$f.after.json" \
    --expect "$WORK/in/$f.a.expect" --expect "$WORK/in/$f.b.expect"); then
    log "$f: $out"
  else
    echo "$f: $out" >&2
    bad=$((bad + 1))
  fi
done
[ "$bad" = 0 ] || fail "$bad tables failed their checks"

# ---- vacuum and optimize on tables with deletion vectors -----------------
# vacuum (what-if, far in the future, retention 0) would delete neither an
# active file nor the file of a live deletion vector; optimize leaves every
# file with a vector active as it was, and the row count unchanged.
FUTURE=$(($(date +%s) * 1000 + 400 * 86400000))
for f in "${WRITE[@]}"; do
  J=$WORK/in/$f.after.json
  [ "$(node -e "console.log(require('$J').deletion_vector_files)")" -gt 0 ] || continue
  "$KSINK" vacuum "file://$WORK/lake/$f" --retain 0s --dry-run --now-ms "$FUTURE" \
    >"$WORK/vac.out" 2>"$WORK/vac.err" || fail "$f: vacuum: $(tail -2 "$WORK/vac.err")"
  node -e "
    const j = require('$J'), fs = require('fs');
    const gone = new Set(fs.readFileSync('$WORK/vac.out', 'utf8').split('\n')
      .filter(l => l.startsWith('would delete ')).map(l => l.slice(13)));
    for (const a of j.active_files) {
      const p = decodeURIComponent(a.path);
      if (gone.has(p)) throw new Error('vacuum would delete active ' + p);
      if (a.deletion_vector_file && gone.has(a.deletion_vector_file))
        throw new Error('vacuum would delete live deletion vector ' + a.deletion_vector_file);
    }
    console.error('$f: vacuum would delete ' + gone.size + ' files, none live');
  " || fail "$f: vacuum"
  "$KSINK" optimize "file://$WORK/lake/$f" --min-files 2 >"$WORK/opt.out" 2>"$WORK/opt.err" ||
    fail "$f: optimize: $(tail -2 "$WORK/opt.err")"
  "$KSINK" inspect "file://$WORK/lake/$f" --json --files >"$WORK/in/$f.opt.json"
  node -e "
    const a = require('$J'), b = require('$WORK/in/$f.opt.json');
    if (a.rows !== b.rows) throw new Error('rows ' + a.rows + ' -> ' + b.rows);
    const now = new Map(b.active_files.map(x => [x.path, x]));
    for (const x of a.active_files.filter(x => x.deleted_rows > 0)) {
      const y = now.get(x.path);
      if (!y || y.deleted_rows !== x.deleted_rows || y.deletion_vector_file !== x.deletion_vector_file)
        throw new Error('optimize touched ' + x.path);
    }
    console.error('$f: optimize ' + a.files + ' -> ' + b.files + ' files, the ' + a.deletion_vector_files + ' with vectors kept');
  " || fail "$f: optimize"
done 2>&1 | while read -r l; do log "$l"; done
[ "${PIPESTATUS[0]}" = 0 ] || fail "vacuum/optimize checks"

# ---- constraints: records that break one are rejected --------------------
# Fresh copies of the writer 7 invariant table (col_invariants < 3) and the
# generated-column table (c2 = c1 + 1) get 250 records each, every fifth
# breaking the constraint: those 50 land in the error files with the
# reason constraint naming it, the 200 others in the table.
cp -r "$CORPUS/invariants-w7-feature" "$WORK/lake/rej-invariants"
cp -r "$CORPUS/generatedcolumns-w4-empty" "$WORK/lake/rej-generated"
node -e "
  const fs = require('fs'), a = [], b = [];
  for (let i = 0; i < 250; i++) {
    const bad = i % 5 === 4;
    a.push(JSON.stringify({ col_invariants: bad ? 3 + i % 7 : i % 3 }));
    b.push(JSON.stringify({ c1: i, c2: bad ? i : i + 1 }));
  }
  fs.writeFileSync('$WORK/in/rej0.jsonl', a.join('\n') + '\n');
  fs.writeFileSync('$WORK/in/rej1.jsonl', b.join('\n') + '\n');"
for k in 0 1; do
  "$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic "rej$k" \
    --values "$WORK/in/rej$k.jsonl" --expect "$WORK/in/rej$k.expect" >/dev/null 2>"$WORK/produce.err" ||
    fail "producer: $(cat "$WORK/produce.err")"
done
{
  conf_head
  for k in 0 1; do
    d=$([ $k = 0 ] && echo rej-invariants || echo rej-generated)
    cat <<YAML
  - name: r$k
    path: $d
    topics: [rej$k]
    flush: { records: 100, interval: 1s }
    errors: { tolerance: all, deadletter.path: errors/r$k }
YAML
  done
} >"$WORK/ksink.yaml"
run_ksink
for k in 0 1; do
  d=$([ $k = 0 ] && echo rej-invariants || echo rej-generated)
  want=$(($(rows_of "$d") + 200))
  for _ in $(seq 600); do
    [ "$(rows_of "$d")" -ge "$want" ] && [ "$(cat "$WORK/lake/errors/r$k"/*.jsonl 2>/dev/null | wc -l)" -ge 50 ] && break
    kill -0 "$KSINK_PID" 2>/dev/null || fail "ksink exited: $(tail -5 "$WORK/ksink.err")"
    sleep 0.2
  done
done
sleep 1
kill -TERM "$KSINK_PID"
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 0 ] || fail "ksink exited $rc: $(tail -5 "$WORK/ksink.err")"
for k in 0 1; do
  d=$([ $k = 0 ] && echo rej-invariants || echo rej-generated)
  base=$(node -e "console.log(require('$CORPUS/manifest.json').tables.find(t => t.folder === '$([ $k = 0 ] && echo invariants-w7-feature || echo generatedcolumns-w4-empty)').expectedRowCount)")
  rows=$(rows_of "$d")
  [ "$rows" = $((base + 200)) ] || fail "$d: $rows rows, want $base + 200"
  cat "$WORK/lake/errors/r$k"/*.jsonl >"$WORK/rej$k.err.jsonl"
  node -e "
    const l = require('fs').readFileSync('$WORK/rej$k.err.jsonl', 'utf8').split('\n').filter(Boolean).map(JSON.parse);
    if (l.length !== 50) throw new Error(l.length + ' error lines, want 50');
    const offs = new Set(l.map((x) => x.offset));
    for (let i = 0; i < 250; i++) if ((i % 5 === 4) !== offs.has(i)) throw new Error('offset ' + i + (offs.has(i) ? ' rejected' : ' not rejected'));
    for (const x of l) {
      const m = x.error.message || '';
      if (x.error.reason !== 'constraint' || !m.includes('$([ $k = 0 ] && echo 'invariant of column col_invariants' || echo 'generated column c2')'))
        throw new Error('offset ' + x.offset + ': ' + JSON.stringify(x.error));
    }
    console.log(l[0].error.message);
  " >"$WORK/rej.out" 2>&1 || fail "$d: $(tail -2 "$WORK/rej.out")"
  log "$d: 200 records appended, the 50 breaking it rejected: $(head -1 "$WORK/rej.out")"
done

# vacuumProtocolCheck: vacuum refuses a table whose features it does not know
rc=0
"$KSINK" vacuum "file://$WORK/lake/catalogmanaged-must-refuse" --retain 7d --dry-run >/dev/null 2>"$WORK/vac.err" || rc=$?
[ "$rc" = 1 ] && grep -q "table feature catalogManaged" "$WORK/vac.err" ||
  fail "vacuum of catalogmanaged-must-refuse: exit $rc: $(cat "$WORK/vac.err")"
log "vacuum refuses catalogmanaged-must-refuse: $(head -c 160 "$WORK/vac.err")"
log "appended: ${#WRITE[@]}; refused by feature: ${#REFUSE[@]}; columns not writable: ${#NOWRITE[@]} (${NOWRITE[*]:-})"
