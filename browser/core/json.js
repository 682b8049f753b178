// SPDX-License-Identifier: Apache-2.0
// browser/core/json.js: a strict JSON reader (RFC 8259) for documents from
// the network. Unlike JSON.parse it refuses duplicate member names (so that
// one document cannot mean two things to two readers, as lib/directory.c
// asks of jansson), bounds nesting depth, and tells integers from other
// numbers: an integer comes back as a Number only when it has no fraction
// or exponent and is a safe integer; any other number comes back as a
// JsonReal wrapper, which no caller accepts where an integer is expected.

import { AgepassError } from './errors.js';

export class JsonReal {
  constructor(v) {
    this.value = v;
  }
}

const MAX_DEPTH = 32;
const bad = () => new AgepassError('syntax', 'malformed JSON');

export function parseJson(text) {
  if (typeof text !== 'string') throw bad();
  let pos = 0;
  const ws = () => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos])) pos++;
  };
  const expect = (c) => {
    if (text[pos] !== c) throw bad();
    pos++;
  };
  function string() {
    expect('"');
    let out = '';
    for (;;) {
      if (pos >= text.length) throw bad();
      const c = text[pos++];
      if (c === '"') return out;
      if (c.charCodeAt(0) < 0x20) throw bad();
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = text[pos++];
      const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e in simple) out += simple[e];
      else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.substr(pos, 4))) {
        out += String.fromCharCode(parseInt(text.substr(pos, 4), 16));
        pos += 4;
      } else throw bad();
    }
  }
  function number() {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(pos, pos + 400));
    if (!m) throw bad();
    pos += m[0].length;
    const v = Number(m[0]);
    if (m[2] === undefined && m[3] === undefined && Number.isSafeInteger(v)) return v;
    return new JsonReal(v);
  }
  function value(depth) {
    if (depth > MAX_DEPTH) throw bad();
    ws();
    const c = text[pos];
    let v;
    if (c === '{') {
      pos++;
      v = Object.create(null);
      ws();
      if (text[pos] === '}') pos++;
      else {
        for (;;) {
          ws();
          const k = string();
          if (Object.prototype.hasOwnProperty.call(v, k)) throw bad(); // a duplicate name
          ws();
          expect(':');
          v[k] = value(depth + 1);
          ws();
          if (text[pos] === ',') { pos++; continue; }
          expect('}');
          break;
        }
      }
    } else if (c === '[') {
      pos++;
      v = [];
      ws();
      if (text[pos] === ']') pos++;
      else {
        for (;;) {
          v.push(value(depth + 1));
          ws();
          if (text[pos] === ',') { pos++; continue; }
          expect(']');
          break;
        }
      }
    } else if (c === '"') v = string();
    else if (text.startsWith('true', pos)) { pos += 4; v = true; }
    else if (text.startsWith('false', pos)) { pos += 5; v = false; }
    else if (text.startsWith('null', pos)) { pos += 4; v = null; }
    else v = number();
    ws();
    return v;
  }
  const v = value(0);
  if (pos !== text.length) throw bad();
  return v;
}

export const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) &&
  !(v instanceof JsonReal);
export const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
