// SPDX-License-Identifier: Apache-2.0
// browser/core/wallet.js: the wallet of a browser client as pure functions
// over one plain, JSON-serialisable state object (see API.md for its
// shape). No I/O, no clock and no randomness of its own: `now` (seconds)
// and `rand` (a function returning [0, 1), Math.random in product code) are
// parameters, and every function returns a new state, leaving its argument
// as it was; the caller stores the result whole (chrome.storage, or
// localStorage for the web wallet). `grants` belongs in memory-only storage
// (chrome.storage.session); the rest in persistent storage.
//
// What is stored is what the person holds, never what they did: providers
// and their pinned keys, unlinkable cross-origin tokens, the grant, the
// next refill moment. No URL, site, time or count of visits.
//
// Tokens are fetched at randomised moments (refillAt), right after
// enrolment (the issuer sees the person then anyway), and later only while
// a grant is valid; they are never fetched because a page asked.
//
// A refill is a plan (refillPlan), then a request the caller makes without
// holding the state (visits go on meanwhile), then its outcome applied to
// the state as it is by then (refillDone, refillFailed). While a request is
// out, refillStarted marks the provider (refillingUntil, the request's
// timeout): refillPlan skips it, so a provider has at most one refill in
// flight, even across a restart of the caller. An answer that arrives after
// the provider was removed or forgotten changes nothing.

import { b64urlDecode, b64urlEncode, hexEncode, sha256, utf8Decode } from './bytes.js';
import { ensure } from './errors.js';
import { crossOriginChallenge, isCrossOrigin, originNames, TOKEN_TYPE } from './token.js';
import { normaliseIssuerUrl } from './issuer.js';

export const WALLET_TARGET = 30;
export const WALLET_LOW = 10;
const REFILL_MIN_S = 60;
const REFILL_MAX_S = 900;
const GRANT_MARGIN_S = 30;
const DIRECTORY_MIN_S = 12 * 3600;
const DIRECTORY_SPREAD_S = 24 * 3600;

const copy = (state) => structuredClone(state);

export function emptyWallet() {
  return { version: 1, providers: {}, grants: {} };
}

// A stored object back as a state: anything else than a version-1 wallet
// (absent, corrupted, from a future version) opens as an empty one.
export function openWallet(obj) {
  const ok = obj !== null && typeof obj === 'object' && obj.version === 1 &&
    obj.providers !== null && typeof obj.providers === 'object' &&
    obj.grants !== null && typeof obj.grants === 'object';
  return ok ? copy(obj) : emptyWallet();
}

function provider(state, issuerUrl) {
  const p = state.providers[issuerUrl];
  ensure(p !== undefined, 'not_found', 'not a provider of this wallet');
  return p;
}

// see API.md: uniform in [now + 60, now + 900], before the grant expires
export function nextRefillAt(now, rand, grantExpiresAt) {
  if (grantExpiresAt === null || grantExpiresAt === undefined) return null;
  const lo = now + REFILL_MIN_S;
  const hi = Math.min(now + REFILL_MAX_S, grantExpiresAt - GRANT_MARGIN_S);
  if (hi < lo) return null;
  return lo + Math.floor(rand() * (hi - lo + 1));
}

function validGrant(state, issuerUrl, now) {
  const g = state.grants[issuerUrl];
  return g && g.expiresAt > now && g.tokensLeft > 0 ? g : null;
}

