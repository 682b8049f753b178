// SPDX-License-Identifier: Apache-2.0
// Tests of browser/core/wallet.js: choosing a token for parsed challenges
// (key listed, class at least the one asked, cross-origin vs site-bound,
// origin_info checked), the refill schedule, what is stored; then the whole
// flow against a real `agepass issuer serve`: provider, enrolment, a refill
// of 30, a challenge answered with a wallet token that `agepass token
// verify` accepts, and no token offered twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { b64urlEncode, randomBytes, hexDecode, hexEncode } from '../../core/bytes.js';
import { parseWwwAuthenticate, formatWwwAuthenticate, parseAuthorization, formatAuthorization }
  from '../../core/authhdr.js';
import { crossOriginChallenge, writeChallenge, parseToken } from '../../core/token.js';
import { importTokenKey } from '../../core/rsabssa.js';
import { fetchDirectory, enrolDev, fetchTokens } from '../../core/issuer.js';
import {
  emptyWallet, openWallet, addProvider, setGrant, chooseToken, spendToken, refillPlan, addTokens,
  nextRefillAt, nextEvent, summary, removeProvider, expireGrants, dropGrant, crossChallengeFor,
  refillStarted, refillDone, refillFailed, grantUsed, WALLET_TARGET,
} from '../../core/wallet.js';
import { vectors, code, agepass, agepassStatus, startIssuer, tempDir, write } from './helpers.mjs';

const NOW = 1_800_000_000;
const rand = () => 0.5;
const URL1 = 'https://ap.example';
const pkS = hexDecode(vectors('rfc9578-type2.json').vectors[0].pkS);
const keyVariant = (i) => {
  const b = pkS.slice();
  b[100] ^= i;
  return b;
};
const K18 = pkS;
const K21 = keyVariant(1);
const KNEXT = keyVariant(2);
const STRANGER = keyVariant(3);
const directory = {
  requestUri: 'https://ap.example/token-request', issuerName: 'ap.example',
  keys: [{ tokenType: 2, tokenKey: K18, notBefore: NOW - 100, age: 18 },
    { tokenType: 2, tokenKey: KNEXT, notBefore: NOW + 1000, age: 18 },
    { tokenType: 2, tokenKey: K21, notBefore: NOW - 100, age: 21 }],
};
const grant = { grant: 'G'.repeat(43), age: 21, tokensLeft: 30, expiresAt: NOW + 900 };
const fakeToken = (i) => Uint8Array.from({ length: 354 }, (_, j) => (i * 7 + j) & 0xff);
const keyId = async (k) => hexEncode(new Uint8Array(await crypto.subtle.digest('SHA-256', k)));
const header = (challenge, key) => parseWwwAuthenticate(formatWwwAuthenticate({ challenge, tokenKey: key }));
const siteBound = (origin = 'shop.example') => writeChallenge({ issuerName: 'ap.example',
  redemptionContext: randomBytes(32), originInfo: origin });

async function filled() {
  let s = await addProvider(emptyWallet(), URL1, directory, '"e1"', NOW, rand);
  s = setGrant(s, URL1, grant, NOW);
  s = addTokens(s, URL1, 21, await keyId(K21), [fakeToken(1), fakeToken(2)], NOW, rand);
  s = addTokens(s, URL1, 18, await keyId(K18), [fakeToken(3)], NOW, rand);
  return s;
}

test('what is stored: providers, pinned keys, tokens, grant; JSON only, nothing per visit', async () => {
  const before = await filled();
  const s = await filled();
  const text = JSON.stringify(s);
  assert.deepEqual(JSON.parse(text), s);
  assert.deepEqual(Object.keys(s).sort(), ['grants', 'providers', 'version']);
  assert.deepEqual(Object.keys(s.providers[URL1]).sort(), ['directoryAt', 'directoryDue', 'etag',
    'keys', 'name', 'refillAt', 'requestUri', 'tokens']);
  const choice = chooseToken(s, header(crossOriginChallenge('ap.example'), K18),
    { pageHost: 'shop.example', now: NOW });
  const after = spendToken(s, choice, NOW + 5, rand);
  assert.equal(JSON.stringify(after).includes('shop.example'), false);
  assert.deepEqual(s, before, 'the argument is left as it was');
  assert.deepEqual(openWallet(JSON.parse(JSON.stringify(after))), after);
  assert.deepEqual(openWallet(null), emptyWallet());
  assert.deepEqual(openWallet({ version: 2, providers: {}, grants: {} }), emptyWallet());
  const sum = summary(after, NOW);
  assert.deepEqual(sum, [{ issuerUrl: URL1, name: 'ap.example', ages: [18, 21], tokens: { 21: 2 },
    grantExpiresAt: NOW + 900 }]);
  assert.deepEqual(removeProvider(after, URL1), emptyWallet());
});

