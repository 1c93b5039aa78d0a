#!/usr/bin/env bash
# /metrics under load: two tables fed by their own topics, while 30,000
# records (5% invalid) are produced and written, /metrics is scraped every
# 200 ms and every scrape is read by a strict text-format parser
# (test/tools/prom_check.mjs: valid lines, one TYPE per family before its
# samples, no duplicate series, cumulative histogram buckets in le order,
# counters never going down between scrapes) that also requires every
# documented family with exactly its labels. Once both tables hold every
# valid record and ksink stopped: per topic, consumed = written + rejected
# of its table; files, commits and versions match each table's Delta log;
# bytes uploaded cover the data files; the commit latency histogram counted
# the commits; lag was reported per partition while records arrived.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COUNT=${KS_IT_METRICS_COUNT:-30000}
start_broker user-events:4 orders:2
cat >"$WORK/ksink.yaml" <<YAML
app_id: metrics-it
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-metrics-it
reactor: { workers: 2 }
storage:
  url: file://$WORK/lake
tables:
  - name: user_events
    topics: [user-events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flush: { records: 3000, interval: 500ms }
    errors: { tolerance: all }
  - name: orders
    topics: [orders]
    path: sales/orders
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flush: { records: 2000, interval: 700ms }
    errors: { tolerance: all, deadletter.path: errors/orders }
http: { listen: "127.0.0.1:0" }
YAML
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic user-events \
  --count "$COUNT" --seed 4 --invalid-permille 50 --rate 5000 \
  --expect "$WORK/expect.jsonl" >"$WORK/produce.out" 2>"$WORK/produce.err" &
PRODUCER=$!
PIDS+=($PRODUCER)
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic orders \
  --count $((COUNT / 3)) --seed 5 --invalid-permille 50 --rate 2000 \
  --expect "$WORK/expect-orders.jsonl" >"$WORK/produce2.out" 2>"$WORK/produce2.err" &
PRODUCER2=$!
PIDS+=($PRODUCER2)
run_ksink
PORT=$(http_port "$WORK/ksink.err")
mkdir -p "$WORK/scrapes"
scrape() {
  n=$((n + 1))
  local f=$WORK/scrapes/$(printf %04d $n)
  curl -sf "http://127.0.0.1:$PORT/metrics" >"$f" || rm -f "$f"
}
n=0
while kill -0 "$PRODUCER" 2>/dev/null || kill -0 "$PRODUCER2" 2>/dev/null || [ $n -lt 10 ]; do
  scrape
  sleep 0.2
done
wait "$PRODUCER" || fail "producer failed: $(cat "$WORK/produce.err")"
wait "$PRODUCER2" || fail "producer failed: $(cat "$WORK/produce2.err")"
VALID=$(grep -c '"valid":true' "$WORK/expect.jsonl")
VALID2=$(grep -c '"valid":true' "$WORK/expect-orders.jsonl")
for _ in $(seq 600); do
  [ "$(table_rows "$WORK/lake/user_events")" -ge "$VALID" ] &&
    [ "$(table_rows "$WORK/lake/sales/orders")" -ge "$VALID2" ] && break
  sleep 0.1
done
# sample KEY FILE: the series' value in a scrape, 0 when absent
sample() { awk -v k="$1" 'index($0, k " ") == 1 { v = $2 } END { print v + 0 }' "$2"; }
# settled FILE: every record of both topics consumed, counted as written
# or rejected, and each table's version is its log's newest: the checks
# below compare this scrape with the log, so no commit may follow it
settled() {
  local topic t path total newest
  for x in "user-events user_events user_events $WORK/expect.jsonl" \
    "orders orders sales/orders $WORK/expect-orders.jsonl"; do
    read -r topic t path total <<<"$x"
    total=$(wc -l <"$total")
    [ "$(sample "ksink_records_consumed_total{topic=\"$topic\"}" "$1")" = "$total" ] || return 1
    [ "$(($(sample "ksink_records_written_total{table=\"$t\"}" "$1") + $(awk -v t="table=\"$t\"," \
      '/^ksink_records_rejected_total\{/ && index($0, t) { n += $2 } END { print n + 0 }' "$1")))" = "$total" ] || return 1
    newest=$(ls "$WORK/lake/$path/_delta_log" | grep -E '^[0-9]{20}\.json$' | sort | tail -1 | cut -c1-20)
    [ "$(sample "ksink_delta_version{table=\"$t\"}" "$1")" = "$((10#${newest:-0}))" ] || return 1
  done
}
for _ in $(seq 300); do
  scrape
  last=$(ls "$WORK"/scrapes/* | tail -1)
  settled "$last" && break
  sleep 0.2
done
# /status has the partitions' committed offsets as the workers last
# published them (once a second): wait until every one caught up
status_settled() {
  node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
process.exit(s.partitions.length === 6 && s.partitions.every((p) => p.committed_offset >= 0 && p.lag === 0) ? 0 : 1)' \
    "$WORK/status.json" 2>/dev/null
}
for _ in $(seq 150); do
  curl -sf "http://127.0.0.1:$PORT/status" >"$WORK/status.json" && status_settled && break
  sleep 0.2
done
[ -s "$WORK/status.json" ] || fail "no /status"
[ "$(ls "$WORK/scrapes" | wc -l)" -ge 10 ] || fail "too few scrapes"
REQUIRE=()
for r in 'ksink_records_consumed_total{topic}' 'ksink_records_written_total{table}' \
  'ksink_records_rejected_total{table,reason}' ksink_bytes_consumed_total \
  ksink_bytes_uploaded_total 'ksink_files_written_total{table,format}' \
  ksink_s3_request_duration_seconds ksink_s3_retries_total ksink_circuit_breaker_open \
  'ksink_delta_commits_total{table}' 'ksink_delta_commit_conflicts_total{table}' \
  'ksink_delta_version{table}' ksink_commit_latency_seconds \
  'ksink_consumer_lag{topic,partition}' 'ksink_buffered_bytes{worker}' \
  ksink_partitions_paused 'ksink_deadletter_file_records_total{table}' \
  'ksink_files_open{table}' 'ksink_records_rejected_by_keyword_total{table,keyword}' \
  process_cpu_seconds_total process_resident_memory_bytes \
  ksink_ready 'ksink_build_info{version,commit,build_type}' 'ksink_table_freshness_seconds{table}' \
  'ksink_commit_duration_seconds{table}' 'ksink_deadletter_failures_total{table,reason}'; do
  REQUIRE+=(--require "$r")
done
node "$KS_SOURCE_DIR/test/tools/prom_check.mjs" "${REQUIRE[@]}" "$WORK"/scrapes/* >"$WORK/last.json" ||
  fail "a scrape is not valid Prometheus text or lacks a family"
# lag per partition was there while records arrived
grep -q '^ksink_consumer_lag{topic="user-events",partition="3"}' "$WORK"/scrapes/* ||
  fail "no lag reported for user-events[3]"
kill -TERM "$KSINK_PID"
wait "$KSINK_PID" || fail "ksink exited $?"
# the process's last word: counters after the shutdown flush, and the logs
grep -q '"level":"error"' "$WORK/ksink.err" && fail "ksink logged errors: $(grep '"level":"error"' "$WORK/ksink.err" | head -3)"
node -e '
const fs = require("fs");
const [last, status, lake, v1, v2, e2] = process.argv.slice(1);
const s = JSON.parse(fs.readFileSync(last, "utf8")).series;
const get = (k) => s[k] ?? NaN;
const sum = (re) => Object.entries(s).filter(([k]) => re.test(k)).reduce((n, [, v]) => n + v, 0);
const bad = [];
const check = (ok, what) => { console.log(`${ok ? "ok  " : "FAIL"} ${what}`); if (!ok) bad.push(what); };
const tables = [["user_events", "user-events", "user_events", +v1], ["orders", "orders", "sales/orders", +v2]];
let dataBytes = 0;
for (const [t, topic, path, valid] of tables) {
  const consumed = get(`ksink_records_consumed_total{topic="${topic}"}`);
  const written = get(`ksink_records_written_total{table="${t}"}`);
  const rejected = sum(new RegExp(`^ksink_records_rejected_total\\{table="${t}",`));
  check(consumed === written + rejected && written === valid,
        `${t}: consumed ${consumed} = written ${written} + rejected ${rejected}; valid ${valid}`);
  const log = fs.readdirSync(`${lake}/${path}/_delta_log`).filter((f) => /^\d{20}\.json$/.test(f)).sort();
  const version = Number(log[log.length - 1].slice(0, 20));
  check(get(`ksink_delta_version{table="${t}"}`) === version, `${t}: version ${get(`ksink_delta_version{table="${t}"}`)} = log ${version}`);
  check(get(`ksink_delta_commits_total{table="${t}"}`) === log.length, `${t}: commits ${get(`ksink_delta_commits_total{table="${t}"}`)} = ${log.length} log entries`);
  const files = fs.readdirSync(`${lake}/${path}`).filter((f) => f.endsWith(".parquet"));
  check(get(`ksink_files_written_total{table="${t}",format="delta"}`) === files.length, `${t}: files ${get(`ksink_files_written_total{table="${t}",format="delta"}`)} = ${files.length} data files`);
  for (const f of files) dataBytes += fs.statSync(`${lake}/${path}/${f}`).size;
  check(get(`ksink_delta_commit_conflicts_total{table="${t}"}`) === 0, `${t}: no conflicts with one writer`);
  const schemaRej = get(`ksink_records_rejected_total{table="${t}",reason="schema"}`);
  const byKeyword = sum(new RegExp(`^ksink_records_rejected_by_keyword_total\\{table="${t}",`));
  check(schemaRej > 0 && byKeyword === schemaRej, `${t}: schema rejects ${schemaRej} = by keyword ${byKeyword}`);
}
const rejectedOrders = sum(/^ksink_records_rejected_total\{table="orders",/);
check(get(`ksink_deadletter_file_records_total{table="orders"}`) === rejectedOrders, `orders: error-file records = rejected ${rejectedOrders}`);
check(get(`ksink_deadletter_file_records_total{table="user_events"}`) === 0, "user_events: no error files");
const up = get("ksink_bytes_uploaded_total{}");
check(up >= dataBytes, `bytes uploaded ${up} >= data files ${dataBytes}`);
const commits = sum(/^ksink_delta_commits_total\{/);
const lat = get("ksink_commit_latency_seconds_count{}");
check(lat >= commits && lat > 0, `commit latency observations ${lat} >= commits ${commits}`);
check(get("process_cpu_seconds_total{}") > 0 && get("process_resident_memory_bytes{}") > 1e6, "process CPU and RSS");
for (const [t] of tables) {
  const n = get(`ksink_commit_duration_seconds_count{table="${t}"}`);
  const c = get(`ksink_delta_commits_total{table="${t}"}`);
  check(n === c, `${t}: commit duration observations ${n} = commits ${c}`);
  const f = get(`ksink_table_freshness_seconds{table="${t}"}`);
  check(f >= 0 && f < 120, `${t}: freshness ${f} s`);
  const dlf = sum(new RegExp(`^ksink_deadletter_failures_total\\{table="${t}",`));
  check(dlf === 0, `${t}: no dead-letter failures (${dlf})`);
}
const bi = Object.keys(s).filter((k) => k.startsWith("ksink_build_info{"));
check(bi.length === 1 && bi[0].includes(`commit="${process.argv[7]}"`), `build info ${bi} names commit ${process.argv[7]}`);
const st = JSON.parse(fs.readFileSync(status, "utf8"));
check(st.partitions.length === 6 && st.partitions.every((p) => p.committed_offset >= 0 && p.lag === 0),
      `/status: 6 partitions, all committed, lag 0 (${JSON.stringify(st.partitions.map((p) => [p.topic, p.partition, p.lag]))})`);
check(st.tables.map((t) => t.name).join() === "user_events,orders" && st.tables.every((t) => t.version >= 0 && t.last_commit_time),
      "/status: tables with versions and commit times");
check(st.workers.length === 2 && st.workers.every((w) => "buffered_bytes" in w && "core" in w), "/status: workers");
process.exit(bad.length ? 1 : 0);' \
  "$WORK/last.json" "$WORK/status.json" "$WORK/lake" "$VALID" "$VALID2" x \
  "$("$KSINK" --version | head -1 | sed 's/.*(\(.*\))/\1/')" || fail "counters do not add up"
node "$KS_SOURCE_DIR/test/tools/verify_errfiles.mjs" "$WORK/expect-orders.jsonl" "$WORK/lake/errors/orders" orders ||
  fail "orders error files"
# every Grafana panel queries series this scrape has, by labels they carry
node -e '
const fs = require("fs");
const s = JSON.parse(fs.readFileSync(process.argv[1], "utf8")).series;
const d = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const declared = new Set([...fs.readFileSync(process.argv[3], "utf8").matchAll(/^# TYPE ([^ ]+)/gm)].map((m) => m[1]));
const labels = new Map();
for (const k of Object.keys(s)) {
  const [, name, ls] = /^([^{]+)\{(.*)\}$/.exec(k);
  const set = labels.get(name) ?? new Set();
  for (const m of ls.matchAll(/([a-z_]+)="/g)) set.add(m[1]);
  labels.set(name, set);
}
let bad = 0, n = 0;
for (const p of d.panels) for (const t of p.targets ?? []) {
  const names = [...t.expr.matchAll(/\b((?:ksink|process)_[a-z0-9_]+)/g)].map((m) => m[1]);
  const by = [...t.expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) => m[1].split(",").map((x) => x.trim()));
  /* Label matchers: only job and instance (every scrape adds them) or the
   * series own labels; never Kubernetes-only ones, which would leave the
   * panel empty outside Kubernetes. */
  const matchers = [...t.expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) => [...m[1].matchAll(/([a-z_]+)\s*=~?/g)].map((x) => x[1]));
  for (const l of [...matchers, ...by])
    if (["namespace", "pod"].includes(l)) { console.error(`panel "${p.title}": filters or groups on ${l}, a Kubernetes-only label`); bad++; }
  for (const name of names) {
    n++;
    const have = labels.get(name);
    const family = name.replace(/_bucket$/, "");
    if (!have && !declared.has(family)) { console.error(`panel "${p.title}": no family ${name}`); bad++; continue; }
    if (!have) continue; /* declared, no series yet (S3 on a file:// run) */
    for (const l of by)
      if (!["job", "instance", "le"].includes(l) && !have.has(l)) { console.error(`panel "${p.title}": ${name} has no label ${l}`); bad++; }
  }
}
console.log(`dashboard: ${n} metric references, ${bad} without series`);
process.exit(bad ? 1 : 0);' "$WORK/last.json" "$KS_SOURCE_DIR/deploy/grafana/ksink.json" \
  "$(ls "$WORK"/scrapes/* | tail -1)" ||
  fail "the Grafana dashboard queries series /metrics does not have"
log "metrics_scrape: $(ls "$WORK/scrapes" | wc -l) scrapes passed"