// see API.md (async: key ids are SHA-256 digests)
export async function addProvider(state, issuerUrl, directory, etag, now, rand) {
  const url = normaliseIssuerUrl(issuerUrl);
  ensure(typeof directory.issuerName === 'string', 'syntax', 'not an agepass issuer directory');
  const keys = [];
  for (const k of directory.keys) {
    if (k.tokenType !== TOKEN_TYPE || k.age === 0) continue;
    keys.push({ age: k.age, tokenKey: b64urlEncode(k.tokenKey),
      keyId: hexEncode(await sha256(k.tokenKey)), notBefore: k.notBefore });
  }
  ensure(keys.length > 0, 'key', 'the directory has no agepass key');
  const s = copy(state);
  const old = s.providers[url];
  const ids = new Set(keys.map((k) => k.keyId));
  s.providers[url] = {
    name: directory.issuerName,
    requestUri: directory.requestUri,
    etag: etag ?? null,
    directoryAt: now,
    directoryDue: now + DIRECTORY_MIN_S + Math.floor(rand() * DIRECTORY_SPREAD_S),
    keys,
    // tokens of keys the issuer no longer lists are worth nothing
    tokens: (old?.tokens ?? []).filter((t) => ids.has(t.keyId)),
    refillAt: old?.refillAt ?? null,
    ...(old?.refillingUntil != null ? { refillingUntil: old.refillingUntil } : {}),
  };
  return s;
}

// The directory did not change (304): only the next refresh moves.
export function directoryChecked(state, issuerUrl, now, rand) {
  const s = copy(state);
  const p = provider(s, issuerUrl);
  p.directoryAt = now;
  p.directoryDue = now + DIRECTORY_MIN_S + Math.floor(rand() * DIRECTORY_SPREAD_S);
  return s;
}

export function removeProvider(state, issuerUrl) {
  const s = copy(state);
  delete s.providers[issuerUrl];
  delete s.grants[issuerUrl];
  return s;
}

// see API.md: the first refill is due at once (enrolment just happened)
export function setGrant(state, issuerUrl, grant, now) {
  const s = copy(state);
  const p = provider(s, issuerUrl);
  s.grants[issuerUrl] = { grant: grant.grant, age: grant.age, tokensLeft: grant.tokensLeft,
    expiresAt: grant.expiresAt };
  p.refillAt = now;
  return s;
}

export function dropGrant(state, issuerUrl) {
  const s = copy(state);
  delete s.grants[issuerUrl];
  if (s.providers[issuerUrl]) s.providers[issuerUrl].refillAt = null;
  return s;
}

export function expireGrants(state, now) {
  const s = copy(state);
  for (const [url, g] of Object.entries(s.grants)) {
    if (g.expiresAt <= now) {
      delete s.grants[url];
      if (s.providers[url]) s.providers[url].refillAt = null;
    }
  }
  return s;
}

// The pinned key a challenge names, with its provider; null if none.
function findKey(state, tokenKey) {
  const b64 = b64urlEncode(tokenKey); // canonical: equal strings, equal bytes
  for (const [issuerUrl, p] of Object.entries(state.providers)) {
    const key = p.keys.find((k) => k.tokenKey === b64);
    if (key) return { issuerUrl, p, key };
  }
  return null;
}

function nameOf(parsed) {
  try {
    return utf8Decode(parsed.issuerName);
  } catch {
    return null;
  }
}

// see API.md
export function chooseToken(state, challenges, { pageHost, now }) {
  let ours = false;
  let privateTokens = false;
  let wrongOrigin = false;
  let spend = null;
  const mints = [];
  for (const ch of challenges) {
    if (ch.parsed.tokenType !== TOKEN_TYPE) continue;
    privateTokens = true;
    if (!ch.tokenKey) continue;
    const found = findKey(state, ch.tokenKey);
    if (!found || nameOf(ch.parsed) !== found.p.name) continue;
    ours = true;
    const asked = found.key.age;
    let origins;
    try {
      origins = originNames(ch.parsed);
    } catch {
      continue;
    }
    // a site may not ask for a token bound to another origin (and relay it)
    if (origins.length > 0 && !origins.includes(pageHost)) {
      wrongOrigin = true;
      continue;
    }
    if (isCrossOrigin(ch.parsed)) {
      found.p.tokens.forEach((t, index) => {
        if (t.age >= asked && (spend === null || t.age < spend.age)) {
          spend = { action: 'spend', issuerUrl: found.issuerUrl, age: t.age, index,
            token: b64urlDecode(t.token) };
        }
      });
    }
    if (validGrant(state, found.issuerUrl, now)) {
      mints.push({ action: 'mint', issuerUrl: found.issuerUrl, age: asked,
        tokenKey: ch.tokenKey, challenge: ch.challenge, requestUri: found.p.requestUri,
        siteBound: !isCrossOrigin(ch.parsed) });
    }
  }
  if (spend) return spend;
  if (mints.length > 0) {
    // a token minted now is better bound to this site than a bearer token
    mints.sort((a, b) => (b.siteBound - a.siteBound) || (a.age - b.age));
    const { siteBound, ...choice } = mints[0];
    return choice;
  }
  const reason = wrongOrigin ? 'wrong_origin' : ours ? 'no_token'
    : privateTokens ? 'unknown_provider' : 'not_agepass';
  return { action: 'none', reason };
}

