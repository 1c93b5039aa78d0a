# Helpers for the credential chain tests (sourced by creds_*_s3.sh): the
# node fixture (test/tools/aws_creds_fixture.mjs) serving STS, IMDSv2 and
# container credentials and a SigV4-checking S3 front to RGW, and one
# "scenario": a topic produced, ksink run with exactly the given
# credential environment (nothing else: no AWS_* from the test's own
# environment, HOME without ~/.aws), the table verified row for row.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -n "${KS_S3_ENDPOINT:-}" ] || { echo "SKIP: no KS_S3_ENDPOINT (rgw fixture)"; exit 77; }
S3TOOL=$KS_BUILD_DIR/test/ks_s3_tool
BASEURL=s3://${KS_S3_BUCKET:-ksink-test}/creds-$$-$RANDOM
STATIC_AK=AKIDSTATICFIXTURE001
STATIC_SK=staticfixturesecret0000000000000000000001
mkdir -p "$WORK/home"

# start_creds_fixture TTL [args...]: sets AUTH_EP, S3_EP
start_creds_fixture() {
  local ttl=$1
  shift
  node "$KS_SOURCE_DIR/test/tools/aws_creds_fixture.mjs" --port-file "$WORK/fixture.ports" \
    --ttl "$ttl" --upstream "$KS_S3_ENDPOINT" --upstream-ak "$AWS_ACCESS_KEY_ID" \
    --upstream-sk "$AWS_SECRET_ACCESS_KEY" --static-ak "$STATIC_AK" --static-sk "$STATIC_SK" \
    --web-token-file "$WORK/web-token" "$@" >"$WORK/fixture.out" 2>"$WORK/fixture.err" &
  PIDS+=($!)
  for _ in $(seq 100); do [ -s "$WORK/fixture.ports" ] && break; sleep 0.1; done
  [ -s "$WORK/fixture.ports" ] || fail "credentials fixture did not start: $(cat "$WORK/fixture.err")"
  AUTH_EP=http://127.0.0.1:$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).auth)' "$WORK/fixture.ports")
  S3_EP=http://127.0.0.1:$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).s3)' "$WORK/fixture.ports")
  log "credentials fixture: auth $AUTH_EP, s3 front $S3_EP (ttl ${ttl}s)"
}

fixture_stats() { curl -sf "$AUTH_EP/__stats"; }

# write_conf NAME [extra s3 yaml lines]: $WORK/NAME/ksink.yaml for topic NAME
# (ksink listens on a port of its own choosing: http_port reads it from the
# log; a port picked before ksink binds it can be taken meanwhile)
write_conf() {
  local name=$1
  shift
  mkdir -p "$WORK/$name"
  {
    cat <<YAML
app_id: it
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: ksink-creds-$name
reactor: { workers: 2 }
storage:
  url: $BASEURL
  s3:
    endpoint: $S3_EP
    addressing: path
    retry: { base: 50ms, cap: 1s, max_attempts: 6 }
    stale_upload_age: 2s
YAML
    for l in "$@"; do echo "    $l"; done
    cat <<YAML
tables:
  - name: $name
    topics: [$name]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
    flush: { records: 2000, interval: 1s }
    errors: { tolerance: all }
http: { listen: "127.0.0.1:0" }
YAML
  } >"$WORK/$name/ksink.yaml"
}

# ksink_with NAME VAR=VALUE...: runs ksink for NAME in the background with
# only these variables (plus PATH, HOME); sets KSINK_PID.
ksink_with() {
  local name=$1
  shift
  env -i PATH="$PATH" HOME="$WORK/home" ASAN_OPTIONS="${ASAN_OPTIONS:-}" \
    UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" "$@" \
    "$KSINK" run -c "$WORK/$name/ksink.yaml" >"$WORK/$name/ksink.out" 2>"$WORK/$name/ksink.err" &
  KSINK_PID=$!
  PIDS+=($KSINK_PID)
}

s3_table_rows() {
  rm -rf "$WORK/poll"
  "$S3TOOL" download "$BASEURL/$1/_delta_log" "$WORK/poll/_delta_log" 2>/dev/null || { echo 0; return; }
  table_rows "$WORK/poll"
}

# produce NAME COUNT RATE: in the background; sets PRODUCER
produce() {
  "$KS_BUILD_DIR/test/ks_produce" --bootstrap "$BOOTSTRAP" --topic "$1" \
    --count "$2" --seed 3 --invalid-permille 0 --rate "$3" \
    --expect "$WORK/$1/expect.jsonl" >"$WORK/$1/produce.out" 2>"$WORK/$1/produce.err" &
  PRODUCER=$!
  PIDS+=($PRODUCER)
}

# finish NAME: waits for every produced row, SIGTERMs ksink, checks its
# exit and log, verifies the table against what was produced.
finish() {
  local name=$1
  wait "$PRODUCER" || fail "$name: producer failed: $(cat "$WORK/$name/produce.err")"
  local want
  want=$(wc -l <"$WORK/$name/expect.jsonl")
  for _ in $(seq 600); do
    [ "$(s3_table_rows "$name")" -ge "$want" ] && break
    kill -0 "$KSINK_PID" 2>/dev/null || fail "$name: ksink exited: $(tail -5 "$WORK/$name/ksink.err")"
    sleep 0.3
  done
  PORT=$(KSINK_HTTP_SEEN=0 http_port "$WORK/$name/ksink.err")
  curl -sf "http://127.0.0.1:$PORT/metrics" >"$WORK/$name/metrics" || true
  curl -sf "http://127.0.0.1:$PORT/status" >"$WORK/$name/status.json" || true
  kill -TERM "$KSINK_PID"
  local rc=0
  wait "$KSINK_PID" || rc=$?
  [ "$rc" = 0 ] || fail "$name: ksink exited $rc: $(tail -20 "$WORK/$name/ksink.err")"
  grep -q '"level":"error"' "$WORK/$name/ksink.err" &&
    fail "$name: ksink logged errors: $(grep '"level":"error"' "$WORK/$name/ksink.err" | head -3)"
  "$S3TOOL" download "$BASEURL/$name" "$WORK/$name/table" 2>/dev/null || fail "$name: download failed"
  node "$KS_SOURCE_DIR/test/tools/verify_delta.mjs" --table "$WORK/$name/table" \
    --expect "$WORK/$name/expect.jsonl" --app-id it --topic "$name" >"$WORK/$name/verify.out" ||
    fail "$name: verify_delta: $(tail -5 "$WORK/$name/verify.out")"
}

# metric FILE NAME{LABELS}: the sample's value, 0 when absent
metric() {
  awk -v k="$2" 'index($0, k" ") == 1 { print $2; f = 1 } END { if (!f) print 0 }' "$1"
}
