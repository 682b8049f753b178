/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_mdoc.c: the strict CBOR reader, COSE and the mdoc
 * verifier (lib/cbor.c, lib/cose.c, lib/attest_mdoc.c) against published
 * data: the two EU Age Verification Annex A attestations, the ISO/IEC
 * 18013-5 Annex D DeviceResponse (deviceMac), and the OpenID4VP 1.0
 * SessionTranscript example (tests/vectors/mdoc/README.md names them).
 *
 * Then every refusal: the other CA, the real clock, another transcript, a
 * tampered MAC, every single-byte change anywhere in the inputs, every
 * truncation, a trailing byte, and hand-made hostile CBOR.
 *
 * usage: test_mdoc VECTOR_DIR [--mutations]
 *
 * The mutation loops (about 20 000 verifications) run with --mutations
 * only, as ctest's unit_mdoc_mutations does: under valgrind, which CI runs
 * on every test_* without arguments, they would take minutes.
 */
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "agepass/cbor.h"
#include "agepass/cose.h"
#include "agepass/mdoc.h"
#include "agepass/util.h"
#include "test.h"

#define T_EX1   1754006400 /* 2025-08-01T00:00:00Z, example 1's check_time_utc */
#define T_EX2   1761955200 /* 2025-11-01T00:00:00Z */
#define T_ANNEX 1609459200 /* 2021-01-01T00:00:00Z */

static const char *vdir;
static int mutations;

/* dir/name, a hex file with line breaks, decoded. */
static struct test_bytes load_hex(const char *name)
{
    char path[4096], *hex;
    size_t n = 0;
    int c;
    FILE *f;
    struct test_bytes b;
    snprintf(path, sizeof path, "%s/mdoc/%s", vdir, name);
    if ((f = fopen(path, "r")) == NULL || (hex = malloc(1 << 20)) == NULL) {
        fprintf(stderr, "%s: cannot read\n", path);
        exit(2);
    }
    while ((c = fgetc(f)) != EOF && n < (1 << 20) - 1)
        if (test_hexval((char)c) >= 0) hex[n++] = (char)c;
    hex[n] = '\0';
    fclose(f);
    b = test_hex(hex);
    free(hex);
    return b;
}

static X509_STORE *anchors(const char *name)
{
    char path[4096];
    X509_STORE *st = X509_STORE_new();
    X509 *cert;
    FILE *f;
    snprintf(path, sizeof path, "%s/mdoc/%s", vdir, name);
    if (st == NULL || (f = fopen(path, "r")) == NULL) exit(2);
    cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (cert == NULL || X509_STORE_add_cert(st, cert) != 1) exit(2);
    X509_free(cert);
    return st;
}

/* A P-256 private key from hex d, x, y. */
static EVP_PKEY *p256_private(const char *d_hex, const char *x_hex, const char *y_hex)
{
    struct test_bytes d = test_hex(d_hex), x = test_hex(x_hex), y = test_hex(y_hex);
    uint8_t point[65];
    BIGNUM *priv = BN_bin2bn(d.ptr, (int)d.len, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pkey = NULL;
    point[0] = 4;
    memcpy(point + 1, x.ptr, 32);
    memcpy(point + 33, y.ptr, 32);
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv);
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point);
    params = OSSL_PARAM_BLD_to_param(bld);
    if (EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1)
        exit(2);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_free(priv);
    free(d.ptr), free(x.ptr), free(y.ptr);
    return pkey;
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v)) exit(2);
    return json_string_value(v);
}

/*
 * Each byte of in[0..upto) changed in two ways (low bit, all bits), each
 * strict prefix and one extra byte: all must be refused. Returns how many
 * variants were accepted (0 expected).
 */
