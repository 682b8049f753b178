// SPDX-License-Identifier: Apache-2.0
// browser/core/token.js: token type 0x0002 (Blind RSA, 2048-bit) of
// RFC 9578 §6 and the TokenChallenge and Token structures of RFC 9577 §2.
//
// Parsers are strict, like lib/token.c: exact sizes, bounded vectors, the
// token type we implement (a TokenChallenge also admits the registered
// 0x0001), no trailing bytes. Each parser quotes the structure it reads;
// each writer applies the parser's bounds, so what we write we also accept.
// Parsed objects hold views into their input.

import { ensure } from './errors.js';
import { Reader, Writer, concat, randomBytes, sha256, utf8Decode, utf8Encode } from './bytes.js';
import { blind, finalize } from './rsabssa.js';

export const TOKEN_TYPE = 0x0002;
export const TOKEN_TYPE_VOPRF = 0x0001;
export const NK = 256;
export const NONCE_LEN = 32;
export const TOKEN_INPUT_LEN = 98; // token_type || nonce || challenge_digest || token_key_id
export const TOKEN_REQUEST_LEN = 2 + 1 + NK;
export const TOKEN_RESPONSE_LEN = NK;
export const TOKEN_LEN = TOKEN_INPUT_LEN + NK;
export const REDEMPTION_CONTEXT_LEN = 32;
export const CHALLENGE_MAX = 2048; // agepass's ceiling on a TokenChallenge, as AGP_CHALLENGE_MAX

const registered = (t) => t === TOKEN_TYPE || t === TOKEN_TYPE_VOPRF;
const asBytes = (x) => (typeof x === 'string' ? utf8Encode(x) : x ?? new Uint8Array(0));

/*
 *= https://www.rfc-editor.org/rfc/rfc9577#section-2.1
 *#   struct {
 *#       uint16_t token_type;
 *#       opaque issuer_name<1..2^16-1>;
 *#       opaque redemption_context<0..32>;
 *#       opaque origin_info<0..2^16-1>;
 *#   } TokenChallenge;
 */
export function parseChallenge(bytes) {
  ensure(bytes instanceof Uint8Array, 'syntax');
  ensure(bytes.length <= CHALLENGE_MAX, 'too_big');
  const r = new Reader(bytes);
  const tokenType = r.u16();
  ensure(registered(tokenType), 'token_type');
  const issuerName = r.vec16(1, 0xffff);
  const redemptionContext = r.vec8(0, REDEMPTION_CONTEXT_LEN);
  // "The redemption_context field MUST be either empty or 32 bytes"
  ensure(redemptionContext.length === 0 || redemptionContext.length === REDEMPTION_CONTEXT_LEN,
    'length');
  const originInfo = r.vec16(0, 0xffff);
  r.end();
  return { tokenType, issuerName, redemptionContext, originInfo, raw: bytes };
}

export function writeChallenge({ tokenType = TOKEN_TYPE, issuerName, redemptionContext, originInfo }) {
  const name = asBytes(issuerName);
  const ctx = asBytes(redemptionContext);
  const origins = asBytes(originInfo);
  ensure(registered(tokenType), 'token_type');
  ensure(name.length >= 1, 'length');
  ensure(ctx.length === 0 || ctx.length === REDEMPTION_CONTEXT_LEN, 'length');
  const out = new Writer().u16(tokenType).vec16(name, 0xffff).vec8(ctx, REDEMPTION_CONTEXT_LEN)
    .vec16(origins, 0xffff).finish();
  ensure(out.length <= CHALLENGE_MAX, 'too_big');
  return out;
}

// The challenge pre-fetched wallet tokens answer: type 2, this issuer name,
// empty redemption_context and origin_info (as `agepass fetch` builds it).
export function crossOriginChallenge(issuerName) {
  return writeChallenge({ issuerName });
}

export function isCrossOrigin(parsed) {
  return parsed.redemptionContext.length === 0 && parsed.originInfo.length === 0;
}

// origin_info is "a comma-separated list of origin names" (RFC 9577 §2.1).
export function originNames(parsed) {
  if (parsed.originInfo.length === 0) return [];
  return utf8Decode(parsed.originInfo).split(',');
}

