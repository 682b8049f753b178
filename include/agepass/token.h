/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agepass/token.h: Privacy Pass token type 0x0002 (Blind RSA, 2048-bit),
 * RFC 9578 §6, and the TokenChallenge and Token of RFC 9577 §2.
 *
 * Parsers are strict: exact sizes, bounded vectors, the one token type we
 * implement, no trailing bytes. Parsed structs hold spans into the input,
 * which must outlive them; on failure they are zeroed. Writers append to an
 * agp_writer.
 *
 * Flow (file names as in `agepass token`):
 *   origin:  challenge = agp_challenge_write(...)
 *   client:  agp_token_begin(pk, challenge) -> request, state
 *   issuer:  agp_token_issue(sk, request)   -> response
 *   client:  agp_token_finish(pk, state, response) -> token
 *   origin:  agp_token_parse(token); agp_token_verify(pk, token, digest)
 *
 * Thread safety: all functions are reentrant; keys may be shared.
 */
#ifndef AGEPASS_TOKEN_H
#define AGEPASS_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agepass/buf.h"
#include "agepass/err.h"
#include "agepass/rsabssa.h"

#define AGP_TOKEN_TYPE_VOPRF     0x0001 /* RFC 9578 §5, parsed in headers only */
#define AGP_TOKEN_TYPE_BLIND_RSA 0x0002 /* RFC 9578 §6 */
#define AGP_NONCE_LEN            32
#define AGP_NK                   256 /* RFC 9578 §6: Nk for RSA-2048 */
/* token_type(2) || nonce(32) || challenge_digest(32) || token_key_id(32) */
#define AGP_TOKEN_INPUT_LEN        98
#define AGP_TOKEN_REQUEST_LEN      (2 + 1 + AGP_NK)
#define AGP_TOKEN_RESPONSE_LEN     AGP_NK
#define AGP_TOKEN_LEN              (AGP_TOKEN_INPUT_LEN + AGP_NK)
#define AGP_REDEMPTION_CONTEXT_LEN 32
/* Longest issuer name agepass services use (challenges allow more). */
#define AGP_ISSUER_NAME_MAX 255
/* Ceiling on a serialized TokenChallenge we accept or write (2 KiB). */
#define AGP_CHALLENGE_MAX 2048

/*
 * RFC 9577 §2.1:
 *   struct {
 *       uint16_t token_type;
 *       opaque issuer_name<1..2^16-1>;
 *       opaque redemption_context<0..32>;
 *       opaque origin_info<0..2^16-1>;
 *   } TokenChallenge;
 * redemption_context is empty or exactly 32 bytes.
 */
struct agp_challenge {
    uint16_t token_type;
    struct agp_span issuer_name;
    struct agp_span redemption_context;
    struct agp_span origin_info;
};

/*
 * Parses a TokenChallenge of a registered token type (1 or 2). Borrows in.
 * Errors: AGP_ERR_TRUNCATED, AGP_ERR_TRAILING, AGP_ERR_LENGTH,
 * AGP_ERR_TOO_BIG (over AGP_CHALLENGE_MAX), AGP_ERR_TOKEN_TYPE.
 */
AGP_MUST_USE agp_err agp_challenge_parse(struct agp_challenge *c, const uint8_t *in, size_t len);
/* Serializes c; the same checks as the parser apply. */
AGP_MUST_USE agp_err agp_challenge_write(struct agp_writer *w, const struct agp_challenge *c);
/* challenge_digest = SHA-256(challenge bytes), RFC 9577 §2.2. */
AGP_MUST_USE agp_err agp_challenge_digest(uint8_t digest[AGP_SHA256_LEN], const uint8_t *in,
                                          size_t len);

/*
 * RFC 9578 §6.1:
 *   struct {
 *      uint16_t token_type = 0x0002;
 *      uint8_t truncated_token_key_id;
 *      uint8_t blinded_msg[Nk];
 *   } TokenRequest;
 */
struct agp_token_request {
    uint16_t token_type;
    uint8_t truncated_token_key_id;
    struct agp_span blinded_msg;
};
AGP_MUST_USE agp_err agp_token_request_parse(struct agp_token_request *req, const uint8_t *in,
                                             size_t len);
AGP_MUST_USE agp_err agp_token_request_write(struct agp_writer *w,
                                             const struct agp_token_request *req);

/*
 * RFC 9578 §6.2:
 *   struct {
 *      uint8_t blind_sig[Nk];
 *   } TokenResponse;
 */
struct agp_token_response {
    struct agp_span blind_sig;
};
AGP_MUST_USE agp_err agp_token_response_parse(struct agp_token_response *resp, const uint8_t *in,
                                              size_t len);
