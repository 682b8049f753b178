/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/key.c: RSA keys for blind signatures: generation, PEM and SPKI
 * loading, and the RFC 9578 §6.5 public key encoding.
 *
 * RFC 9578 §6.5 names the key by SHA-256 of a SubjectPublicKeyInfo whose
 * algorithm is id-RSASSA-PSS with explicit parameters (RFC 4055 §3.1):
 *
 *   SubjectPublicKeyInfo ::= SEQUENCE {
 *       algorithm  AlgorithmIdentifier {              -- id-RSASSA-PSS
 *           RSASSA-PSS-params ::= SEQUENCE {
 *               hashAlgorithm    [0] sha384,            -- no NULL parameters
 *               maskGenAlgorithm [1] mgf1SHA384,
 *               saltLength       [2] 48 } },
 *       subjectPublicKey BIT STRING  -- RSAPublicKey (RFC 8017 A.1.1) }
 *
 * OpenSSL's i2d_PUBKEY writes the hash identifiers with NULL parameters
 * (346 bytes for RSA-2048), which changes token_key_id, so the outer
 * structure is written here byte for byte and only RSAPublicKey comes from
 * OpenSSL.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "internal.h"

/* AlgorithmIdentifier as printed in RFC 9578 Appendix A.2 (public). */
static const uint8_t pss_sha384_alg_id[] = {
    0x30, 0x3d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x30, 0xa0,
    0x0d, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0xa1, 0x1a,
    0x30, 0x18, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0b, 0x06,
    0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0xa2, 0x03, 0x02, 0x01, 0x30};

/* Writes a DER tag and definite length (short form or 0x81/0x82). */
static agp_err der_header(struct agp_writer *w, uint8_t tag, size_t len)
{
    AGP_TRY(agp_write_u8(w, tag));
    if (len < 0x80) return agp_write_u8(w, (uint8_t)len);
    if (len <= 0xff) {
        AGP_TRY(agp_write_u8(w, 0x81));
        return agp_write_u8(w, (uint8_t)len);
    }
    AGP_ENSURE(len <= 0xffff, AGP_ERR_TOO_BIG);
    AGP_TRY(agp_write_u8(w, 0x82));
    return agp_write_u16(w, (uint16_t)len);
}

/* Reads a DER tag and a minimally encoded definite length, at most 0xffff. */
static agp_err der_read_header(struct agp_reader *r, uint8_t tag, struct agp_span *body)
{
    uint8_t t, b;
    uint16_t n16;
    size_t len;
    AGP_TRY(agp_read_u8(r, &t));
    AGP_ENSURE(t == tag, AGP_ERR_ENCODING);
    AGP_TRY(agp_read_u8(r, &b));
    if (b < 0x80) {
        len = b;
    } else if (b == 0x81) {
        AGP_TRY(agp_read_u8(r, &b));
        AGP_ENSURE(b >= 0x80, AGP_ERR_ENCODING);
        len = b;
    } else if (b == 0x82) {
        AGP_TRY(agp_read_u16(r, &n16));
        AGP_ENSURE(n16 > 0xff, AGP_ERR_ENCODING);
        len = n16;
    } else {
        return AGP_ERR_ENCODING;
    }
    return agp_read_span(r, len, body);
}

static size_t der_header_len(size_t len)
{
    return len < 0x80 ? 2 : len <= 0xff ? 3 : 4;
}

/* Writes key's RFC 9578 SPKI into key->spki and its id. */
static agp_err encode_spki(struct agp_key *key)
{
    uint8_t rsa_pub[AGP_SPKI_MAX_LEN], *p = rsa_pub;
    struct agp_writer w;
    size_t bitstr_len, seq_len;
    int n = i2d_PublicKey(key->pkey, NULL);
    AGP_ENSURE(n > 0 && (size_t)n <= sizeof rsa_pub, AGP_ERR_KEY);
    AGP_ENSURE(i2d_PublicKey(key->pkey, &p) == n, AGP_ERR_CRYPTO);
    bitstr_len = 1 + (size_t)n;
    seq_len = sizeof pss_sha384_alg_id + der_header_len(bitstr_len) + bitstr_len;
    agp_writer_init(&w, key->spki, sizeof key->spki);
    AGP_TRY(der_header(&w, 0x30, seq_len));
    AGP_TRY(agp_write_bytes(&w, pss_sha384_alg_id, sizeof pss_sha384_alg_id));
    AGP_TRY(der_header(&w, 0x03, bitstr_len));
    AGP_TRY(agp_write_u8(&w, 0)); /* no unused bits */
    AGP_TRY(agp_write_bytes(&w, rsa_pub, (size_t)n));
    key->spki_len = w.len;
    return agp_sha256(key->id, key->spki, key->spki_len);
}

