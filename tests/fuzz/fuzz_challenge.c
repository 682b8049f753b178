/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_challenge_parse */
/*
 * tests/fuzz/fuzz_challenge.c: the TokenChallenge of RFC 9577 §2.1.
 *
 * Oracle: a challenge that parses is written back byte for byte by
 * agp_challenge_write; the parser keeps no slack (no trailing bytes, one
 * encoding per value), so any difference is a bug in one of the two. The
 * parsed fields are also checked against the RFC's bounds.
 */
#include <string.h>

#include "agepass/token.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[AGP_CHALLENGE_MAX + 16];
    struct agp_challenge c;
    struct agp_writer w;

    if (agp_challenge_parse(&c, data, size) != AGP_OK) return 0;
    FUZZ_CHECK(size <= AGP_CHALLENGE_MAX);
    FUZZ_CHECK(c.token_type == AGP_TOKEN_TYPE_VOPRF || c.token_type == AGP_TOKEN_TYPE_BLIND_RSA);
    FUZZ_CHECK(c.issuer_name.len >= 1);
    FUZZ_CHECK(c.redemption_context.len == 0 ||
               c.redemption_context.len == AGP_REDEMPTION_CONTEXT_LEN);
    agp_writer_init(&w, out, sizeof out);
    FUZZ_CHECK(agp_challenge_write(&w, &c) == AGP_OK);
    FUZZ_CHECK(w.len == size);
    FUZZ_CHECK(memcmp(out, data, size) == 0);
    return 0;
}