AGP_MUST_USE agp_err agp_token_response_write(struct agp_writer *w,
                                              const struct agp_token_response *resp);

/*
 * RFC 9577 §2.2 with Nid = 32 and Nk = 256 (RFC 9578 §6.3):
 *   struct {
 *       uint16_t token_type = 0x0002;
 *       uint8_t nonce[32];
 *       uint8_t challenge_digest[32];
 *       uint8_t token_key_id[Nid];
 *       uint8_t authenticator[Nk];
 *   } Token;
 */
struct agp_token {
    uint16_t token_type;
    struct agp_span nonce, challenge_digest, token_key_id, authenticator;
    struct agp_span token_input; /* the first 98 bytes, what is signed */
};
AGP_MUST_USE agp_err agp_token_parse(struct agp_token *tok, const uint8_t *in, size_t len);
AGP_MUST_USE agp_err agp_token_write(struct agp_writer *w, const struct agp_token *tok);

/*
 * What a client keeps between its TokenRequest and the issuer's answer.
 * inv is secret; wipe the struct with agp_token_state_clear.
 */
struct agp_token_state {
    uint8_t token_input[AGP_TOKEN_INPUT_LEN];
    uint8_t inv[AGP_NK];
};
void agp_token_state_clear(struct agp_token_state *st);

/*
 * Client side: checks that pk is a 2048-bit key and that challenge parses as
 * a type 0x0002 TokenChallenge, draws a nonce, builds token_input, blinds it
 * (RSABSSA-SHA384-PSS-Deterministic) and writes the TokenRequest. On error
 * request and st are zero.
 */
AGP_MUST_USE agp_err agp_token_begin(const struct agp_key *pk,
                                     uint8_t request[AGP_TOKEN_REQUEST_LEN],
                                     struct agp_token_state *st, const uint8_t *challenge,
                                     size_t challenge_len);

/*
 * Issuer side: parses a TokenRequest, checks token type and that the
 * truncated key id is the last byte of sk's token_key_id, and blind-signs.
 * Errors: parse errors, AGP_ERR_TOKEN_TYPE, AGP_ERR_KEY_ID, AGP_ERR_RANGE.
 */
AGP_MUST_USE agp_err agp_token_issue(const struct agp_key *sk,
                                     uint8_t response[AGP_TOKEN_RESPONSE_LEN],
                                     const uint8_t *request, size_t request_len);

/*
 * Issuer side, before anything is counted: what agp_token_issue would check
 * of a TokenRequest without signing it (its parse, token type, truncated
 * key id, and the blinded message below sk's modulus), so that a request
 * that cannot be signed uses up nothing. Same errors as agp_token_issue.
 */
AGP_MUST_USE agp_err agp_token_request_check(const struct agp_key *sk, const uint8_t *request,
                                             size_t request_len);

/*
 * Client side: parses the TokenResponse, unblinds and verifies it, and writes
 * the Token. Errors: parse errors, AGP_ERR_SIGNATURE. On error token is 0.
 */
AGP_MUST_USE agp_err agp_token_finish(const struct agp_key *pk, uint8_t token[AGP_TOKEN_LEN],
                                      const struct agp_token_state *st, const uint8_t *response,
                                      size_t response_len);

/*
 * Origin side: the full check of a parsed token against pk and the digest
 * of the challenge the origin expects, cheapest first: token type,
 * token_key_id = agp_key_id(pk), challenge_digest, then the signature over
 * token_input. Errors: AGP_ERR_TOKEN_TYPE, AGP_ERR_KEY_ID,
 * AGP_ERR_CHALLENGE, AGP_ERR_SIGNATURE.
 */
AGP_MUST_USE agp_err agp_token_verify(const struct agp_key *pk, const struct agp_token *tok,
                                      const uint8_t challenge_digest[AGP_SHA256_LEN]);

/*
 * The client state file of `agepass token request`:
 *   struct {
 *       uint8_t magic[4] = "AGPS";
 *       uint8_t version = 1;
 *       uint8_t token_input[98];
 *       uint8_t inv[256];
 *       opaque token_key<1..2^16-1>;   (the RFC 9578 SPKI)
 *   } ClientState;
 * parse borrows in for token_key; the state is copied into st.
 */
AGP_MUST_USE agp_err agp_token_state_parse(struct agp_token_state *st, struct agp_span *token_key,
                                           const uint8_t *in, size_t len);
AGP_MUST_USE agp_err agp_token_state_write(struct agp_writer *w, const struct agp_token_state *st,
                                           const struct agp_key *pk);
#define AGP_TOKEN_STATE_MAX (4 + 1 + AGP_TOKEN_INPUT_LEN + AGP_NK + 2 + AGP_SPKI_MAX_LEN)

#endif
