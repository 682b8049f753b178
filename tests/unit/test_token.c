/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_token.c: token type 0x0002 against RFC 9578 Appendix A.2
 * and the structures of RFC 9577 Appendix A.1, then every rejection: each
 * parser truncated at every length, one byte longer, each length prefix
 * corrupted, max+1, unknown token type, wrong key id, another challenge's
 * digest, a flipped authenticator bit.
 *
 * usage: test_token VECTOR_DIR
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "agepass/token.h"
#include "agepass/util.h"
#include "test.h"

typedef agp_err (*parse_fn)(const uint8_t *in, size_t len);

static agp_err parse_challenge(const uint8_t *in, size_t len)
{
    struct agp_challenge c;
    return agp_challenge_parse(&c, in, len);
}
static agp_err parse_request(const uint8_t *in, size_t len)
{
    struct agp_token_request r;
    return agp_token_request_parse(&r, in, len);
}
static agp_err parse_response(const uint8_t *in, size_t len)
{
    struct agp_token_response r;
    return agp_token_response_parse(&r, in, len);
}
static agp_err parse_token(const uint8_t *in, size_t len)
{
    struct agp_token t;
    return agp_token_parse(&t, in, len);
}
static agp_err parse_state(const uint8_t *in, size_t len)
{
    struct agp_token_state st;
    struct agp_span key;
    return agp_token_state_parse(&st, &key, in, len);
}

/* Every strict prefix fails, one more byte is AGP_ERR_TRAILING. */
static void check_lengths(parse_fn parse, const uint8_t *in, size_t len)
{
    uint8_t *longer = malloc(len + 1);
    size_t i;
    int all_failed = 1;
    EXPECT_OK(parse(in, len));
    for (i = 0; i < len; i++)
        if (parse(in, i) == AGP_OK) all_failed = 0;
    EXPECT(all_failed);
    memcpy(longer, in, len);
    longer[len] = 0;
    EXPECT_ERR(parse(longer, len + 1), AGP_ERR_TRAILING);
    free(longer);
}

/* Sets a big-endian length field of width bytes at off to v, then parses. */
static agp_err with_length(parse_fn parse, const uint8_t *in, size_t len, size_t off, size_t width,
                           unsigned v)
{
    uint8_t buf[AGP_CHALLENGE_MAX + 2];
    memcpy(buf, in, len);
    if (width == 1)
        buf[off] = (uint8_t)v;
    else {
        buf[off] = (uint8_t)(v >> 8);
        buf[off + 1] = (uint8_t)v;
    }
    return parse(buf, len);
}

