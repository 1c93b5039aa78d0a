#!/usr/bin/env bash
# `cmake --install` into a temporary prefix puts ksink, ksink(1), the
# example config and the systemd unit in place; the installed binary's
# --version names a commit; `man -l` renders the page without warnings and
# the page names every command and every key the config loader knows; the
# unit passes `systemd-analyze verify` and restarts on failure with a stop
# timeout for the final flush; `cpack -G DEB` builds a .deb holding the
# same files. Release builds only (the sanitizer pass installs nothing new).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
grep -q '^KS_SANITIZE:STRING=.\+' "$KS_BUILD_DIR/CMakeCache.txt" &&
  { echo "skipped: sanitizer build (the release pass runs this test)"; exit 77; }
P=$WORK/prefix
cmake --install "$KS_BUILD_DIR" --prefix "$P" >"$WORK/install.out" 2>&1 ||
  fail "cmake --install: $(tail -5 "$WORK/install.out")"
for f in bin/ksink share/man/man1/ksink.1 share/doc/ksink/examples/ksink.yaml \
  share/doc/ksink/examples/schemas/user-events.json lib/systemd/system/ksink.service; do
  [ -s "$P/$f" ] || fail "not installed: $f"
done
[ -x "$P/bin/ksink" ] || fail "bin/ksink not executable"
"$P/bin/ksink" --version >"$WORK/version" || fail "installed ksink --version: exit $?"
head -1 "$WORK/version" | grep -qE '^ksink [0-9]+\.[0-9]+\.[0-9]+ \([0-9a-f]{7,}(-dirty)?\)$' ||
  { git -C "$KS_SOURCE_DIR" rev-parse HEAD >/dev/null 2>&1 || head -1 "$WORK/version" | grep -q '(unknown)$'; } ||
  fail "--version first line: $(head -1 "$WORK/version")"
log "installed: $(head -1 "$WORK/version")"

# the page renders, without groff warnings
MANPAGER=cat MANWIDTH=80 man -l "$P/share/man/man1/ksink.1" >"$WORK/man.txt" 2>"$WORK/man.err" ||
  fail "man -l: $(cat "$WORK/man.err")"
grep -q '^NAME' "$WORK/man.txt" && grep -q 'ksink - Kafka to Delta Lake' "$WORK/man.txt" ||
  fail "man -l output: $(head -5 "$WORK/man.txt")"
LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$P/share/man/man1/ksink.1" 2>"$WORK/groff.err"
[ ! -s "$WORK/groff.err" ] || fail "groff warnings: $(cat "$WORK/groff.err")"
# every command of the top-level help, every key of the loader's tables
for c in $("$P/bin/ksink" --help | sed -n 's/^  \([a-z-]*\) .*/\1/p; s/^  \([a-z-]*\)$/\1/p'); do
  grep -qE "^ +ksink +$c( |$)" "$WORK/man.txt" || fail "ksink(1) lacks the command $c"
done
python3 - "$KS_SOURCE_DIR" "$P/share/man/man1/ksink.1" <<'PY' || fail "ksink(1) lacks config keys"
import re, sys, glob
src, man = sys.argv[1], open(sys.argv[2]).read()
keys = set()
for f in glob.glob(src + "/conf/*.c"):
    for name, body in re.findall(r"static const char \*const (\w+)\[\] = \{(.*?)\};", open(f).read(), re.S):
        if name.endswith("_keys") or name == "errors_leaves":
            keys.update(re.findall(r'"([^"]+)"', body))
missing = sorted(k for k in keys if k not in man)
print(f"ksink(1): {len(keys)} config keys, missing: {missing}")
sys.exit(1 if missing else 0)
PY

# the unit: verified by systemd, restart on failure, time for the last flush
U=$P/lib/systemd/system/ksink.service
grep -qx "ExecStart=$P/bin/ksink run -c /etc/ksink/ksink.yaml" "$U" || fail "ExecStart: $(grep ExecStart "$U")"
grep -qx 'Restart=on-failure' "$U" || fail "no Restart=on-failure"
t=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)$/\1/p' "$U")
[ "${t:-0}" -ge 60 ] || fail "TimeoutStopSec=$t: too short for the final flush"
for h in NoNewPrivileges=yes ProtectSystem=strict DynamicUser=yes; do
  grep -qx "$h" "$U" || fail "unit lacks $h"
done
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify --man=no "$U" >"$WORK/verify.out" 2>&1 || fail "systemd-analyze verify: $(cat "$WORK/verify.out")"
  log "systemd-analyze verify: ok"
else
  log "no systemd-analyze here: the unit was checked by grep only"
fi

# the .deb
if command -v cpack >/dev/null && command -v dpkg-deb >/dev/null; then
  (cd "$KS_BUILD_DIR" && cpack -G DEB -B "$WORK/pkg") >"$WORK/cpack.out" 2>&1 ||
    fail "cpack: $(tail -5 "$WORK/cpack.out")"
  deb=$(ls "$WORK"/pkg/ksink_*.deb)
  dpkg-deb -c "$deb" | awk '{print $6}' >"$WORK/deb.files"
  for f in ./usr/bin/ksink ./usr/share/man/man1/ksink.1 ./usr/lib/systemd/system/ksink.service \
    ./usr/share/doc/ksink/examples/ksink.yaml; do
    grep -qx "$f" "$WORK/deb.files" || fail "the .deb lacks $f: $(cat "$WORK/deb.files")"
  done
  # (to files first: grep -q ending a pipeline early would fail it under
  # pipefail with the writer's SIGPIPE)
  dpkg-deb -I "$deb" >"$WORK/deb.info"
  grep -q 'Depends: .*librdkafka' "$WORK/deb.info" || fail "the .deb does not depend on librdkafka: $(cat "$WORK/deb.info")"
  dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/lib/systemd/system/ksink.service >"$WORK/deb.unit"
  grep -qx 'ExecStart=/usr/bin/ksink run -c /etc/ksink/ksink.yaml' "$WORK/deb.unit" ||
    fail "the .deb's unit does not run /usr/bin/ksink"
  log "deb: $(basename "$deb"), $(wc -l <"$WORK/deb.files") entries"
fi
log "install: passed"
