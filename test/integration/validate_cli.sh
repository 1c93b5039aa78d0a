#!/usr/bin/env bash
# `ksink validate` against its contract (CLI.md): one stdout line per input
# line, control characters escaped, exit codes 0/1/2, the built-in
# meta-schema, remote refs from a local directory, --format-assertion.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SCHEMA=$KS_SOURCE_DIR/conf/schemas/user-events.json
ok='{"user_id":1,"event_type":"click","timestamp":"2024-01-31T12:00:00Z"}'

# all valid: exit 0, one "ok" per line, summary on stderr only
printf '%s\n%s\n' "$ok" "$ok" >"$WORK/in.jsonl"
"$KSINK" validate --schema "$SCHEMA" "$WORK/in.jsonl" >"$WORK/out" 2>"$WORK/err" ||
  fail "all-valid input exited $?"
[ "$(cat "$WORK/out")" = $'ok\nok' ] || fail "stdout: $(cat "$WORK/out")"
grep -q "2 lines" "$WORK/err" || fail "no summary on stderr"

# invalid lines, from stdin; a key with a newline and a tab stays on one line
printf '%s\n{"user_id":"x","event_type":"a","timestamp":"2024-01-31T12:00:00Z"}\nnope\n%s\n' \
  "$ok" '{"user_id":1,"event_type":"a","timestamp":"2024-01-31T12:00:00Z","a\nb\tc":1}' |
  "$KSINK" validate --schema "$SCHEMA" - >"$WORK/out" 2>/dev/null && fail "invalid input exited 0"
[ "$(wc -l <"$WORK/out")" -eq 4 ] || fail "expected 4 verdicts: $(cat "$WORK/out")"
[ "$(sed -n 1p "$WORK/out")" = ok ] || fail "line 1: $(sed -n 1p "$WORK/out")"
[ "$(sed -n 2p "$WORK/out")" = "invalid /user_id type: expected integer, got string" ] ||
  fail "line 2: $(sed -n 2p "$WORK/out")"
sed -n 3p "$WORK/out" | grep -q '^invalid  malformed JSON' || fail "line 3: $(sed -n 3p "$WORK/out")"
[ "$(sed -n 4p "$WORK/out")" = 'invalid /a\nb\tc additionalProperties: additional property not allowed' ] ||
  fail "line 4: $(sed -n 4p "$WORK/out")"

# a schema that cannot load: exit 2, the message names the schema path
echo '{"type": "object", "properties": {"a": {"pattern": "("}}}' >"$WORK/bad.json"
set +e
"$KSINK" validate --schema "$WORK/bad.json" </dev/null >"$WORK/out" 2>"$WORK/err"
rc=$?
set -e
[ $rc -eq 2 ] || fail "bad schema exited $rc"
grep -q "$WORK/bad.json: /properties/a/pattern" "$WORK/err" || fail "message: $(cat "$WORK/err")"
[ ! -s "$WORK/out" ] || fail "stdout not empty for a bad schema"

# the draft-07 meta-schema is built in
echo '{"$ref": "http://json-schema.org/draft-07/schema#"}' >"$WORK/meta.json"
printf '{"type":"integer"}\n{"minLength":-1}\n' |
  "$KSINK" validate --schema "$WORK/meta.json" >"$WORK/out" 2>/dev/null && fail "meta: exit 0"
[ "$(cat "$WORK/out")" = $'ok\ninvalid /minLength minimum: -1 is less than the minimum 0' ] ||
  fail "meta: $(cat "$WORK/out")"

# remote refs from a directory, never the network
mkdir -p "$WORK/remotes/sub"
echo '{"type": "integer"}' >"$WORK/remotes/sub/int.json"
echo '{"$ref": "http://localhost:1234/sub/int.json"}' >"$WORK/remote.json"
printf '1\n"x"\n' | "$KSINK" validate --schema "$WORK/remote.json" \
  --remote-dir "$WORK/remotes" --remote-base http://localhost:1234/ >"$WORK/out" 2>/dev/null &&
  fail "remote: exit 0"
[ "$(cat "$WORK/out")" = $'ok\ninvalid  type: expected integer, got string' ] ||
  fail "remote: $(cat "$WORK/out")"

# --format-assertion off turns formats into annotations
echo '{"format": "email"}' >"$WORK/email.json"
echo '"nope"' | "$KSINK" validate --schema "$WORK/email.json" >/dev/null 2>&1 && fail "format on: exit 0"
echo '"nope"' | "$KSINK" validate --schema "$WORK/email.json" --format-assertion off >/dev/null 2>&1 ||
  fail "format off: exit $?"
log "validate_cli: ok"
