#!/usr/bin/env bash
# Two processes learn the same field with different types at the same
# moment: p1 (topic ta) and p2 (topic tb, another group and app_id) write
# one schemaless table that does not exist yet; ta's records carry f as an
# integer, tb's as a string. Both start idle, then both topics fill at
# once. One commit creates the table; the other process finds a table
# that types f otherwise, must not commit (its files hold f as the other
# type), and stops with exit 1 and a message naming the column, its
# offsets uncommitted. Restarted, it loads the table's columns and its
# records go to the dead letters as type_conflict: the table holds exactly
# the winner's records, the loser's are all counted, nothing is lost.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_broker ta:2 tb:2
TABLE=$WORK/lake/events

# conf NAME TOPIC PORT > FILE
conf() {
  cat <<YAML
app_id: $1
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: $1
  session.timeout.ms: 6000
reactor: { workers: 1 }
storage:
  url: file://$WORK/lake
tables:
  - name: events
    topics: [$2]
    path: events
    schema_evolution: add_columns
    flush: { records: 100, interval: 1s }
    errors: { tolerance: all, deadletter.path: errors-$1, log.enable: false }
http: { listen: "127.0.0.1:$3" }
YAML
}
# port 0: a port picked here may be taken meanwhile (see http_port); a
# CI run failed on "address already in use"
conf r1 ta 0 >"$WORK/p1.yaml"
conf r2 tb 0 >"$WORK/p2.yaml"

for i in $(seq 1 300); do echo "{\"id\":$i,\"f\":$i}"; done >"$WORK/ta.jsonl"
for i in $(seq 1001 1300); do echo "{\"id\":$i,\"f\":\"s$i\"}"; done >"$WORK/tb.jsonl"

run_member p1 "$WORK/p1.yaml"
P1=$MEMBER_PID
run_member p2 "$WORK/p2.yaml"
P2=$MEMBER_PID
wait_log "$WORK/p1.err" '"msg":"kafka: assigned' 1 30
wait_log "$WORK/p2.err" '"msg":"kafka: assigned' 1 30
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic ta --values "$WORK/ta.jsonl" >/dev/null 2>"$WORK/pa.err" &
PA=$!
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic tb --values "$WORK/tb.jsonl" >/dev/null 2>"$WORK/pb.err" &
PB=$!
wait "$PA" || fail "producer ta: $(cat "$WORK/pa.err")"
wait "$PB" || fail "producer tb: $(cat "$WORK/pb.err")"

# exactly one of them stops
LOSER=
for _ in $(seq 600); do
  if ! kill -0 "$P1" 2>/dev/null; then LOSER=p1; break; fi
  if ! kill -0 "$P2" 2>/dev/null; then LOSER=p2; break; fi
  sleep 0.1
done
[ -n "$LOSER" ] || fail "neither process stopped: $(tail -3 "$WORK/p1.err") / $(tail -3 "$WORK/p2.err")"
if [ "$LOSER" = p1 ]; then LPID=$P1 WPID=$P2 WINNER=p2 WIN_FILE=tb LOSE_FILE=ta; else
  LPID=$P2 WPID=$P1 WINNER=p1 WIN_FILE=ta LOSE_FILE=tb; fi
rc=0
wait "$LPID" || rc=$?
[ "$rc" = 1 ] || fail "$LOSER exited $rc, want 1"
grep -q 'another writer gave the table columns this process cannot write with: column f' "$WORK/$LOSER.err" ||
  fail "$LOSER: no conflict message: $(grep '"level":"error"' "$WORK/$LOSER.err" | head -3)"
log "$LOSER lost the race and stopped: $(grep -o 'another writer gave[^"]*' "$WORK/$LOSER.err" | head -1 | cut -c1-200)"

for _ in $(seq 300); do
  [ "$(table_rows "$TABLE")" -ge 300 ] && break
  sleep 0.1
done
[ "$(table_rows "$TABLE")" = 300 ] || fail "table has $(table_rows "$TABLE") rows, want the winner's 300"

# the loser again: the table's columns, its records rejected, none lost
mv "$WORK/$LOSER.err" "$WORK/$LOSER-1.err"
run_member "$LOSER" "$WORK/$LOSER.yaml"
LPID=$MEMBER_PID
LPORT=$(http_port "$WORK/$LOSER.err")
N=0
for _ in $(seq 300); do
  N=$(curl -sf "http://127.0.0.1:$LPORT/metrics" 2>/dev/null |
    awk '/^ksink_records_rejected_total\{.*reason="type_conflict"/ {n += $2} END {print n + 0}') || N=0
  [ "$N" -ge 300 ] && break
  sleep 0.2
done
[ "$N" = 300 ] || fail "restarted $LOSER rejected $N records, want 300"
sleep 2 # the error files gate the batch's commit
stop_member "$LOSER" "$LPID"
stop_member "$WINNER" "$WPID"
[ "$(table_rows "$TABLE")" = 300 ] || fail "table has $(table_rows "$TABLE") rows after the restart"
LINES=$(find "$WORK/lake/errors-$( [ "$LOSER" = p1 ] && echo r1 || echo r2)" -type f -name '*.jsonl*' -exec cat {} + | wc -l)
[ "$LINES" = 300 ] || fail "$LINES error-file lines, want 300"

node --input-type=module - "$TABLE" "$WORK/$WIN_FILE.jsonl" <<'JS'
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
const [table, winFile] = process.argv.slice(2);
const fail = (m) => { console.error(`FAIL: ${m}`); process.exit(1); };
const active = new Set();
let schema;
for (const f of fs.readdirSync(path.join(table, '_delta_log')).filter((f) => /^\d{20}\.json$/.test(f)).sort())
  for (const l of fs.readFileSync(path.join(table, '_delta_log', f), 'utf8').split('\n').filter(Boolean)) {
    const a = JSON.parse(l);
    if (a.metaData) schema = JSON.parse(a.metaData.schemaString);
    if (a.add) active.add(a.add.path);
    if (a.remove) active.delete(a.remove.path);
  }
const want = new Map(fs.readFileSync(winFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).map((r) => [r.id, r.f]));
const fType = schema.fields.find((x) => x.name === 'f').type;
if (fType !== (typeof [...want.values()][0] === 'number' ? 'long' : 'string')) fail(`f is ${fType}`);
const db = await (await DuckDBInstance.create(':memory:')).connect();
const files = [...active].map((p) => `'${path.join(table, p)}'`).join(',');
const rows = (await db.runAndReadAll(`SELECT id, f FROM read_parquet([${files}])`)).getRowObjects();
if (rows.length !== want.size) fail(`${rows.length} rows`);
for (const r of rows) {
  const id = Number(r.id);
  const f = typeof want.get(id) === 'number' ? Number(r.f) : r.f;
  if (!want.has(id) || f !== want.get(id)) fail(`row ${id}: ${r.f}`);
}
console.log(`${rows.length} rows of the winner, f ${fType}`);
JS
log "schemaless_race: passed"
