// SPDX-License-Identifier: Apache-2.0
// browser/core/issuer.js: everything the client core asks of an issuer, and
// the only module that does network I/O, always through the `fetch` function
// the caller passes in (the extension's background fetch, the wallet page's
// fetch, Node's fetch in tests).
//
// Every request is sent without credentials (an issuer's own cookies from
// an enrolment must not reach the token endpoint), without a referrer,
// without cache, refusing redirects, with a timeout; every answer is read
// with a size cap. Error messages name the status, never the grant.
//
// Routes (src/issuer.c):
//   GET  /.well-known/private-token-issuer-directory   RFC 9578 §4, ETag
//   POST /token-request   Authorization: Bearer GRANT; one TokenRequest
//                         (application/private-token-request) or a batch
//   POST /enroll/dev      {"age": N} with Accept: application/json
//   GET  /enroll/oidc/start[?provider=NAME]  with Accept: application/json

import { b64urlDecode } from './bytes.js';
import { AgepassError, ensure } from './errors.js';
import { has, isObject, parseJson } from './json.js';
import { DIRECTORY_MAX, DIRECTORY_PATH, parseDirectory } from './directory.js';
import { BATCH_MAX, BATCH_REQUEST_TYPE, BATCH_RESPONSE_TYPE, parseBatchResponse, writeBatchRequest }
  from './batch.js';
import { TOKEN_RESPONSE_LEN, beginToken, finishToken } from './token.js';

const TIMEOUT_MS = 10000;
const GRANT_LEN = 43; // 32 random bytes, unpadded base64url
const TOKEN_REQUEST_TYPE = 'application/private-token-request';
const TOKEN_RESPONSE_TYPE = 'application/private-token-response';
const BATCH_RESPONSE_MAX = 2 + BATCH_MAX * (1 + 2 + TOKEN_RESPONSE_LEN);
const SMALL_MAX = 16384;

const STATUS_CODES = { 401: 'grant', 403: 'wrong_class', 422: 'unknown_key', 429: 'over_quota',
  503: 'unavailable', 404: 'not_found', 415: 'content_type' };

// see API.md
export function normaliseIssuerUrl(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    throw new AgepassError('syntax', 'not a URL');
  }
  ensure(u.protocol === 'https:' || u.protocol === 'http:', 'syntax', 'not an http(s) URL');
  ensure(u.username === '' && u.password === '' && u.search === '' && u.hash === '', 'syntax');
  return (u.origin + u.pathname).replace(/\/+$/, '');
}

