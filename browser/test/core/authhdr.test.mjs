// SPDX-License-Identifier: Apache-2.0
// Tests of browser/core/authhdr.js: RFC 9577 Appendix A.2 headers (the
// grease vector included), the malformed inputs lib/authhdr.c's tests use,
// bounds, several fields, and both directions against `agepass token`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { b64urlEncode, hexDecode, hexEncode } from '../../core/bytes.js';
import {
  parseWwwAuthenticate, formatWwwAuthenticate, parseAuthorization, formatAuthorization,
  HEADER_MAX, MAX_CHALLENGES,
} from '../../core/authhdr.js';
import { crossOriginChallenge } from '../../core/token.js';
import { vectors, code, agepass, tempDir, write } from './helpers.mjs';

const rfc9577 = vectors('rfc9577.json');
const rfc9578 = vectors('rfc9578-type2.json');
const CH = 'AAIADmlzc3Vlci5leGFtcGxlAAAA'; // type 2, issuer.example, cross-origin
const count = (v) => parseWwwAuthenticate(v).length;

test('RFC 9577 A.2: header vectors, grease and Basic skipped', () => {
  for (const h of rfc9577.http_headers) {
    const got = parseWwwAuthenticate(h.www_authenticate);
    const want = h.challenges.filter((c) => c.token_type !== 0);
    assert.equal(got.length, want.length, `vector ${h.index}`);
    want.forEach((c, i) => {
      assert.equal(got[i].parsed.tokenType, c.token_type);
      assert.equal(hexEncode(got[i].challenge), c.token_challenge);
      assert.equal(hexEncode(got[i].tokenKey), c.token_key);
      assert.equal(got[i].maxAge, c.max_age ?? null);
    });
    // our own output reads back the same
    const again = parseWwwAuthenticate(got.map((c) => formatWwwAuthenticate(c)).join(', '));
    assert.deepEqual(again.map((c) => hexEncode(c.challenge)), got.map((c) => hexEncode(c.challenge)));
    // every prefix: no exception, and few prefixes still carry a challenge
    let ok = 0;
    for (let i = 0; i < h.www_authenticate.length; i++) {
      if (count(h.www_authenticate.slice(0, i)) > 0) ok++;
    }
    assert.ok(ok < h.www_authenticate.length / 2);
  }
});

test('WWW-Authenticate: each way to spoil a challenge, as lib/authhdr.c', () => {
  assert.equal(count(`PrivateToken challenge="${CH}`), 0); // unterminated quote
  const one = parseWwwAuthenticate(`PrivateToken challenge="${CH}"`);
  assert.equal(one.length, 1);
  assert.equal(one[0].tokenKey, null);
  assert.equal(one[0].maxAge, null);
  const lax = parseWwwAuthenticate(`privatetoken CHALLENGE=${CH} , ,Max-Age = "0"`);
  assert.equal(lax.length, 1);
  assert.equal(lax[0].maxAge, 0);
  assert.equal(count(`PrivateToken challenge="${CH}", challenge="${CH}"`), 0); // twice
  assert.equal(count('PrivateToken token-key="AAAA"'), 0); // no challenge
  assert.equal(count('PrivateToken challenge="AAIADmlzc3Vlci5leGFtcGxlAAA"'), 0); // truncated
  assert.equal(count('PrivateToken challenge="AAIADmlzc3Vlci5leGFtcGxlAAAA!"'), 0);
  assert.equal(count('PrivateToken challenge="AAMADmlzc3Vlci5leGFtcGxlAAAA"'), 0); // type 3
  assert.equal(count(`PrivateToken challenge="${CH}", max-age="-1"`), 0);
  assert.equal(count(`PrivateToken challenge="${CH}", max-age=99999999999`), 0);
  assert.equal(count(`PrivateToken challenge="${CH}", max-age="31536001"`), 0);
  assert.equal(count(`PrivateToken challenge="${CH}", max-age="31536000"`), 1);
  assert.equal(count(`PrivateToken challenge="${CH}", token-key=""`), 0);
  assert.equal(count(`PrivateToken challenge="${CH}", token-key="A"`), 0);
  assert.equal(count('PrivateToken challenge="AAIADmlzc3Vlci5leGFtcGxl\\A\\A\\A\\A"'), 1);
  assert.equal(count(`Bearer abc==, PrivateToken challenge="${CH}", Digest a=b, c="d"`), 1);
  assert.equal(count(`Negotiate, PrivateToken challenge=${CH}, PrivateToken challenge=${CH}`), 2);
  assert.equal(count('PrivateToken challenge'), 0);
  assert.equal(count('PrivateToken challenge='), 0);
  assert.equal(count(`PrivateToken ${CH}`), 0); // token68 is not for PrivateToken
  // a grammar break keeps what came before it, drops what follows
  assert.equal(count(`PrivateToken challenge="${CH}", PrivateToken a="b" c, ` +
    `PrivateToken challenge="${CH}"`), 1);
  // a break inside a challenge drops that challenge too (as in C)
  assert.equal(count(`PrivateToken challenge="${CH}", PrivateToken challenge="${CH}"\u0001`), 1);
  assert.equal(count(`PrivateToken challenge="${CH}", PrivateToken challenge="${CH}\u0001"`), 1);
  assert.equal(count(`PrivateToken challenge="${CH}", PrivateToken challenge="${CH}", x="\u0100"`), 1);
  assert.equal(count(`PrivateToken challenge="${CH}", x="caf\u00e9"`), 1); // obs-text is fine
  assert.equal(count(''), 0);
  assert.equal(count(undefined), 0);
});

