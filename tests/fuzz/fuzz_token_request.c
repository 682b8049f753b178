/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_token_request_parse */
/*
 * tests/fuzz/fuzz_token_request.c: the type 0x0002 TokenRequest of
 * RFC 9578 §6.1, a fixed 259-byte structure.
 *
 * Oracle: what parses has exactly AGP_TOKEN_REQUEST_LEN bytes and is
 * written back identically by agp_token_request_write, also into a buffer
 * of exactly that size; one byte less is refused without a write.
 */
#include <string.h>

#include "agepass/token.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t out[AGP_TOKEN_REQUEST_LEN];
    struct agp_token_request req;
    struct agp_writer w;

    if (agp_token_request_parse(&req, data, size) != AGP_OK) return 0;
    FUZZ_CHECK(size == AGP_TOKEN_REQUEST_LEN);
    FUZZ_CHECK(req.token_type == AGP_TOKEN_TYPE_BLIND_RSA);
    FUZZ_CHECK(req.blinded_msg.len == AGP_NK && req.blinded_msg.ptr == data + 3);
    agp_writer_init(&w, out, sizeof out - 1);
    FUZZ_CHECK(agp_token_request_write(&w, &req) == AGP_ERR_TOO_BIG && w.len == 0);
    agp_writer_init(&w, out, sizeof out);
    FUZZ_CHECK(agp_token_request_write(&w, &req) == AGP_OK);
    FUZZ_CHECK(w.len == size);
    FUZZ_CHECK(memcmp(out, data, size) == 0);
    return 0;
}
