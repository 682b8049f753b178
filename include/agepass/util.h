/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agepass/util.h: secrets handling, randomness, hashes and base64url.
 *
 * Thread safety: every function here is thread safe.
 */
#ifndef AGEPASS_UTIL_H
#define AGEPASS_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "agepass/err.h"

/* Overwrites p[0..n) with zeros in a way the compiler cannot remove. */
void agp_wipe(void *p, size_t n);
#define AGP_WIPE(arr) agp_wipe((arr), sizeof(arr))

/*
 * 1 if a[0..n) equals b[0..n), 0 otherwise, in time that depends only on n.
 * For bytes derived from secrets (MACs, cookies, keys).
 */
int agp_ct_eq(const uint8_t *a, const uint8_t *b, size_t n);

/* Fills out[0..n) from the operating system's CSPRNG (via OpenSSL). */
AGP_MUST_USE agp_err agp_random(uint8_t *out, size_t n);

/* SHA-256 of in[0..len) into out (32 bytes). Errors: AGP_ERR_CRYPTO. */
AGP_MUST_USE agp_err agp_sha256(uint8_t out[32], const uint8_t *in, size_t len);

/* HMAC-SHA256(key, data) into out (32 bytes). Errors: AGP_ERR_CRYPTO. */
AGP_MUST_USE agp_err agp_hmac_sha256(uint8_t out[32], const uint8_t *key, size_t key_len,
                                     const uint8_t *data, size_t data_len);

/* Characters needed to encode n bytes as padded base64url, without NUL. */
#define AGP_B64_ENC_LEN(n) ((((n) + 2) / 3) * 4)

/*
 * Encodes in[0..n) as base64url WITH padding (RFC 4648 §5; RFC 9577 §2.1.2
 * asks for padded values) into out, NUL-terminated. out_cap must be at least
 * AGP_B64_ENC_LEN(n) + 1, otherwise AGP_ERR_TOO_BIG. *out_len gets the length
 * without the NUL (may be NULL).
 */
AGP_MUST_USE agp_err agp_b64url_encode(char *out, size_t out_cap, size_t *out_len,
                                       const uint8_t *in, size_t n);

/* Characters of n bytes as unpadded base64url, without NUL. */
#define AGP_B64_NOPAD_LEN(n) (((n)*4 + 2) / 3)

/* agp_b64url_encode without the '=' padding; out_cap > AGP_B64_NOPAD_LEN(n). */
AGP_MUST_USE agp_err agp_b64url_encode_nopad(char *out, size_t out_cap, size_t *out_len,
                                             const uint8_t *in, size_t n);

/*
 * Decodes base64url text, padded or not. Strict: only the url alphabet,
 * padding only at the end and only as much as the length needs, unused bits
 * of the last character zero (so every byte string has one encoding up to
 * padding). Errors: AGP_ERR_ENCODING, AGP_ERR_TOO_BIG if out_cap is short.
 * On error *out_len is 0 and out is wiped.
 */
AGP_MUST_USE agp_err agp_b64url_decode(uint8_t *out, size_t out_cap, size_t *out_len,
                                       const char *in, size_t n);

/*
 * A sealed ticket: state a service hands out and gets back, checked without
 * remembering it (OIDC flow states, mdoc nonces). Unpadded base64url of
 *   rnd[16] || expires_at[8, big-endian] || data[n] || MAC[16],
 *   MAC = HMAC-SHA256(key, label || rnd || expires_at || data)[0..16).
 * The label keeps tickets of one use from passing as another's.
 */
#define AGP_SEAL_RND       16
#define AGP_SEAL_MAC       16
#define AGP_SEAL_DATA_MAX  16
#define AGP_SEAL_LABEL_MAX 32
#define AGP_SEAL_RAW_MAX   (AGP_SEAL_RND + 8 + AGP_SEAL_DATA_MAX + AGP_SEAL_MAC)
#define AGP_SEAL_LEN(n)    AGP_B64_NOPAD_LEN(AGP_SEAL_RND + 8 + (n) + AGP_SEAL_MAC)

/*
 * Seals data[0..n) (n <= AGP_SEAL_DATA_MAX) until expires_at into out
 * (out_cap > AGP_SEAL_LEN(n)); rnd (may be NULL) gets the random part,
 * secret, from which callers may derive more. Errors: AGP_ERR_ARG,
 * AGP_ERR_TOO_BIG, AGP_ERR_RANDOM, AGP_ERR_CRYPTO.
 */
AGP_MUST_USE agp_err agp_seal(char *out, size_t out_cap, uint8_t rnd[AGP_SEAL_RND],
                              const uint8_t key[32], const char *label, int64_t expires_at,
                              const uint8_t *data, size_t n);

/*
 * Opens in[0..len), sealed with key and label over exactly n bytes of
 * data. Errors, in this order: AGP_ERR_LENGTH, AGP_ERR_ENCODING (not such
 * a ticket), AGP_ERR_SIGNATURE (not sealed with this key and label),
 * AGP_ERR_EXPIRED (expired at now, or expiring more than max_ttl after
 * now). rnd, expires_at (either may be NULL) and data are set on success.
 */
AGP_MUST_USE agp_err agp_unseal(uint8_t rnd[AGP_SEAL_RND], int64_t *expires_at, uint8_t *data,
                                size_t n, const uint8_t key[32], const char *label, const char *in,
                                size_t len, int64_t now, int64_t max_ttl);

/*
 * Reads a calendar date "YYYY-MM-DD" (exactly ten characters, proleptic
 * Gregorian, years 1970..9999) as its first second, 00:00:00 UTC, in Unix
 * seconds. Errors: AGP_ERR_SYNTAX (any other text, a day the month lacks).
 */
AGP_MUST_USE agp_err agp_date_parse(int64_t *out, const char *s, size_t len);

#endif
