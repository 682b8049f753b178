// SPDX-License-Identifier: Apache-2.0
// browser/core/batch.js: the BatchTokenRequest and BatchTokenResponse of
// draft-ietf-privacypass-batched-tokens-06 §6 ("Arbitrary Batched Token
// Issuance"), as the agepass issuer takes them (lib/batch.c): token type
// 0x0002 only, 1 to BATCH_MAX elements, every element exactly sized, the
// length prefix the shortest varint and equal to what follows, no trailing
// bytes.

import { Reader, Writer } from './bytes.js';
import { ensure } from './errors.js';
import { NK, TOKEN_REQUEST_LEN, TOKEN_TYPE, parseTokenRequest } from './token.js';

export const BATCH_MAX = 30;
export const BATCH_REQUEST_TYPE = 'application/private-token-arbitrary-batch-request';
export const BATCH_RESPONSE_TYPE = 'application/private-token-arbitrary-batch-response';
const OPT_RESPONSE_LEN = 1 + 2 + NK; // present || token_type || blind_sig

/*
 *= https://datatracker.ietf.org/doc/html/draft-ietf-privacypass-batched-tokens-06#section-6.1
 *#   struct {
 *#      uint16_t token_type;
 *#      select (token_type) {
 *#         case (0x0002): (Type Blind RSA (2048-bit), RFC 9578)
 *#            uint8_t truncated_token_key_id;
 *#            uint8_t blinded_msg[Nk];
 *#      }
 *#   } TokenRequest;
 *#
 *#   struct {
 *#     TokenRequest token_requests<V>;
 *#   } BatchTokenRequest
 */
export function parseBatchRequest(bytes) {
  const r = new Reader(bytes);
  const vec = r.vecV(BATCH_MAX * TOKEN_REQUEST_LEN);
  r.end();
  ensure(vec.length > 0, 'length');
  const v = new Reader(vec);
  const out = [];
  while (v.remaining > 0) {
    // every TokenRequest starts with its token type, which sizes the rest
    ensure(v.remaining >= 2, 'length');
    ensure(((vec[vec.length - v.remaining] << 8) | vec[vec.length - v.remaining + 1]) === TOKEN_TYPE,
      'token_type');
    ensure(v.remaining >= TOKEN_REQUEST_LEN, 'length');
    ensure(out.length < BATCH_MAX, 'too_big');
    const raw = v.bytes(TOKEN_REQUEST_LEN);
    parseTokenRequest(raw);
    out.push(raw);
  }
  return out;
}

export function writeBatchRequest(requests) {
  ensure(Array.isArray(requests) && requests.length >= 1, 'length');
  ensure(requests.length <= BATCH_MAX, 'too_big');
  const body = new Writer();
  for (const req of requests) {
    parseTokenRequest(req);
    body.bytes(req);
  }
  return new Writer().vecV(body.finish()).finish();
}

/*
 *= https://datatracker.ietf.org/doc/html/draft-ietf-privacypass-batched-tokens-06#section-6.2
 *#   struct {
 *#     uint16_t token_type;
 *#     select (token_type) {
 *#       case (0x0002): (Type Blind RSA (2048-bit), RFC 9578)
 *#         uint8_t blind_sig[Nk];
 *#     }
 *#   } TokenResponse;
 *#
 *#   struct {
 *#     optional<TokenResponse> token_response; (Defined by token_type)
 *#   } OptionalTokenResponse;
 *#
 *#   struct {
 *#     OptionalTokenResponse token_responses<V>;
 *#   } BatchTokenResponse
 *
 *= https://datatracker.ietf.org/doc/html/draft-ietf-privacypass-batched-tokens-06#section-4.1
 *#   An optional value is encoded with a presence-signaling octet, followed
 *#   by the value itself if present.  When decoding, a presence octet with
 *#   a value other than 0 or 1 MUST be rejected as malformed.
 */
export function parseBatchResponse(bytes) {
  const r = new Reader(bytes);
  const vec = r.vecV(BATCH_MAX * OPT_RESPONSE_LEN);
  r.end();
  ensure(vec.length > 0, 'length');
  const v = new Reader(vec);
  const out = [];
  while (v.remaining > 0) {
    ensure(out.length < BATCH_MAX, 'too_big');
    const present = v.u8();
    ensure(present <= 1, 'encoding');
    if (present === 0) {
      out.push(null);
      continue;
    }
    ensure(v.u16() === TOKEN_TYPE, 'token_type');
    out.push(v.bytes(NK));
  }
  return out;
}

export function writeBatchResponse(blindSigs) {
  ensure(Array.isArray(blindSigs) && blindSigs.length >= 1, 'length');
  ensure(blindSigs.length <= BATCH_MAX, 'too_big');
  const body = new Writer();
  for (const s of blindSigs) {
    if (s === null) {
      body.u8(0);
      continue;
    }
    ensure(s instanceof Uint8Array && s.length === NK, 'length');
    body.u8(1).u16(TOKEN_TYPE).bytes(s);
  }
  return new Writer().vecV(body.finish()).finish();
}
