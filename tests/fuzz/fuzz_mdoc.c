/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_mdoc_verify */
/*
 * tests/fuzz/fuzz_mdoc.c: the mdoc verifier (strict CBOR, COSE, MSO,
 * items, device authentication) on arbitrary bytes, under two fixed
 * policies so that seeds reach the deep checks: the EU AV Annex A
 * example 1 policy (its CA, its check time) and the ISO 18013-5 Annex D
 * policy (utopia CA, its SessionTranscript and reader key, deviceMac).
 * The anchors and keys are read once from tests/vectors/mdoc (path fixed
 * at build time), so runs replay.
 *
 * Seeds (corpus/mdoc/): the three published responses, one DeviceResponse
 * made by @animo-id/mdoc 0.5.2 (cbor-x encoding: 3-byte map heads; its own
 * test CA), plus a few variants (truncated, an extra byte, empty, a bare
 * COSE_Sign1).
 *
 * Oracle: no crash or leak; an accepted input yields an age that is 0 or
 * the one asked for, a validUntil not before the check time, and the same
 * verdict when verified again (the verifier keeps no state).
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "agepass/cbor.h"
#include "agepass/mdoc.h"
#include "fuzz.h"

#ifndef AGP_MDOC_VECTORS
#error "AGP_MDOC_VECTORS: the folder of the mdoc vectors"
#endif

static struct agp_mdoc_policy eu, iso;
static uint8_t transcript[1024];

static X509_STORE *store_of(const char *name)
{
    char path[4096];
    X509_STORE *st = X509_STORE_new();
    X509 *cert;
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", AGP_MDOC_VECTORS, name);
    if (st == NULL || (f = fopen(path, "r")) == NULL) abort();
    cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (cert == NULL || X509_STORE_add_cert(st, cert) != 1) abort();
    X509_free(cert);
    return st;
}

static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
    size_t n = 0;
    unsigned v = 0, half = 0;
    for (; *hex; hex++) {
        char c = *hex;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) continue;
        v = v << 4 | (unsigned)d;
        if (++half == 2) {
            if (n == cap) abort();
            out[n++] = (uint8_t)v;
            v = half = 0;
        }
    }
    return n;
}

/* The Annex D reader's ephemeral key (published in the standard). */
static EVP_PKEY *reader_key(void)
{
    uint8_t d[32], pub[65];
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params;
    BIGNUM *priv;
    unhex(d, sizeof d, "de3b4b9e5f72dd9b58406ae3091434da48a6f9fd010d88fcb0958e2cebec947c");
    unhex(pub, sizeof pub,
          "04"
          "60e3392385041f51403051f2415531cb56dd3f999c71687013aac6768bc8187e"
          "e58deb8fdbe907f7dd5368245551a34796f7d2215c440c339bb0f7b67beccdfa");
    priv = BN_bin2bn(d, sizeof d, NULL);
    if (bld == NULL || ctx == NULL || priv == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub) ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
        abort();
    if (EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1)
        abort();
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_free(priv);
    return pkey;
}

static void cleanup(void)
{
    X509_STORE_free(eu.anchors);
    X509_STORE_free(iso.anchors);
    EVP_PKEY_free(iso.reader_key);
}

static void setup(void)
{
    static char hex[4096];
    uint8_t stb[1024];
    char path[4096];
    struct agp_reader r;
    struct agp_span whole, inner;
    size_t n, len;
    FILE *f;
    if (eu.anchors != NULL) return;
    eu.anchors = store_of("eu-av-annex-a/iaca_av_ca01_AV.pem");
    eu.now = 1754006400; /* 2025-08-01T00:00:00Z */
    eu.age = 18;
    iso.anchors = store_of("iso18013-5-annex-d/iaca_utopia.pem");
    iso.now = 1609459200; /* 2021-01-01T00:00:00Z */
    iso.age = 18;
    iso.doctype = "org.iso.18013.5.1.mDL";
    iso.name_space = "org.iso.18013.5.1";
    iso.reader_key = reader_key();
    snprintf(path, sizeof path, "%s/iso18013-5-annex-d/session_transcript_bytes.hex",
             AGP_MDOC_VECTORS);
    if ((f = fopen(path, "r")) == NULL) abort();
    n = fread(hex, 1, sizeof hex - 1, f);
    fclose(f);
    hex[n] = '\0';
    len = unhex(stb, sizeof stb, hex);
    agp_reader_init(&r, stb, len);
    if (agp_cbor_embedded(&r, sizeof stb, 16, &whole, &inner) != AGP_OK) abort();
    memcpy(transcript, inner.ptr, inner.len);
    iso.transcript = transcript;
    iso.transcript_len = inner.len;
    atexit(cleanup);
}

static void one(const uint8_t *data, size_t size, const struct agp_mdoc_policy *p)
{
    struct agp_mdoc_result res, again;
    agp_err err = agp_mdoc_verify(&res, data, size, p);
    if (err != AGP_OK) {
        FUZZ_CHECK(res.age == 0 && res.valid_until == 0);
        return;
    }
    FUZZ_CHECK(res.age == 0 || res.age == p->age);
    FUZZ_CHECK(res.valid_until >= p->now);
    FUZZ_CHECK(res.device_authenticated == (p->transcript != NULL));
    FUZZ_CHECK(agp_mdoc_verify(&again, data, size, p) == AGP_OK);
    FUZZ_CHECK(memcmp(&res, &again, sizeof res) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1); /* exact size: ASan sees overreads */
    if (copy == NULL) return 0;
    if (size) memcpy(copy, data, size);
    setup();
    one(copy, size, &eu);
    one(copy, size, &iso);
    free(copy);
    return 0;
}
