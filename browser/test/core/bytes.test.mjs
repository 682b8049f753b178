// SPDX-License-Identifier: Apache-2.0
// Tests of browser/core/bytes.js: the reader honours views and bounds, the
// writer's vectors, base64url (padded and unpadded read, padded written,
// strictness), hex, constant-time compare.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  Reader, Writer, b64urlEncode, b64urlDecode, hexEncode, hexDecode, ctEqual, concat,
  utf8Decode, sha256,
} from '../../core/bytes.js';

const code = (c) => (e) => e.code === c;

test('reader reads inside its view only (byteOffset honoured)', () => {
  const big = Uint8Array.from([9, 9, 0x00, 0x02, 3, 0xaa, 0xbb, 0xcc, 7, 7]);
  const view = big.subarray(2, 8);
  const r = new Reader(view);
  assert.equal(r.u16(), 2);
  assert.deepEqual([...r.vec8(0, 3)], [0xaa, 0xbb, 0xcc]);
  assert.equal(r.remaining, 0);
  r.end();
  assert.throws(() => r.u8(), code('truncated'));
});

test('reader bounds: truncated, length, trailing', () => {
  assert.throws(() => new Reader(Uint8Array.of(1)).u16(), code('truncated'));
  assert.throws(() => new Reader(Uint8Array.of(3, 1, 2)).vec8(0, 3), code('truncated'));
  assert.throws(() => new Reader(Uint8Array.of(4, 1, 2, 3, 4)).vec8(0, 3), code('length'));
  assert.throws(() => new Reader(Uint8Array.of(0)).vec8(1, 3), code('length'));
  assert.throws(() => new Reader(Uint8Array.of(0, 1, 5)).vec16(0, 0), code('length'));
  const r = new Reader(Uint8Array.of(1, 2));
  r.u8();
  assert.throws(() => r.end(), code('trailing'));
  assert.throws(() => new Reader([1, 2]), code('syntax'));
});

test('varint: RFC 9000 §16 examples, shortest form only', () => {
  // RFC 9000 §A.1: 0x25 = 37; 0x7bbd = 15293; 0x9d7f3e7d = 494878333
  assert.equal(new Reader(Uint8Array.of(0x25)).varint(), 37);
  assert.equal(new Reader(Uint8Array.of(0x7b, 0xbd)).varint(), 15293);
  assert.equal(new Reader(Uint8Array.of(0x9d, 0x7f, 0x3e, 0x7d)).varint(), 494878333);
  // RFC 9000 §A.1: 0x4025 also decodes to 37, but is not the shortest form
  assert.throws(() => new Reader(Uint8Array.of(0x40, 0x25)).varint(), code('encoding'));
  assert.throws(() => new Reader(Uint8Array.of(0x80, 0, 0x3f, 0xff)).varint(), code('encoding'));
  assert.throws(() => new Reader(Uint8Array.of(0x40)).varint(), code('truncated'));
  const w = new Writer().vecV(new Uint8Array(63)).vecV(new Uint8Array(64)).finish();
  assert.equal(w[0], 63);
  assert.deepEqual([...w.subarray(64, 66)], [0x40, 64]);
  assert.throws(() => new Writer().vecV(new Uint8Array(16384)), code('length'));
  assert.throws(() => new Reader(Uint8Array.of(5, 1, 2, 3, 4, 5)).vecV(4), code('too_big'));
});

test('writer: fields and vector bounds', () => {
  const out = new Writer().u16(2).vec8(Uint8Array.of(1), 32).vec16(Uint8Array.of(), 5).finish();
  assert.deepEqual([...out], [0, 2, 1, 1, 0, 0]);
  assert.throws(() => new Writer().vec8(new Uint8Array(33), 32), code('length'));
  assert.throws(() => new Writer().u16(65536), code('range'));
  assert.deepEqual([...concat(Uint8Array.of(1), Uint8Array.of(2, 3))], [1, 2, 3]);
});

test('base64url: RFC 4648 §10 vectors, padded written, both read', () => {
  const cases = [['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'], ['foob', 'Zm9vYg=='],
    ['fooba', 'Zm9vYmE='], ['foobar', 'Zm9vYmFy']];
  for (const [plain, enc] of cases) {
    const bytes = new TextEncoder().encode(plain);
    assert.equal(b64urlEncode(bytes), enc);
    assert.deepEqual(b64urlDecode(enc), bytes);
    assert.deepEqual(b64urlDecode(enc.replace(/=+$/, '')), bytes);
  }
  assert.equal(b64urlEncode(Uint8Array.of(0xfb, 0xff)), '-_8=');
  assert.deepEqual([...b64urlDecode('-_8')], [0xfb, 0xff]);
});

test('base64url: strict', () => {
  for (const bad of ['Zg=', 'Zg===', 'Z', 'Zm9vY', 'Zh==', 'Zm9=', 'Zm+v', 'Zm/v', 'Zm9v\n',
    'Z=g=', '=Zg=', 'Zg==Zg==', 'é']) {
    assert.throws(() => b64urlDecode(bad), code('encoding'), bad);
  }
  assert.throws(() => b64urlDecode('AAAA', 2), code('too_big'));
  assert.equal(b64urlDecode('AAAA', 3).length, 3);
});

test('hex and utf-8', () => {
  assert.equal(hexEncode(Uint8Array.of(0, 0xab, 0x10)), '00ab10');
  assert.deepEqual([...hexDecode('00AB10')], [0, 0xab, 0x10]);
  assert.throws(() => hexDecode('abc'), code('encoding'));
  assert.throws(() => hexDecode('zz'), code('encoding'));
  assert.throws(() => utf8Decode(Uint8Array.of(0xff)), code('encoding'));
});

test('ctEqual', () => {
  assert.equal(ctEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), true);
  assert.equal(ctEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3)), false);
  assert.equal(ctEqual(Uint8Array.of(1, 2), Uint8Array.of(1)), false);
  assert.equal(ctEqual(new Uint8Array(0), new Uint8Array(0)), true);
});

test('sha256 of a view hashes the view', async () => {
  const big = new TextEncoder().encode('xxabcxx');
  assert.equal(hexEncode(await sha256(big.subarray(2, 5))),
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});
