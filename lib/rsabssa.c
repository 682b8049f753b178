/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/rsabssa.c: RSA blind signatures, RFC 9474 §4, with SHA-384.
 *
 * EMSA-PSS-ENCODE (RFC 8017 §9.1.1) is written out here because Blind needs
 * the encoded message itself, and the test vectors fix the salt. The private
 * operation is OpenSSL's (RSA_NO_PADDING sign: CRT with base blinding and
 * constant-time exponentiation); verification is OpenSSL's RSASSA-PSS.
 *
 * Secret values: the blind r and its inverse inv (they unlink the signed
 * message from the blinded one). Both live in BIGNUMs flagged constant-time,
 * freed with BN_clear_free, and in byte buffers wiped at `out:`.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/rsa.h>

#include "internal.h"

#define HASH_LEN AGP_SHA384_LEN

/* see agepass/rsabssa.h */
const char *agp_rsabssa_variant_name(enum agp_rsabssa_variant v)
{
    switch (v) {
    case AGP_RSABSSA_SHA384_PSS_RANDOMIZED: return "RSABSSA-SHA384-PSS-Randomized";
    case AGP_RSABSSA_SHA384_PSSZERO_RANDOMIZED: return "RSABSSA-SHA384-PSSZERO-Randomized";
    case AGP_RSABSSA_SHA384_PSS_DETERMINISTIC: return "RSABSSA-SHA384-PSS-Deterministic";
    case AGP_RSABSSA_SHA384_PSSZERO_DETERMINISTIC: return "RSABSSA-SHA384-PSSZERO-Deterministic";
    }
    return "unknown";
}

/* see agepass/rsabssa.h */
size_t agp_rsabssa_salt_len(enum agp_rsabssa_variant v)
{
    return (v == AGP_RSABSSA_SHA384_PSS_RANDOMIZED || v == AGP_RSABSSA_SHA384_PSS_DETERMINISTIC)
               ? HASH_LEN
               : 0;
}

/* see agepass/rsabssa.h */
bool agp_rsabssa_is_randomized(enum agp_rsabssa_variant v)
{
    return v == AGP_RSABSSA_SHA384_PSS_RANDOMIZED || v == AGP_RSABSSA_SHA384_PSSZERO_RANDOMIZED;
}

/* see agepass/rsabssa.h */
agp_err agp_rsabssa_prepare(enum agp_rsabssa_variant v, uint8_t *out, size_t out_cap,
                            size_t *out_len, const uint8_t *msg, size_t msg_len)
{
    size_t prefix = agp_rsabssa_is_randomized(v) ? AGP_RSABSSA_PREFIX_LEN : 0;
    *out_len = 0;
    AGP_ENSURE(out_cap >= prefix && msg_len <= out_cap - prefix, AGP_ERR_TOO_BIG);
    if (prefix > 0) AGP_TRY(agp_random(out, prefix));
    if (msg_len > 0) memmove(out + prefix, msg, msg_len);
    *out_len = prefix + msg_len;
    return AGP_OK;
}

/* MGF1 with SHA-384 (RFC 8017 B.2.1), XORed into mask[0..len). */
static agp_err mgf1_xor(uint8_t *mask, size_t len, const uint8_t seed[HASH_LEN])
{
    uint8_t in[HASH_LEN + 4], h[HASH_LEN];
    uint32_t counter;
    size_t done = 0, i;
    memcpy(in, seed, HASH_LEN);
    for (counter = 0; done < len; counter++) {
        in[HASH_LEN] = (uint8_t)(counter >> 24);
        in[HASH_LEN + 1] = (uint8_t)(counter >> 16);
        in[HASH_LEN + 2] = (uint8_t)(counter >> 8);
        in[HASH_LEN + 3] = (uint8_t)counter;
        AGP_TRY(agp_sha384(h, in, sizeof in));
        for (i = 0; i < HASH_LEN && done < len; i++)
            mask[done++] ^= h[i];
    }
    return AGP_OK;
}

