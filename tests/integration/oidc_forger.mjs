// SPDX-License-Identifier: Apache-2.0
// tests/integration/oidc_forger.mjs: a hostile OpenID Provider for
// oidc_forged.sh. It speaks the protocol (discovery, JWKS, authorization
// redirect, token endpoint with client_secret_basic) but hands out the ID
// token of the mode last set with GET /mode?m=NAME:
//   good          RS256 by the published key, born 1990-05-01
//   wrong-key     signed by another RSA key, under the published kid
//   unknown-kid   kid "nope", in no JWKS
//   rotated       signed by a second key published only after the first
//                 JWKS fetch (the issuer must refetch to accept it)
//   wrong-aud, wrong-iss, wrong-nonce, expired, iat-future,
//   alg-none, hs256 (HMAC keyed with the public JWK), no-birthdate,
//   withheld-year (0000-05-01), bad-date (2000-02-30)
//   userinfo      no birthdate in the ID token; a signed UserInfo JWT has it
//   userinfo-unsigned   ... UserInfo as plain JSON (proves nothing)
//   userinfo-other-sub  ... a signed UserInfo JWT for another sub
//   token-down    the token endpoint drops the connection without answering
//
//   node oidc_forger.mjs REDIRECT_URI CLIENT_SECRET_FILE
// Prints {"issuer": URL} on stdout once it listens. Keys are made here.
import { createHash, createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

const [redirectUri, secretFile] = process.argv.slice(2);
const secret = readFileSync(secretFile, 'utf8').trim();
const clientId = 'agepass-issuer';
const keyPair = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const k1 = keyPair(), k2 = keyPair(), other = keyPair();
const pub = (k, kid) => ({ ...k.publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' });
const b64u = (b) => Buffer.from(b).toString('base64url');
let jwksFetches = 0;
let mode = 'good';
const codes = new Map();

function jws(header, claims, signer) {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
  return `${input}.${b64u(signer(input))}`;
}
const rs = (k) => (input) => sign('sha256', Buffer.from(input), k.privateKey);

function idToken(issuer, nonce) {
  const now = Math.floor(Date.now() / 1000);
  const c = { iss: issuer, sub: 'forger-sub-8812', aud: clientId, exp: now + 300, iat: now, nonce, birthdate: '1990-05-01' };
  const h = { alg: 'RS256', kid: 'k1' };
  switch (mode) {
    case 'good': return jws(h, c, rs(k1));
    case 'wrong-key': return jws(h, c, rs(other));
    case 'unknown-kid': return jws({ ...h, kid: 'nope' }, c, rs(k1));
    case 'rotated': return jws({ ...h, kid: 'k2' }, c, rs(k2));
    case 'wrong-aud': return jws(h, { ...c, aud: 'someone-else' }, rs(k1));
    case 'wrong-iss': return jws(h, { ...c, iss: 'https://evil.example' }, rs(k1));
    case 'wrong-nonce': return jws(h, { ...c, nonce: 'not-the-nonce' }, rs(k1));
    case 'expired': return jws(h, { ...c, exp: now - 3600, iat: now - 7200 }, rs(k1));
    case 'iat-future': return jws(h, { ...c, iat: now + 3600, exp: now + 7200 }, rs(k1));
    case 'alg-none': return `${b64u(JSON.stringify({ alg: 'none' }))}.${b64u(JSON.stringify(c))}.AAAA`;
    case 'hs256': return jws({ alg: 'HS256', kid: 'k1' }, c,
      (input) => createHmac('sha256', JSON.stringify(pub(k1, 'k1'))).update(input).digest());
    case 'no-birthdate':
    case 'userinfo':
    case 'userinfo-unsigned':
    case 'userinfo-other-sub': { const { birthdate, ...rest } = c; return jws(h, rest, rs(k1)); }
    case 'withheld-year': return jws(h, { ...c, birthdate: '0000-05-01' }, rs(k1));
    case 'bad-date': return jws(h, { ...c, birthdate: '2000-02-30' }, rs(k1));
    default: throw new Error(`unknown mode ${mode}`);
  }
}

const server = http.createServer((req, res) => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const url = new URL(req.url, issuer);
  const json = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (url.pathname === '/.well-known/openid-configuration') {
    return json(200, {
      issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`, userinfo_endpoint: `${issuer}/me`,
      id_token_signing_alg_values_supported: ['RS256'],
    });
  }
  if (url.pathname === '/jwks') {
    jwksFetches++;
    return json(200, { keys: jwksFetches > 1 ? [pub(k1, 'k1'), pub(k2, 'k2')] : [pub(k1, 'k1')] });
  }
  if (url.pathname === '/me') {
    if (req.headers.authorization !== 'Bearer at-for-userinfo') return json(401, { error: 'invalid_token' });
    const c = { iss: issuer, aud: clientId, sub: 'forger-sub-8812', birthdate: '1990-05-01' };
    if (mode === 'userinfo-unsigned' || mode === 'no-birthdate') return json(200, mode === 'no-birthdate' ? { sub: c.sub } : c);
    res.writeHead(200, { 'content-type': 'application/jwt' });
    return res.end(jws({ alg: 'RS256', kid: 'k1' }, mode === 'userinfo-other-sub' ? { ...c, sub: 'someone-else' } : c, rs(k1)));
  }
  if (url.pathname === '/mode') {
    mode = url.searchParams.get('m');
    return json(200, { mode, jwksFetches });
  }
  if (url.pathname === '/auth') {
    const q = url.searchParams;
    if (q.get('client_id') !== clientId || q.get('redirect_uri') !== redirectUri ||
        q.get('code_challenge_method') !== 'S256') return json(400, { error: 'invalid_request' });
    const code = b64u(Buffer.from(`${Math.random()}`));
    codes.set(code, { nonce: q.get('nonce'), challenge: q.get('code_challenge') });
    res.writeHead(302, { location: `${redirectUri}?code=${code}&state=${encodeURIComponent(q.get('state'))}` });
    return res.end();
  }
  if (url.pathname === '/token' && req.method === 'POST' && mode === 'token-down') {
    req.socket.destroy();
    return undefined;
  }
  if (url.pathname === '/token' && req.method === 'POST') {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const f = new URLSearchParams(body);
      const auth = Buffer.from((req.headers.authorization || '').replace(/^Basic /, ''), 'base64').toString();
      const c = codes.get(f.get('code'));
      codes.delete(f.get('code'));
      const challenge = c && b64u(createHash256(f.get('code_verifier') || ''));
      if (auth !== `${clientId}:${encodeURIComponent(secret)}` && auth !== `${clientId}:${secret}`) return json(401, { error: 'invalid_client' });
      if (!c || challenge !== c.challenge || f.get('redirect_uri') !== redirectUri) return json(400, { error: 'invalid_grant' });
      return json(200, { access_token: 'at-for-userinfo', token_type: 'Bearer', id_token: idToken(issuer, c.nonce) });
    });
    return undefined;
  }
  return json(404, { error: 'not_found' });
});

function createHash256(s) { return createHash('sha256').update(s).digest(); }

server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ issuer: `http://127.0.0.1:${server.address().port}` }));
});
process.on('SIGTERM', () => process.exit(0));
