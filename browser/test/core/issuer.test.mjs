// SPDX-License-Identifier: Apache-2.0
// Tests of browser/core/issuer.js against a real `agepass issuer serve
// --insecure-dev-attester` on loopback: the directory with its ETag,
// enrolment (an adult, a 15-year-old), a batch of 30 tokens each verified by
// `agepass token verify`, one token alone, and each refusal mapped to its
// code. A small loopback HTTP server stands in for an issuer that answers
// 503, redirects, or sends too much, which the real one does not do on cue.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { hexEncode, randomBytes, b64urlEncode } from '../../core/bytes.js';
import { importTokenKey } from '../../core/rsabssa.js';
import { crossOriginChallenge, parseToken, writeChallenge } from '../../core/token.js';
import { currentKey } from '../../core/directory.js';
import {
  fetchDirectory, enrolDev, fetchTokens, parseGrant, normaliseIssuerUrl, oidcStart,
} from '../../core/issuer.js';
import { agepass, agepassStatus, code, startIssuer, tempDir, write } from './helpers.mjs';

let dir;
let base;
let server;
const now = () => Math.floor(Date.now() / 1000);
// every request the core makes goes through here: we check what it asks for
const seen = [];
const spyFetch = (url, init) => {
  seen.push(init);
  return fetch(url, init);
};

before(async () => {
  dir = tempDir({ after: (fn) => after(fn) });
  const started = await startIssuer(dir);
  base = started.base;
  server = started.child;
});

after(() => server?.kill('SIGTERM'));

async function directory() {
  const d = await fetchDirectory(spyFetch, base);
  assert.equal(d.notModified, false);
  return d;
}

test('directory: agepass keys, the ETag gives 304', async () => {
  const d = await directory();
  assert.equal(d.directory.issuerName, 'ap.example');
  assert.equal(d.directory.requestUri, `${base}/token-request`);
  assert.deepEqual(d.directory.keys.map((k) => k.age).sort(), [16, 16, 18, 18]);
  assert.ok(d.etag);
  assert.deepEqual(await fetchDirectory(spyFetch, base + '/', { etag: d.etag }), { notModified: true });
  for (const init of seen) {
    assert.equal(init.credentials, 'omit');
    assert.equal(init.referrerPolicy, 'no-referrer');
    assert.equal(init.redirect, 'error');
  }
});

test('enrolment: an adult gets a grant, a 15-year-old none', async () => {
  const g = await enrolDev(spyFetch, base, 30);
  assert.equal(g.age, 18);
  assert.equal(g.tokensLeft, 40);
  // 15 minutes at least, up to the next hour boundary (docs/privacy.md)
  assert.ok(g.expiresAt > now() + 850 && g.expiresAt <= now() + 4500);
  await assert.rejects(enrolDev(spyFetch, base, 15), code('under_age'));
  assert.equal((await enrolDev(spyFetch, base, 17)).age, 16);
  await assert.rejects(oidcStart(spyFetch, base), code('not_found')); // no OIDC configured
});

test('a batch of 30 cross-origin tokens, each verified by agepass token verify; then one more',
  async (t) => {
    const { directory: d } = await directory();
    const key = await importTokenKey(currentKey(d, 18, now()).tokenKey);
    const grant = await enrolDev(spyFetch, base, 30);
    const challenge = crossOriginChallenge(d.issuerName);
    const tokens = await fetchTokens(spyFetch, { requestUri: d.requestUri, grant: grant.grant, key,
      challenge, count: 30 });
    assert.equal(tokens.length, 30);
    const tmp = tempDir(t);
    const pub = write(tmp, 'pub', key.spki);
    const ch = write(tmp, 'ch', challenge);
    const nonces = new Set();
    tokens.forEach((tok, i) => {
      nonces.add(hexEncode(parseToken(tok).nonce));
      assert.equal(agepassStatus(['token', 'verify', '--pub', pub, '--challenge', ch, '--in',
        write(tmp, `t${i}`, tok)]), 0, `token ${i}`);
    });
    assert.equal(nonces.size, 30);
    // one alone (the site-bound path: application/private-token-request)
    const bound = writeChallenge({ issuerName: d.issuerName, redemptionContext: randomBytes(32),
      originInfo: 'shop.example' });
    const [one] = await fetchTokens(spyFetch, { requestUri: d.requestUri, grant: grant.grant, key,
      challenge: bound });
    assert.equal(agepassStatus(['token', 'verify', '--pub', pub, '--challenge',
      write(tmp, 'bound', bound), '--in', write(tmp, 'one', one)]), 0);
    // 9 left on the grant: 10 is over quota, and nothing was taken
    await assert.rejects(fetchTokens(spyFetch, { requestUri: d.requestUri, grant: grant.grant, key,
      challenge, count: 10 }), code('over_quota'));
    assert.equal((await fetchTokens(spyFetch, { requestUri: d.requestUri, grant: grant.grant, key,
      challenge, count: 9 })).length, 9);
    // the issuer counted 40 tokens of this grant
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /agepass_issuer_tokens_issued_total\{age="18",[^}]*\} 40\b/);
  });

