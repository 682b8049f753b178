/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_err.c: every error value has a name, a kind and a status.
 */
#include "agepass/err.h"
#include "test.h"

int main(void)
{
    static const struct {
        agp_err err;
        enum agp_err_kind kind;
        int status;
    } cases[] = {
        {AGP_OK, AGP_KIND_OK, 200},
        {AGP_ERR_TRUNCATED, AGP_KIND_MALFORMED, 400},
        {AGP_ERR_TRAILING, AGP_KIND_MALFORMED, 400},
        {AGP_ERR_LENGTH, AGP_KIND_MALFORMED, 400},
        {AGP_ERR_ENCODING, AGP_KIND_MALFORMED, 400},
        {AGP_ERR_SYNTAX, AGP_KIND_MALFORMED, 400},
        {AGP_ERR_TOO_BIG, AGP_KIND_MALFORMED, 400},
        {AGP_ERR_TOKEN_TYPE, AGP_KIND_REJECTED, 422},
        {AGP_ERR_KEY_ID, AGP_KIND_REJECTED, 422},
        {AGP_ERR_CHALLENGE, AGP_KIND_REJECTED, 422},
        {AGP_ERR_SIGNATURE, AGP_KIND_REJECTED, 422},
        {AGP_ERR_KEY, AGP_KIND_REJECTED, 422},
        {AGP_ERR_RANGE, AGP_KIND_REJECTED, 422},
        {AGP_ERR_NOT_FOUND, AGP_KIND_REJECTED, 422},
        {AGP_ERR_REPLAY, AGP_KIND_REJECTED, 422},
        {AGP_ERR_EXPIRED, AGP_KIND_REJECTED, 422},
        {AGP_ERR_IO, AGP_KIND_UNAVAILABLE, 503},
        {AGP_ERR_NOMEM, AGP_KIND_INTERNAL, 500},
        {AGP_ERR_CRYPTO, AGP_KIND_INTERNAL, 500},
        {AGP_ERR_RANDOM, AGP_KIND_INTERNAL, 500},
        {AGP_ERR_ARG, AGP_KIND_INTERNAL, 500},
        {AGP_ERR_INTERNAL, AGP_KIND_INTERNAL, 500},
    };
    size_t i, j;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        EXPECT(agp_err_kind(cases[i].err) == cases[i].kind);
        EXPECT(agp_err_http_status(cases[i].err) == cases[i].status);
        EXPECT(strcmp(agp_err_str(cases[i].err), "unknown error") != 0);
        for (j = 0; j < i; j++) /* names are distinct */
            EXPECT(strcmp(agp_err_str(cases[i].err), agp_err_str(cases[j].err)) != 0);
    }
    EXPECT(strcmp(agp_err_str((agp_err)12345), "unknown error") == 0);
    EXPECT(agp_err_kind((agp_err)12345) == AGP_KIND_INTERNAL);
    TEST_END();
}
