/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_batch.c: the BatchTokenRequest and BatchTokenResponse of
 * draft-ietf-privacypass-batched-tokens-06 §6 (lib/batch.c).
 *
 * A whole round with a fresh RSA-2048 key (client begins 1, 2 and 30
 * requests, the batch is written and parsed, each element issued, the
 * response written and parsed, each token finished and verified), the
 * length prefix bytes checked by hand, then every rejection: truncation at
 * every length, one byte more, counts 0 and 31, another token type inside,
 * a non-minimal or inconsistent length prefix, a bad presence octet, an
 * element cut short; and outputs zeroed on failure.
 */
#include <stdbool.h>

#include "agepass/batch.h"
#include "agepass/token.h"
#include "agepass/util.h"
#include "test.h"

static const uint8_t zero_batch_request[sizeof(struct agp_batch_request)];
static const uint8_t zero_batch_response[sizeof(struct agp_batch_response)];

static uint8_t challenge[64];
static size_t challenge_len;

static void make_challenge(void)
{
    static const char name[] = "issuer.example";
    struct agp_challenge c = {
        AGP_TOKEN_TYPE_BLIND_RSA, {(const uint8_t *)name, sizeof name - 1}, {NULL, 0}, {NULL, 0}};
    struct agp_writer w;
    agp_writer_init(&w, challenge, sizeof challenge);
    EXPECT_OK(agp_challenge_write(&w, &c));
    challenge_len = w.len;
}

/* One full batched round of n tokens with key k; true if all verify. */
static bool round_trip(const struct agp_key *k, size_t n)
{
    static struct agp_token_state st[AGP_BATCH_MAX];
    static uint8_t reqs[AGP_BATCH_MAX][AGP_TOKEN_REQUEST_LEN];
    static uint8_t sigs[AGP_BATCH_MAX][AGP_TOKEN_RESPONSE_LEN];
    static uint8_t wire[AGP_BATCH_RESPONSE_MAX], wire2[AGP_BATCH_RESPONSE_MAX];
    struct agp_batch_request b, parsed;
    struct agp_batch_response resp, rparsed;
    uint8_t digest[AGP_SHA256_LEN], token[AGP_TOKEN_LEN];
    struct agp_writer w;
    struct agp_token tok;
    size_t i, verified = 0;

    memset(&b, 0, sizeof b);
    for (i = 0; i < n; i++) {
        EXPECT_OK(agp_token_begin(k, reqs[i], &st[i], challenge, challenge_len));
        EXPECT_OK(agp_token_request_parse(&b.req[i], reqs[i], sizeof reqs[i]));
    }
    b.count = n;
    agp_writer_init(&w, wire, sizeof wire);
    EXPECT_OK(agp_batch_request_write(&w, &b));
    EXPECT(w.len == 2 + n * AGP_TOKEN_REQUEST_LEN);
    /* n * 259 >= 64: the two-byte varint, 0b01 then 14 bits of length */
    EXPECT(wire[0] == (0x40 | (n * AGP_TOKEN_REQUEST_LEN) >> 8) &&
           wire[1] == ((n * AGP_TOKEN_REQUEST_LEN) & 0xff));
    EXPECT_OK(agp_batch_request_parse(&parsed, wire, w.len));
    EXPECT(parsed.count == n);
    memset(&resp, 0, sizeof resp);
    for (i = 0; i < parsed.count; i++) {
        EXPECT(parsed.raw[i].ptr == wire + 2 + i * AGP_TOKEN_REQUEST_LEN);
        EXPECT(parsed.raw[i].len == AGP_TOKEN_REQUEST_LEN);
        EXPECT_BYTES(parsed.raw[i].ptr, reqs[i], AGP_TOKEN_REQUEST_LEN);
        EXPECT_OK(agp_token_issue(k, sigs[i], parsed.raw[i].ptr, parsed.raw[i].len));
        resp.blind_sig[i].ptr = sigs[i];
        resp.blind_sig[i].len = AGP_NK;
    }
    resp.count = n;
    agp_writer_init(&w, wire2, sizeof wire2);
    EXPECT_OK(agp_batch_response_write(&w, &resp));
    EXPECT(w.len == 2 + n * AGP_OPT_TOKEN_RESPONSE_LEN);
    EXPECT(wire2[2] == 1 && wire2[3] == 0x00 && wire2[4] == 0x02);
    EXPECT_OK(agp_batch_response_parse(&rparsed, wire2, w.len));
    EXPECT(rparsed.count == n);
    EXPECT_OK(agp_challenge_digest(digest, challenge, challenge_len));
    for (i = 0; i < rparsed.count; i++) {
        if (agp_token_finish(k, token, &st[i], rparsed.blind_sig[i].ptr,
                             rparsed.blind_sig[i].len) != AGP_OK)
            continue;
        if (agp_token_parse(&tok, token, sizeof token) == AGP_OK &&
            agp_token_verify(k, &tok, digest) == AGP_OK)
            verified++;
        agp_token_state_clear(&st[i]);
    }
    /* the responses are in request order: swapping two breaks both */
    if (n >= 2) {
        EXPECT_OK(agp_token_begin(k, reqs[0], &st[0], challenge, challenge_len));
        EXPECT_OK(agp_token_begin(k, reqs[1], &st[1], challenge, challenge_len));
        EXPECT_OK(agp_token_issue(k, sigs[0], reqs[0], AGP_TOKEN_REQUEST_LEN));
        EXPECT_ERR(agp_token_finish(k, token, &st[1], sigs[0], AGP_NK), AGP_ERR_SIGNATURE);
        agp_token_state_clear(&st[0]);
        agp_token_state_clear(&st[1]);
    }
    return verified == n;
}

