// SPDX-License-Identifier: Apache-2.0
// browser/core/bytes.js: the one bounds-checked reader and writer over
// Uint8Array that every parser of the core goes through (as lib/buf.c in C),
// base64url, hex, UTF-8, constant-time comparison, hashes and randomness.
//
// Views are honoured: a Uint8Array that is a window into a larger buffer
// (byteOffset > 0) is read only inside its window. Reads return subarray
// views into the input, not copies; writers copy.

import { AgepassError, ensure } from './errors.js';

function checkBytes(b) {
  ensure(b instanceof Uint8Array, 'syntax', 'bytes expected (Uint8Array)');
  return b;
}

export class Reader {
  #b;
  #pos = 0;

  constructor(bytes) {
    this.#b = checkBytes(bytes);
  }

  get remaining() {
    return this.#b.length - this.#pos;
  }

  // n bytes as a view; checks n <= remaining, never pos + n <= len.
  bytes(n) {
    ensure(Number.isSafeInteger(n) && n >= 0, 'length');
    ensure(n <= this.remaining, 'truncated');
    const out = this.#b.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  u8() {
    return this.bytes(1)[0];
  }

  u16() {
    const b = this.bytes(2);
    return (b[0] << 8) | b[1];
  }

  // opaque x<min..max> with a one-byte length prefix
  vec8(min, max) {
    const n = this.u8();
    ensure(n >= min && n <= max, 'length');
    return this.bytes(n);
  }

  // opaque x<min..max> with a two-byte length prefix
  vec16(min, max) {
    const n = this.u16();
    ensure(n >= min && n <= max, 'length');
    return this.bytes(n);
  }

  // A QUIC variable-length integer (RFC 9000 §16) in its shortest encoding
  // (draft-ietf-privacypass-batched-tokens-06 §4.2). Values above 2^53 are
  // refused as 'too_big' (no vector of ours comes near).
  varint() {
    const first = this.u8();
    const n = 1 << (first >> 6);
    let v = first & 0x3f;
    for (let i = 1; i < n; i++) {
      v = v * 256 + this.u8();
    }
    ensure(Number.isSafeInteger(v), 'too_big');
    // the shortest encoding: the value would not fit in the next shorter one
    ensure(n === 1 || v >= 2 ** (8 * (n / 2) - 2), 'encoding');
    return v;
  }

  // A <V> vector of at most max bytes.
  vecV(max) {
    const n = this.varint();
    ensure(n <= max, 'too_big');
    return this.bytes(n);
  }

  end() {
    ensure(this.remaining === 0, 'trailing');
  }
}

export class Writer {
  #parts = [];
  #len = 0;

  get length() {
    return this.#len;
  }

  bytes(b) {
    checkBytes(b);
    this.#parts.push(b.slice());
    this.#len += b.length;
    return this;
  }

  u8(v) {
    ensure(Number.isInteger(v) && v >= 0 && v <= 0xff, 'range');
    return this.bytes(Uint8Array.of(v));
  }

  u16(v) {
    ensure(Number.isInteger(v) && v >= 0 && v <= 0xffff, 'range');
    return this.bytes(Uint8Array.of(v >> 8, v & 0xff));
  }

  vec8(b, max) {
    checkBytes(b);
    ensure(b.length <= max && b.length <= 0xff, 'length');
    return this.u8(b.length).bytes(b);
  }

  vec16(b, max) {
    checkBytes(b);
    ensure(b.length <= max && b.length <= 0xffff, 'length');
    return this.u16(b.length).bytes(b);
  }

  // Shortest varint; our vectors stay below 2^14 (as lib/batch.c).
  vecV(b) {
    checkBytes(b);
    ensure(b.length < 16384, 'length');
    if (b.length < 64) this.u8(b.length);
    else this.u16(0x4000 | b.length);
    return this.bytes(b);
  }

