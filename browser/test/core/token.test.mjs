// SPDX-License-Identifier: Apache-2.0
// Tests of browser/core/token.js: RFC 9578 Appendix A.2 (type 0x0002, five
// vectors, fixed nonce, salt and blind) and RFC 9577 Appendix A.1 challenge
// structures; negative cases for each parser; and both directions against
// the C implementation (`agepass token ...`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { hexDecode, hexEncode, sha256 } from '../../core/bytes.js';
import { importTokenKey } from '../../core/rsabssa.js';
import {
  parseChallenge, writeChallenge, crossOriginChallenge, isCrossOrigin, originNames,
  parseTokenRequest, writeTokenRequest, parseTokenResponse, parseToken, writeToken,
  beginToken, finishToken, TOKEN_LEN, TOKEN_REQUEST_LEN, CHALLENGE_MAX,
} from '../../core/token.js';
import {
  vectors, code, truncations, withByte, agepass, agepassStatus, tempDir, write,
} from './helpers.mjs';

const rfc9578 = vectors('rfc9578-type2.json');
const rfc9577 = vectors('rfc9577.json');

test('RFC 9578 A.2: TokenRequest and Token from the published nonce, salt and blind', async () => {
  for (const v of rfc9578.vectors) {
    const pk = await importTokenKey(hexDecode(v.pkS));
    assert.equal(hexEncode(pk.keyId), v.derived.token_key_id);
    const { request, state } = await beginToken(pk, hexDecode(v.token_challenge), {
      nonce: hexDecode(v.nonce), salt: hexDecode(v.salt), r: hexDecode(v.blind) });
    assert.equal(hexEncode(request), v.token_request, `vector ${v.index}`);
    assert.equal(hexEncode(state.tokenInput), v.derived.token_input);
    const token = await finishToken(pk, state, hexDecode(v.token_response));
    assert.equal(hexEncode(token), v.token, `vector ${v.index}`);
    const t = parseToken(token);
    assert.equal(hexEncode(t.challengeDigest), v.derived.challenge_digest);
    assert.equal(hexEncode(writeToken(t)), v.token);
    const req = parseTokenRequest(request);
    assert.equal(req.truncatedKeyId, v.derived.truncated_token_key_id);
    assert.equal(hexEncode(writeTokenRequest(req)), v.token_request);
    // a response of another request does not finalize
    const other = rfc9578.vectors[(v.index % rfc9578.vectors.length)];
    await assert.rejects(finishToken(pk, state, hexDecode(other.token_response)),
      (e) => e.code === 'signature' || e.code === 'range');
  }
});

test('RFC 9577 A.1: TokenChallenge structures round-trip', async () => {
  // vector 6 is grease (type 0x0000, random bytes): no challenge to build
  for (const v of rfc9577.token_structure.filter((x) => x.token_type === '0002')) {
    const bytes = writeChallenge({ issuerName: hexDecode(v.issuer_name),
      redemptionContext: hexDecode(v.redemption_context), originInfo: hexDecode(v.origin_info) });
    assert.equal(hexEncode(bytes), v.derived.token_challenge);
    const c = parseChallenge(bytes);
    assert.equal(hexEncode(c.issuerName), v.issuer_name);
    assert.equal(hexEncode(c.redemptionContext), v.redemption_context);
    assert.equal(hexEncode(c.originInfo), v.origin_info);
    assert.equal(isCrossOrigin(c), v.redemption_context === '' && v.origin_info === '');
    // token_authenticator_input = type || nonce || SHA-256(challenge) || key id
    const digest = hexEncode(await sha256(bytes));
    assert.equal(v.token_authenticator_input.slice(4 + 64, 4 + 128), digest);
  }
  const five = parseChallenge(hexDecode(rfc9577.token_structure[4].derived.token_challenge));
  assert.deepEqual(originNames(five), ['foo.example', 'bar.example']);
  assert.equal(hexEncode(crossOriginChallenge('issuer.example')),
    rfc9577.token_structure[2].derived.token_challenge);
});

test('parsers: truncate at each length, add a byte, unknown type', () => {
  const v = rfc9578.vectors[0];
  const cases = [
    [parseChallenge, hexDecode(v.token_challenge)],
    [parseTokenRequest, hexDecode(v.token_request)],
    [parseTokenResponse, hexDecode(v.token_response)],
    [parseToken, hexDecode(v.token)],
  ];
  for (const [parse, good] of cases) {
    parse(good);
    for (const cut of truncations(good)) {
      assert.throws(() => parse(cut), (e) => e.code === 'truncated' || e.code === 'length',
        `${parse.name} at ${cut.length}`);
    }
    assert.throws(() => parse(withByte(good)), code('trailing'), parse.name);
    if (parse !== parseTokenResponse) {
      for (const type of [0x0000, 0x0003, 0x0200, 0xffff]) {
        const bad = good.slice();
        bad[0] = type >> 8;
        bad[1] = type & 0xff;
        assert.throws(() => parse(bad), code('token_type'), `${parse.name} type ${type}`);
      }
    }
  }
  // a TokenChallenge may name type 1 (registered), a TokenRequest may not
  const c1 = hexDecode(v.token_challenge);
  c1[1] = 1;
  assert.equal(parseChallenge(c1).tokenType, 1);
});

