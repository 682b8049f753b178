/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_token_state_parse */
/*
 * tests/fuzz/fuzz_token_state.c: the client state file written by
 * `agepass token request` (ClientState in agepass/token.h): magic "AGPS",
 * version 1, token_input[98], inv[256], token_key<1..2^16-1>.
 *
 * agp_token_state_write needs a loaded key, so there is no round trip here.
 * Oracle: parsing does not crash; on success token_key is a span inside the
 * input of 1..AGP_SPKI_MAX_LEN bytes that ends the input, and token_input
 * and inv are copies of the input's bytes; on failure the span is empty and
 * the state is wiped.
 */
#include <string.h>

#include "agepass/token.h"
#include "fuzz.h"

#define HEAD_LEN (4 + 1) /* magic, version */

static int all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    size_t i;
    for (i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct agp_token_state st;
    struct agp_span key;
    const uint8_t *end = data + size;

    memset(&st, 0xa5, sizeof st);
    if (agp_token_state_parse(&st, &key, data, size) != AGP_OK) {
        FUZZ_CHECK(key.ptr == NULL && key.len == 0);
        FUZZ_CHECK(all_zero(st.token_input, sizeof st.token_input));
        FUZZ_CHECK(all_zero(st.inv, sizeof st.inv));
        return 0;
    }
    FUZZ_CHECK(size <= AGP_TOKEN_STATE_MAX);
    FUZZ_CHECK(key.len >= 1 && key.len <= AGP_SPKI_MAX_LEN);
    FUZZ_CHECK(key.ptr != NULL && key.ptr >= data && key.ptr < end);
    FUZZ_CHECK(key.len <= (size_t)(end - key.ptr));
    FUZZ_CHECK(key.ptr + key.len == end);
    FUZZ_CHECK(size == HEAD_LEN + AGP_TOKEN_INPUT_LEN + AGP_NK + 2 + key.len);
    FUZZ_CHECK(memcmp(data, "AGPS\x01", HEAD_LEN) == 0);
    FUZZ_CHECK(memcmp(st.token_input, data + HEAD_LEN, AGP_TOKEN_INPUT_LEN) == 0);
    FUZZ_CHECK(memcmp(st.inv, data + HEAD_LEN + AGP_TOKEN_INPUT_LEN, AGP_NK) == 0);
    agp_token_state_clear(&st);
    return 0;
}
