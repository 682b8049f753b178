// SPDX-License-Identifier: Apache-2.0
// browser/core/rsabssa.js: the client side of RSA blind signatures,
// RFC 9474 §4, with SHA-384, MGF1-SHA-384 and a 48-byte PSS salt (the
// RSABSSA-SHA384-PSS-Randomized and -Deterministic variants; token type
// 0x0002 of RFC 9578 §6 uses the Deterministic one).
//
// WebCrypto has no raw RSA, so Blind and the unblinding step are BigInt
// arithmetic here: EMSA-PSS-ENCODE (RFC 8017 §9.1.1) written out with
// WebCrypto digests, r drawn uniformly in [1, n) by rejection sampling,
// r^e mod n by square-and-multiply, an extended-Euclid inverse. The final
// check of Finalize is WebCrypto's own RSA-PSS verify.
//
// Secrets: r, its inverse inv and the blinded product unlink the token from
// the request; they never leave this module except inv, which the caller
// keeps until Finalize. BigInt is not constant-time and cannot be wiped:
// someone timing this process locally could learn r (see the research note).
// Nothing here logs.

import { AgepassError, ensure } from './errors.js';
import {
  b64urlDecode, b64urlEncode, concat, ctEqual, hexDecode, hexEncode, randomBytes, sha256, sha384,
  subtle,
} from './bytes.js';

const HASH_LEN = 48;
const SALT_LEN = 48;
const PREFIX_LEN = 32; // RFC 9474 §4.1: the Randomized variants' msg_prefix

// RFC 9578 §6.5: the SPKI of a 2048-bit key with the id-RSASSA-PSS algorithm
// and parameters SHA-384, MGF1-SHA-384, salt 48 (72 bytes, then the 270-byte
// RSAPublicKey); WebCrypto takes the same key only as rsaEncryption (24 bytes).
const PSS_SPKI_PREFIX = hexDecode(
  '30820152303d06092a864886f70d01010a3030a00d300b0609608648016503040202a11a3018' +
    '06092a864886f70d010108300b0609608648016503040202a2030201300382010f00');
const RSA_SPKI_PREFIX = hexDecode('30820122300d06092a864886f70d01010105000382010f00');
const TOKEN_KEY_LEN = 342;

export function bytesToInt(b) {
  return b.length === 0 ? 0n : BigInt('0x' + hexEncode(b));
}

export function intToBytes(x, len) {
  const hex = x.toString(16);
  ensure(hex.length <= 2 * len, 'range');
  return hexDecode(hex.padStart(2 * len, '0'));
}

function bitLength(x) {
  return x === 0n ? 0 : x.toString(2).length;
}

// x^e mod n, left-to-right square-and-multiply (e is public).
function modPow(x, e, n) {
  let result = 1n;
  const bits = e.toString(2);
  for (let i = 0; i < bits.length; i++) {
    result = (result * result) % n;
    if (bits[i] === '1') result = (result * x) % n;
  }
  return result;
}

// x^-1 mod n by the extended Euclidean algorithm; null when gcd(x, n) != 1.
function modInverse(x, n) {
  let [oldR, r] = [x % n, n];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  if (oldR !== 1n) return null;
  return ((oldS % n) + n) % n;
}

async function makeKey(n, e, spki, keyId, cryptoKey) {
  const modBits = bitLength(n);
  return Object.freeze({ n, e, k: Math.ceil(modBits / 8), modBits, spki, keyId, cryptoKey });
}

const PSS = { name: 'RSA-PSS', hash: 'SHA-384' };

function b64ToInt(s) {
  return bytesToInt(b64urlDecode(s, 1024));
}

// see API.md
export async function importTokenKey(spki) {
  ensure(spki instanceof Uint8Array && spki.length === TOKEN_KEY_LEN, 'key', 'not an RFC 9578 key');
  ensure(ctEqual(spki.subarray(0, PSS_SPKI_PREFIX.length), PSS_SPKI_PREFIX), 'key',
    'not an RFC 9578 key');
  const plain = concat(RSA_SPKI_PREFIX, spki.subarray(PSS_SPKI_PREFIX.length));
  let cryptoKey;
  let jwk;
  try {
    cryptoKey = await subtle().importKey('spki', plain, PSS, true, ['verify']);
    jwk = await subtle().exportKey('jwk', cryptoKey);
  } catch {
    throw new AgepassError('key', 'the key does not import');
  }
  const n = b64ToInt(jwk.n);
  ensure(bitLength(n) === 2048, 'key', 'not a 2048-bit key');
  // the 270 bytes must be exactly the DER of (n, e) as the browser writes it
  // back (its SPKI ends with them, whichever algorithm identifier it puts first)
  const rsaKey = plain.subarray(RSA_SPKI_PREFIX.length);
  const exported = new Uint8Array(await subtle().exportKey('spki', cryptoKey));
  ensure(exported.length >= rsaKey.length &&
    ctEqual(exported.subarray(exported.length - rsaKey.length), rsaKey), 'key',
  'not the canonical encoding');
  return makeKey(n, b64ToInt(jwk.e), spki.slice(), await sha256(spki), cryptoKey);
}

// see API.md
export async function importRawKey(nBytes, eBytes) {
  const n = bytesToInt(nBytes);
  ensure(bitLength(n) >= 2048 && bitLength(n) <= 4096, 'key');
  const nopad = (b) => b64urlEncode(b).replace(/=+$/, '');
  let cryptoKey;
  try {
    cryptoKey = await subtle().importKey('jwk',
      { kty: 'RSA', n: nopad(intToBytes(n, Math.ceil(bitLength(n) / 8))), e: nopad(eBytes),
        alg: 'PS384', ext: true }, PSS, true, ['verify']);
  } catch {
    throw new AgepassError('key', 'the key does not import');
  }
  return makeKey(n, bytesToInt(eBytes), null, null, cryptoKey);
}

