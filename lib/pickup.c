/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/pickup.c: the pickup cookie and the sealed pickup record of
 * agepass/pickup.h (AES-256-GCM through OpenSSL's EVP).
 */
#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>

#include "agepass/pickup.h"
#include "agepass/util.h"
#include "internal.h"

#define NONCE_LEN 12
#define TAG_LEN   16
#define AAD_LABEL "agepass pickup v1"

/* see agepass/pickup.h */
agp_err agp_pickup_cookie_parse(uint8_t secret[AGP_PICKUP_SECRET_LEN], const char *in, size_t len)
{
    size_t got = 0;
    agp_err err = AGP_ERR_LENGTH;
    if (len != AGP_PICKUP_COOKIE_LEN) goto out;
    err = AGP_ERR_ENCODING;
    if (memchr(in, '=', len) != NULL ||
        agp_b64url_decode(secret, AGP_PICKUP_SECRET_LEN, &got, in, len) != AGP_OK ||
        got != AGP_PICKUP_SECRET_LEN)
        goto out;
    err = AGP_OK;
out:
    if (err != AGP_OK) agp_wipe(secret, AGP_PICKUP_SECRET_LEN);
    return err;
}

static bool b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* Whether p is one of the two forms of agepass/pickup.h. */
static bool well_formed(const struct agp_pickup *p)
{
    size_t i;
    if (p->kind == AGP_PICKUP_UNDER_AGE) return p->age == 0 && p->tokens == 0 && p->expires_at == 0;
    if (p->kind != AGP_PICKUP_GRANT || p->age < 1 || p->age > 150 || p->tokens < 1 ||
        p->tokens > 65535 || p->expires_at <= 0)
        return false;
    for (i = 0; i < AGP_PICKUP_GRANT_LEN; i++)
        if (!b64url_char(p->grant[i])) return false;
    return p->grant[AGP_PICKUP_GRANT_LEN] == '\0';
}

/* AES-256-GCM one way or the other over len bytes; the tag is written (enc) or checked. */
static agp_err gcm(int enc, const uint8_t key[32], const uint8_t nonce[NONCE_LEN],
                   const uint8_t id[32], const uint8_t *in, uint8_t *out, size_t len,
                   uint8_t tag[TAG_LEN])
{
    uint8_t aad[sizeof AAD_LABEL - 1 + 32];
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    agp_err err = AGP_ERR_CRYPTO;
    int n = 0;
    memcpy(aad, AAD_LABEL, sizeof AAD_LABEL - 1);
    memcpy(aad + sizeof AAD_LABEL - 1, id, 32);
    if (c == NULL) goto out;
    if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
        EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) != 1 ||
        EVP_CipherUpdate(c, NULL, &n, aad, (int)sizeof aad) != 1 ||
        EVP_CipherUpdate(c, out, &n, in, (int)len) != 1 || (size_t)n != len)
        goto out;
    if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1) goto out;
    if (EVP_CipherFinal_ex(c, out + len, &n) != 1) {
        err = enc ? AGP_ERR_CRYPTO : AGP_ERR_SIGNATURE;
        goto out;
    }
    if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1) goto out;
    err = AGP_OK;
out:
    EVP_CIPHER_CTX_free(c);
    return err;
}

/* see agepass/pickup.h */
agp_err agp_pickup_seal(uint8_t out[AGP_PICKUP_RECORD_LEN], const uint8_t key[32],
                        const uint8_t id[32], const struct agp_pickup *p)
{
    uint8_t body[AGP_PICKUP_BODY_LEN];
    agp_err err = AGP_ERR_ARG;
    size_t i;
    if (!well_formed(p)) goto out;
    memset(body, 0, sizeof body);
    body[0] = (uint8_t)p->kind;
    body[1] = (uint8_t)p->age;
    body[2] = (uint8_t)(p->tokens >> 8);
    body[3] = (uint8_t)p->tokens;
    for (i = 0; i < 8; i++)
        body[4 + i] = (uint8_t)((uint64_t)p->expires_at >> (56 - 8 * i));
    if (p->kind == AGP_PICKUP_GRANT) memcpy(body + 12, p->grant, AGP_PICKUP_GRANT_LEN);
    if ((err = agp_random(out, NONCE_LEN)) != AGP_OK) goto out;
    err = gcm(1, key, out, id, body, out + NONCE_LEN, sizeof body,
              out + NONCE_LEN + AGP_PICKUP_BODY_LEN);
out:
    if (err != AGP_OK) agp_wipe(out, AGP_PICKUP_RECORD_LEN);
    AGP_WIPE(body);
    return err;
}

/* see agepass/pickup.h */
agp_err agp_pickup_open(struct agp_pickup *p, const uint8_t key[32], const uint8_t id[32],
                        const uint8_t *in, size_t len)
{
    uint8_t body[AGP_PICKUP_BODY_LEN + 16], tag[TAG_LEN];
    uint64_t exp = 0;
    agp_err err = AGP_ERR_LENGTH;
    size_t i;
    memset(p, 0, sizeof *p);
    if (len != AGP_PICKUP_RECORD_LEN) goto out;
    memcpy(tag, in + NONCE_LEN + AGP_PICKUP_BODY_LEN, TAG_LEN);
    if ((err = gcm(0, key, in, id, in + NONCE_LEN, body, AGP_PICKUP_BODY_LEN, tag)) != AGP_OK)
        goto out;
    for (i = 0; i < 8; i++)
        exp = exp << 8 | body[4 + i];
    err = AGP_ERR_SYNTAX;
    if (exp > INT64_MAX) goto out;
    p->kind = (enum agp_pickup_kind)body[0];
    p->age = body[1];
    p->tokens = (unsigned)body[2] << 8 | body[3];
    p->expires_at = (int64_t)exp;
    memcpy(p->grant, body + 12, AGP_PICKUP_GRANT_LEN);
    p->grant[AGP_PICKUP_GRANT_LEN] = '\0';
    if (p->kind == AGP_PICKUP_UNDER_AGE) {
        for (i = 0; i < AGP_PICKUP_GRANT_LEN; i++)
            if (body[12 + i] != 0) goto out;
        p->grant[0] = '\0';
    }
    if (!well_formed(p)) goto out;
    err = AGP_OK;
out:
    if (err != AGP_OK) agp_wipe(p, sizeof *p);
    AGP_WIPE(body);
    return err;
}
