#!/usr/bin/env bash
# No Docker engine runs here, so the Dockerfile is exercised by executing
# its recipe: the build stage's COPY lines (read from the Dockerfile) make
# the build context, outside which nothing may be needed; its cmake steps
# build and install into a DESTDIR with the KS_GIT_COMMIT build argument;
# the runtime stage's COPY --from=build paths must exist; and `docker run
# <image> demo` is played as the image's user (USER uid:gid, setpriv) in
# its WORKDIR: the demo must write its table there and exit 0. Release
# builds only.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
grep -q '^KS_SANITIZE:STRING=.\+' "$KS_BUILD_DIR/CMakeCache.txt" &&
  { echo "skipped: sanitizer build (the release pass runs this test)"; exit 77; }
command -v setpriv >/dev/null || { echo "skipped: no setpriv"; exit 77; }
DF=$KS_SOURCE_DIR/Dockerfile
CTX=$WORK/ctx
mkdir -p "$CTX"
# the build stage: from the first FROM to the second
awk '/^FROM /{n++} n==1' "$DF" >"$WORK/build.stage"
while read -r _ src dst; do
  mkdir -p "$(dirname "$CTX/$dst")"
  cp -r "$KS_SOURCE_DIR/$src" "$CTX/$dst"
done < <(grep -E '^COPY [^-]' "$WORK/build.stage")
log "build context: $(du -sh "$CTX" | cut -f1), $(find "$CTX" -type f | wc -l) files"
grep -q 'deps.sh build' "$WORK/build.stage" || fail "the build stage does not run deps.sh build"
COMMIT=abc123def456
(cd "$CTX" && cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DKS_TESTS=OFF -DKS_BENCH=OFF \
  -DKS_GIT_COMMIT="$COMMIT" && cmake --build build -j"$(nproc)" &&
  DESTDIR=$WORK/out cmake --install build --prefix /usr --strip) >"$WORK/build.out" 2>&1 ||
  fail "the Dockerfile's build steps: $(tail -20 "$WORK/build.out")"
log "built in the context in $SECONDS s"
OUT=$WORK/out
head -1 < <("$OUT/usr/bin/ksink" --version) | grep -qx "ksink [0-9.]* ($COMMIT)" ||
  fail "--version in the image: $("$OUT/usr/bin/ksink" --version | head -1)"
# the runtime stage's files
awk '/^FROM /{n++} n==2' "$DF" >"$WORK/run.stage"
while read -r _ _ src _; do
  [ -e "$WORK$src" ] || fail "COPY --from=build $src: not produced by the build stage (DESTDIR /out)"
done < <(grep -E '^COPY --from=build ' "$WORK/run.stage")
while read -r _ src _; do
  [ -e "$KS_SOURCE_DIR/$src" ] || fail "COPY $src: not in the context"
done < <(grep -E '^COPY [^-]' "$WORK/run.stage")
# docker run <image> demo: as USER, in WORKDIR, ENTRYPOINT + "demo"
user=$(sed -n 's/^USER //p' "$WORK/run.stage")
workdir=$(sed -n 's/^WORKDIR //p' "$WORK/run.stage" | tail -1)
entry=$(sed -n 's/^ENTRYPOINT \["\([^"]*\)"\]/\1/p' "$WORK/run.stage")
[ "$entry" = /usr/bin/ksink ] || fail "ENTRYPOINT $entry"
chmod 755 "$WORK"
WD=$WORK/root$workdir
mkdir -p "$WD"
chown "$user" "$WD"
(cd "$WD" && setpriv --reuid "${user%%:*}" --regid "${user##*:}" --clear-groups -- \
  "$OUT$entry" demo --events 2000) >"$WORK/demo.out" 2>"$WORK/demo.err" ||
  fail "docker run <image> demo (as $user in $workdir): $(tail -5 "$WORK/demo.err")"
[ -d "$WD/lake/user_events/_delta_log" ] || fail "the demo wrote no table in $workdir"
[ "$(stat -c %u "$WD/lake/user_events")" = "${user%%:*}" ] || fail "the table is not the image user's"
log "docker run <image> demo: $(tail -1 "$WORK/demo.err" | cut -c1-120)"
log "docker_context: passed"
