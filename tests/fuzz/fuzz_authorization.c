/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_authorization_parse */
/*
 * tests/fuzz/fuzz_authorization.c: an Authorization field value
 * `PrivateToken token="<base64url>"` (RFC 9577 §2.2.1), as text that may
 * hold any byte.
 *
 * Oracle: the decoded token bytes, written again by agp_authorization_write
 * (padded base64url in a quoted string) and parsed again, come back the
 * same; the written value is NUL-terminated and as long as it says. A
 * failed parse reports no bytes.
 */
#include <string.h>

#include "agepass/authhdr.h"
#include "agepass/util.h"
#include "fuzz.h"

/* Larger than any token the parser can decode from a header (2 KiB + a bit). */
#define TOKEN_CAP 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t token[TOKEN_CAP], again[TOKEN_CAP];
    static char value[AGP_B64_ENC_LEN(TOKEN_CAP) + 64];
    size_t token_len = 1, again_len = 1, value_len = 1;
    agp_err err;

    err = agp_authorization_parse(token, sizeof token, &token_len, (const char *)data, size);
    if (err != AGP_OK) {
        FUZZ_CHECK(token_len == 0);
        return 0;
    }
    FUZZ_CHECK(size <= AGP_HEADER_MAX);
    FUZZ_CHECK(token_len <= sizeof token);
    FUZZ_CHECK(agp_authorization_write(value, sizeof value, &value_len, token, token_len) ==
               AGP_OK);
    FUZZ_CHECK(value_len == strlen(value));
    FUZZ_CHECK(value_len == strlen("PrivateToken token=\"\"") + AGP_B64_ENC_LEN(token_len));
    FUZZ_CHECK(agp_authorization_parse(again, sizeof again, &again_len, value, value_len) ==
               AGP_OK);
    FUZZ_CHECK(again_len == token_len);
    FUZZ_CHECK(memcmp(again, token, token_len) == 0);
    return 0;
}