static unsigned mutations_accepted(const struct test_bytes *in, size_t upto,
                                   const struct agp_mdoc_policy *p)
{
    struct agp_mdoc_result res;
    uint8_t *m;
    unsigned accepted = 0;
    size_t i, k;
    static const uint8_t flips[] = {0x01, 0xff};
    if (!mutations) return 0;
    m = malloc(in->len + 1);
    memcpy(m, in->ptr, in->len);
    for (i = 0; i < upto; i++)
        for (k = 0; k < sizeof flips; k++) {
            m[i] ^= flips[k];
            if (agp_mdoc_verify(&res, m, in->len, p) == AGP_OK) {
                fprintf(stderr, "byte %zu ^ %02x accepted\n", i, flips[k]);
                accepted++;
            }
            m[i] ^= flips[k];
        }
    for (i = 0; i < in->len; i++)
        if (agp_mdoc_verify(&res, m, i, p) == AGP_OK) accepted++;
    m[in->len] = 0;
    if (agp_mdoc_verify(&res, m, in->len + 1, p) != AGP_ERR_TRAILING) accepted++;
    free(m);
    return accepted;
}

static void test_eu_examples(void)
{
    struct test_bytes ex1 = load_hex("eu-av-annex-a/example1_issuer_signed.hex");
    struct test_bytes ex2 = load_hex("eu-av-annex-a/example2_device_response.hex");
    X509_STORE *av = anchors("eu-av-annex-a/iaca_av_ca01_AV.pem");
    X509_STORE *eu = anchors("eu-av-annex-a/iaca_av_ca01_EU.pem");
    struct agp_mdoc_policy p = {.anchors = av, .now = T_EX1, .age = 18};
    struct agp_mdoc_result res;
    uint8_t transcript[128];
    size_t tlen;

    EXPECT(ex1.len == 1272 && ex2.len == 1736);
    /* example 1: a bare IssuerSigned, age_over_18 true */
    EXPECT_OK(agp_mdoc_verify(&res, ex1.ptr, ex1.len, &p));
    EXPECT(res.age == 18 && !res.device_authenticated);
    EXPECT(res.valid_until == 1758153600); /* 2025-09-18T00:00:00Z */
    /* the digest names the attestation: the same bytes give the same one */
    {
        uint8_t first[32];
        memcpy(first, res.digest, 32);
        EXPECT_OK(agp_mdoc_verify(&res, ex1.ptr, ex1.len, &p));
        EXPECT_BYTES(res.digest, first, 32);
    }
    /* only the age asked for counts */
    p.age = 21;
    EXPECT_ERR(agp_mdoc_verify(&res, ex1.ptr, ex1.len, &p), AGP_ERR_NOT_FOUND);
    EXPECT(res.age == 0 && res.valid_until == 0);
    p.age = 18;
    /* wrong docType asked */
    p.doctype = "org.iso.18013.5.1.mDL";
    EXPECT_ERR(agp_mdoc_verify(&res, ex1.ptr, ex1.len, &p), AGP_ERR_TOKEN_TYPE);
    p.doctype = NULL;
    /* the other CA: same CN, other key */
    p.anchors = eu;
    EXPECT_ERR(agp_mdoc_verify(&res, ex1.ptr, ex1.len, &p), AGP_ERR_KEY);
    /* the real clock: expired */
    p.anchors = av;
    p.now = (int64_t)time(NULL);
    EXPECT_ERR(agp_mdoc_verify(&res, ex1.ptr, ex1.len, &p), AGP_ERR_EXPIRED);
    /* the certificate is still valid after the MSO's validUntil: MSO expiry */
    p.now = 1758153600 + 1;
    EXPECT_ERR(agp_mdoc_verify(&res, ex1.ptr, ex1.len, &p), AGP_ERR_EXPIRED);
    p.now = 1758153600;
    EXPECT_OK(agp_mdoc_verify(&res, ex1.ptr, ex1.len, &p));
    p.now = T_EX1;
    /* a transcript given: a bare IssuerSigned has no device authentication */
    EXPECT_OK(agp_mdoc_oid4vp_transcript(transcript, sizeof transcript, &tlen,
                                         "redirect_uri:https://ap.example/r", "n0nce", NULL,
                                         "https://ap.example/r"));
    p.transcript = transcript;
    p.transcript_len = tlen;
    EXPECT_ERR(agp_mdoc_verify(&res, ex1.ptr, ex1.len, &p), AGP_ERR_NOT_FOUND);
    p.transcript = NULL;
    /* every single-byte change, truncation, trailing byte */
    EXPECT(mutations_accepted(&ex1, ex1.len, &p) == 0);

    /* example 2: a DeviceResponse */
    p.anchors = eu;
    p.now = T_EX2;
    EXPECT_OK(agp_mdoc_verify(&res, ex2.ptr, ex2.len, &p));
    EXPECT(res.age == 18 && res.valid_until == 1768694400); /* 2026-01-18 */
    p.anchors = av;
    EXPECT_ERR(agp_mdoc_verify(&res, ex2.ptr, ex2.len, &p), AGP_ERR_KEY);
    p.anchors = eu;
    p.now = (int64_t)time(NULL);
    EXPECT_ERR(agp_mdoc_verify(&res, ex2.ptr, ex2.len, &p), AGP_ERR_EXPIRED);
    p.now = T_EX2;
    /* its deviceSignature was made for a DC API transcript we do not have */
    p.transcript = transcript;
    p.transcript_len = tlen;
    EXPECT_ERR(agp_mdoc_verify(&res, ex2.ptr, ex2.len, &p), AGP_ERR_SIGNATURE);
    p.transcript = NULL;
    /*
     * Without a transcript its deviceSigned part (from byte 1598, the
     * "deviceSigned" key) is not checked; everything before it is.
     */
    EXPECT(ex2.ptr[1598] == 0x6c && memcmp(ex2.ptr + 1599, "deviceSigned", 12) == 0);
    EXPECT(mutations_accepted(&ex2, 1598, &p) == 0);

    X509_STORE_free(av);
    X509_STORE_free(eu);
    free(ex1.ptr);
    free(ex2.ptr);
}

