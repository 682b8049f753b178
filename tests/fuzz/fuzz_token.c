/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_token_parse */
/*
 * tests/fuzz/fuzz_token.c: the type 0x0002 Token of RFC 9577 §2.2 with
 * Nid = 32 and Nk = 256 (RFC 9578 §6.3).
 *
 * Oracle: what parses is exactly AGP_TOKEN_LEN bytes, its spans tile the
 * input in order, token_input is the first 98 bytes, and agp_token_write
 * reproduces the input.
 */
#include <string.h>

#include "agepass/token.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t out[AGP_TOKEN_LEN];
    struct agp_token tok;
    struct agp_writer w;

    if (agp_token_parse(&tok, data, size) != AGP_OK) return 0;
    FUZZ_CHECK(size == AGP_TOKEN_LEN);
    FUZZ_CHECK(tok.token_type == AGP_TOKEN_TYPE_BLIND_RSA);
    FUZZ_CHECK(tok.nonce.ptr == data + 2 && tok.nonce.len == AGP_NONCE_LEN);
    FUZZ_CHECK(tok.challenge_digest.ptr == data + 34 && tok.challenge_digest.len == 32);
    FUZZ_CHECK(tok.token_key_id.ptr == data + 66 && tok.token_key_id.len == 32);
    FUZZ_CHECK(tok.authenticator.ptr == data + AGP_TOKEN_INPUT_LEN &&
               tok.authenticator.len == AGP_NK);
    FUZZ_CHECK(tok.token_input.ptr == data && tok.token_input.len == AGP_TOKEN_INPUT_LEN);
    agp_writer_init(&w, out, sizeof out);
    FUZZ_CHECK(agp_token_write(&w, &tok) == AGP_OK);
    FUZZ_CHECK(w.len == size);
    FUZZ_CHECK(memcmp(out, data, size) == 0);
    return 0;
}
