// SPDX-License-Identifier: Apache-2.0
// Tests of browser/core/rsabssa.js against RFC 9474 Appendix A.1
// (RSABSSA-SHA384-PSS-Randomized) and A.3 (-PSS-Deterministic), with the
// published salt and blind injected (tests/vectors/rfc9474.json, copied from
// the RFC; see tests/vectors/README.md), and its refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { hexDecode, hexEncode } from '../../core/bytes.js';
import {
  importRawKey, importTokenKey, prepare, blind, finalize, verify, bytesToInt, intToBytes, _modInverse,
  _randomBelow,
} from '../../core/rsabssa.js';

const VECTORS = new URL('../../../tests/vectors/', import.meta.url);
const rfc9474 = JSON.parse(readFileSync(new URL('rfc9474.json', VECTORS)));
const rfc9578 = JSON.parse(readFileSync(new URL('rfc9578-type2.json', VECTORS)));
const code = (c) => (e) => e.code === c;
const pad = (hex) => (hex.length % 2 ? '0' + hex : hex);

for (const name of ['RSABSSA-SHA384-PSS-Randomized', 'RSABSSA-SHA384-PSS-Deterministic']) {
  const v = rfc9474.vectors.find((x) => x.name === name);
  test(`RFC 9474 ${v.section} ${name}: prepare, blind, finalize, verify`, async () => {
    const pk = await importRawKey(hexDecode(pad(v.n)), hexDecode(pad(v.e)));
    assert.equal(pk.modBits, v.modulus_bits);
    const msg = hexDecode(v.msg);
    const input = prepare(msg, { randomized: v.randomized_prepare,
      prefix: v.msg_prefix ? hexDecode(v.msg_prefix) : undefined });
    assert.equal(hexEncode(input), v.prepared_msg);
    // the RFC prints inv; the blind r is its inverse mod n
    const r = _modInverse(bytesToInt(hexDecode(pad(v.inv))), pk.n);
    const { blindedMsg, inv } = await blind(pk, input, { salt: hexDecode(v.salt), r });
    assert.equal(hexEncode(blindedMsg), v.blinded_msg);
    assert.equal(bytesToInt(inv), bytesToInt(hexDecode(pad(v.inv))));
    const sig = await finalize(pk, input, hexDecode(v.blind_sig), inv);
    assert.equal(hexEncode(sig), v.sig);
    assert.equal(await verify(pk, input, sig), true);

    // refusals: a flipped bit of the blind signature, of the message, a
    // value not below n, wrong lengths
    const bad = hexDecode(v.blind_sig);
    bad[10] ^= 1;
    await assert.rejects(finalize(pk, input, bad, inv), code('signature'));
    const other = input.slice();
    other[0] ^= 1;
    await assert.rejects(finalize(pk, other, hexDecode(v.blind_sig), inv), code('signature'));
    await assert.rejects(finalize(pk, input, new Uint8Array(pk.k).fill(0xff), inv), code('range'));
    await assert.rejects(finalize(pk, input, hexDecode(v.blind_sig).subarray(1), inv),
      code('length'));
    await assert.rejects(blind(pk, input, { salt: new Uint8Array(47) }), code('length'));
    await assert.rejects(blind(pk, input, { r: 0n }), code('range'));
    await assert.rejects(blind(pk, input, { r: pk.n }), code('range'));
    assert.equal(await verify(pk, input, sig.subarray(1)), false);
  });
}

test('blind with fresh randomness: two blindings differ and both finalize', async () => {
  // the private operation, done here with the vector's d to close the loop
  const v = rfc9474.vectors[0];
  const pk = await importRawKey(hexDecode(pad(v.n)), hexDecode(pad(v.e)));
  const d = bytesToInt(hexDecode(pad(v.d)));
  const input = prepare(hexDecode(v.msg), { randomized: true });
  const a = await blind(pk, input);
  const b = await blind(pk, input);
  assert.notEqual(hexEncode(a.blindedMsg), hexEncode(b.blindedMsg));
  for (const x of [a, b]) {
    let s = 1n;
    const m = bytesToInt(x.blindedMsg);
    for (const bit of d.toString(2)) {
      s = (s * s) % pk.n;
      if (bit === '1') s = (s * m) % pk.n;
    }
    const blindSig = hexDecode(s.toString(16).padStart(2 * pk.k, '0'));
    assert.equal(await verify(pk, input, await finalize(pk, input, blindSig, x.inv)), true);
  }
});

test('RFC 9578 key import: the 342-byte PSS SPKI only', async () => {
  const v = rfc9578.vectors[0];
  const spki = hexDecode(v.pkS);
  const pk = await importTokenKey(spki);
  assert.equal(pk.k, 256);
  assert.equal(hexEncode(pk.keyId), v.derived.token_key_id);
  assert.equal(pk.e, 65537n);
  await assert.rejects(importTokenKey(spki.subarray(0, 341)), code('key'));
  await assert.rejects(importTokenKey(new Uint8Array([...spki, 0])), code('key'));
  for (const at of [0, 1, 10, 20, 40, 71]) {
    const bad = spki.slice();
    bad[at] ^= 1;
    await assert.rejects(importTokenKey(bad), code('key'), `byte ${at}`);
  }
  // the RSAPublicKey part: a broken DER length inside it
  const bad = spki.slice();
  bad[74] ^= 0x01;
  await assert.rejects(importTokenKey(bad), code('key'));
  // a view into a larger buffer imports the same key
  const big = new Uint8Array(400);
  big.set(spki, 17);
  assert.equal(hexEncode((await importTokenKey(big.subarray(17, 17 + 342))).keyId),
    v.derived.token_key_id);
});

test('r = random_integer_uniform(1, n): values outside [1, n) are drawn again, not reduced', () => {
  const v = rfc9474.vectors[0];
  const n = bytesToInt(hexDecode(pad(v.n)));
  const k = 512;
  const want = n - 12345n;
  // draws: all ones (≥ n once the top bits are masked), zero, n itself, then a value in range
  const draws = [new Uint8Array(k).fill(0xff), new Uint8Array(k), intToBytes(n, k), intToBytes(want, k)];
  let calls = 0;
  const got = _randomBelow(n, (len) => {
    assert.equal(len, k);
    return draws[calls++].slice();
  });
  assert.equal(got, want);
  assert.equal(calls, 4);
  // a source that never gives a value in range: refused after a bounded number of tries
  assert.throws(() => _randomBelow(n, (len) => new Uint8Array(len)), code('random'));
  // uniform draws are below n and spread over the top bits
  const tops = new Set();
  for (let i = 0; i < 64; i++) {
    const r = _randomBelow(n);
    assert.ok(r >= 1n && r < n);
    tops.add(Number(r >> BigInt(4096 - 4)));
  }
  assert.ok(tops.size >= 4);
});