static void check_challenge(const struct test_bytes *ch, json_t *derived)
{
    struct agp_challenge c;
    /* derived.issuer_name and origin_info are text, redemption_context hex */
    const char *name_s = json_string_value(json_object_get(derived, "issuer_name"));
    const char *origin_s = json_string_value(json_object_get(derived, "origin_info"));
    struct test_bytes name = {(unsigned char *)strdup(name_s), strlen(name_s)};
    struct test_bytes ctx = test_json_hex(derived, "redemption_context");
    struct test_bytes origin = {(unsigned char *)strdup(origin_s), strlen(origin_s)};
    uint8_t out[AGP_CHALLENGE_MAX];
    struct agp_writer w;
    size_t off_ctx, off_origin, n;

    EXPECT_OK(agp_challenge_parse(&c, ch->ptr, ch->len));
    EXPECT(c.token_type == AGP_TOKEN_TYPE_BLIND_RSA);
    EXPECT(c.issuer_name.len == name.len && memcmp(c.issuer_name.ptr, name.ptr, name.len) == 0);
    EXPECT(c.redemption_context.len == ctx.len);
    EXPECT(c.origin_info.len == origin.len);
    EXPECT(c.origin_info.len == origin.len &&
           memcmp(c.origin_info.ptr, origin.ptr, origin.len) == 0);
    EXPECT(ctx.len == 0 || memcmp(c.redemption_context.ptr, ctx.ptr, ctx.len) == 0);
    agp_writer_init(&w, out, sizeof out);
    EXPECT_OK(agp_challenge_write(&w, &c));
    EXPECT(w.len == ch->len);
    EXPECT_BYTES(out, ch->ptr, ch->len);

    check_lengths(parse_challenge, ch->ptr, ch->len);
    /* each length prefix: one more, one less, its maximum */
    off_ctx = 4 + name.len;
    off_origin = off_ctx + 1 + ctx.len;
    EXPECT_FAIL(with_length(parse_challenge, ch->ptr, ch->len, 2, 2, (unsigned)name.len + 1));
    EXPECT_FAIL(with_length(parse_challenge, ch->ptr, ch->len, 2, 2, (unsigned)name.len - 1));
    EXPECT_FAIL(with_length(parse_challenge, ch->ptr, ch->len, 2, 2, 0xffff));
    EXPECT_ERR(with_length(parse_challenge, ch->ptr, ch->len, 2, 2, 0), AGP_ERR_LENGTH);
    EXPECT_FAIL(with_length(parse_challenge, ch->ptr, ch->len, off_ctx, 1, (unsigned)ctx.len + 1));
    EXPECT_FAIL(with_length(parse_challenge, ch->ptr, ch->len, off_ctx, 1, 0xff));
    EXPECT_ERR(with_length(parse_challenge, ch->ptr, ch->len, off_ctx, 1, 33), AGP_ERR_LENGTH);
    EXPECT_FAIL(
        with_length(parse_challenge, ch->ptr, ch->len, off_origin, 2, (unsigned)origin.len + 1));
    EXPECT_FAIL(with_length(parse_challenge, ch->ptr, ch->len, off_origin, 2, 0xffff));
    if (origin.len > 0)
        EXPECT_ERR(
            with_length(parse_challenge, ch->ptr, ch->len, off_origin, 2, (unsigned)origin.len - 1),
            AGP_ERR_TRAILING);
    /* unknown and grease token types */
    EXPECT_ERR(with_length(parse_challenge, ch->ptr, ch->len, 0, 2, 0x0000), AGP_ERR_TOKEN_TYPE);
    EXPECT_ERR(with_length(parse_challenge, ch->ptr, ch->len, 0, 2, 0x0003), AGP_ERR_TOKEN_TYPE);
    /* writer bounds: redemption context of 31 or 33 bytes */
    n = c.redemption_context.len;
    c.redemption_context.len = 31;
    c.redemption_context.ptr = out;
    agp_writer_init(&w, out + 64, sizeof out - 64);
    EXPECT_ERR(agp_challenge_write(&w, &c), AGP_ERR_LENGTH);
    c.redemption_context.len = n;
    free(name.ptr), free(ctx.ptr), free(origin.ptr);
}

