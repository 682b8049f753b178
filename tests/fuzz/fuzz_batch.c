/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_batch_request_parse, agp_batch_response_parse */
/*
 * tests/fuzz/fuzz_batch.c: the BatchTokenRequest and BatchTokenResponse of
 * draft-ietf-privacypass-batched-tokens-06 §6. Every input goes to both
 * parsers.
 *
 * Oracle: what parses holds 1..AGP_BATCH_MAX elements, each inside the
 * input and of its exact size, and is written back identically by the
 * matching writer, also into a buffer of exactly that size; one byte less
 * is refused without a write. What does not parse leaves the struct zeroed.
 */
#include <string.h>

#include "agepass/batch.h"
#include "fuzz.h"

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    size_t i;
    for (i = 0; i < n; i++)
        if (b[i] != 0) return 0;
    return 1;
}

static int inside(const uint8_t *data, size_t size, struct agp_span s)
{
    return s.ptr >= data && s.len <= size && (size_t)(s.ptr - data) <= size - s.len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[AGP_BATCH_RESPONSE_MAX];
    static struct agp_batch_request req;
    static struct agp_batch_response resp;
    struct agp_writer w;
    size_t i;

    if (agp_batch_request_parse(&req, data, size) == AGP_OK) {
        FUZZ_CHECK(req.count >= 1 && req.count <= AGP_BATCH_MAX);
        FUZZ_CHECK(size <= AGP_BATCH_REQUEST_MAX);
        for (i = 0; i < req.count; i++) {
            FUZZ_CHECK(req.req[i].token_type == AGP_TOKEN_TYPE_BLIND_RSA);
            FUZZ_CHECK(req.raw[i].len == AGP_TOKEN_REQUEST_LEN && inside(data, size, req.raw[i]));
            FUZZ_CHECK(req.req[i].blinded_msg.ptr == req.raw[i].ptr + 3);
        }
        agp_writer_init(&w, out, size - 1);
        FUZZ_CHECK(agp_batch_request_write(&w, &req) == AGP_ERR_TOO_BIG && w.len == 0);
        agp_writer_init(&w, out, size);
        FUZZ_CHECK(agp_batch_request_write(&w, &req) == AGP_OK);
        FUZZ_CHECK(w.len == size && memcmp(out, data, size) == 0);
    } else {
        FUZZ_CHECK(all_zero(&req, sizeof req));
    }

    if (agp_batch_response_parse(&resp, data, size) == AGP_OK) {
        FUZZ_CHECK(resp.count >= 1 && resp.count <= AGP_BATCH_MAX);
        FUZZ_CHECK(size <= AGP_BATCH_RESPONSE_MAX);
        for (i = 0; i < resp.count; i++) {
            FUZZ_CHECK(resp.blind_sig[i].len == 0 ||
                       (resp.blind_sig[i].len == AGP_NK && inside(data, size, resp.blind_sig[i])));
        }
        agp_writer_init(&w, out, size - 1);
        FUZZ_CHECK(agp_batch_response_write(&w, &resp) == AGP_ERR_TOO_BIG && w.len == 0);
        agp_writer_init(&w, out, size);
        FUZZ_CHECK(agp_batch_response_write(&w, &resp) == AGP_OK);
        FUZZ_CHECK(w.len == size && memcmp(out, data, size) == 0);
    } else {
        FUZZ_CHECK(all_zero(&resp, sizeof resp));
    }
    return 0;
}
