/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_rsabssa.c: RFC 9474 Appendix A, all four variants, plus
 * round trips with fresh randomness and the rejections of each step.
 *
 * usage: test_rsabssa VECTOR_DIR
 */
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "agepass/rsabssa.h"
#include "agepass/util.h"
#include "test.h"

static BIGNUM *hex_bn(json_t *v, const char *name)
{
    BIGNUM *bn = NULL;
    if (!BN_hex2bn(&bn, json_string_value(json_object_get(v, name)))) exit(2);
    return bn;
}

/* Builds a private key from the vector's p, q, n, e, d and loads it via PEM. */
static struct agp_key *vector_key(json_t *v)
{
    BIGNUM *p = hex_bn(v, "p"), *q = hex_bn(v, "q"), *n = hex_bn(v, "n"), *e = hex_bn(v, "e");
    BIGNUM *d = hex_bn(v, "d"), *dp = BN_new(), *dq = BN_new(), *qinv = BN_new();
    BIGNUM *p1 = BN_new(), *q1 = BN_new();
    BN_CTX *ctx = BN_CTX_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params;
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pkey = NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    struct agp_key *key = NULL;
    char *pem;
    long pem_len;

    BN_sub(p1, p, BN_value_one());
    BN_sub(q1, q, BN_value_one());
    BN_mod(dp, d, p1, ctx);
    BN_mod(dq, d, q1, ctx);
    BN_mod_inverse(qinv, q, p, ctx);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qinv);
    params = OSSL_PARAM_BLD_to_param(bld);
    if (EVP_PKEY_fromdata_init(pctx) != 1 ||
        EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1 ||
        !PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL))
        exit(2);
    pem_len = BIO_get_mem_data(bio, &pem);
    EXPECT_OK(agp_key_load_private_pem(&key, (const uint8_t *)pem, (size_t)pem_len));
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_CTX_free(ctx);
    BN_free(p), BN_free(q), BN_free(n), BN_free(e), BN_free(d);
    BN_free(dp), BN_free(dq), BN_free(qinv), BN_free(p1), BN_free(q1);
    return key;
}

/* r = inv^-1 mod n, as kLen bytes: the blind that produced the vector. */
static void blind_from_inv(uint8_t *r, size_t k, json_t *v, const char *inv_hex)
{
    BIGNUM *n = hex_bn(v, "n"), *inv = NULL, *rb = BN_new();
    BN_CTX *ctx = BN_CTX_new();
    if (!BN_hex2bn(&inv, inv_hex) || !BN_mod_inverse(rb, inv, n, ctx) ||
        BN_bn2binpad(rb, r, (int)k) != (int)k)
        exit(2);
    BN_free(n), BN_free(inv), BN_free(rb);
    BN_CTX_free(ctx);
}

static void pad_hex(uint8_t *out, size_t k, const char *hex)
{
    struct test_bytes b = test_hex(hex);
    if (b.len > k) exit(2);
    memset(out, 0, k);
    memcpy(out + k - b.len, b.ptr, b.len);
    free(b.ptr);
}