  finish() {
    const out = new Uint8Array(this.#len);
    let off = 0;
    for (const p of this.#parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
}

export function concat(...arrays) {
  const w = new Writer();
  for (const a of arrays) w.bytes(a);
  return w.finish();
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_VALUE[B64.charCodeAt(i)] = i;

// Padded base64url (RFC 4648 §5), as RFC 9577 §2.1.2 says to write.
export function b64urlEncode(bytes) {
  checkBytes(bytes);
  let out = '';
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[v >> 18] + B64[(v >> 12) & 63] + B64[(v >> 6) & 63] + B64[v & 63];
  }
  const rem = bytes.length - i;
  if (rem === 1) {
    const v = bytes[i] << 16;
    out += B64[v >> 18] + B64[(v >> 12) & 63] + '==';
  } else if (rem === 2) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64[v >> 18] + B64[(v >> 12) & 63] + B64[(v >> 6) & 63] + '=';
  }
  return out;
}

// base64url with or without padding; padding, when present, must complete
// the last quantum; the unused bits of the last character must be zero (so
// that one byte string has exactly one unpadded and one padded text).
export function b64urlDecode(text, max = 65536) {
  ensure(typeof text === 'string', 'encoding');
  let body = text.length;
  let pad = 0;
  while (body > 0 && text.charCodeAt(body - 1) === 0x3d && pad < 2) {
    body--;
    pad++;
  }
  ensure(pad === 0 || (text.length % 4 === 0 && (body % 4) + pad === 4), 'encoding');
  const rem = body % 4;
  ensure(rem !== 1, 'encoding');
  const need = Math.floor(body / 4) * 3 + (rem ? rem - 1 : 0);
  ensure(need <= max, 'too_big');
  const out = new Uint8Array(need);
  let acc = 0;
  let o = 0;
  for (let i = 0; i < body; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? B64_VALUE[c] : -1;
    ensure(v >= 0, 'encoding');
    acc = (acc << 6) | v;
    if (i % 4 === 3) {
      out[o++] = acc >> 16;
      out[o++] = (acc >> 8) & 0xff;
      out[o++] = acc & 0xff;
      acc = 0;
    }
  }
  if (rem === 2) {
    ensure((acc & 0xf) === 0, 'encoding');
    out[o++] = acc >> 4;
  } else if (rem === 3) {
    ensure((acc & 0x3) === 0, 'encoding');
    out[o++] = (acc >> 10) & 0xff;
    out[o++] = (acc >> 2) & 0xff;
  }
  return out;
}

export function hexEncode(bytes) {
  checkBytes(bytes);
  let out = '';
  for (const b of bytes) out += (b < 16 ? '0' : '') + b.toString(16);
  return out;
}

export function hexDecode(text) {
  ensure(typeof text === 'string' && text.length % 2 === 0, 'encoding');
  ensure(/^[0-9a-fA-F]*$/.test(text), 'encoding');
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
  return out;
}

// True when a and b hold the same bytes; the time depends on the lengths
// only, not on where the contents differ (for secret-derived values).
export function ctEqual(a, b) {
  checkBytes(a);
  checkBytes(b);
  if (a.length !== b.length) return false;
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i] ^ b[i];
  return acc === 0;
}

export function utf8Encode(s) {
  ensure(typeof s === 'string', 'encoding');
  return new TextEncoder().encode(s);
}

export function utf8Decode(b) {
  checkBytes(b);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    throw new AgepassError('encoding', 'not UTF-8');
  }
}

function subtle() {
  const s = globalThis.crypto?.subtle;
  ensure(s !== undefined, 'unavailable', 'WebCrypto is not available');
  return s;
}

export async function sha256(b) {
  return new Uint8Array(await subtle().digest('SHA-256', checkBytes(b)));
}

export async function sha384(b) {
  return new Uint8Array(await subtle().digest('SHA-384', checkBytes(b)));
}

export function randomBytes(n) {
  const out = new Uint8Array(n);
  // getRandomValues takes at most 65536 bytes a call
  for (let off = 0; off < n; off += 65536) {
    globalThis.crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
  }
  return out;
}

export { subtle };
