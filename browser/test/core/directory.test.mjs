// SPDX-License-Identifier: Apache-2.0
// Tests of browser/core/directory.js (and the strict JSON reader under it):
// the RFC 9578 §4 example shape, a directory written by `agepass token
// directory`, agepass's members, and each refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { b64urlEncode, hexDecode, hexEncode } from '../../core/bytes.js';
import { parseDirectory, currentKey, DIRECTORY_MAX } from '../../core/directory.js';
import { parseJson, JsonReal } from '../../core/json.js';
import { vectors, code, agepass, tempDir } from './helpers.mjs';

const rfc9578 = vectors('rfc9578-type2.json');
const KEY = b64urlEncode(hexDecode(rfc9578.vectors[0].pkS));
const BASE = 'https://ap.example/.well-known/private-token-issuer-directory';
const dir = (keys, extra = {}) => JSON.stringify({
  'issuer-request-uri': 'https://ap.example/token-request', 'token-keys': keys, ...extra });
const key = (k = KEY, extra = {}) => ({ 'token-type': 2, 'token-key': k, ...extra });
// other keys for "two keys per class": flip a byte of the modulus
const otherKey = (i) => {
  const b = hexDecode(rfc9578.vectors[0].pkS);
  b[100] ^= i;
  return b64urlEncode(b);
};

test('strict JSON: duplicates, depth, integers, trailing text', () => {
  assert.equal(JSON.stringify(parseJson(' {"a": [1, "x\\u00e9", true, null]} ')), JSON.stringify({ a: [1, 'x\u00e9', true, null] }));
  assert.equal(Object.getPrototypeOf(parseJson('{"__proto__": {"x": 1}}')), null);
  assert.ok(parseJson('1.0') instanceof JsonReal);
  assert.ok(parseJson('1e3') instanceof JsonReal);
  assert.ok(parseJson('9007199254740993') instanceof JsonReal);
  for (const bad of ['{"a":1,"a":2}', '{"a":1} x', '[1,]', '{"a":01}', '"\u0001"', '[' .repeat(40) +
    ']'.repeat(40), '', "{'a':1}", '{"a":1', 'NaN', '"\\x"']) {
    assert.throws(() => parseJson(bad), code('syntax'), bad);
  }
});

test('RFC 9578 §4 shape with agepass members; unknown members ignored', () => {
  const d = parseDirectory(dir([key(KEY, { 'not-before': 1686913811, 'agepass-age': 18,
    'future-member': { x: 1 } })], { 'agepass-issuer-name': 'ap.example',
    wallet: 'https://wallet.ap.example/' }), BASE);
  assert.equal(d.requestUri, 'https://ap.example/token-request');
  assert.equal(d.issuerName, 'ap.example');
  assert.equal(d.keys.length, 1);
  assert.equal(hexEncode(d.keys[0].tokenKey), rfc9578.vectors[0].pkS);
  assert.equal(d.keys[0].notBefore, 1686913811);
  assert.equal(d.keys[0].age, 18);
  // relative issuer-request-uri resolved against the directory's URL; unpadded key
  const rel = parseDirectory(JSON.stringify({ 'issuer-request-uri': '/token-request',
    'token-keys': [key(KEY.replace(/=+$/, ''))] }), BASE);
  assert.equal(rel.requestUri, 'https://ap.example/token-request');
  assert.equal(rel.issuerName, null);
  assert.equal(rel.keys[0].age, 0);
  // grease and type 1 keys are skipped; type 2 kept
  const mixed = parseDirectory(dir([{ 'token-type': 0x1a1a, 'token-key': 'AAAA' },
    { 'token-type': 1, 'token-key': 'AAAA' }, key()]), BASE);
  assert.equal(mixed.keys.length, 1);
});

test('current and next key per class; a third, or a key twice, refused', () => {
  const d = parseDirectory(dir([key(KEY, { 'not-before': 100, 'agepass-age': 18 }),
    key(otherKey(1), { 'not-before': 200, 'agepass-age': 18 }),
    key(otherKey(2), { 'not-before': 100, 'agepass-age': 21 })]), BASE);
  assert.equal(currentKey(d, 18, 150).notBefore, 100);
  assert.equal(currentKey(d, 18, 250).notBefore, 200);
  assert.equal(currentKey(d, 18, 50), null);
  assert.equal(currentKey(d, 16, 150), null);
  assert.equal(currentKey(d, 21, 150).age, 21);
  assert.throws(() => parseDirectory(dir([key(KEY, { 'agepass-age': 18 }),
    key(otherKey(1), { 'agepass-age': 18 }), key(otherKey(2), { 'agepass-age': 18 })]), BASE),
  code('key'));
  assert.throws(() => parseDirectory(dir([key(KEY, { 'agepass-age': 18 }),
    key(KEY, { 'agepass-age': 21 })]), BASE), code('key'));
});

