#!/usr/bin/env bash
# What a new user types: table URLs as bare paths (absolute and relative)
# and s3a:// (Hadoop's name) where ksink takes a URL; log.format and
# --log-format choosing JSON or text whatever stderr is; every subcommand's
# --help describing its options; the top-level help naming every command.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$KSINK" demo --events 3000 --dir "$WORK" >"$WORK/demo.out" 2>"$WORK/demo.err" ||
  fail "demo: $(tail -3 "$WORK/demo.err")"
T=$WORK/lake/user_events
rows() { node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(j.rows)'; }
A=$("$KSINK" inspect "file://$T" --json | rows)
B=$("$KSINK" inspect "$T" --json | rows) || fail "inspect with a bare absolute path"
C=$(cd "$WORK" && "$KSINK" inspect lake/user_events --json | rows) || fail "inspect with a relative path"
[ "${A:-0}" -gt 0 ] && [ "$B" = "$A" ] && [ "$C" = "$A" ] || fail "rows: file:// $A, absolute $B, relative $C"
log "inspect: $A rows by file://, absolute and relative paths"
"$KSINK" vacuum "$T" --retain 7d --dry-run >/dev/null || fail "vacuum with a bare path"
"$KSINK" optimize "$T" --dry-run >/dev/null || fail "optimize with a bare path"

# storage.url: s3a:// and a bare absolute path load as s3:// and file://
conf() {
  cat >"$WORK/$1.yaml" <<YAML
kafka: { bootstrap.servers: mock }
storage: { url: "$2" }
http: { listen: "127.0.0.1:0" }
log: { format: $3 }
tables:
  - name: user_events
    topics: [user-events]
    schema: $KS_SOURCE_DIR/conf/schemas/user-events.json
YAML
}
conf s3a "s3a://no-such-bucket/lake" json
out=$("$KSINK" check -c "$WORK/s3a.yaml" --timeout 1s 2>&1) || true
grep -qE '^ok +config:' <<<"$out" || fail "s3a:// refused: $out"
grep -q 'storage s3://no-such-bucket/lake' <<<"$out" || fail "s3a:// not read as s3://: $out"
conf bare "$WORK/lake2" text
out=$("$KSINK" check -c "$WORK/bare.yaml" --timeout 1s 2>&1) || true
grep -qE "^ok +storage file://$WORK/lake2: write" <<<"$out" || fail "bare storage path: $out"

# log.format text, and --log-format json over it (stderr is a file here)
timeout -s INT 3 "$KSINK" run -c "$WORK/bare.yaml" 2>"$WORK/text.err" || true
head -1 "$WORK/text.err" | grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T.* info ' || fail "log.format text: $(head -2 "$WORK/text.err")"
timeout -s INT 3 "$KSINK" run -c "$WORK/bare.yaml" --log-format json 2>"$WORK/json.err" || true
head -1 "$WORK/json.err" | grep -q '^{"ts":' || fail "--log-format json: $(head -2 "$WORK/json.err")"
rc=0
"$KSINK" run -c "$WORK/bare.yaml" --log-format yaml 2>"$WORK/bad.err" || rc=$?
[ "$rc" = 2 ] || fail "--log-format yaml: exit $rc"
sed -i 's/format: text/format: xml/' "$WORK/bare.yaml"
rc=0
"$KSINK" run -c "$WORK/bare.yaml" 2>"$WORK/bad2.err" || rc=$?
[ "$rc" = 2 ] && grep -q 'log.format' "$WORK/bad2.err" || fail "log.format xml: exit $rc: $(cat "$WORK/bad2.err")"

# --help: usage, then a line per option
for c in run demo validate inspect optimize vacuum check convert-connect; do
  "$KSINK" $c --help >"$WORK/help" || fail "$c --help: exit $?"
  head -1 "$WORK/help" | grep -q "^usage: ksink $c" || fail "$c --help: $(head -1 "$WORK/help")"
  [ "$(grep -cE '^  +-' "$WORK/help")" -ge 1 ] || fail "$c --help describes no option: $(cat "$WORK/help")"
  grep -qE '^  -h, --help' "$WORK/help" || fail "$c --help lacks -h: $(cat "$WORK/help")"
  grep -qE "^  $c( |$)" <<<"$("$KSINK" --help)" || fail "top-level help does not name $c"
done
log "cli_ergonomics: passed"
