/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agepass/pickup.h: what an enrolment leaves for the browser that began it,
 * when the evidence comes over another connection (the EU wallet's
 * OpenID4VP direct_post, src/enroll_mdoc.c), and the browser's claim to it.
 *
 * The browser holds a pickup secret P (32 random bytes) in a cookie,
 * unpadded base64url: AGP_PICKUP_COOKIE_LEN characters exactly. The issuer
 * stores the record under a keyed hash of P (agepass/istore.h pickups),
 * sealed with AES-256-GCM under a key of its own, the id as associated
 * data, so that a copy of the store alone yields no grant, and a record
 * cannot be moved to another id:
 *
 *   nonce[12] || AES-256-GCM(key, nonce, aad = "agepass pickup v1" || id,
 *                kind[1] || age[1] || tokens[2] || expires_at[8] || grant[43])
 *             || tag[16]
 *
 * kind 1, a grant: age 1..150, tokens 1..65535, expires_at > 0 (big-endian
 * integers), grant 43 base64url characters (its bearer value). kind 2,
 * refused as under age: every other byte 0.
 *
 * Thread safety: none needed, no state.
 */
#ifndef AGEPASS_PICKUP_H
#define AGEPASS_PICKUP_H

#include <stddef.h>
#include <stdint.h>

#include "agepass/err.h"

#define AGP_PICKUP_SECRET_LEN 32
#define AGP_PICKUP_COOKIE_LEN 43 /* AGP_B64_NOPAD_LEN(AGP_PICKUP_SECRET_LEN) */
#define AGP_PICKUP_GRANT_LEN  43
#define AGP_PICKUP_BODY_LEN   (1 + 1 + 2 + 8 + AGP_PICKUP_GRANT_LEN)
#define AGP_PICKUP_RECORD_LEN (12 + AGP_PICKUP_BODY_LEN + 16)

enum agp_pickup_kind { AGP_PICKUP_GRANT = 1, AGP_PICKUP_UNDER_AGE = 2 };

struct agp_pickup {
    enum agp_pickup_kind kind;
    unsigned age, tokens;
    int64_t expires_at;                   /* the grant's, Unix seconds */
    char grant[AGP_PICKUP_GRANT_LEN + 1]; /* NUL-terminated; secret */
};

/*
 * Reads the cookie value in[0..len): exactly AGP_PICKUP_COOKIE_LEN
 * base64url characters, no padding, canonical. Errors: AGP_ERR_LENGTH,
 * AGP_ERR_ENCODING; secret is then zeroed.
 */
AGP_MUST_USE agp_err agp_pickup_cookie_parse(uint8_t secret[AGP_PICKUP_SECRET_LEN], const char *in,
                                             size_t len);

/*
 * Seals p for id (32 bytes) into out. Errors: AGP_ERR_ARG (p not one of
 * the two forms above), AGP_ERR_RANDOM, AGP_ERR_CRYPTO.
 */
AGP_MUST_USE agp_err agp_pickup_seal(uint8_t out[AGP_PICKUP_RECORD_LEN], const uint8_t key[32],
                                     const uint8_t id[32], const struct agp_pickup *p);

/*
 * Opens in[0..len), sealed for id with key. Errors: AGP_ERR_LENGTH,
 * AGP_ERR_SIGNATURE (another key or id, or altered), AGP_ERR_SYNTAX (a
 * body that is not one of the two forms); p is then zeroed.
 */
AGP_MUST_USE agp_err agp_pickup_open(struct agp_pickup *p, const uint8_t key[32],
                                     const uint8_t id[32], const uint8_t *in, size_t len);

#endif
