/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agepass/batch.h: batched issuance of type 0x0002 tokens in one round
 * trip, the "Arbitrary Batched Token Issuance" of
 * draft-ietf-privacypass-batched-tokens-06 §6, as implemented by
 * @cloudflare/privacypass-ts 0.8 (generic_batched_token).
 *
 * The client sends, to the issuer's usual Request URL,
 *   Content-Type: application/private-token-arbitrary-batch-request
 * a BatchTokenRequest (a vector of RFC 9578 TokenRequests) and gets, with
 *   Content-Type: application/private-token-arbitrary-batch-response
 * a BatchTokenResponse (a vector of optional TokenResponses, one per
 * request, in order). Vector lengths are the draft's `<V>`: a QUIC
 * variable-length integer (RFC 9000 §16) in its shortest encoding, giving
 * the length in bytes of what follows.
 *
 * agepass only issues and accepts token type 0x0002 in a batch, 1 to
 * AGP_BATCH_MAX requests (30, the EU recommendation for one batch of age
 * proofs). Parsers are strict like those of agepass/token.h: every element
 * exactly sized, the count in bounds, the length prefix minimal and equal
 * to what follows, no trailing bytes. Parsed structs hold spans into the
 * input, which must outlive them; on failure they are zeroed.
 *
 * Thread safety: all functions are reentrant.
 */
#ifndef AGEPASS_BATCH_H
#define AGEPASS_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "agepass/buf.h"
#include "agepass/err.h"
#include "agepass/token.h"

#define AGP_BATCH_MAX           30
#define AGP_BATCH_REQUEST_TYPE  "application/private-token-arbitrary-batch-request"
#define AGP_BATCH_RESPONSE_TYPE "application/private-token-arbitrary-batch-response"
/* present(1) || token_type(2) || blind_sig(Nk) */
#define AGP_OPT_TOKEN_RESPONSE_LEN (1 + 2 + AGP_NK)
/* Largest messages: a 2-byte length prefix (up to 16383) and 30 elements. */
#define AGP_BATCH_REQUEST_MAX  (2 + AGP_BATCH_MAX * AGP_TOKEN_REQUEST_LEN)
#define AGP_BATCH_RESPONSE_MAX (2 + AGP_BATCH_MAX * AGP_OPT_TOKEN_RESPONSE_LEN)

/*
 * draft-ietf-privacypass-batched-tokens-06 §6.1:
 *   struct {
 *     TokenRequest token_requests<V>;
 *   } BatchTokenRequest
 * with each TokenRequest the RFC 9578 §6.1 one (type 0x0002, 259 bytes).
 * raw[i] is the i-th TokenRequest's bytes, req[i] its parsed fields.
 */
struct agp_batch_request {
    size_t count;
    struct agp_token_request req[AGP_BATCH_MAX];
    struct agp_span raw[AGP_BATCH_MAX];
};

/*
 * Parses a BatchTokenRequest. Borrows in.
 * Errors: AGP_ERR_TRUNCATED, AGP_ERR_TRAILING, AGP_ERR_ENCODING (a length
 * prefix that is not the shortest), AGP_ERR_LENGTH (no request, or a
 * length that is not a whole number of requests), AGP_ERR_TOO_BIG (more
 * than AGP_BATCH_MAX requests), AGP_ERR_TOKEN_TYPE (an element that is not
 * type 0x0002).
 */
AGP_MUST_USE agp_err agp_batch_request_parse(struct agp_batch_request *b, const uint8_t *in,
                                             size_t len);
/*
 * Writes b->req[0..count) as a BatchTokenRequest (raw is not read); the
 * parser's bounds apply. Nothing is written on error.
 */
AGP_MUST_USE agp_err agp_batch_request_write(struct agp_writer *w,
                                             const struct agp_batch_request *b);

/*
 * draft-ietf-privacypass-batched-tokens-06 §6.2:
 *   struct {
 *     uint16_t token_type;
 *     select (token_type) {
 *       case (0x0002): uint8_t blind_sig[Nk];
 *     }
 *   } TokenResponse;
 *   struct {
 *     optional<TokenResponse> token_response;
 *   } OptionalTokenResponse;
 *   struct {
 *     OptionalTokenResponse token_responses<V>;
 *   } BatchTokenResponse
 * optional<T> (§4.1) is a presence octet, 0 or 1, then T when 1.
 * blind_sig[i].len is 0 for an absent response (the issuer refused that
 * one), AGP_NK otherwise.
 */
struct agp_batch_response {
    size_t count;
    struct agp_span blind_sig[AGP_BATCH_MAX];
};

/*
 * Parses a BatchTokenResponse. Borrows in. Errors as for the request,
 * plus AGP_ERR_ENCODING for a presence octet other than 0 or 1.
 */
AGP_MUST_USE agp_err agp_batch_response_parse(struct agp_batch_response *b, const uint8_t *in,
                                              size_t len);
/* Writes b as a BatchTokenResponse; the parser's bounds apply. Nothing is written on error. */
AGP_MUST_USE agp_err agp_batch_response_write(struct agp_writer *w,
                                              const struct agp_batch_response *b);

#endif