test('refusals: unknown grant 401, wrong class 403, unknown key 422', async (t) => {
  const { directory: d } = await directory();
  const key18 = await importTokenKey(currentKey(d, 18, now()).tokenKey);
  const challenge = crossOriginChallenge(d.issuerName);
  const o = { requestUri: d.requestUri, key: key18, challenge };
  const fake = b64urlEncode(randomBytes(32)).replace(/=+$/, '');
  await assert.rejects(fetchTokens(spyFetch, { ...o, grant: fake, count: 2 }), code('grant'));
  await assert.rejects(fetchTokens(spyFetch, { ...o, grant: fake }), code('grant'));
  await assert.rejects(fetchTokens(spyFetch, { ...o, grant: 'short' }), code('grant'));
  const g16 = await enrolDev(spyFetch, base, 17);
  await assert.rejects(fetchTokens(spyFetch, { ...o, grant: g16.grant, count: 3 }),
    code('wrong_class'));
  const tmp = tempDir(t);
  agepass(['keygen', '--out', tmp]);
  const { readFileSync } = await import('node:fs');
  const stranger = await importTokenKey(new Uint8Array(readFileSync(`${tmp}/issuer-public.der`)));
  const g = await enrolDev(spyFetch, base, 30);
  await assert.rejects(fetchTokens(spyFetch, { ...o, key: stranger, grant: g.grant }),
    code('unknown_key'));
  await assert.rejects(fetchDirectory(spyFetch, 'http://127.0.0.1:1'), code('network'));
});

test('a server that answers 503, redirects, or sends too much', async (t) => {
  const srv = http.createServer((req, res) => {
    if (req.url.startsWith('/busy')) {
      res.writeHead(503).end('later');
    } else if (req.url.startsWith('/moved')) {
      res.writeHead(302, { Location: `${base}/.well-known/private-token-issuer-directory` }).end();
    } else if (req.url.startsWith('/wrongtype')) {
      // a well-formed batch response of two absent tokens, or 256 bytes, as text/plain
      const batch = req.headers['content-type'] === 'application/private-token-arbitrary-batch-request';
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(batch ? Buffer.from([2, 0, 0]) : Buffer.alloc(256, 1));
    } else if (req.url.startsWith('/endless')) {
      // no Content-Length, and more than any answer we take, in chunks
      res.writeHead(200, { 'Content-Type': 'application/private-token-issuer-directory' });
      const chunk = 'x'.repeat(8192);
      let sent = 0;
      const more = () => {
        while (sent < 200 && res.write(chunk)) sent++;
        if (sent < 200) res.once('drain', more);
        else res.end();
      };
      res.on('error', () => {});
      more();
    } else if (req.url.startsWith('/slow')) {
      // the headers, then the body 1.5 s later
      res.writeHead(200, { 'Content-Type': 'application/private-token-response' });
      const t = setTimeout(() => res.end(Buffer.alloc(256, 1)), 1500);
      res.on('close', () => clearTimeout(t));
    } else if (req.url.startsWith('/big')) {
      res.writeHead(200, { 'Content-Type': 'application/private-token-issuer-directory' });
      res.end('x'.repeat(70000));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => srv.close());
  const at = (p) => `http://127.0.0.1:${srv.address().port}${p}`;
  await assert.rejects(fetchDirectory(spyFetch, at('/busy')), code('unavailable'));
  await assert.rejects(fetchDirectory(spyFetch, at('/moved')), code('network'));
  await assert.rejects(fetchDirectory(spyFetch, at('/big')), code('too_big'));
  await assert.rejects(fetchDirectory(spyFetch, at('/endless')), code('too_big'));
  const someKey = await importTokenKey((await directory()).directory.keys[0].tokenKey);
  for (const count of [1, 2]) {
    await assert.rejects(fetchTokens(spyFetch, { requestUri: at('/wrongtype'), grant: 'A'.repeat(43),
      key: someKey, challenge: crossOriginChallenge('x'), count }), code('content_type'));
  }
  // the caller's timeout covers the body too: a late answer is not read
  const slow = { requestUri: at('/slow'), grant: 'A'.repeat(43), key: someKey,
    challenge: crossOriginChallenge('x') };
  const t0 = Date.now();
  await assert.rejects(fetchTokens(spyFetch, { ...slow, timeoutMs: 300 }), code('network'));
  assert.ok(Date.now() - t0 < 1400, 'given up at the timeout, not at the answer');
  await assert.rejects(fetchTokens(spyFetch, { ...slow, timeoutMs: 0 }), code('range'));
  await assert.rejects(fetchTokens(spyFetch, { requestUri: at('/busy'),
    grant: 'A'.repeat(43), key: await importTokenKey((await directory()).directory.keys[0].tokenKey),
    challenge: crossOriginChallenge('x') }), code('unavailable'));
});

test('grant JSON and issuer URLs', () => {
  const g = parseGrant('{"grant":"' + 'A'.repeat(43) + '","age":18,"tokens":30,"expires_in":900}', 1000);
  assert.deepEqual(g, { grant: 'A'.repeat(43), age: 18, tokensLeft: 30, expiresAt: 1900 });
  for (const bad of ['{}', '{"grant":"abc","age":18,"tokens":30,"expires_in":900}',
    '{"grant":"' + '!'.repeat(43) + '","age":18,"tokens":30,"expires_in":900}',
    '{"grant":"' + 'A'.repeat(43) + '","age":0,"tokens":30,"expires_in":900}',
    '{"grant":"' + 'A'.repeat(43) + '","age":18,"tokens":30,"expires_in":0}',
    '{"grant":"' + 'A'.repeat(43) + '","age":18,"tokens":"30","expires_in":900}']) {
    assert.throws(() => parseGrant(bad, 0), (e) => ['syntax', 'range', 'encoding'].includes(e.code), bad);
  }
  assert.equal(normaliseIssuerUrl('https://AP.example:443/x/'), 'https://ap.example/x');
  assert.throws(() => normaliseIssuerUrl('ftp://a'), code('syntax'));
  assert.throws(() => normaliseIssuerUrl('https://a/?q=1'), code('syntax'));
});