/* A PSS verification context for key with salt length salt. */
static EVP_PKEY_CTX *pss_verify_ctx(EVP_PKEY *pkey, int salt)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (c == NULL || EVP_PKEY_verify_init(c) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(c, agp_md_sha384()) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(c, agp_md_sha384()) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(c, salt) != 1) {
        EVP_PKEY_CTX_free(c);
        return NULL;
    }
    return c;
}

/* see struct agp_key in internal.h */
static agp_err make_contexts(struct agp_key *key)
{
    key->verify48 = pss_verify_ctx(key->pkey, AGP_SHA384_LEN);
    key->verify0 = pss_verify_ctx(key->pkey, 0);
    if (key->verify48 == NULL || key->verify0 == NULL) return AGP_ERR_CRYPTO;
    if (!key->is_private) return AGP_OK;
    key->sign_raw = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
    if (key->sign_raw == NULL || EVP_PKEY_sign_init(key->sign_raw) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(key->sign_raw, RSA_NO_PADDING) != 1)
        return AGP_ERR_CRYPTO;
    return AGP_OK;
}

/* Takes ownership of pkey; checks it and fills the derived fields. */
static agp_err key_from_pkey(struct agp_key **out, EVP_PKEY *pkey, int is_private)
{
    agp_err err = AGP_ERR_KEY;
    struct agp_key *key = NULL;
    BN_CTX *ctx = NULL;
    int bits;

    *out = NULL;
    if (pkey == NULL) return AGP_ERR_ENCODING;
    if (!EVP_PKEY_is_a(pkey, "RSA")) goto out;
    key = OPENSSL_zalloc(sizeof *key);
    if (key == NULL) {
        err = AGP_ERR_NOMEM;
        goto out;
    }
    key->pkey = pkey;
    pkey = NULL;
    key->is_private = is_private;
    if (!EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_N, &key->n) ||
        !EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_E, &key->e))
        goto out;
    bits = BN_num_bits(key->n);
    /* sizes we support; e odd, at least 3 and below n */
    if (bits < 8 * AGP_RSA_MIN_LEN || bits > 8 * AGP_RSA_MAX_LEN || bits % 8 != 0) goto out;
    if (!BN_is_odd(key->e) || BN_is_one(key->e) || BN_num_bits(key->e) > 64) goto out;
    if (!BN_is_odd(key->n)) goto out;
    key->len = (size_t)BN_num_bytes(key->n);
    err = AGP_ERR_CRYPTO;
    if ((ctx = BN_CTX_new()) == NULL || (key->mont = BN_MONT_CTX_new()) == NULL ||
        !BN_MONT_CTX_set(key->mont, key->n, ctx))
        goto out;
    if ((err = encode_spki(key)) != AGP_OK) goto out;
    err = make_contexts(key);
out:
    BN_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    if (err != AGP_OK) {
        agp_key_free(key);
        key = NULL;
    }
    *out = key;
    return err;
}

/* see agepass/rsabssa.h */
agp_err agp_key_generate(struct agp_key **out, unsigned bits)
{
    *out = NULL;
    AGP_ENSURE(bits >= 8 * AGP_RSA_MIN_LEN && bits <= 8 * AGP_RSA_MAX_LEN && bits % 8 == 0,
               AGP_ERR_ARG);
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    if (pkey == NULL) return AGP_ERR_CRYPTO;
    return key_from_pkey(out, pkey, 1);
}

/* Refuses to prompt for a passphrase: encrypted PEM files are not supported. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

/* see agepass/rsabssa.h */
agp_err agp_key_load_private_pem(struct agp_key **out, const uint8_t *pem, size_t len)
{
    BIO *bio;
    EVP_PKEY *pkey;
    *out = NULL;
    AGP_ENSURE(len > 0 && len <= 16384, AGP_ERR_TOO_BIG);
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL) return AGP_ERR_NOMEM;
    pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    return key_from_pkey(out, pkey, 1);
}

