/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/cose.c: COSE_Sign1 (ES256), COSE_Mac0 (HMAC 256/256) and P-256
 * COSE_Key, as ISO/IEC 18013-5 uses them (see agepass/cose.h).
 *
 * The to-be-signed structure is never assembled in memory: its CBOR heads
 * are written to a small buffer and fed, with the spans they frame, to
 * the digest or MAC context one after the other.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>

#include "agepass/cbor.h"
#include "agepass/cose.h"
#include "internal.h"

#define HDR_MAP_MAX 16 /* header labels in one bucket */

/*
 * RFC 9360 §2: x5chain = COSE_X509
 *   COSE_X509 = bstr / [ 2*certs: bstr ]
 */
static agp_err read_x5chain(struct agp_cose_msg *m, struct agp_reader *r)
{
    uint8_t major;
    size_t n, i;
    AGP_ENSURE(m->x5chain_len == 0, AGP_ERR_SYNTAX); /* given twice */
    AGP_TRY(agp_cbor_peek(r, &major));
    if (major == AGP_CBOR_BSTR) {
        AGP_TRY(agp_cbor_bstr(r, AGP_COSE_CERT_MAX, &m->x5chain[0]));
        AGP_ENSURE(m->x5chain[0].len > 0, AGP_ERR_LENGTH);
        m->x5chain_len = 1;
        return AGP_OK;
    }
    AGP_TRY(agp_cbor_array(r, AGP_COSE_X5CHAIN_MAX, &n));
    AGP_ENSURE(n >= 2, AGP_ERR_LENGTH);
    for (i = 0; i < n; i++) {
        AGP_TRY(agp_cbor_bstr(r, AGP_COSE_CERT_MAX, &m->x5chain[i]));
        AGP_ENSURE(m->x5chain[i].len > 0, AGP_ERR_LENGTH);
    }
    m->x5chain_len = n;
    return AGP_OK;
}

/*
 * RFC 9052 §3: header_map = { Generic_Headers, * label => values }
 * Labels are integers or text; we read alg (1) and x5chain (33) and skip
 * the others. A label seen twice in one map is refused.
 */
static agp_err read_headers(struct agp_cose_msg *m, struct agp_reader *r, bool is_protected,
                            bool *alg_seen)
{
    int64_t seen[HDR_MAP_MAX], label;
    size_t n, i, j, nseen = 0;
    uint8_t major;
    struct agp_span skip;
    AGP_TRY(agp_cbor_map(r, HDR_MAP_MAX, &n));
    for (i = 0; i < n; i++) {
        AGP_TRY(agp_cbor_peek(r, &major));
        if (major == AGP_CBOR_TSTR) {
            AGP_TRY(agp_cbor_tstr(r, 256, &skip));
            AGP_TRY(agp_cbor_item(r, AGP_CBOR_MAX_DEPTH - 4, &skip));
            continue;
        }
        AGP_TRY(agp_cbor_int(r, &label));
        for (j = 0; j < nseen; j++)
            AGP_ENSURE(seen[j] != label, AGP_ERR_SYNTAX);
        seen[nseen++] = label;
        if (label == AGP_COSE_HDR_ALG) {
            AGP_ENSURE(is_protected && !*alg_seen, AGP_ERR_SYNTAX);
            AGP_TRY(agp_cbor_int(r, &m->alg));
            *alg_seen = true;
        } else if (label == AGP_COSE_HDR_X5CHAIN) {
            AGP_TRY(read_x5chain(m, r));
        } else {
            AGP_TRY(agp_cbor_item(r, AGP_CBOR_MAX_DEPTH - 4, &skip));
        }
    }
    return AGP_OK;
}

/*
 * RFC 9052 §4.2 and §6.2:
 *   COSE_Sign1 = [ Headers, payload : bstr / nil, signature : bstr ]
 *   COSE_Mac0  = [ Headers, payload : bstr / nil, tag : bstr ]
 *   Headers = ( protected : empty_or_serialized_map, unprotected : header_map )
 *   empty_or_serialized_map = bstr .cbor header_map / bstr .size 0
 */
