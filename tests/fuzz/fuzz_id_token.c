/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_oidc_verify_id_token */
/*
 * tests/fuzz/fuzz_id_token.c: an OpenID Connect ID token checked against a
 * JWKS (lib/attest_oidc.c), and the birthdate parser.
 *
 * Input: JWKS JSON, one NUL byte, then the compact JWS (JSON text cannot
 * hold a raw NUL, so the split is unambiguous); without a NUL, the whole
 * input is the token and the JWKS is empty. The clock is fixed, so the
 * target is deterministic.
 *
 * Oracle: a failed verification leaves the claims zeroed; an accepted
 * token has a non-empty sub of at most 255 bytes, NUL-terminated, an exp
 * after now - skew, and a birthdate that is a real date (when present);
 * a second verification gives the same answer. The input, read as a
 * birthdate, either fails with the claims cleared or gives a real date
 * whose age is computable.
 */
#include <stdbool.h>
#include <string.h>

#include "agepass/oidc.h"
#include "fuzz.h"

#define NOW 1800000000 /* 2027-01-15 */

static bool real_date(const struct agp_oidc_claims *c)
{
    return c->birth_year >= 1850 && c->birth_year <= 9999 && c->birth_month >= 1 &&
           c->birth_month <= 12 && c->birth_day >= 1 && c->birth_day <= 31 &&
           (!c->year_only || (c->birth_month == 12 && c->birth_day == 31));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct agp_oidc_expect want = {"https://op.example", "agepass-rp", "n-0S6_WzA2Mj",
                                                NOW, 60};
    static struct agp_oidc_claims c, again;
    const uint8_t *nul = memchr(data, 0, size);
    const char *jwks = "", *tok = (const char *)data;
    size_t jwks_len = 0, tok_len = size;
    unsigned age;
    agp_err err, err2;

    if (nul != NULL) {
        jwks = (const char *)data;
        jwks_len = (size_t)(nul - data);
        tok = (const char *)nul + 1;
        tok_len = size - jwks_len - 1;
    }
    err = agp_oidc_verify_id_token(&c, jwks, jwks_len, tok, tok_len, &want);
    if (err != AGP_OK) {
        FUZZ_CHECK(c.sub[0] == '\0' && !c.has_birthdate && c.exp == 0);
    } else {
        size_t n = strnlen(c.sub, sizeof c.sub);
        FUZZ_CHECK(n > 0 && n <= AGP_OIDC_SUB_MAX);
        FUZZ_CHECK(c.exp > NOW - 60);
        FUZZ_CHECK(!c.has_birthdate || real_date(&c));
    }
    err2 = agp_oidc_verify_id_token(&again, jwks, jwks_len, tok, tok_len, &want);
    FUZZ_CHECK(err == err2 && memcmp(&c, &again, sizeof c) == 0);

    memset(&c, 0xa5, sizeof c);
    err = agp_oidc_parse_birthdate(&c, (const char *)data, size);
    if (err != AGP_OK) {
        FUZZ_CHECK(!c.has_birthdate && c.birth_year == 0);
    } else {
        FUZZ_CHECK(size == 4 || size == 10);
        FUZZ_CHECK(real_date(&c));
        err = agp_oidc_age(&age, &c, NOW);
        FUZZ_CHECK(err == AGP_OK || err == AGP_ERR_RANGE);
        FUZZ_CHECK(err != AGP_OK || age <= 2027 - 1850);
    }
    return 0;
}