/* A well-formed batch of n requests with made-up blinded messages. */
static size_t fake_request(uint8_t *out, size_t cap, size_t n)
{
    size_t i, len = n * AGP_TOKEN_REQUEST_LEN;
    EXPECT(cap >= 2 + len);
    out[0] = (uint8_t)(0x40 | len >> 8);
    out[1] = (uint8_t)len;
    for (i = 0; i < n; i++) {
        uint8_t *e = out + 2 + i * AGP_TOKEN_REQUEST_LEN;
        e[0] = 0x00;
        e[1] = 0x02;
        e[2] = (uint8_t)(0x10 + i);
        memset(e + 3, (int)(0x20 + i), AGP_NK);
    }
    return 2 + len;
}

static void request_rejections(void)
{
    static uint8_t buf[AGP_BATCH_REQUEST_MAX + 2 * AGP_TOKEN_REQUEST_LEN];
    struct agp_batch_request b;
    struct agp_writer w;
    size_t len, cut;
    uint8_t small[8];

    len = fake_request(buf, sizeof buf, 3);
    EXPECT_OK(agp_batch_request_parse(&b, buf, len));
    EXPECT(b.count == 3 && b.req[2].truncated_token_key_id == 0x12);
    /* write back: the same bytes */
    {
        static uint8_t out[AGP_BATCH_REQUEST_MAX];
        agp_writer_init(&w, out, sizeof out);
        EXPECT_OK(agp_batch_request_write(&w, &b));
        EXPECT(w.len == len);
        EXPECT_BYTES(out, buf, len);
        /* one byte short of room: nothing written */
        agp_writer_init(&w, out, len - 1);
        EXPECT_ERR(agp_batch_request_write(&w, &b), AGP_ERR_TOO_BIG);
        EXPECT(w.len == 0);
    }
    /* truncated at every length */
    for (cut = 0; cut < len; cut++) {
        agp_err err = agp_batch_request_parse(&b, buf, cut);
        EXPECT(err == AGP_ERR_TRUNCATED);
        EXPECT_BYTES(&b, zero_batch_request, sizeof b);
    }
    /* one byte more, after the vector */
    buf[len] = 0;
    EXPECT_ERR(agp_batch_request_parse(&b, buf, len + 1), AGP_ERR_TRAILING);
    EXPECT_BYTES(&b, zero_batch_request, sizeof b);
    /* the prefix one byte longer than the elements: an element cut short */
    buf[1]++;
    EXPECT_ERR(agp_batch_request_parse(&b, buf, len + 1), AGP_ERR_LENGTH);
    /* the prefix one byte shorter: the last element is cut, one byte trails */
    buf[1] -= 2;
    EXPECT_ERR(agp_batch_request_parse(&b, buf, len), AGP_ERR_TRAILING);
    buf[1]++;
    /* a prefix that says less than one element */
    EXPECT_ERR(agp_batch_request_parse(&b, (const uint8_t *)"\x01\x00", 2), AGP_ERR_LENGTH);
    EXPECT_ERR(agp_batch_request_parse(&b, (const uint8_t *)"\x02\x00\x02", 3), AGP_ERR_LENGTH);
    /* count 0 */
    EXPECT_ERR(agp_batch_request_parse(&b, (const uint8_t *)"\x00", 1), AGP_ERR_LENGTH);
    EXPECT_ERR(agp_batch_request_parse(&b, NULL, 0), AGP_ERR_TRUNCATED);
    memset(&b, 0, sizeof b);
    agp_writer_init(&w, small, sizeof small);
    EXPECT_ERR(agp_batch_request_write(&w, &b), AGP_ERR_LENGTH);
    EXPECT(w.len == 0);
    /* non-minimal prefixes: 0 in two bytes; 3 * 259 in four */
    EXPECT_ERR(agp_batch_request_parse(&b, (const uint8_t *)"\x40\x00", 2), AGP_ERR_ENCODING);
    {
        static uint8_t four[4 + 3 * AGP_TOKEN_REQUEST_LEN];
        memcpy(four + 2, buf, len);
        four[0] = 0x80;
        four[1] = 0x00;
        four[2] = 0x03;
        four[3] = 0x09; /* 777 = 3 * 259 */
        memcpy(four + 4, buf + 2, len - 2);
        EXPECT_ERR(agp_batch_request_parse(&b, four, sizeof four), AGP_ERR_ENCODING);
        /* an eight-byte prefix saying 2^62 - 1: over the cap before any read */
        memset(four, 0xff, 8);
        EXPECT_ERR(agp_batch_request_parse(&b, four, sizeof four), AGP_ERR_TOO_BIG);
    }
    /* 30 is the most; 31 is refused (by the length prefix) */
    len = fake_request(buf, sizeof buf, AGP_BATCH_MAX);
    EXPECT_OK(agp_batch_request_parse(&b, buf, len));
    EXPECT(b.count == AGP_BATCH_MAX);
    len = fake_request(buf, sizeof buf, AGP_BATCH_MAX + 1);
    EXPECT_ERR(agp_batch_request_parse(&b, buf, len), AGP_ERR_TOO_BIG);
    EXPECT_BYTES(&b, zero_batch_request, sizeof b);
    b.count = AGP_BATCH_MAX + 1;
    {
        static uint8_t out[AGP_BATCH_REQUEST_MAX + AGP_TOKEN_REQUEST_LEN];
        agp_writer_init(&w, out, sizeof out);
        EXPECT_ERR(agp_batch_request_write(&w, &b), AGP_ERR_TOO_BIG);
        EXPECT(w.len == 0);
    }
    /* another token type in second place, at its own size (VOPRF: 2+1+49) */
    len = fake_request(buf, sizeof buf, 2);
    buf[2 + AGP_TOKEN_REQUEST_LEN + 1] = 0x01;
    EXPECT_ERR(agp_batch_request_parse(&b, buf, len), AGP_ERR_TOKEN_TYPE);
    buf[0] = 0x41;
    buf[1] = (uint8_t)(AGP_TOKEN_REQUEST_LEN + 52 - 256);
    EXPECT_ERR(agp_batch_request_parse(&b, buf, 2 + AGP_TOKEN_REQUEST_LEN + 52),
               AGP_ERR_TOKEN_TYPE);
    len = fake_request(buf, sizeof buf, 1);
    buf[3] = 0x03;
    EXPECT_ERR(agp_batch_request_parse(&b, buf, len), AGP_ERR_TOKEN_TYPE);
    EXPECT_BYTES(&b, zero_batch_request, sizeof b);
    /* a writer refuses an element that is not a TokenRequest of type 2 */
    len = fake_request(buf, sizeof buf, 2);
    EXPECT_OK(agp_batch_request_parse(&b, buf, len));
    b.req[1].blinded_msg.len--;
    {
        static uint8_t out[AGP_BATCH_REQUEST_MAX];
        agp_writer_init(&w, out, sizeof out);
        EXPECT_ERR(agp_batch_request_write(&w, &b), AGP_ERR_LENGTH);
        EXPECT(w.len == 0);
        b.req[1].blinded_msg.len++;
        b.req[0].token_type = 1;
        EXPECT_ERR(agp_batch_request_write(&w, &b), AGP_ERR_TOKEN_TYPE);
        EXPECT(w.len == 0);
    }
}