async function request(fetch, url, { method = 'GET', headers = {}, body, timeoutMs = TIMEOUT_MS } = {}) {
  try {
    return await fetch(url, {
      method, headers, body, credentials: 'omit', referrerPolicy: 'no-referrer', cache: 'no-store',
      redirect: 'error', signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new AgepassError('network', `cannot reach the issuer (${e?.name ?? 'error'})`);
  }
}

// The body, at most max bytes: a declared length over max is refused before
// reading, and a body that grows past max is cut off as it arrives.
async function readBody(res, max) {
  const declared = Number(res.headers.get('content-length'));
  if (declared > max) {
    await res.body?.cancel?.();
    throw new AgepassError('too_big', 'the answer is too large');
  }
  if (res.body === null) return new Uint8Array(0);
  const chunks = [];
  let len = 0;
  try {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      len += value.length;
      if (len > max) {
        await reader.cancel();
        break;
      }
      chunks.push(value);
    }
  } catch {
    throw new AgepassError('network', 'the answer was cut');
  }
  ensure(len <= max, 'too_big', 'the answer is too large');
  const out = new Uint8Array(len);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

const mediaType = (res) => (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();

function statusError(res, context) {
  const c = STATUS_CODES[res.status] ?? 'http';
  return new AgepassError(c, `${context}: HTTP ${res.status}`, { status: res.status });
}

// see API.md
export async function fetchDirectory(fetch, issuerUrl, { etag = null } = {}) {
  const url = normaliseIssuerUrl(issuerUrl) + DIRECTORY_PATH;
  const headers = etag ? { 'If-None-Match': etag } : {};
  const res = await request(fetch, url, { headers });
  if (res.status === 304 && etag) {
    await res.body?.cancel?.();
    return { notModified: true };
  }
  if (res.status !== 200) {
    await res.body?.cancel?.();
    throw statusError(res, 'the issuer directory');
  }
  const text = new TextDecoder().decode(await readBody(res, DIRECTORY_MAX));
  return { notModified: false, directory: parseDirectory(text, url), etag: res.headers.get('etag') };
}

// see API.md
export function parseGrant(obj, now) {
  const o = typeof obj === 'string' ? parseJson(obj) : obj;
  ensure(isObject(o), 'syntax');
  ensure(typeof o.grant === 'string' && o.grant.length === GRANT_LEN, 'syntax', 'not a grant');
  b64urlDecode(o.grant, 32); // base64url only
  for (const k of ['age', 'tokens', 'expires_in']) ensure(Number.isInteger(o[k]), 'syntax');
  ensure(o.age >= 1 && o.age <= 255, 'range');
  ensure(o.tokens >= 0 && o.tokens <= 100000, 'range');
  ensure(o.expires_in > 0 && o.expires_in <= 86400, 'range');
  return { grant: o.grant, age: o.age, tokensLeft: o.tokens, expiresAt: now + o.expires_in };
}

async function readJson(res) {
  const text = new TextDecoder().decode(await readBody(res, SMALL_MAX));
  try {
    return parseJson(text);
  } catch {
    return null;
  }
}

// see API.md
export async function enrolDev(fetch, issuerUrl, age, now = Math.floor(Date.now() / 1000)) {
  ensure(Number.isInteger(age) && age >= 0 && age <= 150, 'range');
  const res = await request(fetch, normaliseIssuerUrl(issuerUrl) + '/enroll/dev', {
    method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ age }),
  });
  const reply = await readJson(res);
  if (res.status === 403 && isObject(reply) && reply.error === 'under_age') {
    throw new AgepassError('under_age', 'the issuer refused: under age', { status: 403 });
  }
  if (res.status === 429) throw new AgepassError('over_quota', 'enrolment: HTTP 429', { status: 429 });
  if (res.status !== 200) throw statusError(res, 'enrolment');
  return parseGrant(reply, now);
}

// see API.md
export async function oidcStart(fetch, issuerUrl, provider = null) {
  let url = normaliseIssuerUrl(issuerUrl) + '/enroll/oidc/start';
  if (provider !== null) url += '?provider=' + encodeURIComponent(provider);
  const res = await request(fetch, url, { headers: { Accept: 'application/json' } });
  const reply = await readJson(res);
  if (res.status !== 200) throw statusError(res, 'OpenID Connect enrolment');
  ensure(isObject(reply), 'syntax');
  if (Array.isArray(reply.providers)) {
    return { providers: reply.providers.filter((p) => isObject(p) && typeof p.name === 'string' &&
      typeof p.issuer === 'string').map((p) => ({ name: p.name, issuer: p.issuer })) };
  }
  ensure(typeof reply.authorize_url === 'string', 'syntax');
  const u = new URL(reply.authorize_url);
  ensure(u.protocol === 'https:' || u.protocol === 'http:', 'syntax');
  return { authorizeUrl: u.href };
}

async function postTokens(fetch, o, type, body, max) {
  const res = await request(fetch, o.requestUri, {
    method: 'POST', headers: { 'Content-Type': type, Authorization: `Bearer ${o.grant}` }, body,
    timeoutMs: o.timeoutMs,
  });
  if (res.status !== 200) {
    await res.body?.cancel?.();
    return { res };
  }
  return { res, bytes: await readBody(res, max) };
}

// n tokens in one round trip; returns null if the issuer takes no batches (415).
async function fetchBatch(fetch, o, n) {
  const begun = [];
  for (let i = 0; i < n; i++) begun.push(await beginToken(o.key, o.challenge));
  const body = writeBatchRequest(begun.map((b) => b.request));
  const { res, bytes } = await postTokens(fetch, o, BATCH_REQUEST_TYPE, body, BATCH_RESPONSE_MAX);
  if (res.status === 415) return null;
  if (res.status !== 200) throw statusError(res, 'the token batch');
  // the draft: clients MUST ignore a response of another type
  ensure(mediaType(res) === BATCH_RESPONSE_TYPE, 'content_type', 'not a batch response');
  const sigs = parseBatchResponse(bytes);
  ensure(sigs.length === n, 'length', 'the issuer answered another number of requests');
  const tokens = [];
  for (let i = 0; i < n; i++) {
    // agepass issues all or nothing, so an absent response is an error
    ensure(sigs[i] !== null, 'length', 'a request of the batch was not answered');
    tokens.push(await finishToken(o.key, begun[i].state, sigs[i]));
  }
  return tokens;
}

async function fetchOne(fetch, o) {
  const { request: req, state } = await beginToken(o.key, o.challenge);
  const { res, bytes } = await postTokens(fetch, o, TOKEN_REQUEST_TYPE, req, TOKEN_RESPONSE_LEN);
  if (res.status !== 200) throw statusError(res, 'the token request');
  ensure(mediaType(res) === TOKEN_RESPONSE_TYPE, 'content_type', 'not a token response');
  return finishToken(o.key, state, bytes);
}

// see API.md
export async function fetchTokens(fetch, { requestUri, grant, key, challenge, count = 1,
  timeoutMs = TIMEOUT_MS }) {
  ensure(Number.isInteger(count) && count >= 1 && count <= 1000, 'range');
  ensure(typeof grant === 'string' && grant.length === GRANT_LEN, 'grant', 'no valid grant');
  ensure(Number.isInteger(timeoutMs) && timeoutMs >= 1 && timeoutMs <= 600000, 'range');
  const o = { requestUri, grant, key, challenge, timeoutMs };
  const tokens = [];
  let batches = count > 1;
  try {
    while (tokens.length < count) {
      const n = Math.min(BATCH_MAX, count - tokens.length);
      let got = batches ? await fetchBatch(fetch, o, n) : null;
      if (got === null) {
        batches = false;
        got = [await fetchOne(fetch, o)];
      }
      tokens.push(...got);
    }
  } catch (e) {
    if (e instanceof AgepassError && tokens.length > 0) e.tokens = tokens;
    throw e;
  }
  return tokens;
}
