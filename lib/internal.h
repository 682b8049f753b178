/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/internal.h: the one private header of libagepass.
 *
 * AGP_TRY and AGP_ENSURE return early, so they belong only in functions that
 * own nothing (no allocation, no secret to wipe); the others use one `err`
 * and one `out:` label.
 */
#ifndef AGEPASS_INTERNAL_H
#define AGEPASS_INTERNAL_H

#include <openssl/bn.h>
#include <openssl/evp.h>

#include "agepass/buf.h"
#include "agepass/err.h"
#include "agepass/rsabssa.h"
#include "agepass/util.h"

#define AGP_TRY(call)                                                                              \
    do {                                                                                           \
        agp_err agp_try_err_ = (call);                                                             \
        if (agp_try_err_ != AGP_OK) return agp_try_err_;                                           \
    } while (0)

#define AGP_ENSURE(cond, e)                                                                        \
    do {                                                                                           \
        if (!(cond)) return (e);                                                                   \
    } while (0)

#define AGP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The parts of a key the RSA code needs; all public except pkey's private half. */
struct agp_key {
    EVP_PKEY *pkey;    /* OpenSSL's key, private or public */
    BIGNUM *n, *e;     /* public */
    BN_MONT_CTX *mont; /* Montgomery context for n, public, read-only after load */
    size_t len;        /* modulus length in bytes */
    int is_private;
    uint8_t spki[AGP_SPKI_MAX_LEN]; /* RFC 9578 encoding, public */
    size_t spki_len;
    uint8_t id[AGP_SHA256_LEN]; /* SHA-256(spki), public */
    /*
     * Contexts configured once at load and duplicated per operation (a
     * context is not thread safe; a duplicate skips the algorithm lookups
     * that dominate setting one up in OpenSSL 3): RSASSA-PSS verification
     * with SHA-384/MGF1-SHA-384 and salt 48 or 0, and the raw private
     * operation (NULL for a public key).
     */
    EVP_PKEY_CTX *verify48, *verify0, *sign_raw;
};

/* SHA-256 and SHA-384, fetched once (thread safe). */
const EVP_MD *agp_md_sha256(void);
const EVP_MD *agp_md_sha384(void);

/* SHA-384 of in, through EVP (SHA-256 and HMAC are in agepass/util.h). */
agp_err agp_sha384(uint8_t out[AGP_SHA384_LEN], const uint8_t *in, size_t len);

/* Lower-case ASCII of c (locale-free). */
static inline char agp_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

#endif
