// AWS credential sources and a credential-checking S3 front, on loopback,
// for the credential chain tests (test/integration/creds_*_s3.sh).
//
// One process, two ports (written as JSON to --port-file):
//   auth: STS (POST /, AssumeRoleWithWebIdentity and AssumeRole, the real
//         XML answers), IMDSv2 (PUT /latest/api/token, GET
//         /latest/meta-data/iam/security-credentials/[role]) and container
//         credentials (GET /v1/credentials), each handing out session
//         credentials that expire after --ttl seconds; GET /__stats.
//   s3:   verifies each request's SigV4 signature against the keys it
//         issued (or the --static-ak/--static-sk pair), the session token
//         and the expiry -- answering 403 InvalidAccessKeyId, InvalidToken,
//         ExpiredToken or SignatureDoesNotMatch like S3 -- then re-signs
//         the request with RGW's keys and forwards it to --upstream.
// Every S3 request's credential scope (region, service) is counted in the
// stats, so tests can assert the region ksink signed with.
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';

const args = {};
if (!process.argv.includes('--port-file')) process.exit(0); // not a test file
for (let i = 2; i < process.argv.length; i += 2)
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const TTL = Number(args.ttl || 60);
const upstream = new URL(args.upstream || 'http://127.0.0.1:7480');
const UP_AK = args['upstream-ak'], UP_SK = args['upstream-sk'];
const issued = new Map(); // access key -> {sk, token, exp}
if (args['static-ak'])
  issued.set(args['static-ak'], { sk: args['static-sk'], token: null, exp: 0 });
const stats = { issued: {}, s3: {}, regions: {}, acl: {}, sts_errors: 0, imds_tokens: 0 };
const bump = (o, k) => { o[k] = (o[k] || 0) + 1; };
const imdsTokens = new Set();
let dropIfNoneMatch = false;
let imdsSilent = false;

function issue(kind) {
  const ak = 'ASIA' + crypto.randomBytes(8).toString('hex').toUpperCase();
  const c = { sk: crypto.randomBytes(20).toString('base64'),
              token: 'tok-' + kind + '-' + crypto.randomBytes(24).toString('base64'),
              exp: Date.now() + TTL * 1000 };
  issued.set(ak, c);
  bump(stats.issued, kind);
  return { ak, ...c, expIso: new Date(c.exp).toISOString().replace(/\.\d+Z$/, 'Z') };
}

const hmac = (k, s) => crypto.createHmac('sha256', k).update(s).digest();
const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');

// The canonical request of what arrived, for the headers it signed.
function signature(method, rawPath, rawQuery, headers, signed, payload, date,
                   scope, sk) {
  const q = rawQuery ? rawQuery.split('&').map((p) => {
    const i = p.indexOf('=');
    return i < 0 ? [p, ''] : [p.slice(0, i), p.slice(i + 1)];
  }).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : 1))
    .map(([k, v]) => k + '=' + v).join('&') : '';
  const ch = signed.map((h) => h + ':' + String(headers[h] ?? '').trim().replace(/\s+/g, ' ') + '\n').join('');
  const creq = [method, rawPath, q, ch, signed.join(';'), payload].join('\n');
  const sts = ['AWS4-HMAC-SHA256', date, scope, sha(creq)].join('\n');
  const [d, region, service] = scope.split('/');
  let k = hmac('AWS4' + sk, d);
  k = hmac(k, region); k = hmac(k, service); k = hmac(k, 'aws4_request');
  return hmac(k, sts).toString('hex');
}