agp_err agp_cose_parse(struct agp_cose_msg *m, struct agp_reader *r, bool mac)
{
    struct agp_reader ph;
    uint64_t tag;
    uint8_t major;
    size_t n;
    bool alg_seen = false;
    memset(m, 0, sizeof *m);
    AGP_TRY(agp_cbor_peek(r, &major));
    if (major == AGP_CBOR_TAG) {
        AGP_TRY(agp_cbor_tag(r, &tag));
        AGP_ENSURE(tag == (mac ? 17u : 18u), AGP_ERR_SYNTAX);
    }
    AGP_TRY(agp_cbor_array(r, 4, &n));
    AGP_ENSURE(n == 4, AGP_ERR_SYNTAX);
    AGP_TRY(agp_cbor_bstr(r, 1024, &m->protected_hdr));
    AGP_ENSURE(m->protected_hdr.len > 0, AGP_ERR_SYNTAX); /* alg must be protected */
    agp_reader_init(&ph, m->protected_hdr.ptr, m->protected_hdr.len);
    AGP_TRY(read_headers(m, &ph, true, &alg_seen));
    AGP_TRY(agp_read_end(&ph));
    AGP_TRY(read_headers(m, r, false, &alg_seen));
    AGP_ENSURE(alg_seen, AGP_ERR_SYNTAX);
    AGP_TRY(agp_cbor_peek(r, &major));
    if (major == AGP_CBOR_SIMPLE) {
        AGP_TRY(agp_cbor_null(r));
        m->detached = true;
    } else {
        AGP_TRY(agp_cbor_bstr(r, AGP_COSE_PAYLOAD_MAX, &m->payload));
    }
    return agp_cbor_bstr(r, 256, &m->sig);
}

typedef int (*update_fn)(void *ctx, const unsigned char *p, size_t n);

static int digest_update(void *ctx, const unsigned char *p, size_t n)
{
    return EVP_DigestVerifyUpdate(ctx, p, n);
}

static int mac_update(void *ctx, const unsigned char *p, size_t n)
{
    return EVP_MAC_update(ctx, p, n);
}

/*
 * RFC 9052 §4.4 and §6.3:
 *   Sig_structure = [ context : "Signature1", body_protected : empty_or_serialized_map,
 *                     external_aad : bstr, payload : bstr ]
 *   MAC_structure = [ context : "MAC0", protected : empty_or_serialized_map,
 *                     external_aad : bstr, payload : bstr ]
 * external_aad is empty in ISO 18013-5.
 */
static agp_err feed_tbs(update_fn upd, void *ctx, const char *context, const struct agp_cose_msg *m,
                        const struct agp_span *parts, size_t nparts)
{
    uint8_t head[64];
    struct agp_writer w;
    size_t total = 0, i;
    if (m->detached) {
        AGP_ENSURE(nparts > 0, AGP_ERR_ARG);
        for (i = 0; i < nparts; i++) {
            AGP_ENSURE(parts[i].len <= AGP_COSE_PAYLOAD_MAX * 4 - total, AGP_ERR_TOO_BIG);
            total += parts[i].len;
        }
    } else {
        AGP_ENSURE(nparts == 0, AGP_ERR_ARG);
        parts = &m->payload;
        nparts = 1;
        total = m->payload.len;
    }
    agp_writer_init(&w, head, sizeof head);
    AGP_TRY(agp_cbor_put_head(&w, AGP_CBOR_ARRAY, 4));
    AGP_TRY(agp_cbor_put_tstr(&w, context, strlen(context)));
    AGP_TRY(agp_cbor_put_head(&w, AGP_CBOR_BSTR, m->protected_hdr.len));
    AGP_ENSURE(upd(ctx, head, w.len) == 1, AGP_ERR_CRYPTO);
    AGP_ENSURE(upd(ctx, m->protected_hdr.ptr, m->protected_hdr.len) == 1, AGP_ERR_CRYPTO);
    agp_writer_init(&w, head, sizeof head);
    AGP_TRY(agp_cbor_put_head(&w, AGP_CBOR_BSTR, 0)); /* external_aad */
    AGP_TRY(agp_cbor_put_head(&w, AGP_CBOR_BSTR, total));
    AGP_ENSURE(upd(ctx, head, w.len) == 1, AGP_ERR_CRYPTO);
    for (i = 0; i < nparts; i++)
        if (parts[i].len > 0) AGP_ENSURE(upd(ctx, parts[i].ptr, parts[i].len) == 1, AGP_ERR_CRYPTO);
    return AGP_OK;
}