static void check_vector(json_t *v, struct agp_key *other)
{
    json_t *derived = json_object_get(v, "derived");
    struct test_bytes sk_pem = test_json_hex(v, "skS"), pk = test_json_hex(v, "pkS");
    struct test_bytes ch = test_json_hex(v, "token_challenge"), salt = test_json_hex(v, "salt");
    struct test_bytes blind = test_json_hex(v, "blind"), req = test_json_hex(v, "token_request");
    struct test_bytes resp = test_json_hex(v, "token_response"), tok = test_json_hex(v, "token");
    struct test_bytes key_id = test_json_hex(derived, "token_key_id");
    struct test_bytes inv = test_json_hex(derived, "inv");
    struct agp_key *sk = NULL, *pub = NULL;
    struct agp_token_request r;
    struct agp_token t;
    struct agp_token_state st;
    struct agp_writer w;
    struct agp_span spki_span;
    uint8_t out[AGP_TOKEN_LEN + 16], digest[AGP_SHA256_LEN], other_digest[AGP_SHA256_LEN];
    uint8_t state_buf[AGP_TOKEN_STATE_MAX], blinded[AGP_NK], inv_out[AGP_NK], bad[AGP_TOKEN_LEN];
    const uint8_t *spki;
    size_t spki_len, i;

    /* keys: the PEM private key and the SPKI name the same key and id */
    EXPECT_OK(agp_key_load_private_pem(&sk, sk_pem.ptr, sk_pem.len));
    EXPECT_OK(agp_key_load_spki(&pub, pk.ptr, pk.len));
    if (sk == NULL || pub == NULL) goto out;
    EXPECT(pk.len == 342);
    spki = agp_key_spki(sk, &spki_len);
    EXPECT(spki_len == pk.len);
    EXPECT_BYTES(spki, pk.ptr, pk.len);
    EXPECT_BYTES(agp_key_id(sk), key_id.ptr, AGP_SHA256_LEN);
    EXPECT_BYTES(agp_key_id(pub), key_id.ptr, AGP_SHA256_LEN);

    check_challenge(&ch, derived);
    EXPECT_OK(agp_challenge_digest(digest, ch.ptr, ch.len));

    /* TokenRequest: parse, and rebuild it from token_input, salt and blind */
    EXPECT_OK(agp_token_request_parse(&r, req.ptr, req.len));
    EXPECT(r.token_type == 2);
    EXPECT(r.truncated_token_key_id == key_id.ptr[31]);
    EXPECT(r.truncated_token_key_id ==
           (uint8_t)json_integer_value(json_object_get(derived, "truncated_token_key_id")));
    agp_writer_init(&w, out, sizeof out);
    EXPECT_OK(agp_token_request_write(&w, &r));
    EXPECT(w.len == req.len && memcmp(out, req.ptr, req.len) == 0);
    EXPECT_OK(agp_rsabssa_blind(pub, AGP_RSABSSA_SHA384_PSS_DETERMINISTIC, blinded, inv_out,
                                tok.ptr, AGP_TOKEN_INPUT_LEN, salt.ptr, blind.ptr));
    EXPECT_BYTES(blinded, req.ptr + 3, AGP_NK);
    EXPECT_BYTES(inv_out, inv.ptr, AGP_NK);
    check_lengths(parse_request, req.ptr, req.len);

    /* issuer: the published response, and what it refuses */
    EXPECT_OK(agp_token_issue(sk, out, req.ptr, req.len));
    EXPECT_BYTES(out, resp.ptr, AGP_NK);
    memcpy(bad, req.ptr, req.len);
    bad[1] = 0x01;
    EXPECT_ERR(agp_token_issue(sk, out, bad, req.len), AGP_ERR_TOKEN_TYPE);
    bad[1] = 0x02;
    bad[2] ^= 0xff;
    EXPECT_ERR(agp_token_issue(sk, out, bad, req.len), AGP_ERR_KEY_ID);
    EXPECT_ERR(agp_token_issue(sk, out, req.ptr, req.len - 1), AGP_ERR_TRUNCATED);
    memcpy(bad, req.ptr, req.len);
    bad[req.len] = 0;
    EXPECT_ERR(agp_token_issue(sk, out, bad, req.len + 1), AGP_ERR_TRAILING);
    EXPECT_ERR(agp_token_issue(pub, out, req.ptr, req.len), AGP_ERR_KEY);
    EXPECT_ERR(agp_token_issue(other, out, req.ptr, req.len),
               other != NULL && agp_key_id(other)[31] == key_id.ptr[31] ? AGP_ERR_CRYPTO
                                                                        : AGP_ERR_KEY_ID);
    memset(bad, 0xff, req.len); /* blinded_msg above n */
    bad[0] = 0, bad[1] = 2, bad[2] = key_id.ptr[31];
    EXPECT_ERR(agp_token_issue(sk, out, bad, req.len), AGP_ERR_RANGE);

    /* TokenResponse */
    check_lengths(parse_response, resp.ptr, resp.len);

    /* client: finalize with the vector's state gives the published token */
    memcpy(st.token_input, tok.ptr, AGP_TOKEN_INPUT_LEN);
    memcpy(st.inv, inv.ptr, AGP_NK);
    EXPECT_OK(agp_token_finish(pub, out, &st, resp.ptr, resp.len));
    EXPECT_BYTES(out, tok.ptr, AGP_TOKEN_LEN);
    memcpy(bad, resp.ptr, resp.len);
    bad[100] ^= 0x01;
    EXPECT_ERR(agp_token_finish(pub, out, &st, bad, resp.len), AGP_ERR_SIGNATURE);
    if (other != NULL)
        EXPECT_ERR(agp_token_finish(other, out, &st, resp.ptr, resp.len), AGP_ERR_KEY_ID);
    /* the state file: written, read back, strict */
    agp_writer_init(&w, state_buf, sizeof state_buf);
    EXPECT_OK(agp_token_state_write(&w, &st, pub));
    {
        struct agp_token_state st2;
        EXPECT_OK(agp_token_state_parse(&st2, &spki_span, state_buf, w.len));
        EXPECT(memcmp(&st, &st2, sizeof st) == 0);
        EXPECT(spki_span.len == pk.len && memcmp(spki_span.ptr, pk.ptr, pk.len) == 0);
        check_lengths(parse_state, state_buf, w.len);
        EXPECT_ERR(with_length(parse_state, state_buf, w.len, 4, 1, 2), AGP_ERR_ENCODING);
        EXPECT_ERR(with_length(parse_state, state_buf, w.len, 0, 1, 'X'), AGP_ERR_ENCODING);
        EXPECT_FAIL(with_length(parse_state, state_buf, w.len, 5 + 98 + 256, 2, 0));
        EXPECT_FAIL(with_length(parse_state, state_buf, w.len, 5 + 98 + 256, 2, 0xffff));
        EXPECT_FAIL(with_length(parse_state, state_buf, w.len, 5 + 98 + 256, 2, 343));
    }

    /* Token: parse, write, verify, and every way verification refuses */
    EXPECT_OK(agp_token_parse(&t, tok.ptr, tok.len));
    agp_writer_init(&w, out, sizeof out);
    EXPECT_OK(agp_token_write(&w, &t));
    EXPECT(w.len == tok.len && memcmp(out, tok.ptr, tok.len) == 0);
    EXPECT_BYTES(t.challenge_digest.ptr, digest, AGP_SHA256_LEN);
    EXPECT_OK(agp_token_verify(pub, &t, digest));
    EXPECT_OK(agp_token_verify(sk, &t, digest));
    check_lengths(parse_token, tok.ptr, tok.len);
    memcpy(bad, tok.ptr, tok.len);
    bad[1] = 0x01;
    EXPECT_ERR(agp_token_parse(&t, bad, tok.len), AGP_ERR_TOKEN_TYPE);
    for (i = 0; i < 8; i++) { /* a flipped bit anywhere in the authenticator */
        memcpy(bad, tok.ptr, tok.len);
        bad[AGP_TOKEN_INPUT_LEN + i * 31] ^= (uint8_t)(1u << i);
        EXPECT_OK(agp_token_parse(&t, bad, tok.len));
        EXPECT_ERR(agp_token_verify(pub, &t, digest), AGP_ERR_SIGNATURE);
    }
    memcpy(bad, tok.ptr, tok.len); /* a flipped nonce bit breaks the signature */
    bad[2] ^= 0x01;
    EXPECT_OK(agp_token_parse(&t, bad, tok.len));
    EXPECT_ERR(agp_token_verify(pub, &t, digest), AGP_ERR_SIGNATURE);
    memcpy(bad, tok.ptr, tok.len); /* a token of another key id */
    bad[2 + 32 + 32] ^= 0x01;
    EXPECT_OK(agp_token_parse(&t, bad, tok.len));
    EXPECT_ERR(agp_token_verify(pub, &t, digest), AGP_ERR_KEY_ID);
    EXPECT_OK(agp_token_parse(&t, tok.ptr, tok.len));
    if (other != NULL) EXPECT_ERR(agp_token_verify(other, &t, digest), AGP_ERR_KEY_ID);
    /* a token whose challenge digest belongs to another challenge */
    memcpy(other_digest, digest, sizeof digest);
    other_digest[0] ^= 0x80;
    EXPECT_ERR(agp_token_verify(pub, &t, other_digest), AGP_ERR_CHALLENGE);

out:
    agp_token_state_clear(&st);
    agp_key_free(sk);
    agp_key_free(pub);
    free(sk_pem.ptr), free(pk.ptr), free(ch.ptr), free(salt.ptr), free(blind.ptr);
    free(req.ptr), free(resp.ptr), free(tok.ptr), free(key_id.ptr), free(inv.ptr);
}

