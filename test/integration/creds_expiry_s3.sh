#!/usr/bin/env bash
# Credentials that expire every 60 s under continuous ingestion: web
# identity (STS AssumeRoleWithWebIdentity from the node fixture, whose S3
# front refuses expired or unknown session credentials with 403
# ExpiredToken / InvalidAccessKeyId). Records arrive for
# KS_CREDS_EXPIRY_SECONDS (170 s; 90 s when KS_IT_COUNT is set, i.e. the
# sanitizer pass). Midway the token file is rotated (the old token is
# refused by STS from then on: ksink must re-read the file at each
# refresh); later every issued session credential is revoked at once, so
# requests in flight get 403 ExpiredToken: each such 403 must be followed
# by one refresh and a successful retry. At the end: every record is in
# the table exactly once, ksink logged no error, no 403 happened before
# the revocation, and the refreshes are exported in
# ksink_s3_credential_refreshes_total{provider="web_identity",result="ok"}.
source "$(dirname "${BASH_SOURCE[0]}")/lib_creds.sh"

DURATION=${KS_CREDS_EXPIRY_SECONDS:-$([ -n "${KS_IT_COUNT:-}" ] && echo 90 || echo 170)}
RATE=400
start_broker expiry:4
echo "web-identity-token-A" >"$WORK/web-token"
start_creds_fixture 60
write_conf expiry
produce expiry $((DURATION * RATE)) $RATE
ksink_with expiry AWS_WEB_IDENTITY_TOKEN_FILE="$WORK/web-token" \
  AWS_ROLE_ARN=arn:aws:iam::123456789012:role/ksink AWS_ENDPOINT_URL_STS="$AUTH_EP" \
  AWS_REGION=us-west-2
t0=$SECONDS
PORT=$(KSINK_HTTP_SEEN=0 http_port "$WORK/expiry/ksink.err" 60)
sum403() { curl -sf "http://127.0.0.1:$PORT/metrics" | awk '/^ksink_s3_requests_total\{.*code="403"\}/ { s += $2 } END { print s + 0 }'; }

sleep $((DURATION / 2))
echo "web-identity-token-B" >"$WORK/web-token.new"
mv "$WORK/web-token.new" "$WORK/web-token"
log "token file rotated at $((SECONDS - t0)) s"
sleep $((DURATION / 4))
pre=$(sum403)
[ "$pre" = 0 ] || fail "$pre requests got 403 before any revocation: $(grep -o '"msg":"[^"]*40[03][^"]*"' "$WORK/expiry/ksink.err" | head -3)"
revoked=$(curl -sf -X POST "$AUTH_EP/__revoke")
log "revoked $revoked session credentials at $((SECONDS - t0)) s"
finish expiry
m=$WORK/expiry/metrics
n403=$(awk '/^ksink_s3_requests_total\{.*code="403"\}/ { s += $2 } END { print s + 0 }' "$m")
retried=$(grep -c 'refreshing credentials and retrying once' "$WORK/expiry/ksink.err" || true)
[ "$n403" -le "$retried" ] || fail "$n403 answers were 403 but only $retried were retried after a refresh"
ok=$(metric "$m" 'ksink_s3_credential_refreshes_total{provider="web_identity",result="ok"}')
errs=$(metric "$m" 'ksink_s3_credential_refreshes_total{provider="web_identity",result="error"}')
[ "$ok" -ge $((DURATION / 60 + 1)) ] || fail "only $ok credential fetches in $DURATION s of 60-s credentials"
grep -q 'assumed\|web_identity' "$WORK/expiry/status.json" || fail "/status has no credentials: $(cat "$WORK/expiry/status.json")"
rows=$(wc -l <"$WORK/expiry/expect.jsonl")
echo "creds_expiry_s3: duration=${DURATION}s rows=$rows ttl=60s refreshes_ok=$ok refreshes_error=$errs s3_403=$n403 (all after the revocation of $revoked) retried_after_refresh=$retried fixture=$(fixture_stats)" >"$WORK/summary"
cat "$WORK/summary"
log "creds_expiry_s3: passed in $((SECONDS - t0)) s"
