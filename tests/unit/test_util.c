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
    TEST_END();
}
