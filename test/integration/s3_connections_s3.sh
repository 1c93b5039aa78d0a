#!/usr/bin/env bash
# A per-worker cap on concurrent storage requests: one worker's batch is
# partitioned by user_id into a few hundred small files that all finish at
# the same flush, so as many PUTs want to run at once; the fault proxy
# holds every answer for 3 s.
# The connections from ksink to the proxy (one per request: the proxy
# closes each) are counted with ss(8) while the uploads crawl: at most 64
# at once (curl queues the rest), and more than 32 (the uploads do run in
# parallel). Every valid record lands exactly once (verify_delta).
# Needs the ctest "rgw" fixture (KS_S3_ENDPOINT).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -n "${KS_S3_ENDPOINT:-}" ] || { echo "SKIP: no KS_S3_ENDPOINT (rgw fixture)"; exit 77; }
command -v ss >/dev/null || { echo "SKIP: no ss"; exit 77; }
PARTS=8
# 400 records make ~398 files at once; KS_IT_COUNT (60,000 in the sanitizer
# pass) would make 46,000 and queue uploads for many minutes
COUNT=400
URL=s3://${KS_S3_BUCKET:-ksink-test}/conns-$$-$RANDOM
start_broker events:$PARTS

"$KS_BUILD_DIR/test/ks_fault_proxy" --upstream "${KS_S3_ENDPOINT#http://}" \
  --port-file "$WORK/proxy.port" --stats-file "$WORK/proxy.stats" \
  --delay 100 --delay-ms 3000 2>"$WORK/proxy.err" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/proxy.port" ] && break; sleep 0.1; done
[ -s "$WORK/proxy.port" ] || fail "fault proxy did not start: $(cat "$WORK/proxy.err")"
PPORT=$(cat "$WORK/proxy.port")

cat >"$WORK/ksink.yaml" <<YAML
app_id: conns
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-conns
reactor: { workers: 1 }
storage:
  url: $URL
  s3:
    endpoint: http://127.0.0.1:$PPORT
    region: us-east-1
tables:
  - name: events
    topics: [events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    partition_by: [user_id]
    max_open_partitions: 4096
    flush: { records: 1000000, interval: 3s }
    errors: { tolerance: all }
http: { listen: "127.0.0.1:0" }
YAML

"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic events \
  --count "$COUNT" --seed 3 --invalid-permille 10 \
  --expect "$WORK/expect.jsonl" >"$WORK/produce.out" 2>"$WORK/produce.err" ||
  fail "producer failed: $(cat "$WORK/produce.err")"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")
USERS=$(node -e '
const s = new Set();
for (const l of require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean)) {
  const e = JSON.parse(l);
  if (e.valid) s.add(JSON.parse(e.value).user_id);
}
console.log(s.size);' "$WORK/expect.jsonl")
log "produced $VALID valid records of $USERS users (one file each per flush)"
[ "$USERS" -gt 128 ] || fail "only $USERS users: too few files to fill 64 connections"


run_ksink
max=0
T0=$SECONDS
while [ $((SECONDS - T0)) -lt 120 ]; do
  kill -0 "$KSINK_PID" 2>/dev/null || fail "ksink exited: $(tail -5 "$WORK/ksink.err")"
  ss -Htnp state established "( dport = :$PPORT )" >"$WORK/ss.now"
  n=$(grep -c "pid=$KSINK_PID," "$WORK/ss.now" || true)
  [ "$n" -gt "$max" ] && { max=$n; cp "$WORK/ss.now" "$WORK/ss.max"; }
  [ $((SECONDS - T0)) -gt 20 ] && [ "$(s3_table_rows "$URL/events")" -ge "$VALID" ] && break
  sleep 0.05
done
log "at most $max connections from ksink's worker to storage at once (cap 64)"
[ "$max" -le 64 ] || fail "$max concurrent storage connections from one worker, cap 64"
[ "$max" -gt 32 ] || fail "only $max concurrent storage connections: the uploads did not run in parallel"
for _ in $(seq 600); do [ "$(s3_table_rows "$URL/events")" -ge "$VALID" ] && break; sleep 0.2; done
kill -TERM "$KSINK_PID"
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 0 ] || fail "ksink exited $rc after SIGTERM: $(tail -5 "$WORK/ksink.err")"
"$KS_BUILD_DIR/test/ks_s3_tool" download "$URL/events" "$WORK/table" || fail "download failed"
# DuckDB over the log's active files, user_id from the Hive directories:
# every valid record once, with its user_id and event_type
(cd "$KS_SOURCE_DIR" && node --input-type=module -e '
import { DuckDBInstance } from "@duckdb/node-api";
import fs from "fs";
import path from "path";
const [table, expect] = process.argv.slice(1);
const active = new Set();
const log = path.join(table, "_delta_log");
for (const f of fs.readdirSync(log).filter((x) => /^\d{20}\.json$/.test(x)).sort())
  for (const l of fs.readFileSync(path.join(log, f), "utf8").split("\n").filter(Boolean)) {
    const a = JSON.parse(l);
    if (a.add) active.add(decodeURIComponent(a.add.path));
    if (a.remove) active.delete(decodeURIComponent(a.remove.path));
  }
const q = String.fromCharCode(39); // a quote for the SQL string literals
const list = [...active].map((p) => q + path.join(table, p) + q).join(",");
const con = await (await DuckDBInstance.create(":memory:")).connect();
const rows = (await con.runAndReadAll(`SELECT _kafka_partition, _kafka_offset, user_id, event_type
  FROM read_parquet([${list}], hive_partitioning = true)`)).getRows();
const got = new Map();
for (const [p, o, u, t] of rows) {
  const k = `${p}@${o}`;
  if (got.has(k)) throw new Error(`${k} twice`);
  got.set(k, [String(u), t]);
}
let n = 0;
for (const l of fs.readFileSync(expect, "utf8").split("\n").filter(Boolean)) {
  const e = JSON.parse(l);
  if (!e.valid) continue;
  const v = JSON.parse(e.value), g = got.get(`${e.partition}@${e.offset}`);
  if (!g) throw new Error(`${e.partition}@${e.offset} missing`);
  if (g[0] !== String(v.user_id) || g[1] !== (v.event_type ?? null))
    throw new Error(`${e.partition}@${e.offset}: ${g} vs ${v.user_id},${v.event_type}`);
  n++;
}
if (n !== rows.length) throw new Error(`${rows.length} rows, ${n} valid records`);
console.log(`DuckDB: ${rows.length} rows in ${active.size} files, each valid record once`);
' "$WORK/table" "$WORK/expect.jsonl") || fail "table read-back differs"
log "s3_connections_s3: passed ($VALID records, proxy: $(cat "$WORK/proxy.stats"))"