static bool is_p256(EVP_PKEY *pkey)
{
    char group[32];
    size_t len = 0;
    return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC &&
           EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                          &len) == 1 &&
           strcmp(group, "prime256v1") == 0;
}

/* RFC 9053 §2.1: the signature is r || s, each 32 bytes; OpenSSL wants DER. */
static agp_err es256_to_der(uint8_t *der, size_t cap, size_t *der_len, struct agp_span sig)
{
    ECDSA_SIG *s = NULL;
    BIGNUM *r = NULL, *ss = NULL;
    unsigned char *p = der;
    agp_err err = AGP_ERR_CRYPTO;
    int n;
    AGP_ENSURE(sig.len == AGP_COSE_ES256_SIG_LEN, AGP_ERR_SIGNATURE);
    if ((s = ECDSA_SIG_new()) == NULL || (r = BN_bin2bn(sig.ptr, 32, NULL)) == NULL ||
        (ss = BN_bin2bn(sig.ptr + 32, 32, NULL)) == NULL)
        goto out;
    if (ECDSA_SIG_set0(s, r, ss) != 1) goto out;
    r = ss = NULL; /* owned by s now */
    n = i2d_ECDSA_SIG(s, NULL);
    if (n <= 0 || (size_t)n > cap) goto out;
    n = i2d_ECDSA_SIG(s, &p);
    if (n <= 0) goto out;
    *der_len = (size_t)n;
    err = AGP_OK;
out:
    BN_free(r);
    BN_free(ss);
    ECDSA_SIG_free(s);
    return err;
}

/* see agepass/cose.h */
agp_err agp_cose_sign1_verify(const struct agp_cose_msg *m, EVP_PKEY *pub,
                              const struct agp_span *parts, size_t nparts)
{
    EVP_MD_CTX *ctx = NULL;
    uint8_t der[80];
    size_t der_len = 0;
    agp_err err;
    int ok;
    AGP_ENSURE(m->alg == AGP_COSE_ALG_ES256 && is_p256(pub), AGP_ERR_KEY);
    AGP_TRY(es256_to_der(der, sizeof der, &der_len, m->sig));
    if ((ctx = EVP_MD_CTX_new()) == NULL) return AGP_ERR_NOMEM;
    err = AGP_ERR_CRYPTO;
    if (EVP_DigestVerifyInit(ctx, NULL, agp_md_sha256(), NULL, pub) != 1) goto out;
    if ((err = feed_tbs(digest_update, ctx, "Signature1", m, parts, nparts)) != AGP_OK) goto out;
    ok = EVP_DigestVerifyFinal(ctx, der, der_len);
    err = ok == 1 ? AGP_OK : AGP_ERR_SIGNATURE;
out:
    EVP_MD_CTX_free(ctx);
    return err;
}