static void test_annex_d(void)
{
    struct test_bytes resp = load_hex("iso18013-5-annex-d/device_response.hex");
    struct test_bytes stb = load_hex("iso18013-5-annex-d/session_transcript_bytes.hex");
    json_t *keys = test_load_json(vdir, "mdoc/iso18013-5-annex-d/keys.json");
    X509_STORE *utopia = anchors("iso18013-5-annex-d/iaca_utopia.pem");
    EVP_PKEY *reader =
        p256_private(jstr(keys, "ephemeral_reader_key_d"), jstr(keys, "ephemeral_reader_key_x"),
                     jstr(keys, "ephemeral_reader_key_y"));
    EVP_PKEY *other =
        p256_private(jstr(keys, "static_device_key_d"), jstr(keys, "static_device_key_x"),
                     jstr(keys, "static_device_key_y"));
    struct agp_mdoc_policy p = {.anchors = utopia,
                                .now = T_ANNEX,
                                .age = 18,
                                .doctype = "org.iso.18013.5.1.mDL",
                                .name_space = "org.iso.18013.5.1",
                                .reader_key = reader};
    struct agp_mdoc_result res;
    struct agp_reader r;
    struct agp_span whole, inner;
    uint8_t *bad;

    /* SessionTranscriptBytes = #6.24(bstr .cbor SessionTranscript) */
    agp_reader_init(&r, stb.ptr, stb.len);
    EXPECT_OK(agp_cbor_embedded(&r, 4096, 16, &whole, &inner));
    EXPECT_OK(agp_read_end(&r));
    p.transcript = inner.ptr;
    p.transcript_len = inner.len;
    EXPECT(resp.len == 3562);

    /* every check passes, deviceMac included; then no age_over_18: refused */
    EXPECT_ERR(agp_mdoc_verify(&res, resp.ptr, resp.len, &p), AGP_ERR_NOT_FOUND);
    /* what proves the MAC was checked before that: each change to it fails */
    p.reader_key = other;
    EXPECT_ERR(agp_mdoc_verify(&res, resp.ptr, resp.len, &p), AGP_ERR_SIGNATURE);
    p.reader_key = NULL;
    EXPECT_ERR(agp_mdoc_verify(&res, resp.ptr, resp.len, &p), AGP_ERR_KEY);
    p.reader_key = reader;
    p.transcript_len--; /* another transcript (a prefix: not even CBOR) */
    EXPECT_ERR(agp_mdoc_verify(&res, resp.ptr, resp.len, &p), AGP_ERR_SIGNATURE);
    p.transcript_len++;
    bad = malloc(resp.len);
    memcpy(bad, resp.ptr, resp.len);
    /* the MAC tag's last byte, before "status": 0 (8 bytes) */
    EXPECT(memcmp(resp.ptr + resp.len - 8, "\x66status\x00", 8) == 0);
    bad[resp.len - 9] ^= 1;
    EXPECT_ERR(agp_mdoc_verify(&res, bad, resp.len, &p), AGP_ERR_SIGNATURE);
    free(bad);
    /* the default policy wants the EU docType */
    p.doctype = p.name_space = NULL;
    EXPECT_ERR(agp_mdoc_verify(&res, resp.ptr, resp.len, &p), AGP_ERR_TOKEN_TYPE);
    p.doctype = "org.iso.18013.5.1.mDL";
    p.name_space = "org.iso.18013.5.1";
    /* the real clock */
    p.now = (int64_t)time(NULL);
    EXPECT_ERR(agp_mdoc_verify(&res, resp.ptr, resp.len, &p), AGP_ERR_EXPIRED);
    p.now = T_ANNEX;
    /* every mutation: refused (none can turn "no age" into an accept anyway) */
    EXPECT(mutations_accepted(&resp, resp.len, &p) == 0);

    EVP_PKEY_free(reader);
    EVP_PKEY_free(other);
    X509_STORE_free(utopia);
    json_decref(keys);
    free(resp.ptr);
    free(stb.ptr);
}