// see API.md
export function spendToken(state, choice, now, rand) {
  ensure(choice?.action === 'spend', 'syntax');
  const s = copy(state);
  const p = provider(s, choice.issuerUrl);
  const t = p.tokens[choice.index];
  ensure(t !== undefined && t.token === b64urlEncode(choice.token), 'not_found',
    'that token is no longer in the wallet');
  p.tokens.splice(choice.index, 1);
  if (p.tokens.length < WALLET_LOW && p.refillAt === null) {
    p.refillAt = nextRefillAt(now, rand, validGrant(s, choice.issuerUrl, now)?.expiresAt ?? null);
  }
  return s;
}

// The current key of a class: the latest not-before that has come.
function currentKeyOf(p, age, now) {
  let best = null;
  for (const k of p.keys) {
    if (k.age !== age || (k.notBefore ?? 0) > now) continue;
    if (best === null || (k.notBefore ?? 0) > (best.notBefore ?? 0)) best = k;
  }
  return best;
}

// see API.md
export function refillPlan(state, now) {
  const plan = [];
  for (const [issuerUrl, p] of Object.entries(state.providers)) {
    const g = validGrant(state, issuerUrl, now);
    if (!g || p.refillAt === null || p.refillAt > now || p.tokens.length >= WALLET_TARGET) continue;
    if (p.refillingUntil != null && p.refillingUntil > now) continue; // one in flight at most
    const key = currentKeyOf(p, g.age, now);
    if (!key) continue;
    plan.push({ issuerUrl, age: g.age, count: Math.min(WALLET_TARGET - p.tokens.length, g.tokensLeft),
      key: { tokenKey: b64urlDecode(key.tokenKey), keyId: key.keyId }, requestUri: p.requestUri,
      grant: g.grant, challenge: crossOriginChallenge(p.name) });
  }
  return plan;
}

// see API.md
export function addTokens(state, issuerUrl, age, keyId, tokens, now, rand) {
  const s = copy(state);
  const p = provider(s, issuerUrl);
  ensure(p.keys.some((k) => k.keyId === keyId && k.age === age), 'key', 'not a pinned key');
  const held = new Set(p.tokens.map((t) => t.token));
  for (const tok of tokens) {
    const b64 = b64urlEncode(tok);
    if (!held.has(b64)) p.tokens.push({ age, keyId, token: b64 });
    held.add(b64);
  }
  const g = s.grants[issuerUrl];
  if (g) g.tokensLeft = Math.max(0, g.tokensLeft - tokens.length);
  const still = validGrant(s, issuerUrl, now);
  p.refillAt = p.tokens.length < WALLET_TARGET && still ? nextRefillAt(now, rand, still.expiresAt)
    : null;
  return s;
}

// see API.md: the earliest moment something is due, for one alarm
export function nextEvent(state) {
  let next = null;
  for (const p of Object.values(state.providers)) {
    // a refill in flight: the next one no earlier than its request's end
    const refill = p.refillAt != null && p.refillingUntil != null ? Math.max(p.refillAt, p.refillingUntil)
      : p.refillAt;
    for (const t of [refill, p.directoryDue]) {
      if (t !== null && t !== undefined && (next === null || t < next)) next = t;
    }
  }
  return next;
}

