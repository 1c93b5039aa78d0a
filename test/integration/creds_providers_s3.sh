#!/usr/bin/env bash
# The S3 credential chain, one provider at a time, against real servers on
# loopback: the node fixture hands out session credentials (STS
# AssumeRoleWithWebIdentity / AssumeRole XML, IMDSv2, container JSON) and
# its S3 front checks every request's SigV4 signature, session token and
# expiry before forwarding to RGW. For each provider alone in ksink's
# environment a table is written and verified row for row; then the SDK
# order (web identity beats container), a broken higher provider (an
# unreadable token file is an error, not a fallthrough), the region from
# AWS_REGION and from the profile (asserted on the signatures the front
# saw), storage.s3.role_arn + external_id on top of static keys, the canned
# ACL on every object write, and the start-up failure listing what was
# tried when nothing is found; the start-up conditional-write probe
# passes on RGW and refuses a store that ignores If-None-Match.
source "$(dirname "${BASH_SOURCE[0]}")/lib_creds.sh"

COUNT=${KS_CREDS_COUNT:-3000}
TOPICS=(web profile_keys profile_role container imds env_role order)
start_broker "${TOPICS[@]/%/:2}"
echo "web-identity-token-1" >"$WORK/web-token"
echo "pod-identity-token" >"$WORK/pod-token"
start_creds_fixture 900 --external-id ext-42 --container-auth pod-identity-token

issued() { fixture_stats | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).issued[process.argv[1]]||0))' "$1"; }
region_count() { fixture_stats | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).regions[process.argv[1]]||0))' "$1"; }
provider_of() { node -e 'const s=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(s.storage.credentials?s.storage.credentials.provider:"none")' "$WORK/$1/status.json"; }

# scenario NAME EXPECTED_PROVIDER [s3 yaml lines] -- VAR=VALUE...
scenario() {
  local name=$1 want=$2
  shift 2
  local yaml=()
  while [ "$1" != "--" ]; do yaml+=("$1"); shift; done
  shift
  write_conf "$name" "${yaml[@]}"
  produce "$name" "$COUNT" 3000
  local t0=$SECONDS
  ksink_with "$name" "$@"
  finish "$name"
  local got
  got=$(provider_of "$name")
  [ "$got" = "$want" ] || fail "$name: /status says provider $got, expected $want"
  grep -q "$STATIC_SK\|pod-identity-token\|web-identity-token" "$WORK/$name/ksink.err" "$WORK/$name/status.json" "$WORK/$name/metrics" &&
    fail "$name: a secret reached the log, /status or /metrics"
  log "$name: $COUNT rows via $got in $((SECONDS - t0)) s"
}

# 1. web identity (IRSA), region from AWS_REGION
scenario web web_identity -- AWS_WEB_IDENTITY_TOKEN_FILE="$WORK/web-token" \
  AWS_ROLE_ARN=arn:aws:iam::123456789012:role/ksink AWS_ROLE_SESSION_NAME=it \
  AWS_ENDPOINT_URL_STS="$AUTH_EP" AWS_REGION=eu-west-3
[ "$(issued web_identity)" -ge 1 ] || fail "web: STS issued nothing"
[ "$(region_count eu-west-3)" -ge 1 ] || fail "web: no request signed for AWS_REGION=eu-west-3: $(fixture_stats)"

# 2. static keys in the shared credentials file; region from the profile;
# the canned ACL on every object write
cat >"$WORK/credentials" <<INI
[default]
aws_access_key_id = WRONGDEFAULTKEY00000
aws_secret_access_key = wrong
[ksink]
aws_access_key_id = $STATIC_AK
aws_secret_access_key = $STATIC_SK
[base]
aws_access_key_id = $STATIC_AK
aws_secret_access_key = $STATIC_SK
INI
cat >"$WORK/config" <<INI
[profile ksink]
region = ap-south-1
[profile app]
role_arn = arn:aws:iam::123456789012:role/app
source_profile = base
external_id = ext-42
region = ca-central-1
INI
scenario profile_keys profile "acl: bucket-owner-full-control" -- AWS_PROFILE=ksink \
  AWS_SHARED_CREDENTIALS_FILE="$WORK/credentials" AWS_CONFIG_FILE="$WORK/config"
[ "$(region_count ap-south-1)" -ge 1 ] || fail "profile_keys: no request signed for the profile's region"
acl=$(fixture_stats | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).acl["PUT bucket-owner-full-control"]||0))')
[ "$acl" -ge 1 ] || fail "profile_keys: no PUT carried x-amz-acl: $(fixture_stats)"

# 3. a profile with role_arn + source_profile (AssumeRole, external id)
before=$(issued assume_role)
scenario profile_role profile -- AWS_PROFILE=app AWS_SHARED_CREDENTIALS_FILE="$WORK/credentials" \
  AWS_CONFIG_FILE="$WORK/config" AWS_ENDPOINT_URL_STS="$AUTH_EP"
[ "$(issued assume_role)" -gt "$before" ] || fail "profile_role: STS AssumeRole issued nothing"
[ "$(region_count ca-central-1)" -ge 1 ] || fail "profile_role: no request signed for the profile's region"

# 4. container credentials (EKS Pod Identity: full URI + token file)
scenario container container -- AWS_CONTAINER_CREDENTIALS_FULL_URI="$AUTH_EP/v1/credentials" \
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$WORK/pod-token"
[ "$(issued container)" -ge 1 ] || fail "container: nothing issued"

