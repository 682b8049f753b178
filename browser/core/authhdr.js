// SPDX-License-Identifier: Apache-2.0
// browser/core/authhdr.js: the PrivateToken HTTP authentication scheme,
// RFC 9577 §2.1.1 (WWW-Authenticate) and §2.2.1 (Authorization), read as
// strictly as lib/authhdr.c reads it.
//
// The grammar (RFC 9110 §11.2, §11.6.1, §5.6):
//
//   WWW-Authenticate = #challenge
//   challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//   auth-param  = token BWS "=" BWS ( token / quoted-string )
//   token68     = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//
// A comma separates both parameters and challenges; after a comma, a token
// followed by "=" continues the current challenge, anything else starts the
// next one. RFC 9577 §2.1.1 names the PrivateToken parameters: challenge
// (required), token-key (may be omitted) and max-age (optional); others are
// ignored. A PrivateToken challenge that does not decode, does not parse or
// names an unregistered token type (grease) is skipped, the others kept.
// One leniency, as in C: an unquoted value may end in base64 "=" padding.
// Every value is bounded; a field value is bounded by HEADER_MAX.

import { b64urlDecode, b64urlEncode } from './bytes.js';
import { AgepassError, ensure } from './errors.js';
import { CHALLENGE_MAX, parseChallenge } from './token.js';

export const HEADER_MAX = 16384;
export const MAX_CHALLENGES = 8;
export const MAX_AGE_MAX = 31536000; // one year
export const TOKEN_KEY_MAX = 600; // the largest SPKI agepass handles (AGP_SPKI_MAX_LEN)
const VALUE_MAX = Math.ceil(CHALLENGE_MAX / 3) * 4 + 4;

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;
const TOKEN68 = /^[-._~+/0-9A-Za-z]$/;

class Text {
  constructor(s) {
    this.s = s;
    this.pos = 0;
  }

  get atEnd() {
    return this.pos >= this.s.length;
  }

  peek() {
    return this.atEnd ? '' : this.s[this.pos];
  }

  skipOws() {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }

  // 1*tchar; '' when none
  token() {
    const start = this.pos;
    while (!this.atEnd && TCHAR.test(this.s[this.pos])) this.pos++;
    return this.s.slice(start, this.pos);
  }

  // Skips OWS and any run of empty list elements: `, ,` (RFC 9110 §5.6.1).
  skipListSep() {
    for (;;) {
      this.skipOws();
      if (this.peek() !== ',') return;
      this.pos++;
    }
  }
}

const syntax = () => new AgepassError('syntax', 'malformed authentication header');

// auth-param = token BWS "=" BWS ( token / quoted-string ) (RFC 9110 §11.2):
// the name as written and the value (null when too long, as readValue).
function readParam(t) {
  const name = t.token();
  if (name.length === 0) throw syntax();
  t.skipOws();
  if (t.peek() !== '=') throw syntax();
  t.pos++;
  t.skipOws();
  return { name, value: readValue(t) };
}

// A token or quoted-string value. The whole value is always consumed; one
// longer than VALUE_MAX comes back as null (unusable, but parsing goes on).
function readValue(t) {
  if (t.peek() !== '"') {
    let v = t.token();
    if (v.length === 0) throw syntax();
    while (t.peek() === '=') {
      t.pos++;
      v += '=';
    }
    return v.length <= VALUE_MAX ? v : null;
  }
  t.pos++; // the opening quote
  let out = '';
  let overflow = false;
  for (;;) {
    if (t.atEnd) throw syntax();
    let c = t.s[t.pos++];
    if (c === '"') break;
    if (c === '\\') {
      if (t.atEnd) throw syntax();
      c = t.s[t.pos++];
    }
    // qdtext and quoted-pair: HTAB, SP, visible ASCII, obs-text
    const cc = c.charCodeAt(0);
    if (!(cc === 9 || (cc >= 0x20 && cc !== 0x7f && cc <= 0xff))) throw syntax();
    if (out.length < VALUE_MAX) out += c;
    else overflow = true;
  }
  return overflow ? null : out;
}

// True if an auth-param follows (token BWS "=" BWS value).
function paramFollows(t) {
  const look = new Text(t.s);
  look.pos = t.pos;
  if (look.token().length === 0) return false;
  look.skipOws();
  if (look.peek() !== '=') return false;
  // `abc==` is a token68 with padding: a value cannot start with "="
  look.pos++;
  look.skipOws();
  return look.peek() === '"' || TCHAR.test(look.peek());
}

