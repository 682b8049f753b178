/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_www_auth_parse */
/*
 * tests/fuzz/fuzz_www_authenticate.c: a WWW-Authenticate field value with
 * PrivateToken challenges (RFC 9577 §2.1.1) among others (RFC 9110 §11.6.1).
 * The input is the field value as text; it may hold any byte, NUL included.
 *
 * Oracle: every PrivateToken challenge the parser kept is emitted again
 * with agp_www_auth_add and parsed again, alone and then all of them in one
 * field value (when that fits under AGP_HEADER_MAX): the same challenge
 * bytes, token type, token key and max-age must come back, in order. The
 * kept values are also checked against the header's own rules (a challenge
 * that parses, a registered type, max-age within bounds).
 */
#include <stdbool.h>
#include <string.h>

#include "agepass/authhdr.h"
#include "fuzz.h"

/* About 21 KiB each: static, not on the stack. */
static struct agp_www_auth parsed, again;
static char header[AGP_HEADER_MAX + 1];
static char all[AGP_HEADER_MAX + 1];

static bool same_item(const struct agp_www_challenge *a, const struct agp_www_challenge *b)
{
    return a->token_type == b->token_type && a->challenge_len == b->challenge_len &&
           memcmp(a->challenge, b->challenge, a->challenge_len) == 0 &&
           a->token_key_len == b->token_key_len &&
           memcmp(a->token_key, b->token_key, a->token_key_len) == 0 &&
           a->has_max_age == b->has_max_age && (!a->has_max_age || a->max_age == b->max_age);
}

static long max_age_of(const struct agp_www_challenge *c)
{
    return c->has_max_age ? (long)c->max_age : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t i, all_len = 0;
    bool all_fits = true;
    agp_err err;

    err = agp_www_auth_parse(&parsed, (const char *)data, size);
    FUZZ_CHECK(parsed.count <= AGP_AUTH_MAX_CHALLENGES);
    if (size > AGP_HEADER_MAX) FUZZ_CHECK(err == AGP_ERR_TOO_BIG && parsed.count == 0);
    all[0] = '\0';

    for (i = 0; i < parsed.count; i++) {
        const struct agp_www_challenge *c = &parsed.items[i];
        size_t len = 0, before = all_len;
        struct agp_challenge tc;

        FUZZ_CHECK(c->challenge_len <= AGP_CHALLENGE_MAX);
        FUZZ_CHECK(c->token_key_len <= AGP_TOKEN_KEY_MAX);
        FUZZ_CHECK(!c->has_max_age || c->max_age <= AGP_MAX_AGE_MAX);
        FUZZ_CHECK(agp_challenge_parse(&tc, c->challenge, c->challenge_len) == AGP_OK);
        FUZZ_CHECK(tc.token_type == c->token_type);

        /* alone */
        FUZZ_CHECK(agp_www_auth_add(header, sizeof header, &len, c->challenge, c->challenge_len,
                                    c->token_key, c->token_key_len, max_age_of(c)) == AGP_OK);
        FUZZ_CHECK(len == strlen(header));
        FUZZ_CHECK(agp_www_auth_parse(&again, header, len) == AGP_OK);
        FUZZ_CHECK(again.count == 1);
        FUZZ_CHECK(same_item(c, &again.items[0]));

        /* appended to the others; a failed append leaves the value as it was */
        if (!all_fits) continue;
        err = agp_www_auth_add(all, sizeof all, &all_len, c->challenge, c->challenge_len,
                               c->token_key, c->token_key_len, max_age_of(c));
        if (err == AGP_ERR_TOO_BIG) {
            FUZZ_CHECK(all_len == before && strlen(all) == before);
            all_fits = false;
            continue;
        }
        FUZZ_CHECK(err == AGP_OK);
    }

    if (all_fits && parsed.count > 0) {
        FUZZ_CHECK(all_len == strlen(all));
        FUZZ_CHECK(agp_www_auth_parse(&again, all, all_len) == AGP_OK);
        FUZZ_CHECK(again.count == parsed.count);
        for (i = 0; i < parsed.count; i++)
            FUZZ_CHECK(same_item(&parsed.items[i], &again.items[i]));
    }
    return 0;
}