/* Known-answer test of Blind, BlindSign and Finalize for one blinding. */
static void check_blinding(const struct agp_key *key, enum agp_rsabssa_variant var, json_t *v,
                           const struct test_bytes *prepared, const char *inv_hex,
                           const char *blinded_hex, const char *blind_sig_hex)
{
    size_t k = agp_key_len(key);
    uint8_t r[AGP_RSA_MAX_LEN], inv[AGP_RSA_MAX_LEN], want_inv[AGP_RSA_MAX_LEN];
    uint8_t blinded[AGP_RSA_MAX_LEN], blind_sig[AGP_RSA_MAX_LEN], sig[AGP_RSA_MAX_LEN];
    struct test_bytes salt = test_json_hex(v, "salt"), want_blinded = test_hex(blinded_hex);
    struct test_bytes want_blind_sig = test_hex(blind_sig_hex), want_sig = test_json_hex(v, "sig");

    blind_from_inv(r, k, v, inv_hex);
    pad_hex(want_inv, k, inv_hex);
    EXPECT_OK(agp_rsabssa_blind(key, var, blinded, inv, prepared->ptr, prepared->len,
                                salt.len ? salt.ptr : NULL, r));
    EXPECT(want_blinded.len == k);
    EXPECT_BYTES(blinded, want_blinded.ptr, k);
    EXPECT_BYTES(inv, want_inv, k);
    EXPECT_OK(agp_rsabssa_blind_sign(key, blind_sig, blinded));
    EXPECT_BYTES(blind_sig, want_blind_sig.ptr, k);
    EXPECT_OK(agp_rsabssa_finalize(key, var, sig, blind_sig, inv, prepared->ptr, prepared->len));
    EXPECT_BYTES(sig, want_sig.ptr, k);
    free(salt.ptr), free(want_blinded.ptr), free(want_blind_sig.ptr), free(want_sig.ptr);
}

static void check_vector(json_t *v, enum agp_rsabssa_variant var)
{
    struct agp_key *key = vector_key(v);
    struct test_bytes msg = test_json_hex(v, "msg"), prefix = test_json_hex(v, "msg_prefix");
    struct test_bytes prepared = test_json_hex(v, "prepared_msg"), sig = test_json_hex(v, "sig");
    json_t *alt = json_object_get(v, "alternate_blinding");
    uint8_t buf[1024], bad[AGP_RSA_MAX_LEN], out[AGP_RSA_MAX_LEN], inv[AGP_RSA_MAX_LEN];
    size_t k, len;

    if (key == NULL) return;
    k = agp_key_len(key);
    EXPECT(k == 512);
    EXPECT(strcmp(agp_rsabssa_variant_name(var), json_string_value(json_object_get(v, "name"))) ==
           0);
    EXPECT(agp_rsabssa_salt_len(var) == (size_t)json_integer_value(json_object_get(v, "salt_len")));

    /* Prepare: prefix || msg (random prefix) or msg itself */
    EXPECT(prepared.len == prefix.len + msg.len);
    EXPECT_BYTES(prepared.ptr + prefix.len, msg.ptr, msg.len);
    EXPECT_OK(agp_rsabssa_prepare(var, buf, sizeof buf, &len, msg.ptr, msg.len));
    EXPECT(len == msg.len + (agp_rsabssa_is_randomized(var) ? AGP_RSABSSA_PREFIX_LEN : 0));
    EXPECT_BYTES(buf + len - msg.len, msg.ptr, msg.len);
    EXPECT_ERR(agp_rsabssa_prepare(var, buf, msg.len - 1, &len, msg.ptr, msg.len), AGP_ERR_TOO_BIG);

    check_blinding(key, var, v, &prepared, json_string_value(json_object_get(v, "inv")),
                   json_string_value(json_object_get(v, "blinded_msg")),
                   json_string_value(json_object_get(v, "blind_sig")));
    if (alt != NULL)
        check_blinding(key, var, v, &prepared, json_string_value(json_object_get(alt, "inv")),
                       json_string_value(json_object_get(alt, "blinded_msg")),
                       json_string_value(json_object_get(alt, "blind_sig")));

    /* Verify: the published signature, and what must not verify */
    EXPECT_OK(agp_rsabssa_verify(key, var, sig.ptr, prepared.ptr, prepared.len));
    memcpy(bad, sig.ptr, k);
    bad[k - 1] ^= 1;
    EXPECT_ERR(agp_rsabssa_verify(key, var, bad, prepared.ptr, prepared.len), AGP_ERR_SIGNATURE);
    EXPECT_ERR(agp_rsabssa_verify(key, var, sig.ptr, prepared.ptr, prepared.len - 1),
               AGP_ERR_SIGNATURE);
    /* the other salt length must not accept it either */
    EXPECT_ERR(agp_rsabssa_verify(key,
                                  agp_rsabssa_salt_len(var) ? AGP_RSABSSA_SHA384_PSSZERO_RANDOMIZED
                                                            : AGP_RSABSSA_SHA384_PSS_RANDOMIZED,
                                  sig.ptr, prepared.ptr, prepared.len),
               AGP_ERR_SIGNATURE);

    /* a full round trip with fresh salt and blind */
    {
        uint8_t blinded[AGP_RSA_MAX_LEN], bsig[AGP_RSA_MAX_LEN];
        EXPECT_OK(agp_rsabssa_prepare(var, buf, sizeof buf, &len, msg.ptr, msg.len));
        EXPECT_OK(agp_rsabssa_blind(key, var, blinded, inv, buf, len, NULL, NULL));
        EXPECT_OK(agp_rsabssa_blind_sign(key, bsig, blinded));
        EXPECT_OK(agp_rsabssa_finalize(key, var, out, bsig, inv, buf, len));
        EXPECT_OK(agp_rsabssa_verify(key, var, out, buf, len));
        /* Finalize refuses a blind signature over something else */
        bsig[k / 2] ^= 0x10;
        EXPECT_ERR(agp_rsabssa_finalize(key, var, out, bsig, inv, buf, len), AGP_ERR_SIGNATURE);
        for (len = 0; len < k && out[len] == 0; len++)
            continue;
        EXPECT(len == k); /* output zeroed on failure */
    }

    /* BlindSign and Finalize refuse numbers not below n */
    memset(bad, 0xff, k);
    EXPECT_ERR(agp_rsabssa_blind_sign(key, out, bad), AGP_ERR_RANGE);
    EXPECT_ERR(agp_rsabssa_finalize(key, var, out, bad, inv, prepared.ptr, prepared.len),
               AGP_ERR_RANGE);
    /* Blind refuses r = 0 */
    memset(bad, 0, k);
    EXPECT_ERR(agp_rsabssa_blind(key, var, out, inv, prepared.ptr, prepared.len, NULL, bad),
               AGP_ERR_RANGE);

    free(msg.ptr), free(prefix.ptr), free(prepared.ptr), free(sig.ptr);
    agp_key_free(key);
}