/*
 * EMSA-PSS-ENCODE(M, emBits) of RFC 8017 §9.1.1 with SHA-384, writing the
 * encoded message right-aligned in em[0..k) (a leading zero byte when
 * emLen < k). salt is s_len bytes.
 */
static agp_err pss_encode(uint8_t *em, size_t k, size_t mod_bits, const uint8_t *msg,
                          size_t msg_len, const uint8_t *salt, size_t s_len)
{
    size_t em_bits = mod_bits - 1, em_len = (em_bits + 7) / 8, db_len, off = k - em_len;
    uint8_t m_prime[8 + HASH_LEN + HASH_LEN], h[HASH_LEN];
    uint8_t *db;

    AGP_ENSURE(em_len >= HASH_LEN + s_len + 2, AGP_ERR_KEY);
    memset(em, 0, k);
    /* M' = 0x00 * 8 || mHash || salt;  H = Hash(M') */
    memset(m_prime, 0, 8);
    AGP_TRY(agp_sha384(m_prime + 8, msg, msg_len));
    if (s_len > 0) memcpy(m_prime + 8 + HASH_LEN, salt, s_len);
    AGP_TRY(agp_sha384(h, m_prime, 8 + HASH_LEN + s_len));
    /* DB = PS || 0x01 || salt;  maskedDB = DB xor MGF(H, emLen - hLen - 1) */
    db_len = em_len - HASH_LEN - 1;
    db = em + off;
    db[db_len - s_len - 1] = 0x01;
    if (s_len > 0) memcpy(db + db_len - s_len, salt, s_len);
    AGP_TRY(mgf1_xor(db, db_len, h));
    db[0] &= (uint8_t)(0xff >> (8 * em_len - em_bits));
    /* EM = maskedDB || H || 0xbc */
    memcpy(db + db_len, h, HASH_LEN);
    db[db_len + HASH_LEN] = 0xbc;
    return AGP_OK;
}

/* bn = big-endian in[0..len); AGP_ERR_RANGE unless bn < n. */
static agp_err bn_from_bytes(BIGNUM *bn, const uint8_t *in, size_t len, const BIGNUM *n)
{
    if (BN_bin2bn(in, (int)len, bn) == NULL) return AGP_ERR_CRYPTO;
    return BN_ucmp(bn, n) < 0 ? AGP_OK : AGP_ERR_RANGE;
}

static agp_err bn_to_bytes(uint8_t *out, size_t len, const BIGNUM *bn)
{
    return BN_bn2binpad(bn, out, (int)len) == (int)len ? AGP_OK : AGP_ERR_CRYPTO;
}

