/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_www_auth_parse_more */
/*
 * tests/fuzz/fuzz_www_fields.c: the WWW-Authenticate fields of one
 * response, as `agepass get` keeps them: the input is split at each "\n"
 * into field values (any other byte, NUL included, stays in its field).
 *
 * Oracle: appending the fields one by one with agp_www_auth_parse_more
 * gives, for each field, the same result as parsing that field alone with
 * agp_www_auth_parse, and in the end the challenges of every field in
 * order, cut at AGP_AUTH_MAX_CHALLENGES: a field never changes what
 * another one yields, however broken it is.
 */
#include <stdbool.h>
#include <string.h>

#include "agepass/authhdr.h"
#include "fuzz.h"

/* About 42 KiB each: static, not on the stack. */
static struct agp_www_auth all, alone, expected;

static bool same_item(const struct agp_www_challenge *a, const struct agp_www_challenge *b)
{
    return a->token_type == b->token_type && a->challenge_len == b->challenge_len &&
           memcmp(a->challenge, b->challenge, a->challenge_len) == 0 &&
           a->token_key_len == b->token_key_len &&
           memcmp(a->token_key, b->token_key, a->token_key_len) == 0 &&
           a->has_max_age == b->has_max_age && (!a->has_max_age || a->max_age == b->max_age);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t left = size, i;

    all.count = 0;
    expected.count = 0;
    for (;;) {
        const char *nl = memchr(p, '\n', left);
        size_t n = nl ? (size_t)(nl - p) : left, before = all.count;
        agp_err err_all = agp_www_auth_parse_more(&all, p, n);
        agp_err err_alone = agp_www_auth_parse(&alone, p, n);

        FUZZ_CHECK(err_all == err_alone);
        FUZZ_CHECK(all.count >= before && all.count <= AGP_AUTH_MAX_CHALLENGES);
        FUZZ_CHECK(all.count - before == (alone.count < AGP_AUTH_MAX_CHALLENGES - before
                                              ? alone.count
                                              : AGP_AUTH_MAX_CHALLENGES - before));
        for (i = 0; i < alone.count && expected.count < AGP_AUTH_MAX_CHALLENGES; i++)
            expected.items[expected.count++] = alone.items[i];
        if (nl == NULL) break;
        p = nl + 1;
        left -= n + 1;
    }
    FUZZ_CHECK(all.count == expected.count);
    for (i = 0; i < all.count; i++)
        FUZZ_CHECK(same_item(&all.items[i], &expected.items[i]));
    return 0;
}
