/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_b64url_decode, agp_b64url_encode_nopad, agp_unseal */
/*
 * tests/fuzz/fuzz_b64url.c: base64url (RFC 4648 §5), padded or not, as the
 * headers and the directory carry it.
 *
 * Oracle: the decoder is strict, so every byte string has one encoding up
 * to padding. On success the decoded length is what the input length says
 * (3 bytes per 4 characters, minus padding); the padded re-encoding equals
 * the input once padding is stripped from both; and decoding the
 * re-encoding gives the same bytes; the unpadded encoding is the input
 * without its padding. On failure nothing is reported and no
 * decoded byte is left in the output: it is either wiped or untouched.
 * (util.h promises "wiped"; the early padding check returns before writing
 * anything, which leaves it untouched and is just as safe.)
 */
#include <string.h>

#include "agepass/util.h"
#include "fuzz.h"

/* Inputs longer than this decode to AGP_ERR_TOO_BIG (or ENCODING). */
#define OUT_CAP 4096

static size_t unpadded_len(const char *s, size_t n)
{
    while (n > 0 && s[n - 1] == '=')
        n--;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[OUT_CAP], again[OUT_CAP];
    static char text[AGP_B64_ENC_LEN(OUT_CAP) + 1];
    const char *in = (const char *)data;
    size_t out_len = 1, again_len = 1, text_len = 0, body, i;
    agp_err err;

    {
        /* a sealed ticket of one byte: never opened without the key's MAC */
        static const uint8_t key[32] = {9};
        uint8_t a = 0;
        err = agp_unseal(NULL, NULL, &a, 1, key, "fuzz", in, size, 1800000000, 600);
        FUZZ_CHECK(err == AGP_ERR_LENGTH || err == AGP_ERR_ENCODING || err == AGP_ERR_SIGNATURE);
        FUZZ_CHECK(a == 0);
    }
    memset(out, 0xa5, sizeof out);
    err = agp_b64url_decode(out, sizeof out, &out_len, in, size);
    if (err != AGP_OK) {
        FUZZ_CHECK(err == AGP_ERR_ENCODING || err == AGP_ERR_TOO_BIG);
        FUZZ_CHECK(out_len == 0);
        for (i = 0; i < sizeof out; i++)
            FUZZ_CHECK(out[i] == out[0]);
        FUZZ_CHECK(out[0] == 0 || out[0] == 0xa5);
        return 0;
    }
    body = unpadded_len(in, size);
    FUZZ_CHECK(size - body <= 2);
    FUZZ_CHECK(body % 4 != 1);
    FUZZ_CHECK(out_len == body / 4 * 3 + (body % 4 ? body % 4 - 1 : 0));
    FUZZ_CHECK(out_len <= sizeof out);

    FUZZ_CHECK(agp_b64url_encode(text, sizeof text, &text_len, out, out_len) == AGP_OK);
    FUZZ_CHECK(text_len == AGP_B64_ENC_LEN(out_len) && text_len == strlen(text));
    FUZZ_CHECK(text_len % 4 == 0);
    FUZZ_CHECK(unpadded_len(text, text_len) == body);
    FUZZ_CHECK(memcmp(text, in, body) == 0);

    /* unpadded: the same characters, without the padding */
    FUZZ_CHECK(agp_b64url_encode_nopad(text, sizeof text, &text_len, out, out_len) == AGP_OK);
    FUZZ_CHECK(text_len == body && text_len == AGP_B64_NOPAD_LEN(out_len));
    FUZZ_CHECK(memcmp(text, in, body) == 0);
    FUZZ_CHECK(agp_b64url_encode(text, sizeof text, &text_len, out, out_len) == AGP_OK);

    FUZZ_CHECK(agp_b64url_decode(again, sizeof again, &again_len, text, text_len) == AGP_OK);
    FUZZ_CHECK(again_len == out_len);
    FUZZ_CHECK(memcmp(again, out, out_len) == 0);
    return 0;
}
