/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_util.c: base64url (RFC 4648 §10 vectors, url alphabet,
 * strictness), constant-time comparison, wiping, randomness.
 */
#include "agepass/util.h"
#include "test.h"

static void check_b64(const char *plain, const char *padded)
{
    char enc[64];
    uint8_t dec[64];
    size_t len, plen = strlen(plain), elen = strlen(padded), unpadded = elen;
    EXPECT_OK(agp_b64url_encode(enc, sizeof enc, &len, (const uint8_t *)plain, plen));
    EXPECT(len == elen && strcmp(enc, padded) == 0);
    EXPECT_OK(agp_b64url_decode(dec, sizeof dec, &len, padded, elen));
    EXPECT(len == plen && memcmp(dec, plain, plen) == 0);
    while (unpadded > 0 && padded[unpadded - 1] == '=')
        unpadded--;
    EXPECT_OK(agp_b64url_decode(dec, sizeof dec, &len, padded, unpadded));
    EXPECT(len == plen && memcmp(dec, plain, plen) == 0);
    /* exact output capacity is enough, one less is not */
    EXPECT_ERR(agp_b64url_encode(enc, elen, &len, (const uint8_t *)plain, plen), AGP_ERR_TOO_BIG);
    if (plen > 0) EXPECT_ERR(agp_b64url_decode(dec, plen - 1, &len, padded, elen), AGP_ERR_TOO_BIG);
}

/* Sealed tickets: what each field guards, and the order of the errors. */
static void test_seal(void)
{
    uint8_t key[32] = {1}, other[32] = {2}, data[2] = {7, 9}, got[2] = {0}, rnd[AGP_SEAL_RND],
            rnd2[AGP_SEAL_RND];
    char t[AGP_SEAL_LEN(2) + 1], u[AGP_SEAL_LEN(2) + 1], bad[AGP_SEAL_LEN(2) + 1];
    int64_t now = 1800000000, exp = 0;
    size_t i, refused = 0;

    EXPECT_OK(agp_seal(t, sizeof t, rnd, key, "a", now + 60, data, 2));
    EXPECT(strlen(t) == AGP_SEAL_LEN(2) && strchr(t, '=') == NULL);
    EXPECT_OK(agp_seal(u, sizeof u, NULL, key, "a", now + 60, data, 2));
    EXPECT(strcmp(t, u) != 0); /* fresh randomness each time */
    EXPECT_OK(agp_unseal(rnd2, &exp, got, 2, key, "a", t, strlen(t), now, 60));
    EXPECT(exp == now + 60 && memcmp(got, data, 2) == 0 && memcmp(rnd, rnd2, sizeof rnd) == 0);
    EXPECT_ERR(agp_seal(t, AGP_SEAL_LEN(2), NULL, key, "a", now, data, 2), AGP_ERR_TOO_BIG);
    EXPECT_ERR(agp_seal(t, sizeof t, NULL, key, "a", -1, data, 2), AGP_ERR_ARG);
    EXPECT_ERR(agp_seal(t, sizeof t, NULL, key, "a", now, data, AGP_SEAL_DATA_MAX + 1),
               AGP_ERR_ARG);
    EXPECT_OK(agp_seal(t, sizeof t, NULL, key, "a", now + 60, data, 2));
    /* another key or label: not ours, even when also expired */
    EXPECT_ERR(agp_unseal(NULL, NULL, got, 2, other, "a", t, strlen(t), now, 60),
               AGP_ERR_SIGNATURE);
    EXPECT_ERR(agp_unseal(NULL, NULL, got, 2, key, "b", t, strlen(t), now, 60), AGP_ERR_SIGNATURE);
    EXPECT_ERR(agp_unseal(NULL, NULL, got, 2, other, "a", t, strlen(t), now + 60, 60),
               AGP_ERR_SIGNATURE);
    /* time: good until just before expiry, never further ahead than max_ttl */
    EXPECT_OK(agp_unseal(NULL, NULL, got, 2, key, "a", t, strlen(t), now + 59, 60));
    EXPECT_ERR(agp_unseal(NULL, NULL, got, 2, key, "a", t, strlen(t), now + 60, 60),
               AGP_ERR_EXPIRED);
    EXPECT_ERR(agp_unseal(NULL, NULL, got, 2, key, "a", t, strlen(t), now, 59), AGP_ERR_EXPIRED);
    /* shape: another data length, one character less or more, padding */
    EXPECT_ERR(agp_unseal(NULL, NULL, got, 1, key, "a", t, strlen(t), now, 60), AGP_ERR_LENGTH);
    EXPECT_ERR(agp_unseal(NULL, NULL, got, 2, key, "a", t, strlen(t) - 1, now, 60), AGP_ERR_LENGTH);
    memcpy(bad, t, sizeof t);
    bad[strlen(bad) - 1] = '=';
    EXPECT_ERR(agp_unseal(NULL, NULL, got, 2, key, "a", bad, strlen(bad), now, 60),
               AGP_ERR_ENCODING);
    /* every character changed: refused */
    for (i = 0; i < strlen(t); i++) {
        memcpy(bad, t, sizeof t);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        if (agp_unseal(NULL, NULL, got, 2, key, "a", bad, strlen(bad), now, 60) != AGP_OK)
            refused++;
    }
    EXPECT(refused == strlen(t));
}