// see API.md: a refill's request is out until `until` (its timeout)
export function refillStarted(state, issuerUrl, until) {
  const s = copy(state);
  provider(s, issuerUrl).refillingUntil = until;
  return s;
}

// The plan's grant, if it is still the wallet's (not replaced by a new
// enrolment, not dropped).
function sameGrant(state, plan) {
  const g = state.grants[plan.issuerUrl];
  return g && g.grant === plan.grant ? g : null;
}

function refillEnded(state, plan) {
  const s = copy(state);
  const p = s.providers[plan.issuerUrl];
  if (p) delete p.refillingUntil;
  return s;
}

// see API.md: the tokens of a plan's request, into the wallet as it is now
export function refillDone(state, plan, tokens, now, rand) {
  if (!state.providers[plan.issuerUrl]) return copy(state); // removed or forgotten meanwhile
  const ours = sameGrant(state, plan);
  let s = refillEnded(state, plan);
  const p = s.providers[plan.issuerUrl];
  if (!p.keys.some((k) => k.keyId === plan.key.keyId && k.age === plan.age)) {
    // the key is no longer listed: its tokens are worth nothing (the
    // plan's grant paid for them all the same)
    const og = sameGrant(s, plan);
    if (og) og.tokensLeft = Math.max(0, og.tokensLeft - tokens.length);
    p.refillAt = nextRefillAt(now, rand, validGrant(s, plan.issuerUrl, now)?.expiresAt ?? null);
    return s;
  }
  const g = s.grants[plan.issuerUrl];
  const left = g ? g.tokensLeft : 0;
  s = addTokens(s, plan.issuerUrl, plan.age, plan.key.keyId, tokens, now, rand);
  // only the plan's grant paid for them; a newer grant keeps its count
  if (g && !ours) s.grants[plan.issuerUrl].tokensLeft = left;
  return s;
}

// see API.md: a plan's request failed with `err` (an AgepassError; its
// err.tokens, finalized before the failure, are kept)
export function refillFailed(state, plan, err, now, rand) {
  let s = state;
  if (err?.tokens?.length) s = refillDone(s, plan, err.tokens, now, rand);
  if (!s.providers[plan.issuerUrl]) return copy(s);
  s = refillEnded(s, plan);
  const ours = sameGrant(s, plan);
  if (ours && (err?.code === 'grant' || err?.code === 'over_quota')) return dropGrant(s, plan.issuerUrl);
  if (ours && err?.code === 'network') {
    // no answer (a timeout, a cut): the issuer may have issued and counted
    // them all the same, so the grant is taken to have paid for them
    ours.tokensLeft = Math.max(0, ours.tokensLeft - (plan.count - (err.tokens?.length ?? 0)));
  }
  // try again later, at another random moment
  const p = s.providers[plan.issuerUrl];
  p.refillAt = nextRefillAt(now, rand, validGrant(s, plan.issuerUrl, now)?.expiresAt ?? null);
  return s;
}

// see API.md: `count` tokens minted from the grant outside a refill
export function grantUsed(state, issuerUrl, count) {
  const s = copy(state);
  const g = s.grants[issuerUrl];
  if (g) g.tokensLeft = Math.max(0, g.tokensLeft - count);
  return s;
}

export function crossChallengeFor(state, issuerUrl) {
  return crossOriginChallenge(provider(state, issuerUrl).name);
}

// see API.md: what the popup shows
export function summary(state, now) {
  return Object.entries(state.providers).map(([issuerUrl, p]) => {
    const tokens = {};
    for (const t of p.tokens) tokens[t.age] = (tokens[t.age] ?? 0) + 1;
    const g = state.grants[issuerUrl];
    return { issuerUrl, name: p.name, ages: [...new Set(p.keys.map((k) => k.age))].sort((a, b) => a - b),
      tokens, grantExpiresAt: g && g.expiresAt > now ? g.expiresAt : null };
  });
}
