/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/util.c: wiping, constant-time comparison, randomness, hashing and
 * base64url (RFC 4648 §5).
 */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "internal.h"

/* see agepass/util.h */
void agp_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0) OPENSSL_cleanse(p, n);
}

/* see agepass/util.h */
int agp_ct_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

/* see agepass/util.h */
agp_err agp_random(uint8_t *out, size_t n)
{
    if (n > (size_t)0x7fffffff) return AGP_ERR_ARG;
    if (RAND_bytes(out, (int)n) != 1) {
        agp_wipe(out, n);
        return AGP_ERR_RANDOM;
    }
    return AGP_OK;
}

static EVP_MD *md256, *md384;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void fetch_digests(void)
{
    md256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    md384 = EVP_MD_fetch(NULL, "SHA384", NULL);
}

const EVP_MD *agp_md_sha256(void)
{
    pthread_once(&md_once, fetch_digests);
    return md256 ? md256 : EVP_sha256();
}

const EVP_MD *agp_md_sha384(void)
{
    pthread_once(&md_once, fetch_digests);
    return md384 ? md384 : EVP_sha384();
}

static agp_err digest(const EVP_MD *md, uint8_t *out, const uint8_t *in, size_t len)
{
    return EVP_Digest(in, len, out, NULL, md, NULL) == 1 ? AGP_OK : AGP_ERR_CRYPTO;
}

agp_err agp_sha256(uint8_t out[AGP_SHA256_LEN], const uint8_t *in, size_t len)
{
    return digest(agp_md_sha256(), out, in, len);
}

agp_err agp_sha384(uint8_t out[AGP_SHA384_LEN], const uint8_t *in, size_t len)
{
    return digest(agp_md_sha384(), out, in, len);
}