test('TokenChallenge: each length prefix corrupted, bounds, max + 1', () => {
  const good = writeChallenge({ issuerName: 'issuer.example', redemptionContext: new Uint8Array(32),
    originInfo: 'origin.example' });
  // issuer_name length at 2..3, redemption_context length at 18, origin_info length at 51..52
  const prefixes = [[2, 3], [18], [51, 52]];
  for (const at of prefixes) {
    for (const delta of [-1, 1, 0x80]) {
      const bad = good.slice();
      const i = at[at.length - 1];
      bad[i] = (bad[i] + delta) & 0xff;
      assert.throws(() => parseChallenge(bad), (e) => ['truncated', 'trailing', 'length'].includes(e.code),
        `prefix at ${i} ${delta}`);
    }
  }
  // an empty issuer_name; a context of 1..31 and 33 bytes
  assert.throws(() => parseChallenge(Uint8Array.of(0, 2, 0, 0, 0, 0, 0)), code('length'));
  for (const n of [1, 31, 33]) {
    const ctx = new Uint8Array(n);
    const bytes = Uint8Array.of(0, 2, 0, 1, 0x61, n, ...ctx, 0, 0);
    assert.throws(() => parseChallenge(bytes), code('length'), `context ${n}`);
  }
  // the 2048-byte ceiling: max passes, max + 1 is too big
  const fill = (n) => writeChallenge({ issuerName: 'i', originInfo: 'o'.repeat(n) });
  const max = fill(CHALLENGE_MAX - 8);
  assert.equal(max.length, CHALLENGE_MAX);
  parseChallenge(max);
  assert.throws(() => fill(CHALLENGE_MAX - 7), code('too_big'));
  const over = new Uint8Array(CHALLENGE_MAX + 1);
  over.set(max);
  assert.throws(() => parseChallenge(over), code('too_big'));
  assert.throws(() => writeChallenge({ issuerName: '' }), code('length'));
  assert.throws(() => writeChallenge({ issuerName: 'a', redemptionContext: new Uint8Array(5) }),
    code('length'));
});

test('views: a token inside a larger buffer parses to the same fields', () => {
  const token = hexDecode(rfc9578.vectors[1].token);
  const big = new Uint8Array(TOKEN_LEN + 20).fill(0xee);
  big.set(token, 7);
  const t = parseToken(big.subarray(7, 7 + TOKEN_LEN));
  assert.equal(hexEncode(t.nonce), rfc9578.vectors[1].nonce);
  assert.equal(TOKEN_REQUEST_LEN, 259);
});

test('against the C CLI: JS request -> agepass token issue -> JS finalize -> agepass token verify',
  async (t) => {
    const dir = tempDir(t);
    agepass(['keygen', '--out', dir]);
    const pub = `${dir}/issuer-public.der`;
    const pk = await importTokenKey(new Uint8Array(readFileSync(pub)));
    // challenges made by the C origin side: site-bound and cross-origin
    for (const args of [['--origin-info', 'shop.example', '--context', 'random'], []]) {
      const chPath = `${dir}/challenge`;
      agepass(['token', 'challenge', '--issuer-name', 'ap.example', ...args, '--out', chPath]);
      const challenge = new Uint8Array(readFileSync(chPath));
      const { request, state } = await beginToken(pk, challenge);
      const reqPath = write(dir, 'request', request);
      agepass(['token', 'issue', '--key', `${dir}/issuer-private.pem`, '--in', reqPath, '--out',
        `${dir}/response`]);
      const token = await finishToken(pk, state, new Uint8Array(readFileSync(`${dir}/response`)));
      const tokPath = write(dir, 'token', token);
      assert.equal(agepassStatus(['token', 'verify', '--pub', pub, '--challenge', chPath, '--in',
        tokPath]), 0);
      // the C side refuses a flipped authenticator bit and another challenge
      const bad = token.slice();
      bad[200] ^= 1;
      assert.notEqual(agepassStatus(['token', 'verify', '--pub', pub, '--challenge', chPath,
        '--in', write(dir, 'bad', bad)]), 0);
      const otherCh = write(dir, 'other', crossOriginChallenge('other.example'));
      assert.notEqual(agepassStatus(['token', 'verify', '--pub', pub, '--challenge', otherCh,
        '--in', tokPath]), 0);
    }
  });

test('against the C CLI: a C client request issued by C finalizes in C; JS parses its request',
  async (t) => {
    const dir = tempDir(t);
    agepass(['keygen', '--out', dir]);
    const ch = write(dir, 'ch', crossOriginChallenge('ap.example'));
    agepass(['token', 'request', '--pub', `${dir}/issuer-public.der`, '--challenge', ch, '--state',
      `${dir}/state`, '--out', `${dir}/req`]);
    const req = parseTokenRequest(new Uint8Array(readFileSync(`${dir}/req`)));
    const pk = await importTokenKey(new Uint8Array(readFileSync(`${dir}/issuer-public.der`)));
    assert.equal(req.truncatedKeyId, pk.keyId[31]);
    agepass(['token', 'issue', '--key', `${dir}/issuer-private.pem`, '--in', `${dir}/req`, '--out',
      `${dir}/resp`]);
    agepass(['token', 'finalize', '--state', `${dir}/state`, '--in', `${dir}/resp`, '--out',
      `${dir}/tok`]);
    const tok = parseToken(new Uint8Array(readFileSync(`${dir}/tok`)));
    assert.equal(hexEncode(tok.tokenKeyId), hexEncode(pk.keyId));
    assert.equal(hexEncode(tok.challengeDigest),
      hexEncode(await sha256(crossOriginChallenge('ap.example'))));
  });