// null when the request's signature, token and expiry are good, else the
// S3 error code.
function check(req, body, service) {
  const a = req.headers.authorization || '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$/.exec(a);
  if (!m) return ['AccessDenied', 'no SigV4 Authorization'];
  const [, ak, scope, sh, sig] = m;
  const parts = scope.split('/');
  if (service === 's3') bump(stats.regions, parts[1]);
  if (parts[2] !== service) return ['SignatureDoesNotMatch', 'service ' + parts[2]];
  const c = issued.get(ak);
  if (!c) return ['InvalidAccessKeyId', 'unknown key ' + ak];
  if (c.token !== null && req.headers['x-amz-security-token'] !== c.token)
    return ['InvalidToken', 'the session token does not match'];
  if (c.exp && Date.now() > c.exp) return ['ExpiredToken', 'The provided token has expired.'];
  const u = new URL(req.url, 'http://x');
  const rawPath = req.url.split('?')[0];
  const rawQuery = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
  const payload = req.headers['x-amz-content-sha256'] || sha(body);
  if (service === 's3' && payload !== 'UNSIGNED-PAYLOAD' && payload !== sha(body))
    return ['XAmzContentSHA256Mismatch', 'payload hash'];
  const want = signature(req.method, rawPath, rawQuery, req.headers, sh.split(';'),
                         payload, req.headers['x-amz-date'], scope, c.sk);
  void u;
  if (want !== sig) return ['SignatureDoesNotMatch', 'signature mismatch'];
  return null;
}

function s3err(res, code, msg, status = 403) {
  bump(stats.s3, status + ' ' + code);
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${msg}</Message><RequestId>fixture</RequestId></Error>`);
}

function stsXml(action, c) {
  return `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <${action}Result>
    <Credentials>
      <AccessKeyId>${c.ak}</AccessKeyId>
      <SecretAccessKey>${c.sk}</SecretAccessKey>
      <SessionToken>${c.token}</SessionToken>
      <Expiration>${c.expIso}</Expiration>
    </Credentials>
    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/x/y</Arn><AssumedRoleId>AROA:y</AssumedRoleId></AssumedRoleUser>
  </${action}Result>
  <ResponseMetadata><RequestId>fixture</RequestId></ResponseMetadata>
</${action}Response>`;
}

function stsErr(res, code, msg, status = 403) {
  stats.sts_errors++;
  res.writeHead(status, { 'content-type': 'text/xml' });
  res.end(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${msg}</Message></Error><RequestId>fixture</RequestId></ErrorResponse>`);
}

function auth(req, res, body) {
  const u = new URL(req.url, 'http://x');
  if (req.method === 'GET' && u.pathname === '/__stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify(stats));
  }
  if (req.method === 'POST' && u.pathname === '/__drop_if_none_match') {
    // From now on the S3 front drops If-None-Match (toggles): a store
    // without conditional writes, for the start-up probe.
    dropIfNoneMatch = !dropIfNoneMatch;
    res.writeHead(200);
    return res.end(String(dropIfNoneMatch));
  }
  if (req.method === 'POST' && u.pathname === '/__revoke') {
    // Every session credential issued so far expires now (S3 answers
    // ExpiredToken to what is signed with them).
    let n = 0;
    for (const c of issued.values()) if (c.token !== null) { c.exp = Date.now() - 1; n++; }
    res.writeHead(200);
    return res.end(String(n));
  }
  if (req.method === 'POST' && (u.pathname === '/' || u.pathname === '/sts')) {
    const f = new URLSearchParams(body.toString());
    const action = f.get('Action');
    if (action === 'AssumeRoleWithWebIdentity') {
      const want = fs.readFileSync(args['web-token-file'], 'utf8').trim();
      if (f.get('WebIdentityToken') !== want)
        return stsErr(res, 'InvalidIdentityToken', 'token does not match');
      if (!f.get('RoleArn') || !f.get('RoleSessionName'))
        return stsErr(res, 'ValidationError', 'RoleArn and RoleSessionName', 400);
      res.writeHead(200, { 'content-type': 'text/xml' });
      return res.end(stsXml(action, issue('web_identity')));
    }
    if (action === 'AssumeRole') {
      const e = check(req, body, 'sts');
      if (e) return stsErr(res, e[0] === 'ExpiredToken' ? 'ExpiredToken' : 'InvalidClientTokenId', e[1]);
      if (args['external-id'] && f.get('ExternalId') !== args['external-id'])
        return stsErr(res, 'AccessDenied', 'external id');
      res.writeHead(200, { 'content-type': 'text/xml' });
      return res.end(stsXml(action, issue('assume_role')));
    }
    return stsErr(res, 'InvalidAction', 'unknown action', 400);
  }
  if (req.method === 'POST' && u.pathname === '/__imds_silent') {
    // Toggles an IMDS that takes the token PUT and never answers, as an
    // instance with a metadata hop limit of 1 looks from a container.
    imdsSilent = !imdsSilent;
    res.writeHead(200);
    return res.end(String(imdsSilent));
  }
  if (req.method === 'PUT' && u.pathname === '/latest/api/token' && imdsSilent) return;
  if (req.method === 'PUT' && u.pathname === '/latest/api/token') {
    if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds']) { res.writeHead(400); return res.end(); }
    const t = 'imds-' + crypto.randomBytes(16).toString('hex');
    imdsTokens.add(t);
    stats.imds_tokens++;
    res.writeHead(200, { 'content-type': 'text/plain' });
    return res.end(t);
  }
  if (req.method === 'GET' && u.pathname.startsWith('/latest/meta-data/iam/security-credentials/')) {
    if (!imdsTokens.has(req.headers['x-aws-ec2-metadata-token'])) { res.writeHead(401); return res.end(); }
    const role = u.pathname.slice('/latest/meta-data/iam/security-credentials/'.length);
    if (role === '') { res.writeHead(200); return res.end('ksink-node-role'); }
    if (role !== 'ksink-node-role') { res.writeHead(404); return res.end(); }
    const c = issue('imds');
    res.writeHead(200, { 'content-type': 'text/plain' });
    return res.end(JSON.stringify({ Code: 'Success', LastUpdated: new Date().toISOString(),
      Type: 'AWS-HMAC', AccessKeyId: c.ak, SecretAccessKey: c.sk, Token: c.token,
      Expiration: c.expIso }));
  }
  if (req.method === 'GET' && u.pathname === '/v1/credentials') {
    if (args['container-auth'] && req.headers.authorization !== args['container-auth']) {
      res.writeHead(401, { 'content-type': 'application/json' });
      return res.end('{"code":"AccessDenied","message":"bad authorization"}');
    }
    const c = issue('container');
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ AccessKeyId: c.ak, SecretAccessKey: c.sk, Token: c.token,
      Expiration: c.expIso, RoleArn: 'arn:aws:iam::123456789012:role/pod' }));
  }
  res.writeHead(404);
  res.end();
}

