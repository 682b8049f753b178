/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_pickup.c: agepass/pickup.h, the pickup cookie and the
 * sealed pickup record.
 *
 * Cookie: 43 base64url characters exactly; one shorter or longer, padding,
 * the standard alphabet, a non-canonical last character, a NUL refused,
 * the secret zeroed. Record: both kinds seal and open to the same fields;
 * another key, another id, any byte altered: AGP_ERR_SIGNATURE; one byte
 * short or long: AGP_ERR_LENGTH; fields out of range refused at sealing;
 * two seals of one record differ (a fresh nonce); p zeroed on failure.
 *
 * usage: test_pickup [VECTOR_DIR]   (the argument is ignored)
 */
#include <stdbool.h>
#include <string.h>

#include "agepass/pickup.h"
#include "agepass/util.h"
#include "test.h"

static bool zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;
    for (i = 0; i < n; i++)
        if (b[i] != 0) return false;
    return true;
}

static void check_cookie(void)
{
    static const char good[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    uint8_t p[AGP_PICKUP_SECRET_LEN];
    char text[64];
    size_t i;

    EXPECT(strlen(good) == AGP_PICKUP_COOKIE_LEN);
    EXPECT_OK(agp_pickup_cookie_parse(p, good, strlen(good)));
    for (i = 0; i < sizeof p; i++)
        EXPECT(p[i] == i);
    EXPECT_ERR(agp_pickup_cookie_parse(p, good, strlen(good) - 1), AGP_ERR_LENGTH);
    EXPECT(zero(p, sizeof p));
    snprintf(text, sizeof text, "%sA", good);
    EXPECT_ERR(agp_pickup_cookie_parse(p, text, strlen(text)), AGP_ERR_LENGTH);
    snprintf(text, sizeof text, "%.42s=", good);
    EXPECT_ERR(agp_pickup_cookie_parse(p, text, strlen(text)), AGP_ERR_ENCODING);
    snprintf(text, sizeof text, "+%s", good + 1);
    EXPECT_ERR(agp_pickup_cookie_parse(p, text, strlen(text)), AGP_ERR_ENCODING);
    snprintf(text, sizeof text, "/%s", good + 1);
    EXPECT_ERR(agp_pickup_cookie_parse(p, text, strlen(text)), AGP_ERR_ENCODING);
    /* the last character's two unused bits set: another encoding of the same bytes */
    snprintf(text, sizeof text, "%.42s9", good);
    EXPECT_ERR(agp_pickup_cookie_parse(p, text, strlen(text)), AGP_ERR_ENCODING);
    EXPECT(zero(p, sizeof p));
    memcpy(text, good, sizeof good);
    text[10] = '\0';
    EXPECT_ERR(agp_pickup_cookie_parse(p, text, strlen(good)), AGP_ERR_ENCODING);
    text[10] = ' ';
    EXPECT_ERR(agp_pickup_cookie_parse(p, text, strlen(good)), AGP_ERR_ENCODING);
}

static struct agp_pickup a_grant(void)
{
    struct agp_pickup g;
    memset(&g, 0, sizeof g);
    g.kind = AGP_PICKUP_GRANT;
    g.age = 18;
    g.tokens = 30;
    g.expires_at = 1800003600;
    memcpy(g.grant, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123-_x", AGP_PICKUP_GRANT_LEN);
    return g;
}

static void check_record(void)
{
    uint8_t key[32], key2[32], id[32], id2[32], rec[AGP_PICKUP_RECORD_LEN],
        rec2[AGP_PICKUP_RECORD_LEN], big[AGP_PICKUP_RECORD_LEN + 1];
    struct agp_pickup g = a_grant(), u, got, bad;
    size_t i;

    memset(key, 1, sizeof key);
    memset(key2, 2, sizeof key2);
    memset(id, 3, sizeof id);
    memset(id2, 4, sizeof id2);
    EXPECT_OK(agp_pickup_seal(rec, key, id, &g));
    EXPECT_OK(agp_pickup_open(&got, key, id, rec, sizeof rec));
    EXPECT(got.kind == AGP_PICKUP_GRANT && got.age == 18 && got.tokens == 30 &&
           got.expires_at == 1800003600 && strcmp(got.grant, g.grant) == 0);
    /* the grant is not in the record in clear */
    for (i = 0; i + 8 <= sizeof rec; i++)
        EXPECT(memcmp(rec + i, g.grant, 8) != 0);
    /* a fresh nonce each time */
    EXPECT_OK(agp_pickup_seal(rec2, key, id, &g));
    EXPECT(memcmp(rec, rec2, sizeof rec) != 0);
    /* another key, another id */
    EXPECT_ERR(agp_pickup_open(&got, key2, id, rec, sizeof rec), AGP_ERR_SIGNATURE);
    EXPECT(zero(&got, sizeof got));
    EXPECT_ERR(agp_pickup_open(&got, key, id2, rec, sizeof rec), AGP_ERR_SIGNATURE);
    /* every byte altered */
    for (i = 0; i < sizeof rec; i++) {
        rec[i] ^= 0x01;
        EXPECT_ERR(agp_pickup_open(&got, key, id, rec, sizeof rec), AGP_ERR_SIGNATURE);
        rec[i] ^= 0x01;
    }
    /* lengths */
    EXPECT_ERR(agp_pickup_open(&got, key, id, rec, sizeof rec - 1), AGP_ERR_LENGTH);
    memcpy(big, rec, sizeof rec);
    big[sizeof rec] = 0;
    EXPECT_ERR(agp_pickup_open(&got, key, id, big, sizeof big), AGP_ERR_LENGTH);
    EXPECT_ERR(agp_pickup_open(&got, key, id, rec, 0), AGP_ERR_LENGTH);
    EXPECT_OK(agp_pickup_open(&got, key, id, rec, sizeof rec));

    /* refused as under age */
    memset(&u, 0, sizeof u);
    u.kind = AGP_PICKUP_UNDER_AGE;
    EXPECT_OK(agp_pickup_seal(rec, key, id, &u));
    EXPECT_OK(agp_pickup_open(&got, key, id, rec, sizeof rec));
    EXPECT(got.kind == AGP_PICKUP_UNDER_AGE && got.age == 0 && got.tokens == 0 &&
           got.expires_at == 0 && got.grant[0] == '\0');

    /* what cannot be sealed */
    bad = g, bad.age = 0;
    EXPECT_ERR(agp_pickup_seal(rec, key, id, &bad), AGP_ERR_ARG);
    EXPECT(zero(rec, sizeof rec));
    bad = g, bad.age = 151;
    EXPECT_ERR(agp_pickup_seal(rec, key, id, &bad), AGP_ERR_ARG);
    bad = g, bad.tokens = 0;
    EXPECT_ERR(agp_pickup_seal(rec, key, id, &bad), AGP_ERR_ARG);
    bad = g, bad.tokens = 65536;
    EXPECT_ERR(agp_pickup_seal(rec, key, id, &bad), AGP_ERR_ARG);
    bad = g, bad.expires_at = 0;
    EXPECT_ERR(agp_pickup_seal(rec, key, id, &bad), AGP_ERR_ARG);
    bad = g, bad.grant[5] = '=';
    EXPECT_ERR(agp_pickup_seal(rec, key, id, &bad), AGP_ERR_ARG);
    bad = g, bad.grant[AGP_PICKUP_GRANT_LEN - 1] = '\0';
    EXPECT_ERR(agp_pickup_seal(rec, key, id, &bad), AGP_ERR_ARG);
    bad = g, bad.kind = (enum agp_pickup_kind)3;
    EXPECT_ERR(agp_pickup_seal(rec, key, id, &bad), AGP_ERR_ARG);
    bad = u, bad.age = 18;
    EXPECT_ERR(agp_pickup_seal(rec, key, id, &bad), AGP_ERR_ARG);
    bad = g, bad.age = 150, bad.tokens = 65535, bad.expires_at = INT64_MAX;
    EXPECT_OK(agp_pickup_seal(rec, key, id, &bad));
    EXPECT_OK(agp_pickup_open(&got, key, id, rec, sizeof rec));
    EXPECT(got.age == 150 && got.tokens == 65535 && got.expires_at == INT64_MAX);
}

int main(void)
{
    check_cookie();
    check_record();
    TEST_END();
}
