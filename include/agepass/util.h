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

/*
 * Decodes base64url text, padded or not. Strict: only the url alphabet,
 * padding only at the end and only as much as the length needs, unused bits
 * of the last character zero (so every byte string has one encoding up to
 * padding). Errors: AGP_ERR_ENCODING, AGP_ERR_TOO_BIG if out_cap is short.
 * On error *out_len is 0 and out is wiped.
 */
AGP_MUST_USE agp_err agp_b64url_decode(uint8_t *out, size_t out_cap, size_t *out_len,
                                       const char *in, size_t n);

#endif