/* see agepass/rsabssa.h */
agp_err agp_rsabssa_blind(const struct agp_key *pk, enum agp_rsabssa_variant v,
                          uint8_t *blinded_msg, uint8_t *inv_out, const uint8_t *input_msg,
                          size_t input_len, const uint8_t *salt_in, const uint8_t *r_in)
{
    agp_err err = AGP_ERR_CRYPTO;
    size_t k = pk->len, s_len = agp_rsabssa_salt_len(v);
    uint8_t em[AGP_RSA_MAX_LEN], salt[HASH_LEN];
    BN_CTX *ctx = NULL;
    BIGNUM *m, *r, *inv, *x, *z, *g;

    if ((ctx = BN_CTX_new()) == NULL) return AGP_ERR_NOMEM;
    BN_CTX_start(ctx);
    m = BN_CTX_get(ctx);
    r = BN_CTX_get(ctx);
    inv = BN_CTX_get(ctx);
    x = BN_CTX_get(ctx);
    z = BN_CTX_get(ctx);
    g = BN_CTX_get(ctx);
    if (g == NULL) goto out;
    BN_set_flags(r, BN_FLG_CONSTTIME);
    BN_set_flags(inv, BN_FLG_CONSTTIME);
    BN_set_flags(g, BN_FLG_CONSTTIME); /* t = m * r, secret */
    BN_set_flags(x, BN_FLG_CONSTTIME);

    /* encoded_msg = EMSA-PSS-ENCODE(msg, bit_len(n) - 1) */
    if (salt_in != NULL) {
        if (s_len > 0) memcpy(salt, salt_in, s_len);
    } else if ((err = agp_random(salt, s_len)) != AGP_OK) {
        goto out;
    }
    err = pss_encode(em, k, (size_t)BN_num_bits(pk->n), input_msg, input_len, salt, s_len);
    if (err != AGP_OK) goto out;
    /* m = bytes_to_int(encoded_msg) */
    if ((err = bn_from_bytes(m, em, k, pk->n)) != AGP_OK) goto out;
    /* r = random_integer_uniform(1, n) */
    err = AGP_ERR_CRYPTO;
    if (r_in != NULL) {
        if (BN_bin2bn(r_in, (int)k, r) == NULL) goto out;
    } else if (!BN_priv_rand_range(r, pk->n)) {
        err = AGP_ERR_RANDOM;
        goto out;
    }
    err = AGP_ERR_RANGE;
    if (BN_is_zero(r) || BN_ucmp(r, pk->n) >= 0) goto out;
    /*
     * inv = inverse_mod(r, n), and the RFC's check that m and n are
     * co-prime, with one inversion: t = m * r is invertible exactly when
     * both m and r are, and then r^-1 = m * t^-1 (saves a gcd of ~0.4 ms).
     */
    err = AGP_ERR_CRYPTO;
    if (!BN_mod_mul(g, m, r, pk->n, ctx)) goto out;
    err = AGP_ERR_RANGE;
    ERR_set_mark();
    if (BN_mod_inverse(x, g, pk->n, ctx) == NULL) {
        ERR_pop_to_mark();
        goto out;
    }
    ERR_pop_to_mark();
    err = AGP_ERR_CRYPTO;
    if (!BN_mod_mul(inv, m, x, pk->n, ctx)) goto out;
    /* x = RSAVP1(pk, r) = r^e mod n;  z = m * x mod n */
    err = AGP_ERR_CRYPTO;
    if (!BN_mod_exp_mont(x, r, pk->e, pk->n, ctx, pk->mont)) goto out;
    if (!BN_mod_mul(z, m, x, pk->n, ctx)) goto out;
    if ((err = bn_to_bytes(blinded_msg, k, z)) != AGP_OK) goto out;
    err = bn_to_bytes(inv_out, k, inv);
out:
    if (err != AGP_OK) {
        agp_wipe(blinded_msg, k);
        agp_wipe(inv_out, k);
    }
    AGP_WIPE(em);
    AGP_WIPE(salt);
    if (ctx != NULL) {
        BN_clear(r);
        BN_clear(inv);
        BN_clear(x);
        BN_clear(m);
        BN_clear(z);
        BN_clear(g);
        BN_CTX_end(ctx);
    }
    BN_CTX_free(ctx);
    return err;
}

