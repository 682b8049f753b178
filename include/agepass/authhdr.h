/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agepass/authhdr.h: the PrivateToken HTTP authentication scheme,
 * RFC 9577 §2.1.1 (WWW-Authenticate) and §2.2.1 (Authorization).
 *
 *   WWW-Authenticate: PrivateToken challenge="<b64url TokenChallenge>",
 *                     token-key="<b64url key>", max-age="10"
 *   Authorization: PrivateToken token="<b64url Token>"
 *
 * Parsing follows the challenge grammar of RFC 9110 §11.6.1: a field value
 * may hold several challenges of several schemes, parameters separated by
 * commas with optional whitespace, values as tokens or quoted strings, names
 * compared case-insensitively, unknown parameters ignored. A PrivateToken
 * challenge whose values do not decode, whose TokenChallenge does not parse,
 * or whose token type is not registered is skipped and the others are kept
 * (RFC 9577 §2.1: clients ignore challenges they cannot use).
 *
 * Writers emit padded base64url in quoted strings.
 * Thread safety: all functions are reentrant.
 */
#ifndef AGEPASS_AUTHHDR_H
#define AGEPASS_AUTHHDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agepass/err.h"
#include "agepass/rsabssa.h"
#include "agepass/token.h"

/* Ceiling on a header value we read (bytes). */
#define AGP_HEADER_MAX 16384
/*
 * PrivateToken challenges kept from one response; later ones are ignored.
 * A site offers two per key (site-bound and cross-origin), for every key of
 * the class asked or higher: three classes during a key rotation make 12.
 */
#define AGP_AUTH_MAX_CHALLENGES 16
/* Ceiling on a decoded token-key: the largest SPKI we handle. */
#define AGP_TOKEN_KEY_MAX AGP_SPKI_MAX_LEN
/* Ceiling on max-age (one year, seconds). */
#define AGP_MAX_AGE_MAX 31536000u

struct agp_www_challenge {
    uint16_t token_type; /* from the TokenChallenge */
    uint8_t challenge[AGP_CHALLENGE_MAX];
    size_t challenge_len;
    uint8_t token_key[AGP_TOKEN_KEY_MAX];
    size_t token_key_len;
    bool has_max_age;
    uint32_t max_age;
};

struct agp_www_auth {
    size_t count;
    struct agp_www_challenge items[AGP_AUTH_MAX_CHALLENGES];
};

/*
 * Parses a WWW-Authenticate field value into out (caller-allocated; about
 * 42 KiB). Challenges of other schemes are skipped. Returns AGP_OK with
 * out->count possibly 0; AGP_ERR_SYNTAX when the value breaks the grammar
 * (then nothing after the break is used), AGP_ERR_TOO_BIG over
 * AGP_HEADER_MAX.
 */
AGP_MUST_USE agp_err agp_www_auth_parse(struct agp_www_auth *out, const char *value, size_t len);

/*
 * For a response with several WWW-Authenticate fields (RFC 9110 §11.6.1):
 * parses one more field value and appends its challenges to those out
 * holds already (from agp_www_auth_parse, or count 0), up to
 * AGP_AUTH_MAX_CHALLENGES in all. Each field is parsed on its own, so that
 * a field that breaks the grammar loses only its own challenges after the
 * break, never those of the other fields. Returns as agp_www_auth_parse;
 * the challenges of earlier fields stay whatever it returns. Errors also:
 * AGP_ERR_ARG (out->count over the maximum).
 */
AGP_MUST_USE agp_err agp_www_auth_parse_more(struct agp_www_auth *out, const char *value,
                                             size_t len);

/*
 * Appends one PrivateToken challenge to the field value in out[0..*len),
 * preceded by ", " if *len > 0, NUL-terminated. max_age < 0 omits it.
 * Errors: AGP_ERR_TOO_BIG (out too small; out unchanged), AGP_ERR_LENGTH.
 */
AGP_MUST_USE agp_err agp_www_auth_add(char *out, size_t cap, size_t *len, const uint8_t *challenge,
                                      size_t challenge_len, const uint8_t *token_key,
                                      size_t token_key_len, long max_age);

/*
 * Parses an Authorization field value `PrivateToken token="..."` and decodes
 * the token into token[0..cap). The token bytes are not parsed here (see
 * agp_token_parse). Errors: AGP_ERR_SYNTAX (other scheme, no token
 * parameter, token given twice), AGP_ERR_ENCODING, AGP_ERR_TOO_BIG.
 */
AGP_MUST_USE agp_err agp_authorization_parse(uint8_t *token, size_t cap, size_t *token_len,
                                             const char *value, size_t len);

/* Writes `PrivateToken token="..."`, NUL-terminated. */
AGP_MUST_USE agp_err agp_authorization_write(char *out, size_t cap, size_t *len,
                                             const uint8_t *token, size_t token_len);

#endif