test('chooseToken: the listed key, the lowest class at least the one asked', async () => {
  const s = await filled();
  const cross = crossOriginChallenge('ap.example');
  // asked 18: the 18 token (lowest class that answers)
  let c = chooseToken(s, header(cross, K18), { pageHost: 'shop.example', now: NOW });
  assert.equal(c.action, 'spend');
  assert.equal(c.age, 18);
  assert.deepEqual(c.token, fakeToken(3));
  // asked 21: only a 21 token will do
  c = chooseToken(s, header(cross, K21), { pageHost: 'shop.example', now: NOW });
  assert.equal(c.age, 21);
  // no token of 18 left: a 21 token answers an 18 ask
  const s2 = spendToken(s, chooseToken(s, header(cross, K18), { pageHost: 'x', now: NOW }), NOW, rand);
  c = chooseToken(s2, header(cross, K18), { pageHost: 'shop.example', now: NOW });
  assert.equal(c.action, 'spend');
  assert.equal(c.age, 21);
  // a key we do not hold, a challenge without token-key, another issuer name
  assert.deepEqual(chooseToken(s, header(cross, STRANGER), { pageHost: 'a', now: NOW }),
    { action: 'none', reason: 'unknown_provider' });
  assert.deepEqual(chooseToken(s, header(cross, null), { pageHost: 'a', now: NOW }),
    { action: 'none', reason: 'unknown_provider' });
  assert.deepEqual(chooseToken(s, header(crossOriginChallenge('evil.example'), K18),
    { pageHost: 'a', now: NOW }), { action: 'none', reason: 'unknown_provider' });
  assert.deepEqual(chooseToken(s, [], { pageHost: 'a', now: NOW }),
    { action: 'none', reason: 'not_agepass' });
});

test('chooseToken: site-bound challenges, origin_info, no grant', async () => {
  const s = await filled();
  // a site-bound challenge alone: mint now (the caller asks the person)
  const bound = siteBound();
  let c = chooseToken(s, header(bound, K18), { pageHost: 'shop.example', now: NOW });
  assert.equal(c.action, 'mint');
  assert.equal(c.age, 18);
  assert.deepEqual(c.challenge, bound);
  assert.deepEqual(c.tokenKey, K18);
  assert.equal(c.requestUri, 'https://ap.example/token-request');
  // both offered (a --cross-origin verifier): the wallet token wins
  c = chooseToken(s, [...header(bound, K18), ...header(crossOriginChallenge('ap.example'), K18)],
    { pageHost: 'shop.example', now: NOW });
  assert.equal(c.action, 'spend');
  // a challenge bound to another origin is never answered
  assert.deepEqual(chooseToken(s, header(siteBound('other.example'), K18),
    { pageHost: 'shop.example', now: NOW }), { action: 'none', reason: 'wrong_origin' });
  assert.equal(chooseToken(s, header(siteBound('a.example,shop.example'), K18),
    { pageHost: 'shop.example', now: NOW }).action, 'mint');
  // without a valid grant nothing can be minted
  assert.deepEqual(chooseToken(expireGrants(s, NOW + 900), header(bound, K18),
    { pageHost: 'shop.example', now: NOW + 900 }), { action: 'none', reason: 'no_token' });
  // an empty wallet and a cross-origin challenge: mint only with a grant
  const empty = await addProvider(emptyWallet(), URL1, directory, null, NOW, rand);
  assert.deepEqual(chooseToken(empty, header(crossOriginChallenge('ap.example'), K18),
    { pageHost: 'shop.example', now: NOW }), { action: 'none', reason: 'no_token' });
});

test('spendToken: a token is never offered twice', async () => {
  let s = await filled();
  const seen = new Set();
  const cross = header(crossOriginChallenge('ap.example'), K18);
  for (;;) {
    const c = chooseToken(s, cross, { pageHost: 'shop.example', now: NOW });
    if (c.action !== 'spend') break;
    const b64 = b64urlEncode(c.token);
    assert.equal(seen.has(b64), false);
    seen.add(b64);
    assert.throws(() => spendToken(spendToken(s, c, NOW, rand), c, NOW, rand), code('not_found'));
    s = spendToken(s, c, NOW, rand);
  }
  assert.equal(seen.size, 3);
});