test('WWW-Authenticate: several fields, the challenge ceiling, sizes', () => {
  const v = `PrivateToken challenge="${CH}"`;
  assert.equal(parseWwwAuthenticate([`Basic realm="x"`, v, v]).length, 2);
  assert.equal(parseWwwAuthenticate(Array(MAX_CHALLENGES + 3).fill(v)).length, MAX_CHALLENGES);
  assert.equal(count(Array(MAX_CHALLENGES + 3).fill(v).join(', ')), MAX_CHALLENGES);
  // a field value of HEADER_MAX is read; HEADER_MAX + 1 is not
  const padTo = (n) => v + ', x' + ' '.repeat(n - v.length - 3);
  assert.equal(padTo(HEADER_MAX).length, HEADER_MAX);
  assert.equal(count(padTo(HEADER_MAX)), 1);
  assert.equal(count(padTo(HEADER_MAX + 1)), 0);
  // a value longer than any challenge is skipped, and parsing goes on
  const huge = `PrivateToken challenge="${'A'.repeat(3000)}", PrivateToken challenge="${CH}"`;
  assert.equal(count(huge), 1);
  // a challenge over the 2048-byte ceiling (decoded) is skipped
  const big = b64urlEncode(new Uint8Array(2049));
  assert.equal(count(`PrivateToken challenge="${big}", PrivateToken challenge="${CH}"`), 1);
});

test('Authorization: round trip and refusals', () => {
  const token = hexDecode(rfc9578.vectors[0].token);
  const h = formatAuthorization(token);
  assert.match(h, /^PrivateToken token="[A-Za-z0-9_-]+=*"$/);
  assert.deepEqual(parseAuthorization(h), token);
  const unpadded = `PrivateToken token=${b64urlEncode(token).replace(/=+$/, '')}`;
  assert.deepEqual(parseAuthorization(unpadded), token);
  assert.deepEqual(parseAuthorization(`privatetoken  other="x",  TOKEN=${b64urlEncode(token)}`), token);
  assert.throws(() => parseAuthorization(`Bearer token="${b64urlEncode(token)}"`), code('syntax'));
  assert.throws(() => parseAuthorization('PrivateToken other="x"'), code('syntax'));
  assert.throws(() => parseAuthorization(`${h}, token="AAAA"`), code('syntax'));
  assert.throws(() => parseAuthorization('PrivateToken token="AA!A"'), code('encoding'));
  assert.throws(() => parseAuthorization('PrivateToken token="AAAA'), code('syntax'));
  assert.throws(() => parseAuthorization('PrivateToken'), code('syntax'));
  assert.throws(() => parseAuthorization(`PrivateToken token="${'A'.repeat(3000)}"`), code('too_big'));
  assert.throws(() => parseAuthorization(' '.repeat(HEADER_MAX + 1)), code('too_big'));
});

test('against the C CLI: headers written by one side are read by the other', (t) => {
  const dir = tempDir(t);
  agepass(['keygen', '--out', dir]);
  const pub = `${dir}/issuer-public.der`;
  const key = new Uint8Array(readFileSync(pub));
  const challenge = crossOriginChallenge('ap.example');
  const chPath = write(dir, 'ch', challenge);
  // C writes, JS reads
  const cHeader = agepass(['token', 'header-challenge', '--challenge', chPath, '--pub', pub,
    '--max-age', '60']).trim();
  const got = parseWwwAuthenticate(cHeader);
  assert.equal(got.length, 1);
  assert.deepEqual(got[0].challenge, challenge);
  assert.deepEqual(got[0].tokenKey, key);
  assert.equal(got[0].maxAge, 60);
  // JS writes, C reads
  const jsHeader = `Basic realm="x", ${formatWwwAuthenticate({ challenge, tokenKey: key, maxAge: 5 })}`;
  agepass(['token', 'parse-header', '--www-authenticate', jsHeader, '--out-challenge',
    `${dir}/ch2`, '--out-pub', `${dir}/pub2`]);
  assert.deepEqual(new Uint8Array(readFileSync(`${dir}/ch2`)), challenge);
  assert.deepEqual(new Uint8Array(readFileSync(`${dir}/pub2`)), key);
  const token = hexDecode(rfc9578.vectors[2].token);
  agepass(['token', 'parse-header', '--authorization', formatAuthorization(token), '--out',
    `${dir}/tok`]);
  assert.deepEqual(new Uint8Array(readFileSync(`${dir}/tok`)), token);
  const cAuth = agepass(['token', 'header-token', '--in', write(dir, 'tok2', token)]).trim();
  assert.deepEqual(parseAuthorization(cAuth), token);
});