static void test_oid4vp_transcript(void)
{
    json_t *j = test_load_json(vdir, "mdoc/oid4vp-1.0-session-transcript.json");
    json_t *red = json_object_get(j, "redirect");
    struct test_bytes thumb = test_json_hex(j, "jwk_sha256_thumbprint_hex");
    struct test_bytes want = test_json_hex(red, "SessionTranscript_hex");
    uint8_t out[256];
    size_t len;
    EXPECT_OK(agp_mdoc_oid4vp_transcript(out, sizeof out, &len, jstr(red, "client_id"),
                                         jstr(red, "nonce"), thumb.ptr, jstr(red, "response_uri")));
    EXPECT(len == want.len);
    EXPECT_BYTES(out, want.ptr, want.len);
    EXPECT_ERR(agp_mdoc_oid4vp_transcript(out, 10, &len, jstr(red, "client_id"), jstr(red, "nonce"),
                                          thumb.ptr, jstr(red, "response_uri")),
               AGP_ERR_TOO_BIG);
    free(thumb.ptr);
    free(want.ptr);
    json_decref(j);
}

static agp_err cose_hex(struct agp_cose_msg *m, const char *hex, bool mac)
{
    static struct test_bytes last; /* m points into it until the next call */
    struct agp_reader r;
    agp_err err;
    free(last.ptr);
    last = test_hex(hex);
    agp_reader_init(&r, last.ptr, last.len);
    err = agp_cose_parse(m, &r, mac);
    if (err == AGP_OK) err = agp_read_end(&r);
    return err;
}

