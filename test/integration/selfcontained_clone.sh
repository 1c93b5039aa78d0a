#!/usr/bin/env bash
# The test command works in a user's clone: the repository is cloned into a
# temporary directory with no shared/ beside it, only the JSON Schema
# conformance target is built there, and its test must either pass (the
# suite named by KS_JSON_SCHEMA_SUITE or found in the fetch cache) or be
# reported skipped by ctest with the reason -- never fail, never pass
# silently. Then, with the suite named through KS_JSON_SCHEMA_SUITE (when
# this machine has one), it must run and pass. Release builds only: the
# sanitizer pass would rebuild the library a third time for nothing new.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

grep -q '^KS_SANITIZE:STRING=.\+' "$KS_BUILD_DIR/CMakeCache.txt" &&
  { echo "skipped: sanitizer build (the release pass runs this test)"; exit 77; }
git -C "$KS_SOURCE_DIR" rev-parse HEAD >/dev/null 2>&1 ||
  { echo "skipped: $KS_SOURCE_DIR is not a git checkout"; exit 77; }
HEAD=$(git -C "$KS_SOURCE_DIR" rev-parse HEAD)
mkdir -p "$WORK/nest"
git clone -q --no-checkout "$KS_SOURCE_DIR" "$WORK/nest/ksink"
git -C "$WORK/nest/ksink" -c advice.detachedHead=false checkout -q "$HEAD"
[ -e "$WORK/nest/shared" ] && fail "shared/ beside the clone"
log "cloned $HEAD into $WORK/nest/ksink"
# An empty cache: the clone must not find a suite by accident.
mkdir -p "$WORK/cache"
cmake -S "$WORK/nest/ksink" -B "$WORK/nest/build" -DCMAKE_BUILD_TYPE=Release \
  -DKS_TESTS=ON -DKS_BENCH=OFF -DKS_TESTDATA_CACHE="$WORK/cache" >"$WORK/cmake.out" 2>&1 ||
  fail "configure: $(tail -20 "$WORK/cmake.out")"
cmake --build "$WORK/nest/build" -j"$(nproc)" --target json_schema_suite >"$WORK/build.out" 2>&1 ||
  fail "build: $(tail -20 "$WORK/build.out")"
log "built json_schema_suite in $SECONDS s"

# 1. nothing to find: skipped, with the reason, and ctest says "Skipped"
(cd "$WORK/nest/build" && env -u KS_JSON_SCHEMA_SUITE ctest -V -R '^conformance/json_schema_draft7$' \
  --output-on-failure) >"$WORK/ctest1.out" 2>&1 || fail "ctest failed without the suite: $(cat "$WORK/ctest1.out")"
grep -q 'Skipped' "$WORK/ctest1.out" || fail "not reported skipped: $(cat "$WORK/ctest1.out")"
grep -q 'KS_JSON_SCHEMA_SUITE' "$WORK/ctest1.out" || fail "no reason given: $(cat "$WORK/ctest1.out")"
log "without the suite: $(grep -o 'conformance/json_schema_draft7.*Skipped' "$WORK/ctest1.out" | head -1)"

# 2. a wrong KS_JSON_SCHEMA_SUITE is a failure, not a skip
(cd "$WORK/nest/build" && KS_JSON_SCHEMA_SUITE=$WORK/none ctest -R '^conformance/json_schema_draft7$') \
  >"$WORK/ctest2.out" 2>&1 && fail "a wrong KS_JSON_SCHEMA_SUITE passed: $(cat "$WORK/ctest2.out")"

# 3. the suite named through the variable: it runs and passes
suite=${KS_JSON_SCHEMA_SUITE:-}
for d in "${KS_TESTDATA_CACHE:-$HOME/.cache/ksink}/json-schema-test-suite" \
  "$KS_SOURCE_DIR/../shared/testdata/json-schema-test-suite"; do
  [ -z "$suite" ] && [ -d "$d/tests/draft7" ] && suite=$d
done
if [ -n "$suite" ]; then
  (cd "$WORK/nest/build" && KS_JSON_SCHEMA_SUITE=$suite ctest -R '^conformance/json_schema_draft7$' \
    --output-on-failure -V) >"$WORK/ctest3.out" 2>&1 || fail "suite at $suite: $(tail -30 "$WORK/ctest3.out")"
  grep -q 'Passed' "$WORK/ctest3.out" || fail "suite at $suite not run: $(tail -30 "$WORK/ctest3.out")"
  log "with KS_JSON_SCHEMA_SUITE=$suite: $(grep -E '^[0-9]+: required:' "$WORK/ctest3.out" | head -1)"
else
  log "no JSON Schema Test Suite on this machine: only the skip was checked"
fi
log "selfcontained_clone: passed in $SECONDS s"
