#!/usr/bin/env bash
# The Connect REST endpoints tools probe first, checked against the shapes
# of Apache Kafka's documented examples (Kafka 3.7 "Connect REST
# Interface"; offsets and stop: KIP-875): GET / (version, commit,
# kafka_cluster_id), GET /connectors?expand=status / ?expand=info (and
# both), GET /connectors/<name>/offsets, PUT /connectors/<name>/stop (202,
# then STOPPED with no tasks, consumption halted) and resume, GET
# /connector-plugins. A shape is the set of keys and the JSON type of
# every value, recursively (test/tools/json_shape.mjs).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
COUNT=4000
APP=shapes-it
start_broker user-events:4
cat >"$WORK/ksink.yaml" <<YAML
app_id: $APP
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-shapes-it
reactor: { workers: 2 }
storage:
  url: file://$WORK/lake
tables:
  - name: user_events
    topics: [user-events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flush: { records: 1000, interval: 300ms }
http: { listen: "127.0.0.1:0" }
YAML
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic user-events \
  --count "$COUNT" --seed 5 --invalid-permille 0 --expect "$WORK/expect.jsonl" >"$WORK/produce.out" 2>"$WORK/produce.err" ||
  fail "producer: $(cat "$WORK/produce.err")"
run_ksink
wait_rows "$WORK/lake/user_events" "$COUNT"
PORT=$(http_port "$WORK/ksink.err")
ROOT=http://127.0.0.1:$PORT
SHAPE="node $KS_SOURCE_DIR/test/tools/json_shape.mjs"
get() { # PATH -> body in $WORK/body; expects 200
  local c
  c=$(curl -s -o "$WORK/body" -w '%{http_code}' "$ROOT$1")
  [ "$c" = 200 ] || fail "GET $1 -> $c: $(cat "$WORK/body")"
}

# GET /: {"version":"3.7.0","commit":"...","kafka_cluster_id":"..."}
get /
$SHAPE "$WORK/body" '{"version":"3.7.0","commit":"e3f5d3b5d1c2a3f4","kafka_cluster_id":"I4ZmrWqfT2e-upky_4fdPA"}' ||
  fail "GET /: $(cat "$WORK/body")"
grep -q "\"commit\":\"$("$KSINK" --version | head -1 | sed 's/.*(\(.*\))/\1/')\"" "$WORK/body" ||
  fail "GET / commit differs from --version: $(cat "$WORK/body")"

STATUS='{"name":"a","connector":{"state":"RUNNING","worker_id":"h:8083"},"tasks":[{"id":0,"state":"RUNNING","worker_id":"h:8083"}],"type":"sink"}'
INFO='{"name":"a","config":{"connector.class":"c","tasks.max":"1","topics":"t","name":"a"},"tasks":[{"connector":"a","task":0}],"type":"sink"}'
get "/connectors?expand=status"
$SHAPE "$WORK/body" "{\"$APP\":{\"status\":$STATUS}}" || fail "expand=status: $(cat "$WORK/body")"
get "/connectors?expand=info"
$SHAPE "$WORK/body" "{\"$APP\":{\"info\":$INFO}}" --open-maps config || fail "expand=info: $(cat "$WORK/body")"
get "/connectors?expand=status&expand=info"
$SHAPE "$WORK/body" "{\"$APP\":{\"status\":$STATUS,\"info\":$INFO}}" --open-maps config || fail "expand both: $(cat "$WORK/body")"
get /connectors
[ "$(cat "$WORK/body")" = "[\"$APP\"]" ] || fail "GET /connectors: $(cat "$WORK/body")"

# offsets: every partition at its committed position; they add up to COUNT
# (the partition list is republished every second: wait for the last commit
# to show)
offsets_done() {
  get "/connectors/$APP/offsets"
  node -e '
const o = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).offsets;
process.exit(o.length === 4 && o.reduce((n, e) => n + e.offset.kafka_offset, 0) === Number(process.argv[2]) ? 0 : 1)' \
    "$WORK/body" "$COUNT"
}
for _ in $(seq 50); do offsets_done && break; sleep 0.2; done
$SHAPE "$WORK/body" '{"offsets":[{"partition":{"kafka_topic":"t","kafka_partition":0},"offset":{"kafka_offset":5}}]}' ||
  fail "offsets: $(cat "$WORK/body")"
node -e '
const o = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).offsets;
const sum = o.reduce((n, e) => n + e.offset.kafka_offset, 0);
if (o.length !== 4 || sum !== Number(process.argv[2]) || o.some(e => e.partition.kafka_topic !== "user-events"))
  { console.error("offsets", JSON.stringify(o), "sum", sum); process.exit(1); }' "$WORK/body" "$COUNT" ||
  fail "offsets do not match the committed records"

get /connector-plugins
$SHAPE "$WORK/body" '[{"class":"io.confluent.connect.s3.S3SinkConnector","type":"sink","version":"10.5.0"}]' ||
  fail "connector-plugins: $(cat "$WORK/body")"

# stop: 202, STOPPED with no tasks, nothing consumed while stopped
c=$(curl -s -o "$WORK/body" -w '%{http_code}' -X PUT "$ROOT/connectors/$APP/stop")
[ "$c" = 202 ] || fail "PUT stop -> $c: $(cat "$WORK/body")"
[ ! -s "$WORK/body" ] || fail "PUT stop body: $(cat "$WORK/body")"
get "/connectors/$APP/status"
node -e '
const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
if (s.connector.state !== "STOPPED" || s.tasks.length !== 0) { console.error(JSON.stringify(s)); process.exit(1); }' \
  "$WORK/body" || fail "status after stop: $(cat "$WORK/body")"
consumed() { curl -sf "$ROOT/metrics" | awk '/^ksink_records_consumed_total/ {n += $2} END {print n + 0}'; }
sleep 0.5
before=$(consumed)
"$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic user-events \
  --count 500 --seed 6 --invalid-permille 0 --expect "$WORK/expect2.jsonl" >/dev/null 2>"$WORK/produce2.err" ||
  fail "producer: $(cat "$WORK/produce2.err")"
sleep 1.5
[ "$(consumed)" = "$before" ] || fail "consumed $(consumed) records while stopped (was $before)"
c=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$ROOT/connectors/$APP/resume")
[ "$c" = 202 ] || fail "PUT resume -> $c"
get "/connectors/$APP/status"
grep -q '"state":"RUNNING"' "$WORK/body" || fail "status after resume: $(cat "$WORK/body")"
wait_rows "$WORK/lake/user_events" $((COUNT + 500))
kill -TERM "$KSINK_PID"
wait "$KSINK_PID" || fail "ksink exited $?"
log "connect_rest_shapes: passed"