// see API.md
export function prepare(msg, { randomized = false, prefix } = {}) {
  if (!randomized) return msg.slice();
  const p = prefix ?? randomBytes(PREFIX_LEN);
  ensure(p.length === PREFIX_LEN, 'length');
  return concat(p, msg);
}

// MGF1 with SHA-384 (RFC 8017 B.2.1), XORed into mask.
async function mgf1Xor(mask, seed) {
  const input = new Uint8Array(HASH_LEN + 4);
  input.set(seed);
  for (let counter = 0, done = 0; done < mask.length; counter++) {
    new DataView(input.buffer).setUint32(HASH_LEN, counter);
    const h = await sha384(input);
    for (let i = 0; i < HASH_LEN && done < mask.length; i++) mask[done++] ^= h[i];
  }
}

// EMSA-PSS-ENCODE(M, emBits = modBits - 1), RFC 8017 §9.1.1, with SHA-384,
// written right-aligned into k bytes.
async function pssEncode(msg, modBits, k, salt) {
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  ensure(emLen >= HASH_LEN + salt.length + 2, 'key');
  // M' = 0x00 * 8 || mHash || salt;  H = Hash(M')
  const mPrime = concat(new Uint8Array(8), await sha384(msg), salt);
  const h = await sha384(mPrime);
  // DB = PS || 0x01 || salt;  maskedDB = DB xor MGF(H, emLen - hLen - 1)
  const dbLen = emLen - HASH_LEN - 1;
  const em = new Uint8Array(k);
  const db = em.subarray(k - emLen, k - emLen + dbLen);
  db[dbLen - salt.length - 1] = 0x01;
  db.set(salt, dbLen - salt.length);
  await mgf1Xor(db, h);
  db[0] &= 0xff >> (8 * emLen - emBits);
  // EM = maskedDB || H || 0xbc
  em.set(h, k - HASH_LEN - 1);
  em[k - 1] = 0xbc;
  return em;
}

// random_integer_uniform(1, n) of RFC 9474 §4.1: draw bit_len(n) random bits
// and try again while the value is outside [1, n); each try succeeds with
// probability > 1/2, so 256 tries fail with probability < 2^-256.
function randomBelow(n, source = randomBytes) {
  const bits = bitLength(n);
  const len = Math.ceil(bits / 8);
  const topMask = 0xff >> (8 * len - bits);
  for (let tries = 0; tries < 256; tries++) {
    const b = source(len);
    b[0] &= topMask;
    const r = bytesToInt(b);
    b.fill(0);
    if (r >= 1n && r < n) return r;
  }
  throw new AgepassError('random', 'no random value drawn');
}

// see API.md
export async function blind(pk, inputMsg, { salt, r } = {}) {
  const s = salt ? salt.slice() : randomBytes(SALT_LEN);
  ensure(s.length === SALT_LEN, 'length');
  // encoded_msg = EMSA-PSS-ENCODE(msg, bit_len(n) - 1); m = bytes_to_int(encoded_msg)
  const em = await pssEncode(inputMsg, pk.modBits, pk.k, s);
  const m = bytesToInt(em);
  em.fill(0);
  s.fill(0);
  ensure(m < pk.n, 'range');
  // r = random_integer_uniform(1, n)
  let rr;
  if (r === undefined) rr = randomBelow(pk.n);
  else rr = typeof r === 'bigint' ? r : bytesToInt(r);
  ensure(rr >= 1n && rr < pk.n, 'range');
  // The RFC's checks "m and n are co-prime" and "r is invertible", with one
  // inversion: t = m * r is invertible mod n exactly when both are, and then
  // r^-1 = m * t^-1 (as lib/rsabssa.c).
  const tInv = modInverse((m * rr) % pk.n, pk.n);
  ensure(tInv !== null, 'range', 'blinding error');
  const inv = (m * tInv) % pk.n;
  // x = RSAVP1(pk, r) = r^e mod n;  z = m * x mod n
  const z = (m * modPow(rr, pk.e, pk.n)) % pk.n;
  return { blindedMsg: intToBytes(z, pk.k), inv: intToBytes(inv, pk.k) };
}

// see API.md
export async function verify(pk, inputMsg, sig) {
  if (!(sig instanceof Uint8Array) || sig.length !== pk.k) return false;
  return subtle().verify({ name: 'RSA-PSS', saltLength: SALT_LEN }, pk.cryptoKey, sig, inputMsg);
}

// see API.md
export async function finalize(pk, inputMsg, blindSig, inv) {
  ensure(blindSig instanceof Uint8Array && blindSig.length === pk.k, 'length');
  ensure(inv instanceof Uint8Array && inv.length === pk.k, 'length');
  const z = bytesToInt(blindSig);
  const i = bytesToInt(inv);
  ensure(z < pk.n && i < pk.n, 'range');
  // s = z * inv mod n;  sig = int_to_bytes(s, modulus_len)
  const sig = intToBytes((z * i) % pk.n, pk.k);
  // the signature must verify, or the issuer signed something else
  ensure(await verify(pk, inputMsg, sig), 'signature', 'the signature does not verify');
  return sig;
}

export { modInverse as _modInverse, randomBelow as _randomBelow };