/* RFC 9577 A.1: challenges rebuilt from their fields, token inputs. */
static void check_structures(json_t *list, const uint8_t *type2_key_id)
{
    size_t i;
    for (i = 0; i < json_array_size(list); i++) {
        json_t *v = json_array_get(list, i);
        struct test_bytes type = test_json_hex(v, "token_type");
        struct test_bytes input = test_json_hex(v, "token_authenticator_input");
        uint16_t tt = (uint16_t)(type.ptr[0] << 8 | type.ptr[1]);
        struct agp_token t;
        uint8_t buf[AGP_TOKEN_LEN];
        if (tt == 0) { /* grease: random bytes under token type 0x0000 */
            EXPECT(input.len == AGP_TOKEN_LEN);
            EXPECT_ERR(agp_token_parse(&t, input.ptr, input.len), AGP_ERR_TOKEN_TYPE);
        } else {
            struct test_bytes name = test_json_hex(v, "issuer_name");
            struct test_bytes ctx = test_json_hex(v, "redemption_context");
            struct test_bytes origin = test_json_hex(v, "origin_info");
            struct test_bytes nonce = test_json_hex(v, "nonce");
            struct test_bytes kid = test_json_hex(v, "token_key_id");
            struct test_bytes want =
                test_json_hex(json_object_get(v, "derived"), "token_challenge");
            struct agp_challenge c = {
                tt, {name.ptr, name.len}, {ctx.ptr, ctx.len}, {origin.ptr, origin.len}};
            uint8_t ch[AGP_CHALLENGE_MAX], digest[AGP_SHA256_LEN];
            struct agp_writer w;
            agp_writer_init(&w, ch, sizeof ch);
            EXPECT(tt == AGP_TOKEN_TYPE_BLIND_RSA);
            EXPECT_OK(agp_challenge_write(&w, &c));
            EXPECT(w.len == want.len && memcmp(ch, want.ptr, want.len) == 0);
            EXPECT_OK(agp_challenge_digest(digest, ch, w.len));
            /* token_type || nonce || SHA-256(challenge) || token_key_id */
            EXPECT(input.len == AGP_TOKEN_INPUT_LEN);
            EXPECT(input.ptr[0] == 0 && input.ptr[1] == 2);
            EXPECT_BYTES(input.ptr + 2, nonce.ptr, 32);
            EXPECT_BYTES(input.ptr + 34, digest, 32);
            EXPECT_BYTES(input.ptr + 66, kid.ptr, 32);
            EXPECT_BYTES(kid.ptr, type2_key_id, 32);
            free(name.ptr), free(ctx.ptr), free(origin.ptr), free(nonce.ptr), free(kid.ptr);
            free(want.ptr);
        }
        memset(buf, 0, sizeof buf);
        free(type.ptr), free(input.ptr);
    }
}

