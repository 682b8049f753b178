// SPDX-License-Identifier: Apache-2.0
// Tests of browser/core/batch.js: round trips at 1 and 30 elements, and the
// negative cases of tests/unit/test_batch.c: truncation at each length, a
// byte added, each length prefix corrupted, max + 1, other types, a
// non-minimal varint, a bad presence octet.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { hexDecode } from '../../core/bytes.js';
import {
  parseBatchRequest, writeBatchRequest, parseBatchResponse, writeBatchResponse, BATCH_MAX,
} from '../../core/batch.js';
import { vectors, code, truncations, withByte } from './helpers.mjs';

const v = vectors('rfc9578-type2.json').vectors;
const reqs = (n) => Array.from({ length: n }, (_, i) => hexDecode(v[i % v.length].token_request));
const sigs = (n) => Array.from({ length: n }, (_, i) => (i % 7 === 3 ? null :
  hexDecode(v[i % v.length].token_response)));
const CODES = ['truncated', 'length', 'trailing', 'too_big', 'encoding', 'token_type'];
const anyCode = (e) => CODES.includes(e.code);

test('round trips: 1 and 30 requests and responses, varint 1 and 2 bytes', () => {
  for (const n of [1, 2, 30]) {
    const bytes = writeBatchRequest(reqs(n));
    assert.equal(bytes.length, (n * 259 < 64 ? 1 : 2) + n * 259);
    assert.deepEqual(parseBatchRequest(bytes), reqs(n));
    const rb = writeBatchResponse(sigs(n));
    assert.deepEqual(parseBatchResponse(rb), sigs(n));
  }
  assert.deepEqual(parseBatchResponse(Uint8Array.of(1, 0)), [null]);
});

test('refusals: truncated, a byte more, length prefixes, max + 1, types', () => {
  const good = writeBatchRequest(reqs(3));
  const goodResp = writeBatchResponse(sigs(5));
  for (const [parse, bytes] of [[parseBatchRequest, good], [parseBatchResponse, goodResp]]) {
    for (const cut of truncations(bytes)) assert.throws(() => parse(cut), anyCode, `${cut.length}`);
    assert.throws(() => parse(withByte(bytes)), code('trailing'));
    // the 2-byte varint prefix, one more and one less
    for (const delta of [1, -1]) {
      const bad = bytes.slice();
      bad[1] = (bad[1] + delta) & 0xff;
      assert.throws(() => parse(bad), anyCode);
    }
  }
  // an empty vector; a non-minimal prefix (0x4001 for 1)
  assert.throws(() => parseBatchRequest(Uint8Array.of(0)), code('length'));
  assert.throws(() => parseBatchResponse(Uint8Array.of(0)), code('length'));
  assert.throws(() => parseBatchResponse(Uint8Array.of(0x40, 1, 0)), code('encoding'));
  // 31 requests / responses: over the ceiling
  const body31 = new Uint8Array(31 * 259);
  reqs(31).forEach((r, i) => body31.set(r, i * 259));
  const over = new Uint8Array(2 + body31.length);
  over[0] = 0x40 | (body31.length >> 8);
  over[1] = body31.length & 0xff;
  over.set(body31, 2);
  assert.throws(() => parseBatchRequest(over), code('too_big'));
  assert.throws(() => writeBatchRequest(reqs(BATCH_MAX + 1)), code('too_big'));
  assert.throws(() => writeBatchResponse(sigs(BATCH_MAX + 1)), code('too_big'));
  assert.throws(() => parseBatchResponse(Uint8Array.of(31, ...new Uint8Array(31))), code('too_big'));
  // an element of another token type; a presence octet of 2; a cut element
  const t1 = good.slice();
  t1[2 + 259 + 1] = 1;
  assert.throws(() => parseBatchRequest(t1), code('token_type'));
  const p2 = goodResp.slice();
  p2[2] = 2;
  assert.throws(() => parseBatchResponse(p2), code('encoding'));
  const rt = goodResp.slice();
  rt[4] = 1;
  assert.throws(() => parseBatchResponse(rt), code('token_type'));
  assert.throws(() => parseBatchRequest(Uint8Array.of(3, 0, 2, 0)), code('length'));
  assert.throws(() => writeBatchRequest([]), code('length'));
  assert.throws(() => writeBatchRequest([new Uint8Array(258)]), anyCode);
});