test('refusals', () => {
  const cases = [
    ['{"token-keys": []}', 'syntax'],
    ['{"issuer-request-uri": "https://a/", "token-keys": {}}', 'syntax'],
    [dir([key()], { 'issuer-request-uri': 'https://a/', 'token-keys': [] }).replace('}', ', "token-keys": []}'), 'syntax'],
    [dir([]).replace('"token-keys"', '"issuer-request-uri": "x", "token-keys"'), 'syntax'],
    [dir([key()], { 'issuer-request-uri': '' }), 'length'],
    [dir([key()], { 'issuer-request-uri': 'https://a/' + 'x'.repeat(2048) }), 'length'],
    [dir([key()], { 'issuer-request-uri': 'https://a/\u0001' }), 'syntax'],
    [dir([key()], { 'issuer-request-uri': 'https://a/ b' }), 'syntax'],
    [dir([key()], { 'issuer-request-uri': 'javascript:alert(1)' }), 'syntax'],
    [dir([key()], { 'issuer-request-uri': 'https://u:p@a/' }), 'syntax'],
    [dir([key()], { 'agepass-issuer-name': '' }), 'length'],
    [dir([key()], { 'agepass-issuer-name': 'x'.repeat(256) }), 'length'],
    [dir([key()], { 'agepass-issuer-name': 7 }), 'syntax'],
    [dir([key()], { 'agepass-issuer-name': 'a\u0000b' }), 'syntax'],
    [dir([{ 'token-type': '2', 'token-key': KEY }]), 'syntax'],
    [dir([{ 'token-type': 2 }]), 'syntax'],
    [dir([{ 'token-type': 2.5, 'token-key': KEY }]), 'syntax'],
    [dir([{ 'token-type': 65536, 'token-key': KEY }]), 'range'],
    [dir([{ 'token-type': -1, 'token-key': KEY }]), 'range'],
    [dir([key('AA!A')]), 'encoding'],
    [dir([key('')]), 'length'],
    [dir([key(b64urlEncode(new Uint8Array(601)))]), 'too_big'],
    [dir([key(KEY, { 'not-before': -1 })]), 'range'],
    [dir([key(KEY, { 'not-before': '1' })]), 'syntax'],
    [dir([key(KEY, { 'agepass-age': 0 })]), 'range'],
    [dir([key(KEY, { 'agepass-age': 256 })]), 'range'],
    [dir([key(KEY, { 'agepass-age': 18.5 })]), 'syntax'],
    [dir([key(), 'x']), 'syntax'],
    [dir(Array.from({ length: 17 }, () => ({ 'token-type': 7, 'token-key': 'AAAA' }))), 'length'],
    ['[]', 'syntax'],
  ];
  for (const [text, c] of cases) assert.throws(() => parseDirectory(text, BASE), code(c), text.slice(0, 80));
  // sixteen entries are fine
  parseDirectory(dir(Array.from({ length: 16 }, () => ({ 'token-type': 7, 'token-key': 'AAAA' }))), BASE);
  // the size ceiling: max passes, max + 1 refused
  const base = dir([key()]);
  const atMax = base.slice(0, -1) + ', "pad": "' + 'x'.repeat(DIRECTORY_MAX - base.length - 11) + '"}';
  assert.equal(atMax.length, DIRECTORY_MAX);
  parseDirectory(atMax, BASE);
  const over = atMax.slice(0, -2) + 'x"}';
  assert.throws(() => parseDirectory(over, BASE), code('too_big'));
});

test('a directory written by `agepass token directory`', (t) => {
  const d = tempDir(t);
  agepass(['keygen', '--out', `${d}/a`]);
  agepass(['keygen', '--out', `${d}/b`]);
  agepass(['token', 'directory', '--request-uri', 'http://127.0.0.1:9/token-request', '--pub',
    `${d}/a/issuer-public.der,age=18,not-before=1000`, '--pub', `${d}/b/issuer-public.der,age=21`,
    '--out', `${d}/dir.json`]);
  const parsed = parseDirectory(readFileSync(`${d}/dir.json`, 'utf8'), BASE);
  assert.equal(parsed.requestUri, 'http://127.0.0.1:9/token-request');
  assert.deepEqual(parsed.keys.map((k) => [k.age, k.notBefore]), [[18, 1000], [21, null]]);
  assert.deepEqual(parsed.keys[0].tokenKey, new Uint8Array(readFileSync(`${d}/a/issuer-public.der`)));
});
