#!/usr/bin/env bash
# Fetches the external test data the conformance tests read into
# ${KS_TESTDATA_CACHE:-~/.cache/ksink} (test/CMakeLists.txt looks there):
#   json-schema-test-suite/  json-schema-org/JSON-Schema-Test-Suite at the
#                            pinned commit below (tests/draft7, remotes/)
# Where the network does not allow it, says so and exits 0: the tests that
# need the data are then reported skipped by ctest, with the reason. A
# checkout kept elsewhere is named with KS_JSON_SCHEMA_SUITE instead.
# No npm package ships draft-07 of the suite (json-schema-test-suite@0.0.10
# has draft3/draft4 only; @json-schema-org/tests depends on a git checkout).
set -euo pipefail
cache=${KS_TESTDATA_CACHE:-$HOME/.cache/ksink}
SUITE_REPO=https://github.com/json-schema-org/JSON-Schema-Test-Suite.git
SUITE_COMMIT=44401e0c046704b476ec9d2e2fccdaee618f259d

dest=$cache/json-schema-test-suite
if [ -f "$dest/.ksink-commit" ] && [ "$(cat "$dest/.ksink-commit")" = "$SUITE_COMMIT" ]; then
  echo "fetch-testdata: $dest is at $SUITE_COMMIT"
  exit 0
fi
if [ -n "${KS_JSON_SCHEMA_SUITE:-}" ]; then
  echo "fetch-testdata: KS_JSON_SCHEMA_SUITE=$KS_JSON_SCHEMA_SUITE is used; nothing to fetch"
  exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ksink-fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if timeout 120 git -c advice.detachedHead=false clone -q --filter=blob:none \
  --no-checkout "$SUITE_REPO" "$tmp/suite" 2>"$tmp/err" &&
  git -C "$tmp/suite" checkout -q "$SUITE_COMMIT" 2>>"$tmp/err"; then
  mkdir -p "$cache"
  rm -rf "$dest"
  mkdir -p "$dest"
  cp -r "$tmp/suite/tests" "$tmp/suite/remotes" "$tmp/suite/LICENSE" "$dest/"
  echo "$SUITE_COMMIT" >"$dest/.ksink-commit"
  echo "fetch-testdata: JSON Schema Test Suite $SUITE_COMMIT in $dest"
else
  echo "fetch-testdata: cannot fetch the JSON Schema Test Suite ($(tail -1 "$tmp/err")); conformance/json_schema_draft7 will be skipped unless KS_JSON_SCHEMA_SUITE names a checkout" >&2
fi