/* Keys in other encodings must not load: they would change token_key_id. */
static void check_key_encodings(struct agp_key *key)
{
    struct agp_key *k = NULL;
    size_t spki_len;
    const uint8_t *spki = agp_key_spki(key, &spki_len);
    uint8_t buf[AGP_SPKI_MAX_LEN + 1];
    unsigned char *der = NULL;
    int der_len;
    EVP_PKEY *ec;
    BIO *bio;
    char *pem;
    long pem_len;

    memcpy(buf, spki, spki_len);
    buf[spki_len] = 0;
    EXPECT_FAIL(agp_key_load_spki(&k, buf, spki_len + 1));
    EXPECT_FAIL(agp_key_load_spki(&k, buf, spki_len - 1));
    buf[20] ^= 1; /* inside the algorithm identifier */
    EXPECT_ERR(agp_key_load_spki(&k, buf, spki_len), AGP_ERR_KEY);
    EXPECT(k == NULL);
    /* OpenSSL's own encodings of the same key (rsaEncryption, 294 bytes) */
    {
        EVP_PKEY *pk = NULL;
        char *pem_priv = NULL;
        size_t pem_priv_len;
        EXPECT_OK(agp_key_private_pem(key, &pem_priv, &pem_priv_len));
        bio = BIO_new_mem_buf(pem_priv, (int)pem_priv_len);
        pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        EXPECT(pk != NULL);
        EXPECT(strstr(pem_priv, "-----BEGIN PRIVATE KEY-----") == pem_priv);
        der_len = i2d_PUBKEY(pk, &der);
        EXPECT(der_len > 0);
        EXPECT_ERR(agp_key_load_spki(&k, der, (size_t)der_len), AGP_ERR_KEY);
        OPENSSL_free(der);
        EVP_PKEY_free(pk);
        BIO_free(bio);
        agp_wipe(pem_priv, pem_priv_len);
        free(pem_priv);
    }
    /* not RSA */
    ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, ec, NULL, NULL, 0, NULL, NULL);
    pem_len = BIO_get_mem_data(bio, &pem);
    EXPECT_ERR(agp_key_load_private_pem(&k, (const uint8_t *)pem, (size_t)pem_len), AGP_ERR_KEY);
    BIO_free(bio);
    EVP_PKEY_free(ec);
    EXPECT_ERR(agp_key_load_private_pem(&k, (const uint8_t *)"garbage", 7), AGP_ERR_ENCODING);
    EXPECT(k == NULL);
}