int main(int argc, char **argv)
{
    static const enum agp_rsabssa_variant variants[4] = {
        AGP_RSABSSA_SHA384_PSS_RANDOMIZED, AGP_RSABSSA_SHA384_PSSZERO_RANDOMIZED,
        AGP_RSABSSA_SHA384_PSS_DETERMINISTIC, AGP_RSABSSA_SHA384_PSSZERO_DETERMINISTIC};
    json_t *root, *vectors;
    size_t i;
    struct agp_key *pub = NULL, *gen = NULL;
    uint8_t m[AGP_RSA_MAX_LEN] = {0}, s[AGP_RSA_MAX_LEN];
    size_t spki_len;
    const uint8_t *spki;

    if (argc != 2) return 2;
    root = test_load_json(argv[1], "rfc9474.json");
    vectors = json_object_get(root, "vectors");
    EXPECT(json_array_size(vectors) == 4);
    for (i = 0; i < json_array_size(vectors) && i < 4; i++)
        check_vector(json_array_get(vectors, i), variants[i]);
    json_decref(root);

    /* BlindSign needs the private key */
    EXPECT_OK(agp_key_generate(&gen, 2048));
    spki = agp_key_spki(gen, &spki_len);
    EXPECT_OK(agp_key_load_spki(&pub, spki, spki_len));
    EXPECT(!agp_key_is_private(pub) && agp_key_is_private(gen));
    m[255] = 2;
    EXPECT_ERR(agp_rsabssa_blind_sign(pub, s, m), AGP_ERR_KEY);
    agp_key_free(pub);
    EXPECT_ERR(agp_key_generate(&pub, 1024), AGP_ERR_ARG);
    EXPECT(pub == NULL);
    agp_key_free(gen);
    agp_key_free(NULL);
    TEST_END();
}
