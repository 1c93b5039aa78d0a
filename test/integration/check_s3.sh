#!/usr/bin/env bash
# `ksink check -c FILE` (CLI.md): a good config against the mock broker and
# Ceph RGW passes every item (exit 0); then each fault is named on its own
# FAIL line with the right exit code: a wrong bootstrap (1), a missing topic
# (1), a store that ignores conditional writes -- ks_fault_proxy turning
# RGW's 412 into 200 (1) -- a wrong schema path and a schema that does not
# compile (2). Needs the ctest
# "rgw" fixture (KS_S3_ENDPOINT).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -n "${KS_S3_ENDPOINT:-}" ] || { echo "SKIP: no KS_S3_ENDPOINT (rgw fixture)"; exit 77; }
start_broker user-events:4
URL=s3://${KS_S3_BUCKET:-ksink-test}/check-$$-$RANDOM
"$KS_BUILD_DIR/test/ks_fault_proxy" --upstream "${KS_S3_ENDPOINT#http://}" \
  --port-file "$WORK/proxy.port" --ignore-if-none-match 1 2>"$WORK/proxy.err" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/proxy.port" ] && break; sleep 0.1; done
[ -s "$WORK/proxy.port" ] || fail "fault proxy did not start: $(cat "$WORK/proxy.err")"
PROXY_EP=http://127.0.0.1:$(cat "$WORK/proxy.port")

# conf NAME BOOTSTRAP TOPIC ENDPOINT SCHEMA
conf() {
  cat >"$WORK/$1.yaml" <<YAML
app_id: check-it
kafka:
  bootstrap.servers: $2
  group.id: ksink-check-it
storage:
  url: $URL
  s3: { endpoint: $4, region: us-east-1, addressing: path }
tables:
  - name: user_events
    topics: [$3]
    schema: $5
YAML
}
SCHEMA=$KS_SOURCE_DIR/conf/schemas/user-events.json
conf good "$BOOTSTRAP" user-events "$KS_S3_ENDPOINT" "$SCHEMA"
conf badboot 127.0.0.1:1 user-events "$KS_S3_ENDPOINT" "$SCHEMA"
conf notopic "$BOOTSTRAP" no-such-topic "$KS_S3_ENDPOINT" "$SCHEMA"
conf nocond "$BOOTSTRAP" user-events "$PROXY_EP" "$SCHEMA"
conf nosschema "$BOOTSTRAP" user-events "$KS_S3_ENDPOINT" "$WORK/missing.json"
echo '{"type": "object", "properties": {"a": {"type": 12}}}' >"$WORK/bad.json"
conf badschema "$BOOTSTRAP" user-events "$KS_S3_ENDPOINT" "$WORK/bad.json"

# expect NAME EXIT REGEX: ksink check exits EXIT and prints a line matching REGEX
expect() {
  local rc=0
  "$KSINK" check -c "$WORK/$1.yaml" --timeout 5s >"$WORK/$1.out" 2>"$WORK/$1.err" || rc=$?
  [ "$rc" = "$2" ] || fail "$1: exit $rc, expected $2: $(cat "$WORK/$1.out" "$WORK/$1.err")"
  grep -qE "$3" "$WORK/$1.out" || fail "$1: no line matching '$3': $(cat "$WORK/$1.out")"
  log "$1: exit $rc: $(grep -E "$3" "$WORK/$1.out" | head -1)"
}
expect good 0 '^result: all passed'
for item in 'config:' 'schema user_events' 'kafka topic user-events' \
  'write _ksink_check' 'second put-if-absent is refused' 'read back' 'delete'; do
  grep -E "^ok +.*$item" "$WORK/good.out" >/dev/null || fail "good: no ok line for $item: $(cat "$WORK/good.out")"
done
grep -q '^FAIL' "$WORK/good.out" && fail "good config: $(cat "$WORK/good.out")"
grep -qE '^skip +schema registry: not configured' "$WORK/good.out" || fail "registry line: $(cat "$WORK/good.out")"
# the scratch object is gone
"$KS_BUILD_DIR/test/ks_s3_tool" download "$URL/_ksink_check" "$WORK/left" 2>/dev/null || true
[ -z "$(find "$WORK/left" -type f 2>/dev/null)" ] || fail "scratch objects left: $(find "$WORK/left" -type f)"

expect badboot 1 '^FAIL +kafka: no metadata from bootstrap.servers 127.0.0.1:1'
expect notopic 1 '^FAIL +kafka topic no-such-topic \(table user_events\): does not exist'
expect nocond 1 '^FAIL +storage .*second put-if-absent replaced the object'
expect nosschema 2 '^FAIL +config: .*tables\[0\]\.schema: cannot read schema file .*missing.json'
expect badschema 2 '^FAIL +schema user_events: .*bad.json'
# a bad schema still lets the other items run: one report, every problem
grep -qE '^ok +kafka topic user-events' "$WORK/badschema.out" || fail "badschema: kafka not checked: $(cat "$WORK/badschema.out")"

# `ksink run` against a store that honours If-None-Match on a PutObject but
# not on a CompleteMultipartUpload (a second proxy turns only the POST's
# 412 into 200; RGW itself ignores it there): the start-up probe names it
# in a warning and the run goes on (large files are looked up before their
# completion instead), leaving no probe object behind
"$KS_BUILD_DIR/test/ks_fault_proxy" --upstream "${KS_S3_ENDPOINT#http://}" \
  --port-file "$WORK/proxy2.port" --ignore-if-none-match 2 2>"$WORK/proxy2.err" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/proxy2.port" ] && break; sleep 0.1; done
[ -s "$WORK/proxy2.port" ] || fail "second fault proxy did not start: $(cat "$WORK/proxy2.err")"
conf nocomplete "$BOOTSTRAP" user-events "http://127.0.0.1:$(cat "$WORK/proxy2.port")" "$SCHEMA"
"$KSINK" run -c "$WORK/nocomplete.yaml" >"$WORK/nocomplete.out" 2>&1 &
NC_PID=$!
PIDS+=($NC_PID)
for _ in $(seq 100); do grep -q 'does not refuse a multipart upload completed' "$WORK/nocomplete.out" && break; sleep 0.2; done
grep -q 'does not refuse a multipart upload completed (If-None-Match: \*)' "$WORK/nocomplete.out" ||
  fail "nocomplete: no warning: $(tail -5 "$WORK/nocomplete.out")"
sleep 1
kill -0 "$NC_PID" 2>/dev/null || fail "nocomplete: ksink run stopped: $(tail -5 "$WORK/nocomplete.out")"
kill -TERM "$NC_PID"; wait "$NC_PID" || true
"$KS_BUILD_DIR/test/ks_s3_tool" download "$URL/_ksink_probe" "$WORK/left2" 2>/dev/null || true
[ -z "$(find "$WORK/left2" -type f 2>/dev/null)" ] || fail "probe objects left: $(find "$WORK/left2" -type f)"
log "nocomplete: warned and ran: $(grep -o 'the store does not refuse a multipart[^(]*' "$WORK/nocomplete.out" | head -1)"
log "check_s3: passed"