/*
 *= https://www.rfc-editor.org/rfc/rfc9578#section-6.1
 *#   struct {
 *#      uint16_t token_type = 0x0002;
 *#      uint8_t truncated_token_key_id;
 *#      uint8_t blinded_msg[Nk];
 *#   } TokenRequest;
 */
export function parseTokenRequest(bytes) {
  const r = new Reader(bytes);
  const tokenType = r.u16();
  ensure(tokenType === TOKEN_TYPE, 'token_type');
  const truncatedKeyId = r.u8();
  const blindedMsg = r.bytes(NK);
  r.end();
  return { tokenType, truncatedKeyId, blindedMsg };
}

export function writeTokenRequest({ truncatedKeyId, blindedMsg }) {
  ensure(blindedMsg instanceof Uint8Array && blindedMsg.length === NK, 'length');
  return new Writer().u16(TOKEN_TYPE).u8(truncatedKeyId).bytes(blindedMsg).finish();
}

/*
 *= https://www.rfc-editor.org/rfc/rfc9578#section-6.2
 *#   struct {
 *#      uint8_t blind_sig[Nk];
 *#   } TokenResponse;
 */
export function parseTokenResponse(bytes) {
  const r = new Reader(bytes);
  const blindSig = r.bytes(NK);
  r.end();
  return { blindSig };
}

/*
 *= https://www.rfc-editor.org/rfc/rfc9577#section-2.2
 *#   struct {
 *#       uint16_t token_type;
 *#       uint8_t nonce[32];
 *#       uint8_t challenge_digest[32];
 *#       uint8_t token_key_id[Nid];
 *#       uint8_t authenticator[Nk];
 *#   } Token;
 * with Nid = 32 and Nk = 256 for token type 0x0002 (RFC 9578 §6.3).
 */
export function parseToken(bytes) {
  const r = new Reader(bytes);
  const tokenType = r.u16();
  ensure(tokenType === TOKEN_TYPE, 'token_type');
  const nonce = r.bytes(NONCE_LEN);
  const challengeDigest = r.bytes(32);
  const tokenKeyId = r.bytes(32);
  const authenticator = r.bytes(NK);
  r.end();
  return { tokenType, nonce, challengeDigest, tokenKeyId, authenticator,
    tokenInput: bytes.subarray(0, TOKEN_INPUT_LEN) };
}

export function writeToken({ nonce, challengeDigest, tokenKeyId, authenticator }) {
  ensure(nonce?.length === NONCE_LEN && challengeDigest?.length === 32 &&
    tokenKeyId?.length === 32 && authenticator?.length === NK, 'length');
  return new Writer().u16(TOKEN_TYPE).bytes(nonce).bytes(challengeDigest).bytes(tokenKeyId)
    .bytes(authenticator).finish();
}

// see API.md
export async function beginToken(pk, challenge, { nonce, salt, r } = {}) {
  ensure(pk.k === NK && pk.keyId instanceof Uint8Array, 'key', 'not a 2048-bit token key');
  const parsed = parseChallenge(challenge);
  ensure(parsed.tokenType === TOKEN_TYPE, 'token_type');
  const n = nonce ?? randomBytes(NONCE_LEN);
  ensure(n.length === NONCE_LEN, 'length');
  /*
   *= https://www.rfc-editor.org/rfc/rfc9578#section-6.1
   *#   token_input = concat(0x0002, nonce, challenge_digest, token_key_id)
   *#   blinded_msg, blind_inv = Blind(pkI, PrepareIdentity(token_input))
   */
  const tokenInput = concat(Uint8Array.of(0, TOKEN_TYPE), n, await sha256(challenge), pk.keyId);
  const { blindedMsg, inv } = await blind(pk, tokenInput, { salt, r });
  // truncated_token_key_id: the last byte of token_key_id
  const request = writeTokenRequest({ truncatedKeyId: pk.keyId[31], blindedMsg });
  return { request, state: { tokenInput, inv } };
}

// see API.md
export async function finishToken(pk, state, response) {
  const { blindSig } = parseTokenResponse(response);
  const authenticator = await finalize(pk, state.tokenInput, blindSig, state.inv);
  return concat(state.tokenInput, authenticator);
}