static agp_err cose_key_hex(const char *hex)
{
    struct test_bytes b = test_hex(hex);
    EVP_PKEY *k = NULL;
    agp_err err = agp_cose_key_p256(&k, (struct agp_span){b.ptr, b.len});
    EXPECT((err == AGP_OK) == (k != NULL));
    EVP_PKEY_free(k);
    free(b.ptr);
    return err;
}

/* COSE_Sign1 / COSE_Mac0 / COSE_Key shapes, hand-made (RFC 9052, 9053, 9360). */
static void test_cose(void)
{
#define SIG64                                                                                      \
    "5840"                                                                                         \
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" \
    "000000000000000000000000000000000000"
#define SIG63                                                                                      \
    "583f"                                                                                         \
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" \
    "0000000000000000000000000000000000"
#define X                                                                                          \
    "5820"                                                                                         \
    "96313d6c63e24e3372742bfdb1a33ba2c897dcd68ab8c753e4fbd48dca6b7f9a"
#define Y                                                                                          \
    "5820"                                                                                         \
    "1fb3269edd418857de1b39a4e4a44b92fa484caa722c228288f01d0c03a2c3d6"
    struct agp_cose_msg m;
    EVP_PKEY *k = NULL;
    struct test_bytes x = test_hex(&X[4]), y = test_hex(&Y[4]);
    EXPECT_OK(cose_hex(&m, "8443a10126a0f6" SIG64, false));
    EXPECT(m.alg == -7 && m.detached && m.sig.len == 64 && m.x5chain_len == 0);
    EXPECT_OK(cose_hex(&m, "d28443a10126a0f6" SIG64, false));                  /* tag 18 */
    EXPECT_ERR(cose_hex(&m, "d18443a10126a0f6" SIG64, false), AGP_ERR_SYNTAX); /* tag 17 */
    EXPECT_OK(cose_hex(&m,
                       "d18443a10105a0f65820"
                       "00000000000000000000000000000000"
                       "00000000000000000000000000000000",
                       true));
    EXPECT_ERR(cose_hex(&m, "8440a0f6" SIG64, false), AGP_ERR_SYNTAX);       /* no alg */
    EXPECT_ERR(cose_hex(&m, "8441a0a10126f6" SIG64, false), AGP_ERR_SYNTAX); /* unprotected alg */
    EXPECT_ERR(cose_hex(&m, "8445a201260126a0f6" SIG64, false), AGP_ERR_SYNTAX); /* label twice */
    EXPECT_ERR(cose_hex(&m, "8343a10126a0f6", false), AGP_ERR_SYNTAX);           /* 3 items */
    EXPECT_OK(cose_hex(&m, "8443a10126a1182141aaf6" SIG64, false));              /* x5chain bstr */
    EXPECT(m.x5chain_len == 1 && m.x5chain[0].len == 1);
    EXPECT_OK(cose_hex(&m, "8443a10126a11821824101410243010203" SIG64, false)); /* x5chain [2] */
    EXPECT(m.x5chain_len == 2);
    EXPECT_ERR(cose_hex(&m, "8443a10126a118218141aaf6" SIG64, false), AGP_ERR_LENGTH); /* [1] */
    EXPECT_ERR(cose_hex(&m, "8443a10126a1182140f6" SIG64, false), AGP_ERR_LENGTH);     /* empty */
    EXPECT_ERR(cose_hex(&m, "8447a2182141aa0126a1182141aaf6" SIG64, false), AGP_ERR_SYNTAX);
    EXPECT_OK(cose_hex(&m, "8443a10126a0f6" SIG64, false));
    /* verification: the key and the algorithm first */
    EXPECT_OK(agp_p256_public(&k, x.ptr, y.ptr));
    free(x.ptr);
    free(y.ptr);
    {
        struct agp_span part = {(const uint8_t *)"x", 1};
        EXPECT_ERR(agp_cose_sign1_verify(&m, k, &part, 1), AGP_ERR_SIGNATURE); /* r = s = 0 */
        EXPECT_ERR(agp_cose_sign1_verify(&m, k, NULL, 0), AGP_ERR_ARG); /* detached, none given */
        EXPECT_OK(cose_hex(&m, "8444a1013822a0f6" SIG64, false));       /* ES384 */
        EXPECT_ERR(agp_cose_sign1_verify(&m, k, &part, 1), AGP_ERR_KEY);
        EXPECT_OK(cose_hex(&m, "8443a10126a0f6" SIG63, false)); /* 63 bytes */
        EXPECT_ERR(agp_cose_sign1_verify(&m, k, &part, 1), AGP_ERR_SIGNATURE);
    }
    EVP_PKEY_free(k);
    /* COSE_Key: EC2 P-256 with x and y */
    EXPECT_OK(cose_key_hex("a401022001"
                           "21" X "22" Y));
    EXPECT_OK(cose_key_hex(
        "a5010220010258200000000000000000000000000000000000000000000000000000000000000000"
        "21" X "22" Y));
    EXPECT_ERR(cose_key_hex("a401022002"
                            "21" X "22" Y),
               AGP_ERR_KEY); /* P-384 */
    EXPECT_ERR(cose_key_hex("a401012001"
                            "21" X "22" Y),
               AGP_ERR_KEY); /* OKP */
    EXPECT_ERR(cose_key_hex("a3010220012158209631"), AGP_ERR_TRUNCATED);
    EXPECT_ERR(cose_key_hex("a301022001"
                            "21" X),
               AGP_ERR_KEY); /* no y */
    EXPECT_ERR(cose_key_hex("a401022001"
                            "21" X "21" Y),
               AGP_ERR_SYNTAX); /* x twice */
    EXPECT_ERR(cose_key_hex("a401022001"
                            "21" X "22" X),
               AGP_ERR_KEY); /* off the curve */
    EXPECT_ERR(cose_key_hex("a401022001"
                            "21" X "22f5"),
               AGP_ERR_SYNTAX); /* compressed */
#undef SIG64
#undef SIG63
#undef X
#undef Y
}