/* agp_date_parse: the first second of a UTC day; every other text refused. */
static void test_date(void)
{
    static const char *const bad[] = {
        "",           "2026-1-01",  "2026-01-1",   "2026/01/01", "2026-01-01 ", " 2026-01-01",
        "2026-00-10", "2026-13-01", "2026-01-00",  "2026-01-32", "2026-02-29",  "2100-02-29",
        "1969-12-31", "20260-1-01", "2026-04-31",  "+026-01-01", "2026-0a-01",  "2026-01-01T",
        "2026--1-01", "0000-01-01", "2026-011-01",
    };
    int64_t t = 1;
    size_t i;
    EXPECT_OK(agp_date_parse(&t, "1970-01-01", 10));
    EXPECT(t == 0);
    EXPECT_OK(agp_date_parse(&t, "2000-02-29", 10)); /* a leap year of 400 */
    EXPECT(t == 951782400);
    EXPECT_OK(agp_date_parse(&t, "2024-02-29", 10));
    EXPECT(t == 1709164800);
    EXPECT_OK(agp_date_parse(&t, "2026-12-01", 10));
    EXPECT(t == 1796083200);
    EXPECT_OK(agp_date_parse(&t, "2106-02-07", 10));
    EXPECT(t == 4294944000);
    EXPECT_OK(agp_date_parse(&t, "9999-12-31", 10));
    EXPECT(t == 253402214400);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = 1;
        EXPECT_ERR(agp_date_parse(&t, bad[i], strlen(bad[i])), AGP_ERR_SYNTAX);
        EXPECT(t == 0);
    }
    EXPECT_ERR(agp_date_parse(&t, "2026-12-01", 9), AGP_ERR_SYNTAX);
    EXPECT_ERR(agp_date_parse(&t, "2026-12-01\0", 11), AGP_ERR_SYNTAX);
}

int main(void)
{
    static const uint8_t url_bytes[] = {0xfb, 0xff, 0xbf};
    uint8_t dec[16], a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 4}, z[64] = {0}, r[64] = {0};
    char enc[16];
    size_t len;

    /* RFC 4648 §10 */
    check_b64("", "");
    check_b64("f", "Zg==");
    check_b64("fo", "Zm8=");
    check_b64("foo", "Zm9v");
    check_b64("foob", "Zm9vYg==");
    check_b64("fooba", "Zm9vYmE=");
    check_b64("foobar", "Zm9vYmFy");
    /* the url alphabet: - and _ instead of + and / */
    EXPECT_OK(agp_b64url_encode(enc, sizeof enc, &len, url_bytes, 3));
    EXPECT(strcmp(enc, "-_-_") == 0);
    /* unpadded */
    EXPECT_OK(agp_b64url_encode_nopad(enc, 3, &len, (const uint8_t *)"f", 1));
    EXPECT(len == 2 && strcmp(enc, "Zg") == 0);
    EXPECT_OK(agp_b64url_encode_nopad(enc, 4, &len, (const uint8_t *)"fo", 2));
    EXPECT(len == 3 && strcmp(enc, "Zm8") == 0);
    EXPECT_OK(agp_b64url_encode_nopad(enc, 5, &len, (const uint8_t *)"foo", 3));
    EXPECT(len == 4 && strcmp(enc, "Zm9v") == 0);
    EXPECT_ERR(agp_b64url_encode_nopad(enc, 4, &len, (const uint8_t *)"foo", 3), AGP_ERR_TOO_BIG);
    EXPECT_ERR(agp_b64url_decode(dec, sizeof dec, &len, "+/+/", 4), AGP_ERR_ENCODING);
    /* strictness */
    EXPECT_ERR(agp_b64url_decode(dec, sizeof dec, &len, "Zg=", 3), AGP_ERR_ENCODING);
    EXPECT_ERR(agp_b64url_decode(dec, sizeof dec, &len, "Zg===", 5), AGP_ERR_ENCODING);
    EXPECT_ERR(agp_b64url_decode(dec, sizeof dec, &len, "Zm9v=", 5), AGP_ERR_ENCODING);
    EXPECT_ERR(agp_b64url_decode(dec, sizeof dec, &len, "Z", 1), AGP_ERR_ENCODING);
    EXPECT_ERR(agp_b64url_decode(dec, sizeof dec, &len, "Zh==", 4), AGP_ERR_ENCODING);
    EXPECT_ERR(agp_b64url_decode(dec, sizeof dec, &len, "Zm9=", 4), AGP_ERR_ENCODING);
    EXPECT_ERR(agp_b64url_decode(dec, sizeof dec, &len, "Zg==Zg==", 8), AGP_ERR_ENCODING);
    EXPECT_ERR(agp_b64url_decode(dec, sizeof dec, &len, "Zm 9v", 5), AGP_ERR_ENCODING);
    EXPECT_ERR(agp_b64url_decode(dec, sizeof dec, &len, "Zm9v\0", 5), AGP_ERR_ENCODING);
    EXPECT(len == 0);

    EXPECT(agp_ct_eq(a, b, 4) == 1);
    b[3] ^= 0x80;
    EXPECT(agp_ct_eq(a, b, 4) == 0);
    EXPECT(agp_ct_eq(a, b, 3) == 1);

    AGP_WIPE(a);
    EXPECT(a[0] == 0 && a[3] == 0);
    EXPECT_OK(agp_random(r, sizeof r));
    EXPECT(memcmp(r, z, sizeof r) != 0);
    test_seal();
    test_date();
    TEST_END();
}
