#!/usr/bin/env bash
# scripts/check_layout.py on a small synthetic tree: clean, it exits 0;
# with one violation injected at a time, it exits 1 and names the file,
# the line and the rule. ctest: layout/selftest.
set -u
here=$(cd "$(dirname "$0")" && pwd)
checker="$here/../../scripts/check_layout.py"
work=$(mktemp -d /tmp/ks_layout_test.XXXXXX)
trap 'rm -rf "$work"' EXIT
fails=0

fail() {
  echo "FAIL: $*" >&2
  fails=$((fails + 1))
}

# A tree that keeps every rule: base at the bottom, storage and jsonschema
# on base, stages on them, the reactor on stages, http on the reactor, cli
# on top; internal headers used only in their own folder.
clean_tree() {
  rm -rf "$work/t"
  mkdir -p "$work/t"/{base,conf,jsonschema,storage/delta,stages/record,reactor,http,cli,demo}
  cd "$work/t" || exit 1
  printf '#include <stdio.h>\n#include "base/ks.h"\n' >base/buf.c
  printf '#pragma once\n' >base/ks.h
  printf '#include "base/ks.h"\n' >conf/conf.h
  printf '#include "base/ks.h"\n#include "jsonschema/jsonschema.h"\n' >jsonschema/jsonschema.c
  printf '#pragma once\n#include "base/ks.h"\n' >jsonschema/jsonschema.h
  printf '#include "base/ks.h"\n' >storage/storage.h
  printf '#include "storage/storage.h"\n#include "storage/delta/delta_int.h"\n' >storage/delta/log.c
  printf '#include "storage/storage.h"\n' >storage/delta/delta_int.h
  printf '#include "storage/storage.h"\n#include "jsonschema/jsonschema.h"\n#include "conf/conf.h"\n' >stages/flush.c
  printf '#include "base/ks.h"\n' >stages/flush.h
  printf '#include "stages/flush.h"\n#include "stages/record/record_int.h"\n' >stages/record/decode.c
  printf '#include "base/ks.h"\n' >stages/record/record_int.h
  printf '#include "stages/flush.h"\n#include "reactor/internal.h"\n' >reactor/worker.c
  printf '#include "base/ks.h"\n' >reactor/worker.h
  printf '#include "base/ks.h"\n' >reactor/internal.h
  printf '#include "reactor/worker.h"\n#include "conf/conf.h"\n#include "generated.h"\n' >http/server.c
  printf '#include "reactor/worker.h"\n' >http/server.h
  printf '#include "http/server.h"\n#include "reactor/worker.h"\n' >cli/main.c
  printf '#include "stages/flush.h"\n' >demo/demo.c
  mkdir -p test/unit
  # Tests may be as long as they need and include anything.
  for i in $(seq 1 900); do echo "int x$i;"; done >test/unit/test_long.c
  printf '#include "reactor/worker.h"\n' >>test/unit/test_long.c
  cd - >/dev/null || exit 1
}

# expect_clean
expect_clean() {
  out=$(python3 "$checker" --root "$work/t" 2>&1)
  rc=$?
  [ "$rc" -eq 0 ] || fail "clean tree: exit $rc: $out"
}

# expect_violation NAME FILE:LINE RULE  (after the tree was changed)
expect_violation() {
  name=$1 where=$2 rule=$3
  out=$(python3 "$checker" --root "$work/t" 2>/dev/null)
  rc=$?
  [ "$rc" -eq 1 ] || fail "$name: exit $rc, want 1: $out"
  grep -q "^$where: rule $rule: " <<<"$out" ||
    fail "$name: no \"$where: rule $rule:\" in: $out"
}

clean_tree
expect_clean

# rule 1: base includes storage
clean_tree
printf '#include "storage/storage.h"\n' >>"$work/t/base/buf.c"
expect_violation "base includes storage" "base/buf.c:3" 1

# rule 2: jsonschema includes storage
clean_tree
printf '#include "storage/storage.h"\n' >>"$work/t/jsonschema/jsonschema.c"
expect_violation "jsonschema includes storage" "jsonschema/jsonschema.c:3" 2

# rule 3: storage includes conf
clean_tree
printf '#include "conf/conf.h"\n' >>"$work/t/storage/delta/log.c"
expect_violation "storage includes conf" "storage/delta/log.c:3" 3

# rule 4: a stage (in a subfolder too) includes the reactor
clean_tree
printf '#include "reactor/worker.h"\n' >>"$work/t/stages/flush.c"
expect_violation "stage includes reactor" "stages/flush.c:4" 4
clean_tree
printf '#include "cli/cli.h"\n' >>"$work/t/stages/record/decode.c"
expect_violation "record stage includes cli" "stages/record/decode.c:3" 4

# rule 5: http includes a stage
clean_tree
printf '#include "stages/flush.h"\n' >>"$work/t/http/server.c"
expect_violation "http includes stages" "http/server.c:4" 5

# rules 6 and 7: the reactor includes a stage internal
clean_tree
printf '#include "stages/record/record_int.h"\n' >>"$work/t/reactor/worker.c"
expect_violation "reactor includes a stage internal" "reactor/worker.c:3" 6
expect_violation "reactor includes a stage internal" "reactor/worker.c:3" 7

# rule 7: a parent folder includes its subfolder's internal header
clean_tree
printf '#include "stages/record/record_int.h"\n' >>"$work/t/stages/flush.c"
expect_violation "internal header of a subfolder" "stages/flush.c:4" 7

# rule 8: reactor and http include each other (no other rule broken)
clean_tree
printf '#include "http/server.h"\n' >>"$work/t/reactor/worker.c"
expect_violation "folder cycle" "http/server.c:1" 8
out=$(python3 "$checker" --root "$work/t" 2>/dev/null)
grep -q "http -> reactor -> http" <<<"$out" || fail "cycle not printed: $out"
[ "$(grep -c ': rule ' <<<"$out")" -eq 1 ] || fail "cycle: want one violation: $out"

# rule 9: an 801-line .c file outside test/
clean_tree
for i in $(seq 1 801); do echo "int y$i;"; done >"$work/t/stages/big.c"
expect_violation "801-line file" "stages/big.c:801" 9
for i in $(seq 1 801); do echo "int y$i;"; done >"$work/t/stages/big.c"
sed -i '$d' "$work/t/stages/big.c"
expect_clean

if [ "$fails" -ne 0 ]; then
  echo "check_layout selftest: $fails failures" >&2
  exit 1
fi
echo "check_layout selftest: ok"