test('refill schedule: randomised moments, only with a valid grant, never past it', async () => {
  assert.equal(nextRefillAt(NOW, () => 0, NOW + 900), NOW + 60);
  assert.equal(nextRefillAt(NOW, () => 0.999999, NOW + 900), NOW + 870);
  assert.equal(nextRefillAt(NOW, () => 0.999999, NOW + 10000), NOW + 900);
  assert.equal(nextRefillAt(NOW, rand, NOW + 60), null);
  assert.equal(nextRefillAt(NOW, rand, null), null);
  const moments = new Set();
  for (let i = 0; i < 50; i++) moments.add(nextRefillAt(NOW, Math.random, NOW + 900));
  assert.ok(moments.size > 10, 'moments are spread');
  let s = await addProvider(emptyWallet(), URL1, directory, null, NOW, rand);
  assert.deepEqual(refillPlan(s, NOW), []); // no grant
  s = setGrant(s, URL1, grant, NOW);
  const [p] = refillPlan(s, NOW);
  assert.equal(p.count, WALLET_TARGET);
  assert.equal(p.age, 21);
  assert.deepEqual(p.key.tokenKey, K21);
  assert.deepEqual(p.challenge, crossChallengeFor(s, URL1));
  // after a partial refill the next one is later, within the grant's life
  s = addTokens(s, URL1, 21, p.key.keyId, [fakeToken(1)], NOW, rand);
  const at = s.providers[URL1].refillAt;
  assert.ok(at >= NOW + 60 && at <= NOW + 870);
  assert.deepEqual(refillPlan(s, NOW + 59), []);
  assert.equal(refillPlan(s, at)[0].count, WALLET_TARGET - 1);
  assert.equal(s.grants[URL1].tokensLeft, 29);
  assert.equal(nextEvent(s), at);
  assert.deepEqual(refillPlan(s, NOW + 900), []); // the grant has expired
  // a dropped grant stops refills
  assert.equal(dropGrant(s, URL1).providers[URL1].refillAt, null);
  // the directory's next key becomes current at its not-before
  const g18 = { ...grant, age: 18, expiresAt: NOW + 5000 };
  let n = setGrant(await addProvider(emptyWallet(), URL1, directory, null, NOW, rand), URL1, g18, NOW);
  assert.deepEqual(refillPlan(n, NOW + 999)[0].key.tokenKey, K18);
  assert.deepEqual(refillPlan(n, NOW + 1000)[0].key.tokenKey, KNEXT);
  // a full wallet plans nothing
  const full = Array.from({ length: WALLET_TARGET }, (_, i) => fakeToken(100 + i));
  n = addTokens(n, URL1, 18, await keyId(K18), full, NOW, rand);
  assert.equal(n.providers[URL1].refillAt, null);
  assert.deepEqual(refillPlan(n, NOW + 10), []);
  assert.throws(() => addTokens(s, URL1, 18, 'ff'.repeat(32), [fakeToken(9)], NOW, rand), code('key'));
});