/* see agepass/rsabssa.h */
agp_err agp_rsabssa_blind_sign(const struct agp_key *sk, uint8_t *blind_sig,
                               const uint8_t *blinded_msg)
{
    agp_err err = AGP_ERR_CRYPTO;
    size_t k = sk->len, out_len = k;
    EVP_PKEY_CTX *pctx = NULL;
    BN_CTX *ctx = NULL;
    BIGNUM *m, *s, *check;

    if (!sk->is_private) return AGP_ERR_KEY;
    if ((ctx = BN_CTX_new()) == NULL) return AGP_ERR_NOMEM;
    BN_CTX_start(ctx);
    m = BN_CTX_get(ctx);
    s = BN_CTX_get(ctx);
    check = BN_CTX_get(ctx);
    if (check == NULL) goto out;
    /* m = bytes_to_int(blinded_msg), below n */
    if ((err = bn_from_bytes(m, blinded_msg, k, sk->n)) != AGP_OK) goto out;
    /* s = RSASP1(sk, m): OpenSSL's private operation, CRT and blinding */
    err = AGP_ERR_CRYPTO;
    if ((pctx = EVP_PKEY_CTX_dup(sk->sign_raw)) == NULL) goto out;
    if (EVP_PKEY_sign(pctx, blind_sig, &out_len, blinded_msg, k) != 1 || out_len != k) goto out;
    /* m' = RSAVP1(pk, s); m' must equal m (guards against CRT faults) */
    if (BN_bin2bn(blind_sig, (int)k, s) == NULL ||
        !BN_mod_exp_mont(check, s, sk->e, sk->n, ctx, sk->mont))
        goto out;
    if (BN_cmp(check, m) != 0) goto out;
    err = AGP_OK;
out:
    if (err != AGP_OK) agp_wipe(blind_sig, k);
    EVP_PKEY_CTX_free(pctx);
    BN_CTX_end(ctx);
    BN_CTX_free(ctx);
    return err;
}

/* see agepass/rsabssa.h */
agp_err agp_rsabssa_verify(const struct agp_key *pk, enum agp_rsabssa_variant v, const uint8_t *sig,
                           const uint8_t *input_msg, size_t input_len)
{
    agp_err err = AGP_ERR_CRYPTO;
    uint8_t hash[HASH_LEN];
    EVP_PKEY_CTX *pctx = NULL;
    int rc;

    if (agp_sha384(hash, input_msg, input_len) != AGP_OK) return AGP_ERR_CRYPTO;
    pctx = EVP_PKEY_CTX_dup(agp_rsabssa_salt_len(v) ? pk->verify48 : pk->verify0);
    if (pctx == NULL) return AGP_ERR_NOMEM;
    ERR_set_mark();
    rc = EVP_PKEY_verify(pctx, sig, pk->len, hash, sizeof hash);
    ERR_pop_to_mark();
    err = rc == 1 ? AGP_OK : AGP_ERR_SIGNATURE;
    EVP_PKEY_CTX_free(pctx);
    return err;
}

/* see agepass/rsabssa.h */
agp_err agp_rsabssa_finalize(const struct agp_key *pk, enum agp_rsabssa_variant v, uint8_t *sig,
                             const uint8_t *blind_sig, const uint8_t *inv_in,
                             const uint8_t *input_msg, size_t input_len)
{
    agp_err err = AGP_ERR_NOMEM;
    size_t k = pk->len;
    BN_CTX *ctx = NULL;
    BIGNUM *z, *inv, *s;

    if ((ctx = BN_CTX_new()) == NULL) goto out;
    BN_CTX_start(ctx);
    z = BN_CTX_get(ctx);
    inv = BN_CTX_get(ctx);
    s = BN_CTX_get(ctx);
    if (s == NULL) goto out;
    BN_set_flags(inv, BN_FLG_CONSTTIME);
    /* z = bytes_to_int(blind_sig); s = z * inv mod n */
    if ((err = bn_from_bytes(z, blind_sig, k, pk->n)) != AGP_OK) goto out;
    if ((err = bn_from_bytes(inv, inv_in, k, pk->n)) != AGP_OK) goto out;
    err = AGP_ERR_CRYPTO;
    if (!BN_mod_mul(s, z, inv, pk->n, ctx)) goto out;
    if ((err = bn_to_bytes(sig, k, s)) != AGP_OK) goto out;
    /* the signature must verify, or the server signed something else */
    err = agp_rsabssa_verify(pk, v, sig, input_msg, input_len);
out:
    if (err != AGP_OK) agp_wipe(sig, k);
    if (ctx != NULL) {
        BN_clear(inv);
        BN_CTX_end(ctx);
    }
    BN_CTX_free(ctx);
    return err;
}
