/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_pickup_cookie_parse, agp_pickup_open, agp_pickup_seal */
/*
 * tests/fuzz/fuzz_pickup.c: the issuer's pickup cookie and pickup record
 * (agepass/pickup.h), with a fixed key and id. The first byte picks what
 * the rest is:
 *   0  a cookie value: parsed; accepted only as 43 characters whose
 *      unpadded re-encoding is the input; the secret zeroed on refusal;
 *   1  a sealed record (the corpus holds two sealed with the fixed key,
 *      made once with agp_pickup_seal): opened; on refusal only the
 *      documented errors and p zeroed; accepted ones seal and open again
 *      to the same fields;
 *   2  the fields of a record (kind, age, tokens, expiry, grant): sealed;
 *      what seals opens to the same fields, and what is refused is
 *      AGP_ERR_ARG. The nonce agp_pickup_seal draws changes no outcome.
 */
#include <string.h>

#include "agepass/pickup.h"
#include "agepass/util.h"
#include "fuzz.h"

static const uint8_t key[32] = {0x6b, 0x65, 0x79}, id[32] = {0x69, 0x64};

static int same(const struct agp_pickup *a, const struct agp_pickup *b)
{
    return a->kind == b->kind && a->age == b->age && a->tokens == b->tokens &&
           a->expires_at == b->expires_at && strcmp(a->grant, b->grant) == 0;
}

static void reseal(const struct agp_pickup *p)
{
    uint8_t rec[AGP_PICKUP_RECORD_LEN];
    struct agp_pickup q;
    FUZZ_CHECK(agp_pickup_seal(rec, key, id, p) == AGP_OK);
    FUZZ_CHECK(agp_pickup_open(&q, key, id, rec, sizeof rec) == AGP_OK);
    FUZZ_CHECK(same(p, &q));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t secret[AGP_PICKUP_SECRET_LEN];
    char text[AGP_PICKUP_COOKIE_LEN + 1];
    struct agp_pickup p;
    agp_err err;
    size_t i;

    if (size < 1) return 0;
    if (data[0] == 0) {
        err = agp_pickup_cookie_parse(secret, (const char *)data + 1, size - 1);
        if (err != AGP_OK) {
            FUZZ_CHECK(err == AGP_ERR_LENGTH || err == AGP_ERR_ENCODING);
            for (i = 0; i < sizeof secret; i++)
                FUZZ_CHECK(secret[i] == 0);
            return 0;
        }
        FUZZ_CHECK(size - 1 == AGP_PICKUP_COOKIE_LEN);
        FUZZ_CHECK(agp_b64url_encode_nopad(text, sizeof text, NULL, secret, sizeof secret) ==
                   AGP_OK);
        FUZZ_CHECK(memcmp(text, data + 1, AGP_PICKUP_COOKIE_LEN) == 0);
    } else if (data[0] == 1) {
        err = agp_pickup_open(&p, key, id, data + 1, size - 1);
        if (err != AGP_OK) {
            const uint8_t *b = (const uint8_t *)&p;
            FUZZ_CHECK(err == AGP_ERR_LENGTH || err == AGP_ERR_SIGNATURE || err == AGP_ERR_SYNTAX);
            for (i = 0; i < sizeof p; i++)
                FUZZ_CHECK(b[i] == 0);
            return 0;
        }
        reseal(&p);
    } else if (data[0] == 2 && size >= 14) {
        /* kind[1] age[1] tokens[3] expires_at[8] grant[..43], from data[1] */
        uint64_t exp = 0;
        memset(&p, 0, sizeof p);
        p.kind = (enum agp_pickup_kind)data[1];
        p.age = data[2];
        p.tokens = (unsigned)data[3] << 16 | (unsigned)data[4] << 8 | data[5];
        for (i = 0; i < 8; i++)
            exp = exp << 8 | data[6 + i];
        p.expires_at = (int64_t)(exp & INT64_MAX);
        memcpy(p.grant, data + 13,
               size - 13 < AGP_PICKUP_GRANT_LEN ? size - 13 : AGP_PICKUP_GRANT_LEN);
        {
            uint8_t rec[AGP_PICKUP_RECORD_LEN];
            err = agp_pickup_seal(rec, key, id, &p);
            FUZZ_CHECK(err == AGP_OK || err == AGP_ERR_ARG);
            if (err == AGP_OK) reseal(&p);
        }
    }
    return 0;
}