test('a refill in flight: one at a time per provider, its outcome applied to the wallet as it is then',
  async () => {
    const err = (c, tokens) => Object.assign(new Error(c), { code: c }, tokens ? { tokens } : {});
    const fresh = async () => setGrant(await addProvider(emptyWallet(), URL1, directory, null, NOW, rand),
      URL1, grant, NOW);
    let s = await fresh();
    const [plan] = refillPlan(s, NOW);
    s = refillStarted(s, URL1, NOW + 65);
    assert.deepEqual(refillPlan(s, NOW + 10), [], 'no second refill while one is out');
    assert.equal(nextEvent(s), NOW + 65, 'the next try after the request\'s timeout');
    assert.equal(refillPlan(s, NOW + 65).length, 1, 'a request never heard of again does not block for ever');
    assert.deepEqual((await addProvider(s, URL1, directory, null, NOW + 1, rand)).providers[URL1].refillingUntil,
      NOW + 65, 'a directory refresh keeps the mark');
    const tokens = Array.from({ length: plan.count }, (_, i) => fakeToken(200 + i));
    const done = refillDone(s, plan, tokens, NOW + 2, rand);
    assert.equal(done.providers[URL1].tokens.length, 30);
    assert.equal(done.providers[URL1].refillingUntil, undefined);
    assert.equal(done.providers[URL1].refillAt, null, 'full: no refill due');
    assert.equal(done.grants[URL1].tokensLeft, 0);
    assert.deepEqual(Object.keys(done.providers[URL1]).sort(), Object.keys(s.providers[URL1]).sort()
      .filter((k) => k !== 'refillingUntil'));
    // a late answer after "forget everything" or the provider's removal changes nothing
    assert.deepEqual(refillDone(emptyWallet(), plan, tokens, NOW, rand), emptyWallet());
    assert.deepEqual(refillFailed(emptyWallet(), plan, err('network'), NOW, rand), emptyWallet());
    // after a new enrolment, the new grant keeps its count
    const g2 = { ...grant, grant: 'H'.repeat(43), tokensLeft: 30 };
    const re = setGrant(refillStarted(await fresh(), URL1, NOW + 65), URL1, g2, NOW + 1);
    assert.equal(refillDone(re, plan, tokens, NOW + 2, rand).grants[URL1].tokensLeft, 30);
    assert.equal(refillFailed(re, plan, err('grant'), NOW + 2, rand).grants[URL1].grant, g2.grant,
      'a refusal of the old grant does not drop the new one');
    // a timeout: the issuer may have counted them; tried again at a random moment
    const t = refillFailed(refillStarted(await fresh(), URL1, NOW + 65), plan, err('network'), NOW + 60, rand);
    assert.equal(t.grants[URL1].tokensLeft, 0);
    assert.equal(t.providers[URL1].refillingUntil, undefined);
    assert.equal(refillPlan(t, NOW + 2000).length, 0, 'nothing asked past what the grant may have left');
    const partial = refillFailed(refillStarted(await fresh(), URL1, NOW + 65), plan,
      err('network', tokens.slice(0, 10)), NOW + 5, rand);
    assert.equal(partial.providers[URL1].tokens.length, 10, 'tokens finalized before the failure are kept');
    assert.equal(partial.grants[URL1].tokensLeft, 0);
    const busy = refillFailed(refillStarted(await fresh(), URL1, NOW + 65), plan, err('unavailable'), NOW, rand);
    assert.equal(busy.grants[URL1].tokensLeft, 30, 'a refusal costs nothing');
    assert.ok(busy.providers[URL1].refillAt >= NOW + 60 && busy.providers[URL1].refillAt <= NOW + 870);
    assert.equal(refillFailed(await fresh(), plan, err('over_quota'), NOW, rand).grants[URL1], undefined);
    // a token minted at a visit lowers what the grant has left
    assert.equal(grantUsed(await fresh(), URL1, 1).grants[URL1].tokensLeft, 29);
    assert.deepEqual(grantUsed(emptyWallet(), URL1, 1), emptyWallet());
  });

test('a directory refresh drops tokens of keys no longer listed', async () => {
  let s = await filled();
  const d2 = { ...directory, keys: directory.keys.filter((k) => k.age === 18) };
  s = await addProvider(s, URL1, d2, '"e2"', NOW + 10, rand);
  assert.deepEqual(s.providers[URL1].tokens.map((t) => t.age), [18]);
  assert.equal(s.providers[URL1].etag, '"e2"');
  await assert.rejects(addProvider(s, URL1, { ...directory, issuerName: null }, null, NOW, rand),
    code('syntax'));
});

test('the whole flow against a real issuer: enrol, refill 30, answer a challenge', async (t) => {
  const dir = tempDir(t);
  const { base, child } = await startIssuer(dir, { dayCap: 30 });
  t.after(() => child.kill());
  const now = Math.floor(Date.now() / 1000);
  const d = await fetchDirectory(fetch, base);
  let s = await addProvider(emptyWallet(), base, d.directory, d.etag, now, Math.random);
  s = setGrant(s, base, await enrolDev(fetch, base, 25), now);
  for (const p of refillPlan(s, now)) {
    const key = await importTokenKey(p.key.tokenKey);
    const tokens = await fetchTokens(fetch, { requestUri: p.requestUri, grant: p.grant, key,
      challenge: p.challenge, count: p.count });
    s = addTokens(s, p.issuerUrl, p.age, p.key.keyId, tokens, now, Math.random);
  }
  assert.deepEqual(summary(s, now)[0].tokens, { 18: 30 });
  assert.deepEqual(refillPlan(s, now + 1000), []);
  // the challenge a verifier for this issuer sends (written by the C side)
  const key18 = d.directory.keys.find((k) => k.age === 18).tokenKey;
  const chPath = write(dir, 'ch', crossOriginChallenge('ap.example'));
  const pub = write(dir, 'pub', key18);
  const www = agepass(['token', 'header-challenge', '--challenge', chPath, '--pub', pub]).trim();
  const choice = chooseToken(s, parseWwwAuthenticate(www), { pageHost: '127.0.0.1', now });
  assert.equal(choice.action, 'spend');
  s = spendToken(s, choice, now, Math.random);
  const authz = formatAuthorization(choice.token);
  const token = parseAuthorization(authz);
  assert.equal(agepassStatus(['token', 'verify', '--pub', pub, '--challenge', chPath, '--in',
    write(dir, 'tok', token)]), 0);
  assert.equal(summary(s, now)[0].tokens[18], 29);
  assert.equal(hexEncode(parseToken(token).tokenKeyId), s.providers[base].tokens[0].keyId);
});
