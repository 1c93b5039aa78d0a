#!/usr/bin/env bash
# Hostile table catalog: hand-crafted Delta tables (test/tools/
# hostile_tables.py: JSON 300,000 levels deep in commitInfo and in
# add.stats, a checkpoint footer declaring 10^10 column chunks, a zstd
# page bomb of 1 GiB in ~32 KiB, a garbage _last_checkpoint, a version
# gap, add.path with "../" and with foreign absolute URIs) through
# `ksink inspect`, `vacuum --dry-run`, `optimize --dry-run` and `run`,
# each under `ulimit -v 4000000`: every command exits 1 or 2 (never a
# signal) within 60 s, with a message naming the offending file; no file
# of any table is changed or deleted.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LAKE=$WORK/lake
python3 "$KS_SOURCE_DIR/test/tools/hostile_tables.py" "$LAKE" >"$WORK/cases" ||
  fail "generator failed"
(cd "$LAKE" && find . -type f -exec sha256sum {} + | sort -k2) >"$WORK/before"
# An ASan build reserves terabytes of shadow address space: the address
# space limit applies to release builds only.
ULIMIT="ulimit -v 4000000"
grep -q '^KS_SANITIZE:STRING=.\+' "$KS_BUILD_DIR/CMakeCache.txt" && ULIMIT=":"

start_broker events:1

# check NAME FILE LABEL CMD...: CMD exits 1 or 2 within 60 s and its
# stderr names FILE.
check() {
  local name=$1 file=$2 label=$3 rc=0 t0=$SECONDS
  shift 3
  (eval "$ULIMIT"; exec timeout -s KILL 60 "$@") >"$WORK/out" 2>"$WORK/err" || rc=$?
  local took=$((SECONDS - t0))
  case $rc in
  1 | 2) ;;
  137) fail "$name/$label: killed after ${took}s (a hang over 60 s): $(tail -3 "$WORK/err")" ;;
  *) fail "$name/$label: exit $rc, want 1 or 2 (a signal is a crash): $(tail -3 "$WORK/err")" ;;
  esac
  grep -qF -- "$file" "$WORK/err" || fail "$name/$label: stderr does not name $file: $(tail -3 "$WORK/err")"
  log "$name/$label: exit $rc in ${took}s: $(grep -F -- "$file" "$WORK/err" | tail -1 | cut -c1-200)"
}

n=0
while IFS=$'\t' read -r name file; do
  T=$LAKE/$name
  check "$name" "$file" inspect "$KSINK" inspect "file://$T"
  check "$name" "$file" inspect-json "$KSINK" inspect "file://$T" --json
  check "$name" "$file" vacuum "$KSINK" vacuum "file://$T" --retain 0h --dry-run
  check "$name" "$file" optimize "$KSINK" optimize "file://$T" --dry-run
  cat >"$WORK/ksink.yaml" <<YAML
app_id: hostile
kafka:
  bootstrap.servers: $BOOTSTRAP
  group.id: hostile
reactor: { workers: 1 }
storage:
  url: file://$LAKE
tables:
  - name: $name
    topics: [events]
    format: delta
http: { listen: "127.0.0.1:0" }
YAML
  check "$name" "$file" run "$KSINK" run -c "$WORK/ksink.yaml"
  n=$((n + 1))
done <"$WORK/cases"
[ "$n" -ge 9 ] || fail "only $n cases generated"

(cd "$LAKE" && find . -type f -exec sha256sum {} + | sort -k2) >"$WORK/after"
diff -u "$WORK/before" "$WORK/after" >&2 || fail "a command changed the hostile tables"
log "PASS: $n hostile tables x 5 commands, each refused with the file named"
