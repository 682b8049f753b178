// SPDX-License-Identifier: Apache-2.0
// Deterministic mutation runs over every parser of the core (the JavaScript
// counterpart of tests/fuzz/): seeded, bounded inputs made by flipping,
// inserting, deleting and cutting bytes of the vectors. Oracles: a parser
// either returns or throws AgepassError (never a TypeError or RangeError),
// and what parses is written back to the same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { AgepassError } from '../../core/errors.js';
import { hexDecode, hexEncode } from '../../core/bytes.js';
import {
  parseChallenge, writeChallenge, parseTokenRequest, writeTokenRequest, parseToken, writeToken,
  parseTokenResponse,
} from '../../core/token.js';
import {
  parseBatchRequest, writeBatchRequest, parseBatchResponse, writeBatchResponse,
} from '../../core/batch.js';
import { parseWwwAuthenticate, formatWwwAuthenticate, parseAuthorization } from '../../core/authhdr.js';
import { parseDirectory } from '../../core/directory.js';
import { vectors } from './helpers.mjs';

const ROUNDS = 3000;
const v = vectors('rfc9578-type2.json').vectors;
const headers = vectors('rfc9577.json').http_headers.map((h) => h.www_authenticate);

// xorshift32: the same inputs on every run
function rng(seed) {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

function mutate(bytes, r) {
  let b = [...bytes];
  for (let k = 1 + r(4); k > 0; k--) {
    const at = b.length ? r(b.length) : 0;
    switch (r(5)) {
      case 0: if (b.length) b[at] ^= 1 << r(8); break;
      case 1: if (b.length) b[at] = r(256); break;
      case 2: b.splice(at, 0, r(256)); break;
      case 3: b.splice(at, 1); break;
      default: b = b.slice(0, r(b.length + 1));
    }
  }
  return Uint8Array.from(b);
}

function run(name, seeds, parse, write, seed) {
  const r = rng(seed);
  let parsed = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const input = mutate(seeds[r(seeds.length)], r);
    let out;
    try {
      out = parse(input);
    } catch (e) {
      assert.ok(e instanceof AgepassError, `${name}: ${e} on ${hexEncode(input)}`);
      continue;
    }
    parsed++;
    if (write) assert.equal(hexEncode(write(out)), hexEncode(input), `${name}: round trip`);
  }
  return parsed;
}

test('binary parsers: only AgepassError, and what parses writes back the same', () => {
  const challenges = v.map((x) => hexDecode(x.token_challenge));
  run('challenge', challenges, parseChallenge, (c) => writeChallenge(c), 1);
  run('token request', v.map((x) => hexDecode(x.token_request)), parseTokenRequest, writeTokenRequest, 2);
  run('token response', v.map((x) => hexDecode(x.token_response)), parseTokenResponse,
    (x) => x.blindSig, 3);
  run('token', v.map((x) => hexDecode(x.token)), parseToken, writeToken, 4);
  const reqs = v.map((x) => hexDecode(x.token_request));
  run('batch request', [writeBatchRequest(reqs), writeBatchRequest(reqs.slice(0, 1))],
    parseBatchRequest, writeBatchRequest, 5);
  const sigs = v.map((x, i) => (i === 2 ? null : hexDecode(x.token_response)));
  run('batch response', [writeBatchResponse(sigs), Uint8Array.of(1, 0)], parseBatchResponse,
    writeBatchResponse, 6);
});

test('text parsers: headers and directories never throw anything else', () => {
  const enc = new TextEncoder();
  const dec = (b) => String.fromCharCode(...b);
  // parseWwwAuthenticate never throws; what it returns formats and parses back
  run('www-authenticate', headers.map((h) => enc.encode(h)), (b) => {
    for (const c of parseWwwAuthenticate(dec(b))) {
      const again = parseWwwAuthenticate(formatWwwAuthenticate(c));
      assert.equal(hexEncode(again[0].challenge), hexEncode(c.challenge));
    }
  }, null, 7);
  const token = v[0].token;
  const authz = [`PrivateToken token="${Buffer.from(hexDecode(token)).toString('base64url')}"`,
    'PrivateToken token=AAAA, x="y"'];
  run('authorization', authz.map((a) => enc.encode(a)), (b) => parseAuthorization(dec(b)), null, 8);
  const dirText = JSON.stringify({ 'issuer-request-uri': 'https://a.example/token-request',
    'token-keys': [{ 'token-type': 2, 'token-key': Buffer.from(hexDecode(v[0].pkS)).toString('base64url'),
      'not-before': 1, 'agepass-age': 18 }], 'agepass-issuer-name': 'a.example' });
  const n = run('directory', [enc.encode(dirText)], (b) => parseDirectory(new TextDecoder().decode(b),
    'https://a.example/'), null, 9);
  assert.ok(n > 0, 'some mutated directories still parse');
});