// Re-signs for RGW (region us-east-1) what ksink signed, and forwards it.
function forward(req, res, body) {
  const rawPath = req.url.split('?')[0];
  const rawQuery = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
  const h = {};
  for (const [k, v] of Object.entries(req.headers))
    if (!['authorization', 'x-amz-security-token', 'host', 'connection'].includes(k) &&
        !(dropIfNoneMatch && k === 'if-none-match')) h[k] = v;
  h.host = upstream.host;
  const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  h['x-amz-date'] = date;
  h['x-amz-content-sha256'] = h['x-amz-content-sha256'] || sha(body);
  const signed = Object.keys(h).filter((k) => k === 'host' || k.startsWith('x-amz-') ||
    k === 'content-md5' || k === 'if-none-match' || k === 'range').sort();
  const scope = `${date.slice(0, 8)}/us-east-1/s3/aws4_request`;
  const sig = signature(req.method, rawPath, rawQuery, h, signed, h['x-amz-content-sha256'],
                        date, scope, UP_SK);
  h.authorization = `AWS4-HMAC-SHA256 Credential=${UP_AK}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${sig}`;
  h['content-length'] = String(body.length);
  const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method,
                            path: req.url, headers: h }, (ur) => {
    bump(stats.s3, String(ur.statusCode));
    res.writeHead(ur.statusCode, ur.headers);
    ur.pipe(res);
  });
  up.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
  up.end(body);
}

function collect(handler) {
  return (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks)));
  };
}

const authSrv = http.createServer(collect(auth));
const s3Srv = http.createServer(collect((req, res, body) => {
  const e = check(req, body, 's3');
  if (e) return s3err(res, e[0], e[1]);
  if (req.headers['x-amz-acl']) bump(stats.acl, req.method + ' ' + req.headers['x-amz-acl']);
  forward(req, res, body);
}));
authSrv.listen(0, '127.0.0.1', () => s3Srv.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(args['port-file'] + '.tmp', JSON.stringify({
    auth: authSrv.address().port, s3: s3Srv.address().port }));
  fs.renameSync(args['port-file'] + '.tmp', args['port-file']);
}));
process.on('SIGTERM', () => process.exit(0));