# 5. IMDSv2
scenario imds imds -- AWS_EC2_METADATA_SERVICE_ENDPOINT="$AUTH_EP"
[ "$(issued imds)" -ge 1 ] || fail "imds: nothing issued"

# 6. static keys from the environment, storage.s3.role_arn on top
before=$(issued assume_role)
scenario env_role environment "role_arn: arn:aws:iam::123456789012:role/ingest" "external_id: ext-42" -- \
  AWS_ACCESS_KEY_ID="$STATIC_AK" AWS_SECRET_ACCESS_KEY="$STATIC_SK" AWS_ENDPOINT_URL_STS="$AUTH_EP"
[ "$(issued assume_role)" -gt "$before" ] || fail "env_role: storage.s3.role_arn was not assumed"

# 7. order: web identity and container both set -> web identity (the SDK order)
cbefore=$(issued container)
scenario order web_identity -- AWS_CONTAINER_CREDENTIALS_FULL_URI="$AUTH_EP/v1/credentials" \
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$WORK/pod-token" \
  AWS_WEB_IDENTITY_TOKEN_FILE="$WORK/web-token" AWS_ROLE_ARN=arn:aws:iam::123456789012:role/ksink \
  AWS_ENDPOINT_URL_STS="$AUTH_EP"
[ "$(issued container)" = "$cbefore" ] || fail "order: the container source was used although web identity comes first"

# 8. a broken higher provider is an error: no fallthrough to the container
write_conf broken
ksink_with broken AWS_WEB_IDENTITY_TOKEN_FILE="$WORK/no-such-token" \
  AWS_ROLE_ARN=arn:aws:iam::123456789012:role/ksink \
  AWS_CONTAINER_CREDENTIALS_FULL_URI="$AUTH_EP/v1/credentials" \
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$WORK/pod-token"
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 1 ] || fail "broken: ksink exited $rc, expected 1: $(tail -5 "$WORK/broken/ksink.err")"
grep -q 'AWS_WEB_IDENTITY_TOKEN_FILE.*no-such-token' "$WORK/broken/ksink.err" ||
  fail "broken: the message does not name the token file: $(tail -5 "$WORK/broken/ksink.err")"
[ "$(issued container)" = "$cbefore" ] || fail "broken: fell through to the container source"

# 9. nothing at all: exit 1 and the list of what was tried, in order
write_conf none
ksink_with none AWS_EC2_METADATA_DISABLED=true
rc=0
wait "$KSINK_PID" || rc=$?
[ "$rc" = 1 ] || fail "none: ksink exited $rc, expected 1"
grep -q 'no credentials found; tried, in order: storage.s3.access_key_id (not set); AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (not set); AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN (not set); profile \\"default\\"' "$WORK/none/ksink.err" ||
  fail "none: unexpected message: $(tail -3 "$WORK/none/ksink.err")"
grep -q 'AWS_EC2_METADATA_DISABLED=true' "$WORK/none/ksink.err" || fail "none: IMDS not listed"
log "none: $(grep -o 'no credentials found[^"]*' "$WORK/none/ksink.err" | head -1)"
# 10. the start-up conditional-write probe: a store that ignores
# If-None-Match (the front drops it) is refused with exit 1
curl -sf -X POST "$AUTH_EP/__drop_if_none_match" >/dev/null
write_conf probe
ksink_with probe AWS_ACCESS_KEY_ID="$STATIC_AK" AWS_SECRET_ACCESS_KEY="$STATIC_SK"
rc=0
wait "$KSINK_PID" || rc=$?
curl -sf -X POST "$AUTH_EP/__drop_if_none_match" >/dev/null
[ "$rc" = 1 ] || fail "probe: ksink exited $rc on a store without conditional writes, expected 1"
grep -q 'does not refuse a second put-if-absent' "$WORK/probe/ksink.err" ||
  fail "probe: unexpected message: $(tail -3 "$WORK/probe/ksink.err")"
left=$("$S3TOOL" download "$BASEURL/_ksink_probe" "$WORK/probe/left" 2>&1 | grep -o 'downloaded [0-9]*' || true)
log "probe: refused a store without conditional writes ($left scratch objects left after the probe)"

# 11. IMDS that never answers the token PUT (hop limit 1 inside a
# container): exit 1, and the message says why and how to fix it
curl -sf -X POST "$AUTH_EP/__imds_silent" >/dev/null
write_conf hop
t0=$SECONDS
ksink_with hop AWS_EC2_METADATA_SERVICE_ENDPOINT="$AUTH_EP"
rc=0
wait "$KSINK_PID" || rc=$?
curl -sf -X POST "$AUTH_EP/__imds_silent" >/dev/null
[ "$rc" = 1 ] || fail "hop: ksink exited $rc, expected 1"
grep -q 'http-put-response-hop-limit 2' "$WORK/hop/ksink.err" ||
  fail "hop: the message does not explain the hop limit: $(tail -3 "$WORK/hop/ksink.err")"
log "hop: a silent IMDS fails start-up in $((SECONDS - t0)) s with the hop-limit explanation"

echo "creds_providers_s3: providers=web_identity,profile,profile+assume_role,container,imds,environment+role_arn order=ok broken=exit1 none=exit1 fixture=$(fixture_stats)" >"$WORK/summary"
cat "$WORK/summary"
log "creds_providers_s3: passed"