/* see agepass/rsabssa.h */
agp_err agp_key_load_spki(struct agp_key **out, const uint8_t *der, size_t len)
{
    struct agp_reader r, seq;
    struct agp_span body, alg, bits;
    const unsigned char *p;
    EVP_PKEY *pkey;
    agp_err err;
    uint8_t unused;

    *out = NULL;
    AGP_ENSURE(len <= AGP_SPKI_MAX_LEN, AGP_ERR_TOO_BIG);
    agp_reader_init(&r, der, len);
    AGP_TRY(der_read_header(&r, 0x30, &body));
    AGP_TRY(agp_read_end(&r));
    agp_reader_init(&seq, body.ptr, body.len);
    AGP_TRY(agp_read_span(&seq, sizeof pss_sha384_alg_id, &alg));
    AGP_ENSURE(memcmp(alg.ptr, pss_sha384_alg_id, alg.len) == 0, AGP_ERR_KEY);
    AGP_TRY(der_read_header(&seq, 0x03, &bits));
    AGP_TRY(agp_read_end(&seq));
    agp_reader_init(&r, bits.ptr, bits.len);
    AGP_TRY(agp_read_u8(&r, &unused));
    AGP_ENSURE(unused == 0, AGP_ERR_ENCODING);
    AGP_TRY(agp_read_span(&r, bits.len - 1, &body));
    p = body.ptr;
    pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)body.len);
    AGP_ENSURE(pkey != NULL, AGP_ERR_ENCODING);
    if (p != body.ptr + body.len) { /* bytes left over after RSAPublicKey */
        EVP_PKEY_free(pkey);
        return AGP_ERR_ENCODING;
    }
    AGP_TRY(key_from_pkey(out, pkey, 0));
    /* DER is canonical: only our own re-encoding names this key */
    err = ((*out)->spki_len == len && memcmp((*out)->spki, der, len) == 0) ? AGP_OK
                                                                           : AGP_ERR_ENCODING;
    if (err != AGP_OK) {
        agp_key_free(*out);
        *out = NULL;
    }
    return err;
}

/* see agepass/rsabssa.h */
void agp_key_free(struct agp_key *key)
{
    if (key == NULL) return;
    EVP_PKEY_CTX_free(key->verify48);
    EVP_PKEY_CTX_free(key->verify0);
    EVP_PKEY_CTX_free(key->sign_raw);
    EVP_PKEY_free(key->pkey);
    BN_free(key->n);
    BN_free(key->e);
    BN_MONT_CTX_free(key->mont);
    OPENSSL_clear_free(key, sizeof *key);
}

/* see agepass/rsabssa.h */
bool agp_key_is_private(const struct agp_key *key)
{
    return key->is_private != 0;
}

/* see agepass/rsabssa.h */
size_t agp_key_len(const struct agp_key *key)
{
    return key->len;
}

/* see agepass/rsabssa.h */
const uint8_t *agp_key_spki(const struct agp_key *key, size_t *len)
{
    *len = key->spki_len;
    return key->spki;
}

/* see agepass/rsabssa.h */
const uint8_t *agp_key_id(const struct agp_key *key)
{
    return key->id;
}

/* see agepass/rsabssa.h */
agp_err agp_key_private_pem(const struct agp_key *key, char **out, size_t *out_len)
{
    agp_err err = AGP_ERR_CRYPTO;
    BIO *bio = NULL;
    BUF_MEM *mem = NULL;
    *out = NULL;
    *out_len = 0;
    AGP_ENSURE(key->is_private, AGP_ERR_KEY);
    if ((bio = BIO_new(BIO_s_mem())) == NULL) return AGP_ERR_NOMEM;
    /* PKCS#8 PrivateKeyInfo, rsaEncryption, unencrypted */
    if (!PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL)) goto out;
    BIO_get_mem_ptr(bio, &mem);
    if ((*out = malloc(mem->length + 1)) == NULL) {
        err = AGP_ERR_NOMEM;
        goto out;
    }
    memcpy(*out, mem->data, mem->length);
    (*out)[mem->length] = '\0';
    *out_len = mem->length;
    err = AGP_OK;
out:
    if (mem != NULL) agp_wipe(mem->data, mem->max);
    BIO_free(bio);
    return err;
}
