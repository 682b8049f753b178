/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_token_response_parse */
/*
 * tests/fuzz/fuzz_token_response.c: the type 0x0002 TokenResponse of
 * RFC 9578 §6.2, blind_sig[Nk] and nothing else.
 *
 * Oracle: what parses is exactly Nk bytes, the span covers the input, and
 * agp_token_response_write reproduces it.
 */
#include <string.h>

#include "agepass/token.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t out[AGP_TOKEN_RESPONSE_LEN];
    struct agp_token_response resp;
    struct agp_writer w;

    if (agp_token_response_parse(&resp, data, size) != AGP_OK) return 0;
    FUZZ_CHECK(size == AGP_TOKEN_RESPONSE_LEN);
    FUZZ_CHECK(resp.blind_sig.ptr == data && resp.blind_sig.len == AGP_NK);
    agp_writer_init(&w, out, sizeof out);
    FUZZ_CHECK(agp_token_response_write(&w, &resp) == AGP_OK);
    FUZZ_CHECK(w.len == size);
    FUZZ_CHECK(memcmp(out, data, size) == 0);
    return 0;
}