agp_err agp_hmac_sha256(uint8_t out[AGP_SHA256_LEN], const uint8_t *key, size_t key_len,
                        const uint8_t *data, size_t data_len)
{
    size_t out_len = 0;
    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len, data, data_len, out,
                  AGP_SHA256_LEN, &out_len) == NULL ||
        out_len != AGP_SHA256_LEN)
        return AGP_ERR_CRYPTO;
    return AGP_OK;
}

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Padded (pad) or not: the one encoder behind both public ones. */
static agp_err b64url_encode(char *out, size_t out_cap, size_t *out_len, const uint8_t *in,
                             size_t n, bool pad)
{
    size_t need, i, o = 0;
    if (out_len) *out_len = 0;
    AGP_ENSURE(n <= ((size_t)-1 / 4) * 3 - 3, AGP_ERR_TOO_BIG);
    need = pad ? AGP_B64_ENC_LEN(n) : AGP_B64_NOPAD_LEN(n);
    AGP_ENSURE(out != NULL && out_cap > need, AGP_ERR_TOO_BIG);
    for (i = 0; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url_alphabet[v >> 18];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
        out[o++] = b64url_alphabet[(v >> 6) & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64url_alphabet[v >> 18];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
        if (pad) out[o++] = '=', out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64url_alphabet[v >> 18];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
        out[o++] = b64url_alphabet[(v >> 6) & 63];
        if (pad) out[o++] = '=';
    }
    out[o] = '\0';
    if (out_len) *out_len = o;
    return AGP_OK;
}

/* see agepass/util.h */
agp_err agp_b64url_encode(char *out, size_t out_cap, size_t *out_len, const uint8_t *in, size_t n)
{
    return b64url_encode(out, out_cap, out_len, in, n, true);
}

/* see agepass/util.h */
agp_err agp_b64url_encode_nopad(char *out, size_t out_cap, size_t *out_len, const uint8_t *in,
                                size_t n)
{
    return b64url_encode(out, out_cap, out_len, in, n, false);
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

/*
 * Decodes the unpadded body; n % 4 == 1 can never be valid.
 */
static agp_err decode_body(uint8_t *out, size_t out_cap, size_t *out_len, const char *in, size_t n)
{
    size_t i, o = 0, rem = n % 4, need = (n / 4) * 3 + (rem ? rem - 1 : 0);
    uint32_t acc = 0;
    AGP_ENSURE(rem != 1, AGP_ERR_ENCODING);
    AGP_ENSURE(need <= out_cap, AGP_ERR_TOO_BIG);
    for (i = 0; i < n; i++) {
        int v = b64url_value(in[i]);
        AGP_ENSURE(v >= 0, AGP_ERR_ENCODING);
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            out[o++] = (uint8_t)(acc >> 16);
            out[o++] = (uint8_t)(acc >> 8);
            out[o++] = (uint8_t)acc;
            acc = 0;
        }
    }
    if (rem == 2) {
        AGP_ENSURE((acc & 0xf) == 0, AGP_ERR_ENCODING); /* unused bits must be 0 */
        out[o++] = (uint8_t)(acc >> 4);
    } else if (rem == 3) {
        AGP_ENSURE((acc & 0x3) == 0, AGP_ERR_ENCODING);
        out[o++] = (uint8_t)(acc >> 10);
        out[o++] = (uint8_t)(acc >> 2);
    }
    *out_len = o;
    return AGP_OK;
}

/* see agepass/util.h */
agp_err agp_b64url_decode(uint8_t *out, size_t out_cap, size_t *out_len, const char *in, size_t n)
{
    size_t body = n, pad = 0;
    agp_err err;
    *out_len = 0;
    while (body > 0 && in[body - 1] == '=' && pad < 2) {
        body--;
        pad++;
    }
    /* padding, when present, must complete the last quantum exactly */
    if (pad > 0 && (n % 4 != 0 || (body % 4) + pad != 4))
        err = AGP_ERR_ENCODING;
    else
        err = decode_body(out, out_cap, out_len, in, body);
    if (err != AGP_OK) {
        agp_wipe(out, out_cap);
        *out_len = 0;
    }
    return err;
}

/* HMAC(key, label || body) where body = rnd || expiry || data. */
static agp_err seal_mac(uint8_t mac[AGP_SHA256_LEN], const uint8_t key[32], const char *label,
                        const uint8_t *body, size_t n)
{
    uint8_t msg[AGP_SEAL_LABEL_MAX + AGP_SEAL_RAW_MAX];
    size_t l = strlen(label);
    agp_err err;
    AGP_ENSURE(l <= AGP_SEAL_LABEL_MAX && n <= AGP_SEAL_RAW_MAX, AGP_ERR_ARG);
    memcpy(msg, label, l);
    memcpy(msg + l, body, n);
    err = agp_hmac_sha256(mac, key, 32, msg, l + n);
    agp_wipe(msg, sizeof msg);
    return err;
}

/* see agepass/util.h */
agp_err agp_seal(char *out, size_t out_cap, uint8_t rnd[AGP_SEAL_RND], const uint8_t key[32],
                 const char *label, int64_t expires_at, const uint8_t *data, size_t n)
{
    uint8_t raw[AGP_SEAL_RAW_MAX], mac[AGP_SHA256_LEN];
    size_t body = AGP_SEAL_RND + 8 + n, i;
    agp_err err;
    AGP_ENSURE(n <= AGP_SEAL_DATA_MAX && expires_at >= 0, AGP_ERR_ARG);
    if ((err = agp_random(raw, AGP_SEAL_RND)) != AGP_OK) return err;
    for (i = 0; i < 8; i++)
        raw[AGP_SEAL_RND + i] = (uint8_t)((uint64_t)expires_at >> (56 - 8 * i));
    if (n > 0) memcpy(raw + AGP_SEAL_RND + 8, data, n);
    if ((err = seal_mac(mac, key, label, raw, body)) == AGP_OK) {
        memcpy(raw + body, mac, AGP_SEAL_MAC);
        err = agp_b64url_encode_nopad(out, out_cap, NULL, raw, body + AGP_SEAL_MAC);
    }
    if (err == AGP_OK && rnd != NULL) memcpy(rnd, raw, AGP_SEAL_RND);
    agp_wipe(raw, sizeof raw);
    agp_wipe(mac, sizeof mac);
    return err;
}

/* see agepass/util.h */
agp_err agp_unseal(uint8_t rnd[AGP_SEAL_RND], int64_t *expires_at, uint8_t *data, size_t n,
                   const uint8_t key[32], const char *label, const char *in, size_t len,
                   int64_t now, int64_t max_ttl)
{
    uint8_t raw[AGP_SEAL_RAW_MAX + 3], mac[AGP_SHA256_LEN];
    size_t body = AGP_SEAL_RND + 8 + n, got = 0, i;
    uint64_t exp = 0;
    agp_err err = AGP_ERR_ARG;
    if (n > AGP_SEAL_DATA_MAX) goto out;
    err = AGP_ERR_LENGTH;
    if (len != AGP_B64_NOPAD_LEN(body + AGP_SEAL_MAC)) goto out;
    err = AGP_ERR_ENCODING;
    if (memchr(in, '=', len) != NULL ||
        agp_b64url_decode(raw, sizeof raw, &got, in, len) != AGP_OK || got != body + AGP_SEAL_MAC)
        goto out;
    if ((err = seal_mac(mac, key, label, raw, body)) != AGP_OK) goto out;
    err = AGP_ERR_SIGNATURE; /* before the expiry: a ticket of another key is not "expired" */
    if (!agp_ct_eq(mac, raw + body, AGP_SEAL_MAC)) goto out;
    for (i = 0; i < 8; i++)
        exp = exp << 8 | raw[AGP_SEAL_RND + i];
    err = AGP_ERR_EXPIRED;
    if (exp > INT64_MAX || (int64_t)exp <= now || (int64_t)exp - now > max_ttl) goto out;
    if (rnd != NULL) memcpy(rnd, raw, AGP_SEAL_RND);
    if (expires_at != NULL) *expires_at = (int64_t)exp;
    if (n > 0) memcpy(data, raw + AGP_SEAL_RND + 8, n);
    err = AGP_OK;
out:
    agp_wipe(raw, sizeof raw);
    agp_wipe(mac, sizeof mac);
    return err;
}

/* Days from 1970-01-01 to y-m-d: 400-year eras of 146097 days, years from March. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = y / 400; /* y >= 1969: no negative division */
    yoe = y - era * 400;
    doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* see agepass/util.h */
agp_err agp_date_parse(int64_t *out, const char *s, size_t len)
{
    static const unsigned char mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned v[3] = {0, 0, 0};
    size_t i, f = 0;
    bool leap;

    *out = 0;
    AGP_ENSURE(s != NULL && len == 10 && s[4] == '-' && s[7] == '-', AGP_ERR_SYNTAX);
    for (i = 0; i < len; i++) {
        if (i == 4 || i == 7) {
            f++;
            continue;
        }
        AGP_ENSURE(s[i] >= '0' && s[i] <= '9', AGP_ERR_SYNTAX);
        v[f] = v[f] * 10 + (unsigned)(s[i] - '0');
    }
    AGP_ENSURE(v[0] >= 1970 && v[1] >= 1 && v[1] <= 12 && v[2] >= 1, AGP_ERR_SYNTAX);
    leap = (v[0] % 4 == 0 && v[0] % 100 != 0) || v[0] % 400 == 0;
    AGP_ENSURE(v[2] <= mdays[v[1] - 1] && (v[1] != 2 || v[2] <= 28u + leap), AGP_ERR_SYNTAX);
    *out = days_from_civil(v[0], v[1], v[2]) * 86400;
    return AGP_OK;
}