/* see agepass/cose.h */
agp_err agp_cose_mac0_verify(const struct agp_cose_msg *m, const uint8_t key[32],
                             const struct agp_span *parts, size_t nparts)
{
    EVP_MAC *mac = NULL;
    EVP_MAC_CTX *ctx = NULL;
    OSSL_PARAM params[2];
    uint8_t tag[EVP_MAX_MD_SIZE];
    size_t tag_len = 0;
    agp_err err = AGP_ERR_CRYPTO;
    AGP_ENSURE(m->alg == AGP_COSE_ALG_HMAC256, AGP_ERR_KEY);
    AGP_ENSURE(m->sig.len == AGP_COSE_HMAC256_TAG_LEN, AGP_ERR_SIGNATURE);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL || (ctx = EVP_MAC_CTX_new(mac)) == NULL ||
        EVP_MAC_init(ctx, key, 32, params) != 1)
        goto out;
    if ((err = feed_tbs(mac_update, ctx, "MAC0", m, parts, nparts)) != AGP_OK) goto out;
    err = AGP_ERR_CRYPTO;
    if (EVP_MAC_final(ctx, tag, &tag_len, sizeof tag) != 1 || tag_len != 32) goto out;
    err = agp_ct_eq(tag, m->sig.ptr, 32) ? AGP_OK : AGP_ERR_SIGNATURE;
out:
    AGP_WIPE(tag);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return err;
}

/* see agepass/cose.h */
agp_err agp_p256_public(EVP_PKEY **out, const uint8_t x[32], const uint8_t y[32])
{
    EVP_PKEY_CTX *ctx = NULL;
    OSSL_PARAM params[3];
    uint8_t point[65];
    agp_err err = AGP_ERR_KEY;
    *out = NULL;
    point[0] = 0x04; /* SEC 1 §2.3.3, uncompressed */
    memcpy(point + 1, x, 32);
    memcpy(point + 33, y, 32);
    params[0] =
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point);
    params[2] = OSSL_PARAM_construct_end();
    if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL) {
        err = AGP_ERR_NOMEM;
        goto out;
    }
    /* fromdata checks that the point is on the curve */
    if (EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        *out = NULL;
        goto out;
    }
    err = AGP_OK;
out:
    EVP_PKEY_CTX_free(ctx);
    return err;
}

/*
 * RFC 9053 §7.1.1 (EC2 keys), RFC 9052 §7:
 *   COSE_Key = { 1 => kty (2: EC2), -1 => crv (1: P-256),
 *                -2 => x : bstr, -3 => y : bstr, * label => values }
 * ISO 18013-5 §9.1.5.2 requires the uncompressed form (y a bstr).
 */
agp_err agp_cose_key_p256(EVP_PKEY **out, struct agp_span cose_key)
{
    struct agp_reader r;
    struct agp_span x = {0}, y = {0}, skip;
    int64_t label, v, seen[HDR_MAP_MAX];
    size_t n, i, j;
    bool kty = false, crv = false;
    *out = NULL;
    agp_reader_init(&r, cose_key.ptr, cose_key.len);
    AGP_TRY(agp_cbor_map(&r, HDR_MAP_MAX, &n));
    for (i = 0; i < n; i++) {
        AGP_TRY(agp_cbor_int(&r, &label));
        for (j = 0; j < i; j++)
            AGP_ENSURE(seen[j] != label, AGP_ERR_SYNTAX);
        seen[i] = label;
        if (label == 1) {
            AGP_TRY(agp_cbor_int(&r, &v));
            AGP_ENSURE(v == 2, AGP_ERR_KEY);
            kty = true;
        } else if (label == -1) {
            AGP_TRY(agp_cbor_int(&r, &v));
            AGP_ENSURE(v == 1, AGP_ERR_KEY);
            crv = true;
        } else if (label == -2) {
            AGP_TRY(agp_cbor_bstr(&r, 32, &x));
        } else if (label == -3) {
            AGP_TRY(agp_cbor_bstr(&r, 32, &y));
        } else {
            AGP_TRY(agp_cbor_item(&r, 4, &skip));
        }
    }
    AGP_TRY(agp_read_end(&r));
    AGP_ENSURE(kty && crv && x.len == 32 && y.len == 32, AGP_ERR_KEY);
    return agp_p256_public(out, x.ptr, y.ptr);
}