// Reads the parameters after a scheme; for PrivateToken (pp given) collects them.
function readParams(t, pp) {
  if (t.peek() !== ' ') return; // the scheme alone
  t.skipOws();
  if (!paramFollows(t)) {
    // token68, or nothing before the next comma
    while (TOKEN68.test(t.peek())) t.pos++;
    while (t.peek() === '=') t.pos++;
    t.skipOws();
    if (!(t.atEnd || t.peek() === ',')) throw syntax();
    if (pp) pp.bad = true; // PrivateToken takes parameters, not token68
    return;
  }
  for (;;) {
    const { name, value } = readParam(t);
    if (pp) keepParam(pp, name.toLowerCase(), value);
    t.skipOws();
    if (t.atEnd) return;
    if (t.peek() !== ',') throw syntax();
    const comma = t.pos;
    t.skipListSep();
    if (t.atEnd) return;
    if (!paramFollows(t)) {
      t.pos = comma; // the comma ends this challenge
      return;
    }
  }
}

function keepParam(pp, name, value) {
  if (name !== 'challenge' && name !== 'token-key' && name !== 'max-age') return;
  if (value === null || name in pp.values) pp.bad = true; // too long, or given twice
  else pp.values[name] = value;
}

// max-age = 1*DIGIT, at most MAX_AGE_MAX
function parseMaxAge(s) {
  ensure(/^[0-9]{1,10}$/.test(s), 'encoding');
  const v = Number(s);
  ensure(v <= MAX_AGE_MAX, 'range');
  return v;
}

// Checks a collected challenge; throws when it is to be skipped.
function checkPrivateToken(pp) {
  ensure(!pp.bad && 'challenge' in pp.values, 'syntax');
  const challenge = b64urlDecode(pp.values.challenge, CHALLENGE_MAX);
  const parsed = parseChallenge(challenge);
  let tokenKey = null;
  if ('token-key' in pp.values) {
    tokenKey = b64urlDecode(pp.values['token-key'], TOKEN_KEY_MAX);
    ensure(tokenKey.length > 0, 'length');
  }
  const maxAge = 'max-age' in pp.values ? parseMaxAge(pp.values['max-age']) : null;
  return { challenge, parsed, tokenKey, maxAge };
}

// The usable PrivateToken challenges of one field value, appended to out.
function parseOne(value, out) {
  if (typeof value !== 'string' || value.length > HEADER_MAX) return;
  const t = new Text(value);
  try {
    t.skipListSep();
    while (!t.atEnd) {
      const scheme = t.token();
      if (scheme.length === 0) throw syntax();
      const pp = scheme.toLowerCase() === 'privatetoken' ? { values: {}, bad: false } : null;
      readParams(t, pp);
      if (pp && out.length < MAX_CHALLENGES) {
        try {
          out.push(checkPrivateToken(pp));
        } catch (e) {
          if (!(e instanceof AgepassError)) throw e;
          // a challenge we cannot use is skipped (RFC 9577 §2.1)
        }
      }
      t.skipOws();
      if (!t.atEnd && t.peek() !== ',') throw syntax();
      t.skipListSep();
    }
  } catch (e) {
    if (!(e instanceof AgepassError)) throw e;
    // the grammar broke: what came before the break stays usable
  }
}

// see API.md
export function parseWwwAuthenticate(values) {
  const list = Array.isArray(values) ? values : [values];
  const out = [];
  for (const v of list) parseOne(v, out);
  return out;
}

// see API.md: one challenge, quoted values, padded base64url
export function formatWwwAuthenticate({ challenge, tokenKey = null, maxAge = null }) {
  parseChallenge(challenge);
  let out = `PrivateToken challenge="${b64urlEncode(challenge)}"`;
  if (tokenKey && tokenKey.length > 0) {
    ensure(tokenKey.length <= TOKEN_KEY_MAX, 'length');
    out += `, token-key="${b64urlEncode(tokenKey)}"`;
  }
  if (maxAge !== null) {
    ensure(Number.isInteger(maxAge) && maxAge >= 0 && maxAge <= MAX_AGE_MAX, 'range');
    out += `, max-age="${maxAge}"`;
  }
  return out;
}

// see API.md
export function parseAuthorization(value) {
  ensure(typeof value === 'string', 'syntax');
  ensure(value.length <= HEADER_MAX, 'too_big');
  const t = new Text(value);
  t.skipOws();
  if (t.token().toLowerCase() !== 'privatetoken' || t.peek() !== ' ') throw syntax();
  t.skipOws();
  // credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
  let token = null;
  let seen = 0;
  for (;;) {
    const { name, value: v } = readParam(t);
    if (v === null) throw new AgepassError('too_big', 'a value is too long');
    if (name.toLowerCase() === 'token') {
      if (++seen !== 1) throw syntax();
      token = v;
    }
    t.skipOws();
    if (t.atEnd) break;
    if (t.peek() !== ',') throw syntax();
    t.skipListSep();
    if (t.atEnd) break;
  }
  if (seen !== 1) throw syntax();
  return b64urlDecode(token, VALUE_MAX);
}

// see API.md
export function formatAuthorization(token) {
  ensure(token instanceof Uint8Array && token.length > 0, 'length');
  return `PrivateToken token="${b64urlEncode(token)}"`;
}