int main(int argc, char **argv)
{
    json_t *root, *vectors, *v9577;
    struct agp_key *other = NULL, *big = NULL, *pub = NULL;
    struct test_bytes first_key_id = {NULL, 0};
    uint8_t ch[64], req[AGP_TOKEN_REQUEST_LEN], resp[AGP_TOKEN_RESPONSE_LEN], tok[AGP_TOKEN_LEN];
    uint8_t digest[AGP_SHA256_LEN];
    struct agp_token_state st;
    struct agp_challenge c = {2, {(const uint8_t *)"issuer.example", 14}, {NULL, 0}, {NULL, 0}};
    struct agp_token t;
    struct agp_writer w;
    size_t i, spki_len;
    const uint8_t *spki;

    if (argc != 2) return 2;
    EXPECT_OK(agp_key_generate(&other, 2048));
    root = test_load_json(argv[1], "rfc9578-type2.json");
    vectors = json_object_get(root, "vectors");
    EXPECT(json_array_size(vectors) == 5);
    for (i = 0; i < json_array_size(vectors); i++)
        check_vector(json_array_get(vectors, i), other);
    first_key_id =
        test_json_hex(json_object_get(json_array_get(vectors, 0), "derived"), "token_key_id");
    json_decref(root);

    v9577 = test_load_json(argv[1], "rfc9577.json");
    EXPECT(json_array_size(json_object_get(v9577, "token_structure")) == 6);
    check_structures(json_object_get(v9577, "token_structure"), first_key_id.ptr);
    json_decref(v9577);
    free(first_key_id.ptr);

    /* a fresh round trip through the client, issuer and origin steps */
    agp_writer_init(&w, ch, sizeof ch);
    EXPECT_OK(agp_challenge_write(&w, &c));
    spki = agp_key_spki(other, &spki_len);
    EXPECT_OK(agp_key_load_spki(&pub, spki, spki_len));
    EXPECT_OK(agp_token_begin(pub, req, &st, ch, w.len));
    EXPECT_OK(agp_token_issue(other, resp, req, sizeof req));
    EXPECT_OK(agp_token_finish(pub, tok, &st, resp, sizeof resp));
    EXPECT_OK(agp_challenge_digest(digest, ch, w.len));
    EXPECT_OK(agp_token_parse(&t, tok, sizeof tok));
    EXPECT_OK(agp_token_verify(pub, &t, digest));
    /* begin refuses a type 0x0001 challenge and a malformed one */
    ch[1] = 1;
    EXPECT_ERR(agp_token_begin(pub, req, &st, ch, w.len), AGP_ERR_TOKEN_TYPE);
    ch[1] = 2;
    EXPECT_ERR(agp_token_begin(pub, req, &st, ch, w.len - 1), AGP_ERR_TRUNCATED);
    EXPECT(req[0] == 0 && req[2] == 0 && st.inv[0] == 0);
    /* token type 0x0002 is RSA-2048 only */
    EXPECT_OK(agp_key_generate(&big, 3072));
    EXPECT_ERR(agp_token_begin(big, req, &st, ch, w.len), AGP_ERR_KEY);
    EXPECT_ERR(agp_token_issue(big, resp, req, sizeof req), AGP_ERR_KEY);
    /* a challenge over the ceiling */
    {
        static uint8_t huge[AGP_CHALLENGE_MAX + 1];
        struct agp_challenge hc;
        memcpy(huge, ch, w.len);
        EXPECT_ERR(agp_challenge_parse(&hc, huge, sizeof huge), AGP_ERR_TOO_BIG);
        c.origin_info.ptr = huge;
        c.origin_info.len = AGP_CHALLENGE_MAX;
        agp_writer_init(&w, huge, sizeof huge);
        EXPECT_ERR(agp_challenge_write(&w, &c), AGP_ERR_TOO_BIG);
    }
    check_key_encodings(other);
    agp_key_free(big);
    agp_key_free(pub);
    agp_key_free(other);
    agp_token_state_clear(&st);
    TEST_END();
}