static agp_err read_one(const char *hex)
{
    struct test_bytes b = test_hex(hex);
    struct agp_reader r;
    struct agp_span s;
    agp_err err;
    agp_reader_init(&r, b.ptr, b.len);
    err = agp_cbor_item(&r, AGP_CBOR_MAX_DEPTH, &s);
    if (err == AGP_OK) err = agp_read_end(&r);
    free(b.ptr);
    return err;
}

static void test_cbor(void)
{
    char deep[2 * 40 + 3];
    size_t i;
    EXPECT_OK(read_one("00"));
    EXPECT_OK(read_one("1818"));
    EXPECT_ERR(read_one("1817"), AGP_ERR_ENCODING);       /* 23 in two bytes */
    EXPECT_ERR(read_one("190017"), AGP_ERR_ENCODING);     /* 23 in three */
    EXPECT_ERR(read_one("1a0000ffff"), AGP_ERR_ENCODING); /* 65535 in five */
    EXPECT_ERR(read_one("1b00000000ffffffff"), AGP_ERR_ENCODING);
    EXPECT_ERR(read_one("580141"), AGP_ERR_ENCODING); /* bstr length 1 in two bytes */
    EXPECT_ERR(read_one("d80000"), AGP_ERR_ENCODING); /* tag 0 in two bytes */
    EXPECT_OK(read_one("b90001616101"));              /* map heads may be long (cbor-x) */
    EXPECT_OK(read_one("9900020102"));
    EXPECT_ERR(read_one("1c"), AGP_ERR_ENCODING);                  /* reserved */
    EXPECT_ERR(read_one("5f4100ff"), AGP_ERR_ENCODING);            /* indefinite bstr */
    EXPECT_ERR(read_one("9f00ff"), AGP_ERR_ENCODING);              /* indefinite array */
    EXPECT_ERR(read_one("f93c00"), AGP_ERR_ENCODING);              /* half float */
    EXPECT_ERR(read_one("f8ff"), AGP_ERR_ENCODING);                /* simple 255 */
    EXPECT_ERR(read_one("62c328"), AGP_ERR_ENCODING);              /* bad UTF-8 */
    EXPECT_ERR(read_one("63eda080"), AGP_ERR_ENCODING);            /* a surrogate */
    EXPECT_ERR(read_one("62c0af"), AGP_ERR_ENCODING);              /* overlong */
    EXPECT_ERR(read_one("5b7fffffffffffffff"), AGP_ERR_TRUNCATED); /* huge length */
    EXPECT_ERR(read_one("9b7fffffffffffffff"), AGP_ERR_TRUNCATED);
    EXPECT_ERR(read_one("bb3fffffffffffffff"), AGP_ERR_TRUNCATED);
    EXPECT_ERR(read_one("810001"), AGP_ERR_TRAILING);
    /* heads libcbor 0.8 reads or refuses differently from RFC 8949 */
    EXPECT_OK(read_one("c600"));                      /* tag 6 in one byte: libcbor refuses */
    EXPECT_OK(read_one("d400"));                      /* tag 20 */
    EXPECT_OK(read_one("d500"));                      /* tag 21: libcbor reads it */
    EXPECT_ERR(read_one("d81700"), AGP_ERR_ENCODING); /* tag 23 in two bytes */
    EXPECT_ERR(read_one("3817"), AGP_ERR_ENCODING);   /* -24 in two bytes */
    EXPECT_ERR(read_one("7800"), AGP_ERR_ENCODING);   /* "" in two bytes */
    EXPECT_ERR(read_one("e0"), AGP_ERR_ENCODING);     /* simple 0 */
    EXPECT_ERR(read_one("f818"), AGP_ERR_ENCODING);   /* simple 24 */
    EXPECT_ERR(read_one("fb3ff0000000000000"), AGP_ERR_ENCODING);
    EXPECT_ERR(read_one("ff"), AGP_ERR_ENCODING);       /* break */
    EXPECT_ERR(read_one("7f6161ff"), AGP_ERR_ENCODING); /* indefinite tstr */
    EXPECT_ERR(read_one("bfff"), AGP_ERR_ENCODING);     /* indefinite map */
    EXPECT_ERR(read_one("3b"), AGP_ERR_TRUNCATED);      /* head cut short */
    EXPECT_ERR(read_one("5a000000"), AGP_ERR_TRUNCATED);
    EXPECT_ERR(read_one(""), AGP_ERR_TRUNCATED);
    EXPECT_OK(read_one("83f4f5f7"));           /* false, true, undefined */
    EXPECT_OK(read_one("3bfffffffffffffffe")); /* -2^64 + 1 */
    {
        /* a string's head alone, then typed reads that leave r on a wrong type */
        struct test_bytes b = test_hex("42010263616263");
        struct agp_reader r;
        struct agp_span s;
        uint8_t major;
        uint64_t arg;
        agp_reader_init(&r, b.ptr, b.len);
        EXPECT_OK(agp_cbor_head(&r, &major, &arg));
        EXPECT(major == AGP_CBOR_BSTR && arg == 2 && r.pos == 1);
        r.pos = 0;
        EXPECT_ERR(agp_cbor_tstr(&r, 8, &s), AGP_ERR_SYNTAX);
        EXPECT(r.pos == 0);
        EXPECT_ERR(agp_cbor_bstr(&r, 1, &s), AGP_ERR_LENGTH);
        r.pos = 0;
        EXPECT_OK(agp_cbor_bstr(&r, 2, &s));
        EXPECT(s.len == 2 && s.ptr == b.ptr + 1 && r.pos == 3);
        EXPECT_OK(agp_cbor_tstr(&r, 3, &s));
        EXPECT(agp_span_is(s, "abc"));
        EXPECT_OK(agp_read_end(&r));
        agp_reader_init(&r, b.ptr, 2); /* 42 01: the string cut short */
        EXPECT_ERR(agp_cbor_head(&r, &major, &arg), AGP_ERR_TRUNCATED);
        EXPECT(r.pos == 0);
        free(b.ptr);
    }
    EXPECT_OK(read_one("a1616101"));
    EXPECT_ERR(read_one("a16161"), AGP_ERR_TRUNCATED);
    /* nesting: 16 levels read, 17 refused */
    for (i = 0; i < 15; i++)
        memcpy(deep + 2 * i, "81", 2);
    memcpy(deep + 30, "00", 3);
    EXPECT_OK(read_one(deep));
    for (i = 0; i < 16; i++)
        memcpy(deep + 2 * i, "81", 2);
    memcpy(deep + 32, "00", 3);
    EXPECT_ERR(read_one(deep), AGP_ERR_TOO_BIG);
    /* the writer makes the shortest heads */
    {
        uint8_t buf[16];
        struct agp_writer w;
        agp_writer_init(&w, buf, sizeof buf);
        EXPECT_OK(agp_cbor_put_head(&w, AGP_CBOR_UINT, 23));
        EXPECT_OK(agp_cbor_put_head(&w, AGP_CBOR_UINT, 24));
        EXPECT_OK(agp_cbor_put_head(&w, AGP_CBOR_BSTR, 256));
        EXPECT_OK(agp_cbor_put_head(&w, AGP_CBOR_TAG, 65536));
        EXPECT(w.len == 1 + 2 + 3 + 5);
        EXPECT_BYTES(buf, "\x17\x18\x18\x59\x01\x00\xda\x00\x01\x00\x00", 11);
        agp_writer_init(&w, buf, sizeof buf);
        EXPECT_OK(agp_cbor_put_head(&w, AGP_CBOR_NINT, 0)); /* -1 */
        EXPECT_OK(agp_cbor_put_head(&w, AGP_CBOR_ARRAY, 3));
        EXPECT_OK(agp_cbor_put_head(&w, AGP_CBOR_MAP, 1000));
        EXPECT_OK(agp_cbor_put_head(&w, AGP_CBOR_SIMPLE, 22)); /* null */
        EXPECT_OK(agp_cbor_put_tstr(&w, "ab", 2));
        EXPECT_OK(agp_cbor_put_bstr(&w, (const uint8_t *)"\x01", 1));
        EXPECT_BYTES(buf,
                     "\x20\x83\xb9\x03\xe8\xf6\x62"
                     "ab\x41\x01",
                     11);
        EXPECT_ERR(agp_cbor_put_head(&w, AGP_CBOR_UINT, UINT64_MAX), AGP_ERR_TOO_BIG); /* 5 left */
        EXPECT_ERR(agp_cbor_put_head(&w, AGP_CBOR_SIMPLE, 24), AGP_ERR_ARG);
        EXPECT_ERR(agp_cbor_put_head(&w, 8, 0), AGP_ERR_ARG);
        EXPECT(w.len == 11);
        agp_writer_init(&w, buf, sizeof buf);
        EXPECT_OK(agp_cbor_put_head(&w, AGP_CBOR_NINT, UINT64_MAX)); /* -2^64 */
        EXPECT_BYTES(buf, "\x3b\xff\xff\xff\xff\xff\xff\xff\xff", 9);
        EXPECT(w.len == 9);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2 && !(argc == 3 && strcmp(argv[2], "--mutations") == 0)) {
        fprintf(stderr, "usage: test_mdoc VECTOR_DIR [--mutations]\n");
        return 2;
    }
    vdir = argv[1];
    mutations = argc == 3;
    test_cbor();
    test_cose();
    test_oid4vp_transcript();
    test_eu_examples();
    test_annex_d();
    TEST_END();
}