static void response_rejections(void)
{
    static uint8_t sig[AGP_NK], buf[AGP_BATCH_RESPONSE_MAX + 64], out[AGP_BATCH_RESPONSE_MAX];
    struct agp_batch_response r;
    struct agp_writer w;
    size_t len, cut, i;

    memset(sig, 0x5a, sizeof sig);
    /* present, absent, present */
    memset(&r, 0, sizeof r);
    r.count = 3;
    r.blind_sig[0] = (struct agp_span){sig, AGP_NK};
    r.blind_sig[2] = (struct agp_span){sig, AGP_NK};
    agp_writer_init(&w, buf, sizeof buf);
    EXPECT_OK(agp_batch_response_write(&w, &r));
    len = w.len;
    EXPECT(len == 2 + 2 * AGP_OPT_TOKEN_RESPONSE_LEN + 1);
    EXPECT(buf[2 + AGP_OPT_TOKEN_RESPONSE_LEN] == 0);
    EXPECT_OK(agp_batch_response_parse(&r, buf, len));
    EXPECT(r.count == 3 && r.blind_sig[0].len == AGP_NK && r.blind_sig[1].len == 0 &&
           r.blind_sig[2].ptr == buf + len - AGP_NK);
    agp_writer_init(&w, out, sizeof out);
    EXPECT_OK(agp_batch_response_write(&w, &r));
    EXPECT(w.len == len);
    EXPECT_BYTES(out, buf, len);
    agp_writer_init(&w, out, len - 1);
    EXPECT_ERR(agp_batch_response_write(&w, &r), AGP_ERR_TOO_BIG);
    EXPECT(w.len == 0);
    for (cut = 0; cut < len; cut++) {
        EXPECT(agp_batch_response_parse(&r, buf, cut) == AGP_ERR_TRUNCATED);
        EXPECT_BYTES(&r, zero_batch_response, sizeof r);
    }
    buf[len] = 0;
    EXPECT_ERR(agp_batch_response_parse(&r, buf, len + 1), AGP_ERR_TRAILING);
    /* a presence octet of 2 */
    buf[2 + AGP_OPT_TOKEN_RESPONSE_LEN] = 2;
    EXPECT_ERR(agp_batch_response_parse(&r, buf, len), AGP_ERR_ENCODING);
    EXPECT_BYTES(&r, zero_batch_response, sizeof r);
    buf[2 + AGP_OPT_TOKEN_RESPONSE_LEN] = 0;
    /* token type 1 inside */
    buf[4] = 0x01;
    EXPECT_ERR(agp_batch_response_parse(&r, buf, len), AGP_ERR_TOKEN_TYPE);
    buf[4] = 0x02;
    /* a prefix one shorter cuts the last blind_sig */
    buf[1]--;
    EXPECT_ERR(agp_batch_response_parse(&r, buf, len - 1), AGP_ERR_TRUNCATED);
    buf[1]++;
    /* count 0; non-minimal prefix; 30 absent is fine, 31 is not */
    EXPECT_ERR(agp_batch_response_parse(&r, (const uint8_t *)"\x00", 1), AGP_ERR_LENGTH);
    EXPECT_ERR(agp_batch_response_parse(&r, (const uint8_t *)"\x40\x01\x00", 3), AGP_ERR_ENCODING);
    memset(buf, 0, sizeof buf);
    buf[0] = AGP_BATCH_MAX;
    EXPECT_OK(agp_batch_response_parse(&r, buf, 1 + AGP_BATCH_MAX));
    EXPECT(r.count == AGP_BATCH_MAX);
    for (i = 0; i < r.count; i++)
        EXPECT(r.blind_sig[i].len == 0);
    buf[0] = AGP_BATCH_MAX + 1;
    EXPECT_ERR(agp_batch_response_parse(&r, buf, 2 + AGP_BATCH_MAX), AGP_ERR_TOO_BIG);
    memset(&r, 0, sizeof r);
    agp_writer_init(&w, out, sizeof out);
    EXPECT_ERR(agp_batch_response_write(&w, &r), AGP_ERR_LENGTH);
    r.count = AGP_BATCH_MAX + 1;
    EXPECT_ERR(agp_batch_response_write(&w, &r), AGP_ERR_TOO_BIG);
    r.count = 1;
    r.blind_sig[0] = (struct agp_span){sig, AGP_NK - 1};
    EXPECT_ERR(agp_batch_response_write(&w, &r), AGP_ERR_LENGTH);
    EXPECT(w.len == 0);
}

int main(void)
{
    struct agp_key *k = NULL;
    make_challenge();
    request_rejections();
    response_rejections();
    EXPECT_OK(agp_key_generate(&k, 2048));
    if (k != NULL) {
        EXPECT(round_trip(k, 1));
        EXPECT(round_trip(k, 2));
        EXPECT(round_trip(k, AGP_BATCH_MAX));
    }
    agp_key_free(k);
    TEST_END();
}
