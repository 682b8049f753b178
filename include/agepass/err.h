/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agepass/err.h: the one error type of libagepass.
 *
 * Every fallible function returns an agp_err. Values are grouped by kind so
 * that a service can map any of them to an HTTP status with agp_err_kind()
 * in one switch: malformed input (4xx, the peer sent bytes we cannot read),
 * rejected input (well formed but refused: wrong key, bad signature),
 * unavailable (a store or file could not be reached: fail closed) and
 * internal (a bug or an exhausted resource).
 *
 * Thread safety: all functions here are pure and thread safe.
 */
#ifndef AGEPASS_ERR_H
#define AGEPASS_ERR_H

#if defined(__GNUC__) || defined(__clang__)
#define AGP_MUST_USE __attribute__((warn_unused_result))
#else
#define AGP_MUST_USE
#endif

typedef enum {
    AGP_OK = 0,

    /* malformed: the input cannot be read */
    AGP_ERR_TRUNCATED = 100, /* fewer bytes than the structure needs */
    AGP_ERR_TRAILING,        /* bytes left after the structure */
    AGP_ERR_LENGTH,          /* a length field or size outside its bounds */
    AGP_ERR_ENCODING,        /* bad base64url, DER, PEM or number text */
    AGP_ERR_SYNTAX,          /* bad HTTP header or JSON shape */
    AGP_ERR_TOO_BIG,         /* input above a hard ceiling */

    /* rejected: readable, but refused */
    AGP_ERR_TOKEN_TYPE = 200, /* token type other than the one expected */
    AGP_ERR_KEY_ID,           /* token_key_id or its truncation does not match */
    AGP_ERR_CHALLENGE,        /* challenge_digest is not this challenge's */
    AGP_ERR_SIGNATURE,        /* signature or authenticator does not verify */
    AGP_ERR_KEY,              /* unusable key (size, algorithm, parameters) */
    AGP_ERR_RANGE,            /* a number not in [0, n) or not invertible */
    AGP_ERR_NOT_FOUND,        /* nothing usable in the input (no challenge) */
    AGP_ERR_REPLAY,           /* a single-use value was already spent */
    AGP_ERR_EXPIRED,          /* a time-limited value is no longer (or not yet) valid */

    /* unavailable: an outside resource failed; callers fail closed */
    AGP_ERR_IO = 300, /* file or socket error */

    /* internal */
    AGP_ERR_NOMEM = 400, /* allocation failed */
    AGP_ERR_CRYPTO,      /* libcrypto failed where it should not */
    AGP_ERR_RANDOM,      /* the random generator failed */
    AGP_ERR_ARG,         /* the caller broke the API contract */
    AGP_ERR_INTERNAL     /* anything else */
} agp_err;

enum agp_err_kind {
    AGP_KIND_OK = 0,
    AGP_KIND_MALFORMED,
    AGP_KIND_REJECTED,
    AGP_KIND_UNAVAILABLE,
    AGP_KIND_INTERNAL
};

/* A short, constant, English description of err; never NULL. */
const char *agp_err_str(agp_err err);

/* The group err belongs to; unknown values are AGP_KIND_INTERNAL. */
enum agp_err_kind agp_err_kind(agp_err err);

/*
 * The HTTP status a service answers for err: 200, 400 (malformed), 422
 * (rejected), 503 (unavailable), 500 (internal).
 */
int agp_err_http_status(agp_err err);

#endif
