// SPDX-License-Identifier: Apache-2.0
// browser/wallet/src/store.js: what the web wallet keeps, in localStorage
// of its own origin, and the choices made over it. Pure functions but load
// and save: no network, no clock of their own (`now` is passed in).
//
// State (version 1), JSON with strings and numbers only:
//   {version: 1,
//    provider: {url, name, requestUri, directoryAt,
//               keys: [{age, tokenKey /* b64url SPKI */, keyId /* hex */}]} | null,
//    tokens: [{age, keyId, token /* b64url, a 354-byte cross-origin Token */}],
//    grant: {grant /* SECRET */, age, tokensLeft, expiresAt} | null,
//    refillAt: seconds | null, fillNow: 1 after an enrolment (fill up at once) | 0}
// Nothing about a visit is ever stored: no site, no time, no count.
import { b64urlDecode, b64urlEncode, hexEncode, utf8Decode } from './core/bytes.js';
import { isCrossOrigin, originNames } from './core/token.js';

const KEY = 'agepass-wallet-v1';
export const TARGET = 30; // tokens held after a refill
export const LOW = 10; // a refill is planned below this

export function emptyState() {
  return { version: 1, provider: null, tokens: [], grant: null, refillAt: null };
}

export function load(storage) {
  try {
    const s = JSON.parse(storage.getItem(KEY) ?? 'null');
    if (s && s.version === 1 && Array.isArray(s.tokens)) return s;
  } catch { /* a broken state is dropped */ }
  return emptyState();
}

export function save(storage, state) {
  storage.setItem(KEY, JSON.stringify(state));
}

export function forget(storage) {
  storage.removeItem(KEY);
}

// A randomised moment for the next refill: 1 to 15 minutes on, before the grant ends.
export function nextRefillAt(now, rand, grantExpiresAt) {
  let at = now + 60 + Math.floor(rand() * 840);
  if (grantExpiresAt !== null && at > grantExpiresAt - 30) at = Math.max(now, grantExpiresAt - 30);
  return at;
}

// The provider's directory pinned (keys with an age class); tokens of keys gone are dropped.
export async function withDirectory(state, url, dir, now, keyIdOf) {
  const keys = [];
  for (const k of dir.keys) {
    if (!k.age) continue;
    keys.push({ age: k.age, tokenKey: b64urlEncode(k.tokenKey), keyId: hexEncode(await keyIdOf(k.tokenKey)) });
  }
  const ids = new Set(keys.map((k) => k.keyId));
  return {
    ...state,
    provider: { url, name: dir.issuerName ?? new URL(url).hostname, requestUri: dir.requestUri,
      directoryAt: now, keys },
    tokens: state.tokens.filter((t) => ids.has(t.keyId)),
  };
}

export function withGrant(state, grant, now, rand) {
  return { ...state, grant, refillAt: now, fillNow: 1 }; // fetch at once: enrolment time, no visit
}

export function withTokens(state, age, keyId, tokens, now, rand) {
  const grant = state.grant && { ...state.grant, tokensLeft: Math.max(0, state.grant.tokensLeft - tokens.length) };
  const all = [...state.tokens, ...tokens.map((t) => ({ age, keyId, token: b64urlEncode(t) }))];
  return { ...state, tokens: all, grant, fillNow: 0,
    refillAt: nextRefillAt(now, rand, grant ? grant.expiresAt : null) };
}

// What a refill would fetch now, or null.
export function refillPlan(state, now) {
  const g = state.grant;
  const p = state.provider;
  if (!p || !g || g.expiresAt <= now || g.tokensLeft <= 0) return null;
  if (state.refillAt === null || state.refillAt > now) return null;
  const held = state.tokens.filter((t) => t.age === g.age).length;
  if (held >= TARGET || (held >= LOW && !state.fillNow)) return null;
  const key = p.keys.find((k) => k.age === g.age);
  if (!key) return null;
  return { age: g.age, key, count: Math.min(TARGET - held, g.tokensLeft) };
}

/*
 * The answer to a site's challenges (from parseWwwAuthenticate): only a
 * challenge naming this provider's issuer and one of its pinned keys
 * counts; the class asked is that key's. A cross-origin challenge is
 * answered with a wallet token of the lowest class at least the one asked;
 * a site-bound one (its origin_info naming the site, if it names any) would
 * need a token minted now, with a grant of that class still good.
 *   {action: 'spend', age, index} | {action: 'mint', age, key, challenge}
 *   | {action: 'none', age}
 */
export function choose(state, challenges, siteHost, now) {
  const p = state.provider;
  let asked = null;
  let mint = null;
  let spend = null;
  if (!p) return { action: 'none', age: null };
  for (const c of challenges) {
    if (c.parsed.tokenType !== 2 || !c.tokenKey) continue;
    if (utf8Decode(c.parsed.issuerName) !== p.name) continue;
    const tk = b64urlEncode(c.tokenKey);
    const key = p.keys.find((k) => k.tokenKey === tk);
    if (!key) continue;
    asked = asked === null ? key.age : Math.min(asked, key.age);
    if (isCrossOrigin(c.parsed)) {
      let best = -1;
      state.tokens.forEach((t, i) => {
        if (t.age >= key.age && (best < 0 || t.age < state.tokens[best].age)) best = i;
      });
      if (best >= 0 && spend === null) spend = { action: 'spend', age: key.age, index: best };
    } else {
      const names = originNames(c.parsed);
      const g = state.grant;
      const canMint = g && g.expiresAt > now && g.tokensLeft > 0 && g.age >= key.age;
      if (canMint && (names.length === 0 || names.includes(siteHost))) {
        if (mint === null) mint = { action: 'mint', age: key.age, key, challenge: c.challenge };
      }
    }
  }
  return spend ?? mint ?? { action: 'none', age: asked };
}

// The state without token i, and the token's bytes.
export function take(state, index) {
  const t = state.tokens[index];
  return { state: { ...state, tokens: state.tokens.filter((_, i) => i !== index) }, token: b64urlDecode(t.token) };
}
