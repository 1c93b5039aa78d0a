#!/usr/bin/env bash
# The admin port under abuse (the five cases of the "hostile world" issue):
# 1. http.listen 0.0.0.0 without http.admin_token: `ksink run` refuses to
#    start (exit 2, naming http.admin_token); with a token it starts and a
#    tokenless PUT .../pause from 127.0.0.1 gets 401.
# 2. CSRF: a PUT .../pause with an Origin header, and a POST .../restart
#    whose Host is a foreign name (DNS rebinding), get 403 and change
#    nothing, even with the right token; a configured http.allowed_hosts
#    name is accepted.
# 3. A 64 MiB body to PUT .../pause (with a Content-Length, then chunked)
#    gets 413, the process's RSS does not grow by the body, and the
#    connector is not paused.
# 4. 64 idle connections, then 80: /healthz and /readyz still answer
#    within 1 s (other paths get 503 while the server is that full), and
#    /metrics answers again once the idle clients go.
# Positive controls: the same calls with a good Host and no Origin succeed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_broker events:1
APP=abuse
TOKEN=abuse-test-token
write_conf() { # $1: listen, $2: admin token (may be empty)
  cat >"$WORK/ksink.yaml" <<YAML
app_id: $APP
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: abuse
reactor: { workers: 1 }
storage:
  url: file://$WORK/lake
tables:
  - name: events
    topics: [events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
http:
  listen: "$1"
  admin_token: "$2"
  allowed_hosts: [ksink.example.internal]
YAML
}
code() { curl -s -m 5 -o "$WORK/body" -w '%{http_code}' "$@"; }
expect_code() { # want, curl args...
  local want=$1 got
  shift
  got=$(code "$@")
  [ "$got" = "$want" ] || fail "$* -> $got, want $want: $(cat "$WORK/body")"
}
state() {
  curl -sf -m 5 "$BASE/$APP/status" | grep -o '"connector":{"state":"[A-Z]*"' | grep -o '[A-Z]*"$' | tr -d '"'
}
expect_state() {
  local s
  s=$(state)
  [ "$s" = "$1" ] || fail "connector state $s, want $1 ($2)"
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$KSINK_PID/status"; }

# ---- 1. 0.0.0.0 without a token: refused at start ----
write_conf 0.0.0.0:0 ""
rc=0
timeout 30 "$KSINK" run -c "$WORK/ksink.yaml" >"$WORK/refused.out" 2>"$WORK/refused.err" || rc=$?
[ "$rc" = 2 ] || fail "0.0.0.0 without a token: exit $rc, want 2: $(tail -3 "$WORK/refused.err")"
grep -q 'http.admin_token' "$WORK/refused.err" || fail "the refusal does not name http.admin_token: $(cat "$WORK/refused.err")"
grep -q 'ksink.yaml:[0-9]*:' "$WORK/refused.err" || fail "the refusal does not name file:line: $(cat "$WORK/refused.err")"
[ ! -d "$WORK/lake/events" ] || fail "a refused start wrote to the lake"
log "1. 0.0.0.0 without a token: exit 2: $(head -c 200 "$WORK/refused.err")"
# the same with "[::]" and an empty host (every interface)
for l in "[::]:0" ":0"; do
  write_conf "$l" ""
  rc=0
  timeout 30 "$KSINK" run -c "$WORK/ksink.yaml" >/dev/null 2>"$WORK/refused.err" || rc=$?
  [ "$rc" = 2 ] && grep -q 'http.admin_token' "$WORK/refused.err" ||
    fail "listen $l without a token: exit $rc: $(cat "$WORK/refused.err")"
done

write_conf 0.0.0.0:0 "$TOKEN"
run_ksink
PORT=$(http_port "$WORK/ksink.err")
BASE=http://127.0.0.1:$PORT/connectors
wait_ready() {
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  fail "not ready: $(curl -s "http://127.0.0.1:$PORT/readyz")"
}
wait_ready
AUTH=(-H "Authorization: Bearer $TOKEN")
expect_code 401 -X PUT "$BASE/$APP/pause"
expect_state RUNNING "a tokenless pause from 127.0.0.1"
log "1. with a token on 0.0.0.0: a tokenless pause from 127.0.0.1 gets 401"

# ---- 2. CSRF / DNS rebinding ----
expect_code 403 -X PUT -H "Origin: http://evil.example" "${AUTH[@]}" "$BASE/$APP/pause"
expect_state RUNNING "a pause with an Origin header"
expect_code 403 -X POST -H "Host: evil.example:$PORT" "${AUTH[@]}" "$BASE/$APP/restart"
expect_code 403 -X PUT -H "Host: evil.example" "${AUTH[@]}" "$BASE/$APP/pause"
expect_state RUNNING "a pause with a foreign Host"
restarts() { grep -c 'restart over the REST API' "$WORK/ksink.err" || true; }
[ "$(restarts)" = 0 ] || fail "a restart with a foreign Host was carried out: $(grep restart "$WORK/ksink.err")"
expect_code 403 -X POST -H "Origin: http://evil.example" "${AUTH[@]}" "$BASE/$APP/restart"
[ "$(restarts)" = 0 ] || fail "a restart with an Origin header was carried out"
# positive controls: loopback Host, the configured name
expect_code 202 -X PUT "${AUTH[@]}" "$BASE/$APP/pause"
expect_state PAUSED "a good pause"
expect_code 202 -X PUT -H "Host: ksink.example.internal:$PORT" "${AUTH[@]}" "$BASE/$APP/resume"
expect_state RUNNING "a resume through http.allowed_hosts"
expect_code 204 -X POST "${AUTH[@]}" "$BASE/$APP/restart"
for _ in $(seq 50); do [ "$(restarts)" = 1 ] && break; sleep 0.1; done
[ "$(restarts)" = 1 ] || fail "the good restart was not carried out (control)"
wait_ready
# reads are not mutations: a foreign Host still reads
expect_code 200 -H "Host: evil.example" "$BASE/$APP/status"
log "2. Origin and foreign Host: 403, nothing changed; loopback and allowed_hosts: 202"

# ---- 3. a 64 MiB body ----
head -c $((64 << 20)) /dev/zero >"$WORK/big.bin"
before=$(rss_kb)
t0=$(date +%s%N)
got=$(curl -s -m 30 -o "$WORK/body" -w '%{http_code}' -X PUT "${AUTH[@]}" --data-binary @"$WORK/big.bin" "$BASE/$APP/pause" || true)
ms=$((($(date +%s%N) - t0) / 1000000))
after=$(rss_kb)
[ "$got" = 413 ] || fail "64 MiB body: $got, want 413: $(head -c 200 "$WORK/body")"
[ $((after - before)) -lt 8192 ] || fail "64 MiB body: RSS grew from $before to $after kB"
expect_state RUNNING "a 64 MiB pause"
log "3. 64 MiB body: 413 in ${ms} ms, RSS $before -> $after kB"
# the same body chunked (no Content-Length to answer from)
got=$(curl -s -m 30 -o "$WORK/body" -w '%{http_code}' -X PUT "${AUTH[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/big.bin" "$BASE/$APP/pause" || true)
after=$(rss_kb)
[ "$got" = 413 ] || fail "64 MiB chunked body: $got, want 413: $(head -c 200 "$WORK/body")"
[ $((after - before)) -lt 8192 ] || fail "64 MiB chunked body: RSS grew from $before to $after kB"
expect_state RUNNING "a 64 MiB chunked pause"
log "3. 64 MiB chunked body: 413, RSS $before -> $after kB"

# ---- 4. idle connections ----
idle() { # N: open N idle connections, hold them until killed
  python3 - "$PORT" "$1" "$WORK/idle.$1" <<'PY' &
import socket, sys, time
port, n, flag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = []
for _ in range(n):
    try:
        socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    except OSError:
        pass
open(flag, "w").write(str(len(socks)))
time.sleep(600)
PY
  IDLE=$!
  PIDS+=($IDLE)
  for _ in $(seq 100); do [ -s "$WORK/idle.$1" ] && break; sleep 0.1; done
  # old enough to be the ones a new connection may close (1 s, counted
  # from the server's accept, which may lag the client's connect)
  sleep 2
}
probe() { # path: answers 200 within 1 s
  local out
  out=$(curl -s -m 1 -o /dev/null -w '%{http_code} %{time_total}' "http://127.0.0.1:$PORT$1") || true
  [ "${out%% *}" = 200 ] || fail "$1 with $2 idle connections: '$out', want 200 within 1 s"
  log "4. $2 idle connections: $1 -> $out s"
}
wait_ready
for n in 64 80; do
  idle $n
  probe /healthz $n
  probe /readyz $n
  probe /healthz $n
  kill "$IDLE" 2>/dev/null || true
  wait "$IDLE" 2>/dev/null || true
  sleep 0.5
done
expect_code 200 "http://127.0.0.1:$PORT/metrics"
expect_state RUNNING "after the idle connections"

kill -TERM "$KSINK_PID"
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 0 ] || fail "ksink exited $rc: $(tail -5 "$WORK/ksink.err")"
grep -q "$TOKEN" "$WORK/ksink.err" "$WORK/ksink.out" && fail "the admin token was logged"
log "PASS: admin abuse refused"
