// SPDX-License-Identifier: Apache-2.0
// browser/core/directory.js: the issuer directory of RFC 9578 §4, served at
// /.well-known/private-token-issuer-directory, with agepass's members:
//
//   {"issuer-request-uri": "https://issuer.example/token-request",
//    "token-keys": [{"token-type": 2, "token-key": "MIIBUjA9...",
//                    "not-before": 1686913811, "agepass-age": 18}],
//    "agepass-issuer-name": "issuer.example"}
//
// Read as lib/directory.c reads it: duplicate member names refused, unknown
// members ignored (an issuer may add "wallet"), keys of types other than 1
// and 2 skipped. Stricter for a client: only type-2 keys are kept, and an
// age class may hold at most two keys (the current epoch's and the next
// one's, as `agepass issuer` publishes them); a key listed twice is refused.
// A directory that breaks these rules is refused whole, so that an issuer
// cannot hand some clients a tagging key of their own.

import { b64urlDecode, ctEqual, utf8Encode } from './bytes.js';
import { ensure } from './errors.js';
import { has, isObject, parseJson } from './json.js';
import { TOKEN_TYPE, TOKEN_TYPE_VOPRF } from './token.js';
import { TOKEN_KEY_MAX } from './authhdr.js';

export const DIRECTORY_MAX = 65536;
export const DIRECTORY_MAX_KEYS = 16;
export const DIRECTORY_PATH = '/.well-known/private-token-issuer-directory';
export const DIRECTORY_TYPE = 'application/private-token-issuer-directory';
const URI_MAX = 2048;
const ISSUER_NAME_MAX = 255;
const KEYS_PER_CLASS = 2;

/*
 *= https://www.rfc-editor.org/rfc/rfc9578#section-4
 *#   issuer-request-uri: Issuer Request URL value (as an absolute URL, or
 *#   a URL relative to the directory object) as a percent-encoded URL
 *#   string
 *#   token-keys: List of Issuer Public Key values, each a JSON object
 *#     token-type: Integer value of the token type
 *#     token-key: The base64url encoding of the Public Key
 *#     not-before: optional, Integer seconds since the epoch
 */
function parseKey(obj) {
  ensure(isObject(obj), 'syntax');
  const type = obj['token-type'];
  ensure(Number.isInteger(type) && typeof obj['token-key'] === 'string', 'syntax');
  ensure(type >= 0 && type <= 0xffff, 'range');
  if (type !== TOKEN_TYPE && type !== TOKEN_TYPE_VOPRF) return null; // a type we skip
  const tokenKey = b64urlDecode(obj['token-key'], TOKEN_KEY_MAX);
  ensure(tokenKey.length > 0, 'length');
  let notBefore = null;
  if (has(obj, 'not-before')) {
    ensure(Number.isInteger(obj['not-before']), 'syntax');
    ensure(obj['not-before'] >= 0, 'range');
    notBefore = obj['not-before'];
  }
  let age = 0;
  if (has(obj, 'agepass-age')) {
    ensure(Number.isInteger(obj['agepass-age']), 'syntax');
    ensure(obj['agepass-age'] >= 1 && obj['agepass-age'] <= 255, 'range');
    age = obj['agepass-age'];
  }
  return { tokenType: type, tokenKey, notBefore, age };
}

// see API.md
export function parseDirectory(text, directoryUrl) {
  ensure(typeof text === 'string', 'syntax');
  ensure(text.length <= DIRECTORY_MAX && utf8Encode(text).length <= DIRECTORY_MAX, 'too_big');
  const root = parseJson(text);
  ensure(isObject(root), 'syntax');
  const uri = root['issuer-request-uri'];
  const keys = root['token-keys'];
  ensure(typeof uri === 'string' && Array.isArray(keys), 'syntax');
  ensure(uri.length > 0 && uri.length <= URI_MAX, 'length');
  // a URI has no NUL and no control characters
  ensure(!/[\u0000-\u0020\u007f]/.test(uri), 'syntax');
  let requestUri;
  try {
    requestUri = new URL(uri, directoryUrl);
  } catch {
    ensure(false, 'syntax', 'issuer-request-uri is not a URL');
  }
  ensure(requestUri.protocol === 'https:' || requestUri.protocol === 'http:', 'syntax');
  ensure(requestUri.username === '' && requestUri.password === '', 'syntax');
  let issuerName = null;
  if (has(root, 'agepass-issuer-name')) {
    const name = root['agepass-issuer-name'];
    ensure(typeof name === 'string', 'syntax');
    ensure(name.length > 0 && utf8Encode(name).length <= ISSUER_NAME_MAX, 'length');
    ensure(!name.includes('\u0000'), 'syntax');
    issuerName = name;
  }
  ensure(keys.length <= DIRECTORY_MAX_KEYS, 'length');
  const out = [];
  for (const entry of keys) {
    const k = parseKey(entry);
    if (k === null || k.tokenType !== TOKEN_TYPE) continue;
    ensure(!out.some((o) => ctEqual(o.tokenKey, k.tokenKey)), 'key', 'a key listed twice');
    ensure(out.filter((o) => o.age === k.age).length < KEYS_PER_CLASS, 'key',
      'more than a current and a next key for one age class');
    out.push(k);
  }
  return { requestUri: requestUri.href, issuerName, keys: out };
}

// see API.md
export function currentKey(dir, age, now) {
  let best = null;
  for (const k of dir.keys) {
    if (k.age !== age || (k.notBefore ?? 0) > now) continue;
    if (best === null || (k.notBefore ?? 0) > (best.notBefore ?? 0)) best = k;
  }
  return best;
}
