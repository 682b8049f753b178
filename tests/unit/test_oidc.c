/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_oidc.c: ID token verification and birthdates
 * (lib/attest_oidc.c).
 *
 * Keys are made here (RSA-2048 and P-256, by OpenSSL through libcjose) and
 * tokens signed with libcjose; forged tokens are built by hand. The RFC 7515
 * A.2/A.3 examples (tests/vectors/rfc7515-jws.json) check that a foreign
 * RS256 and ES256 signature verifies, and that the same payload under
 * "alg":"none" does not.
 */
#include <stdint.h>
#include <time.h>

#include <cjose/cjose.h>

#include "agepass/oidc.h"
#include "agepass/util.h"
#include "test.h"

#define ISS    "https://op.example"
#define CLIENT "agepass-rp"
#define NONCE  "n-0S6_WzA2Mj"

static int64_t now;

/* Compact JWS of payload under header, signed by jwk (libcjose). */
static char *sign(const cjose_jwk_t *jwk, const char *alg, const char *kid, const char *payload)
{
    cjose_header_t *h = cjose_header_new(NULL);
    cjose_jws_t *jws;
    const char *ser = NULL;
    char *out;
    cjose_header_set(h, CJOSE_HDR_ALG, alg, NULL);
    if (kid) cjose_header_set(h, CJOSE_HDR_KID, kid, NULL);
    jws = cjose_jws_sign(jwk, h, (const uint8_t *)payload, strlen(payload), NULL);
    if (jws == NULL || !cjose_jws_export(jws, &ser, NULL)) {
        fprintf(stderr, "cjose_jws_sign failed\n");
        exit(2);
    }
    out = strdup(ser);
    cjose_jws_release(jws);
    cjose_header_release(h);
    return out;
}

/* base64url without padding of s. */
static void b64(char *out, size_t cap, const char *s, size_t n)
{
    size_t len;
    if (agp_b64url_encode(out, cap, &len, (const uint8_t *)s, n) != AGP_OK) exit(2);
    while (len > 0 && out[len - 1] == '=')
        out[--len] = '\0';
}

/* header.payload.sig built by hand (for forgeries). */
static char *raw_jws(const char *header, const char *payload, const char *sig_b64)
{
    static char out[8192];
    char h[1024], p[4096];
    b64(h, sizeof h, header, strlen(header));
    b64(p, sizeof p, payload, strlen(payload));
    snprintf(out, sizeof out, "%s.%s.%s", h, p, sig_b64);
    return out;
}

static char *claims(const char *iss, const char *aud, int64_t exp, int64_t iat, const char *nonce,
                    const char *extra)
{
    static char out[4096];
    snprintf(out, sizeof out,
             "{\"iss\":\"%s\",\"sub\":\"user-42\",\"aud\":%s,\"exp\":%lld,\"iat\":%lld,"
             "\"nonce\":\"%s\"%s}",
             iss, aud, (long long)exp, (long long)iat, nonce, extra);
    return out;
}

static agp_err verify(const char *jwks, const char *tok, struct agp_oidc_claims *c)
{
    struct agp_oidc_expect want = {ISS, CLIENT, NONCE, now, 60};
    return agp_oidc_verify_id_token(c, jwks, strlen(jwks), tok, strlen(tok), &want);
}

static cjose_jwk_t *with_kid(cjose_jwk_t *k, const char *kid)
{
    if (k == NULL || !cjose_jwk_set_kid(k, kid, strlen(kid), NULL)) exit(2);
    return k;
}

static void test_tokens(void)
{
    static const uint8_t e[] = {1, 0, 1};
    cjose_jwk_t *rsa = with_kid(cjose_jwk_create_RSA_random(2048, e, sizeof e, NULL), "rsa1");
    cjose_jwk_t *ec = with_kid(cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, NULL), "ec1");
    cjose_jwk_t *other = with_kid(cjose_jwk_create_RSA_random(2048, e, sizeof e, NULL), "rsa1");
    cjose_jwk_t *small = with_kid(cjose_jwk_create_RSA_random(1024, e, sizeof e, NULL), "small");
    cjose_jwk_t *hmac;
    char *rsa_pub = cjose_jwk_to_json(rsa, false, NULL),
         *ec_pub = cjose_jwk_to_json(ec, false, NULL);
    char *small_pub = cjose_jwk_to_json(small, false, NULL);
    char jwks[8192], jwks_one[4096], jwks_small[4096], *tok, *good, big[AGP_OIDC_TOKEN_MAX + 8];
    struct agp_oidc_claims c;
    const char *aud = "\"" CLIENT "\"";
    unsigned age;

    snprintf(jwks, sizeof jwks, "{\"keys\":[%s,%s]}", rsa_pub, ec_pub);
    snprintf(jwks_one, sizeof jwks_one, "{\"keys\":[%s]}", rsa_pub);
    snprintf(jwks_small, sizeof jwks_small, "{\"keys\":[%s]}", small_pub);

    /* good RS256 and ES256, with birthdate */
    good = sign(rsa, "RS256", "rsa1",
                claims(ISS, aud, now + 300, now, NONCE, ",\"birthdate\":\"1990-05-01\""));
    EXPECT_OK(verify(jwks, good, &c));
    EXPECT(strcmp(c.sub, "user-42") == 0 && c.has_birthdate && c.birth_year == 1990 &&
           c.birth_month == 5 && c.birth_day == 1 && !c.year_only && c.exp == now + 300);
    EXPECT_OK(agp_oidc_age(&age, &c, now));
    EXPECT(age >= 36);
    tok = sign(ec, "ES256", "ec1", claims(ISS, aud, now + 300, now, NONCE, ""));
    EXPECT_OK(verify(jwks, tok, &c));
    EXPECT(!c.has_birthdate);
    EXPECT_ERR(agp_oidc_age(&age, &c, now), AGP_ERR_NOT_FOUND);
    free(tok);

    /* no kid: only with a single usable key */
    tok = sign(rsa, "RS256", NULL, claims(ISS, aud, now + 300, now, NONCE, ""));
    EXPECT_OK(verify(jwks_one, tok, &c));
    free(tok);
    {
        char two[8192];
        snprintf(two, sizeof two, "{\"keys\":[%s,%s]}", rsa_pub, rsa_pub);
        EXPECT_ERR(verify(two, good, &c), AGP_ERR_KEY); /* same kid twice: ambiguous */
        tok = sign(rsa, "RS256", NULL, claims(ISS, aud, now + 300, now, NONCE, ""));
        EXPECT_ERR(verify(two, tok, &c), AGP_ERR_KEY);
        free(tok);
    }

    /* wrong key with the right kid; kid not in the JWKS; alg/kty mismatch */
    tok = sign(other, "RS256", "rsa1", claims(ISS, aud, now + 300, now, NONCE, ""));
    EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_SIGNATURE);
    EXPECT(c.sub[0] == '\0');
    free(tok);
    tok = sign(rsa, "RS256", "rsa9", claims(ISS, aud, now + 300, now, NONCE, ""));
    EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_KEY);
    free(tok);
    tok = sign(ec, "ES256", "rsa1", claims(ISS, aud, now + 300, now, NONCE, ""));
    EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_KEY); /* rsa1 is not an EC key */
    free(tok);
    tok = sign(small, "RS256", "small", claims(ISS, aud, now + 300, now, NONCE, ""));
    EXPECT_ERR(verify(jwks_small, tok, &c), AGP_ERR_KEY); /* RSA-1024 refused */
    free(tok);

    /* claims */
    tok = sign(rsa, "RS256", "rsa1", claims(ISS, "\"someone-else\"", now + 300, now, NONCE, ""));
    EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_CHALLENGE);
    free(tok);
    tok = sign(rsa, "RS256", "rsa1",
               claims(ISS, "[\"someone-else\",\"" CLIENT "\"]", now + 300, now, NONCE, ""));
    EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_CHALLENGE); /* several audiences, no azp */
    free(tok);
    tok = sign(rsa, "RS256", "rsa1",
               claims(ISS, "[\"someone-else\",\"" CLIENT "\"]", now + 300, now, NONCE,
                      ",\"azp\":\"" CLIENT "\""));
    EXPECT_OK(verify(jwks, tok, &c));
    free(tok);
    tok = sign(rsa, "RS256", "rsa1",
               claims(ISS, "[\"" CLIENT "\"]", now + 300, now, NONCE, ",\"azp\":\"x\""));
    EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_CHALLENGE);
    free(tok);
    tok = sign(rsa, "RS256", "rsa1", claims(ISS, "[]", now + 300, now, NONCE, ""));
    EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_SYNTAX);
    free(tok);
    tok =
        sign(rsa, "RS256", "rsa1", claims("https://evil.example", aud, now + 300, now, NONCE, ""));
    EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_CHALLENGE);
    free(tok);
    tok = sign(rsa, "RS256", "rsa1", claims(ISS "/", aud, now + 300, now, NONCE, ""));
    EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_CHALLENGE);
    free(tok);
    tok = sign(rsa, "RS256", "rsa1", claims(ISS, aud, now - 61, now - 400, NONCE, ""));
    EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_EXPIRED);
    free(tok);
    tok = sign(rsa, "RS256", "rsa1", claims(ISS, aud, now - 30, now - 400, NONCE, ""));
    EXPECT_OK(verify(jwks, tok, &c)); /* within the skew */
    free(tok);
    tok = sign(rsa, "RS256", "rsa1", claims(ISS, aud, now + 900, now + 120, NONCE, ""));
    EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_EXPIRED); /* iat in the future */
    free(tok);
    tok = sign(rsa, "RS256", "rsa1", claims(ISS, aud, now + 300, now, "n-0S6_WzA2Mk", ""));
    EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_CHALLENGE);
    free(tok);
    tok = sign(rsa, "RS256", "rsa1", claims(ISS, aud, now + 300, now, "n-0S6_WzA2M", ""));
    EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_CHALLENGE);
    free(tok);
    {
        char p[1024];
        snprintf(p, sizeof p,
                 "{\"iss\":\"" ISS "\",\"aud\":%s,\"exp\":%lld,\"iat\":%lld,\"nonce\":\"" NONCE
                 "\"}",
                 aud, (long long)now + 300, (long long)now);
        tok = sign(rsa, "RS256", "rsa1", p);
        EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_NOT_FOUND); /* no sub */
        free(tok);
        snprintf(p, sizeof p,
                 "{\"iss\":\"" ISS "\",\"aud\":%s,\"iat\":%lld,\"nonce\":\"" NONCE
                 "\",\"sub\":\"a\"}",
                 aud, (long long)now);
        tok = sign(rsa, "RS256", "rsa1", p);
        EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_SYNTAX); /* no exp */
        free(tok);
        snprintf(p, sizeof p,
                 "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"sub\":\"b\",\"aud\":%s,\"exp\":%lld,"
                 "\"iat\":%lld,\"nonce\":\"" NONCE "\"}",
                 aud, (long long)now + 300, (long long)now);
        tok = sign(rsa, "RS256", "rsa1", p);
        EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_SYNTAX); /* duplicate member */
        free(tok);
    }

    /* alg none, HS256 keyed with the public key, other algorithms, crit */
    EXPECT_ERR(
        verify(jwks,
               raw_jws("{\"alg\":\"none\"}", claims(ISS, aud, now + 300, now, NONCE, ""), "AAAA"),
               &c),
        AGP_ERR_TOKEN_TYPE);
    EXPECT_ERR(verify(jwks,
                      raw_jws("{\"alg\":\"none\",\"kid\":\"rsa1\"}",
                              claims(ISS, aud, now + 300, now, NONCE, ""), ""),
                      &c),
               AGP_ERR_SYNTAX); /* no signature at all: not even a JWS for us */
    hmac = cjose_jwk_create_oct_spec((const uint8_t *)rsa_pub, strlen(rsa_pub), NULL);
    tok = sign(hmac, "HS256", "rsa1", claims(ISS, aud, now + 300, now, NONCE, ""));
    EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_TOKEN_TYPE);
    free(tok);
    tok = sign(rsa, "PS256", "rsa1", claims(ISS, aud, now + 300, now, NONCE, ""));
    EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_TOKEN_TYPE);
    free(tok);
    {
        /* a valid RS256 signature over a header with crit */
        cjose_header_t *h = cjose_header_new(NULL);
        cjose_jws_t *jws;
        const char *ser;
        const char *p = claims(ISS, aud, now + 300, now, NONCE, "");
        cjose_header_set(h, CJOSE_HDR_ALG, "RS256", NULL);
        cjose_header_set(h, CJOSE_HDR_KID, "rsa1", NULL);
        cjose_header_set_raw(h, "crit", "[\"exp\"]", NULL);
        jws = cjose_jws_sign(rsa, h, (const uint8_t *)p, strlen(p), NULL);
        EXPECT(jws != NULL && cjose_jws_export(jws, &ser, NULL));
        EXPECT_ERR(verify(jwks, ser, &c), AGP_ERR_TOKEN_TYPE);
        cjose_jws_release(jws);
        cjose_header_release(h);
    }

    /* shapes: truncated at each length, trailing garbage, oversize, bad JWKS */
    {
        size_t i, n = strlen(good), ok = 0;
        char cut[8192];
        for (i = 0; i < n; i++) {
            memcpy(cut, good, i);
            cut[i] = '\0';
            if (verify(jwks, cut, &c) == AGP_OK) ok++;
        }
        EXPECT(ok == 0);
        snprintf(cut, sizeof cut, "%s.", good);
        EXPECT_ERR(verify(jwks, cut, &c), AGP_ERR_SYNTAX);
        snprintf(cut, sizeof cut, "%s=", good);
        EXPECT_ERR(verify(jwks, cut, &c), AGP_ERR_SYNTAX);
        snprintf(cut, sizeof cut, "%sAA", good);
        EXPECT_FAIL(verify(jwks, cut, &c));
        snprintf(cut, sizeof cut, " %s", good);
        EXPECT_ERR(verify(jwks, cut, &c), AGP_ERR_SYNTAX);
        /* flip one signature bit */
        memcpy(cut, good, n + 1);
        cut[n - 5] = cut[n - 5] == 'A' ? 'B' : 'A';
        EXPECT_ERR(verify(jwks, cut, &c), AGP_ERR_SIGNATURE);
        /* a token with the payload of another signed one */
        tok = sign(rsa, "RS256", "rsa1",
                   claims(ISS, aud, now + 300, now, NONCE, ",\"birthdate\":\"2015-01-01\""));
        {
            const char *d1 = strchr(good, '.'), *d2 = strrchr(good, '.');
            const char *t1 = strchr(tok, '.'), *t2 = strrchr(tok, '.');
            snprintf(cut, sizeof cut, "%.*s%.*s%s", (int)(d1 - good), good, (int)(t2 - t1), t1, d2);
            EXPECT_ERR(verify(jwks, cut, &c), AGP_ERR_SIGNATURE);
        }
        free(tok);
    }
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[100] = '.';
    big[200] = '.';
    EXPECT_ERR(verify(jwks, big, &c), AGP_ERR_TOO_BIG);
    EXPECT_ERR(verify("{\"keys\":{}}", good, &c), AGP_ERR_SYNTAX);
    EXPECT_ERR(verify("{\"keys\":[]}", good, &c), AGP_ERR_KEY);
    EXPECT_ERR(verify("not json", good, &c), AGP_ERR_SYNTAX);
    {
        /* JWK members libcjose would abort on (4k + 1 characters, padding): refused first */
        char bad[8192], *nv;
        const char *names[] = {"\"n\":\"", "\"e\":\""};
        size_t i, k;
        for (i = 0; i < 2; i++) {
            snprintf(bad, sizeof bad, "{\"keys\":[%s]}", rsa_pub);
            nv = strstr(bad, names[i]) + 5;
            k = (5 - strcspn(nv, "\"") % 4) % 4; /* characters to add to reach 4k + 1 */
            memmove(nv + k, nv, strlen(nv) + 1);
            memset(nv, 'A', k);
            EXPECT(strcspn(nv, "\"") % 4 == 1);
            EXPECT_ERR(verify(bad, good, &c), AGP_ERR_KEY);
            memmove(nv, nv + k, strlen(nv + k) + 1);
            memmove(nv + 2, nv, strlen(nv) + 1);
            nv[0] = 'A';
            nv[1] = '=';
            EXPECT_ERR(verify(bad, good, &c), AGP_ERR_KEY);
        }
    }
    {
        /* a token part of 4k + 1 characters */
        char cut[8192];
        const char *d = strchr(good, '.');
        snprintf(cut, sizeof cut, "%.*sA%s", (int)(d - good), good, d);
        EXPECT_ERR(verify(jwks, cut, &c), AGP_ERR_SYNTAX);
    }
    {
        char many[16384];
        size_t i, off = (size_t)snprintf(many, sizeof many, "{\"keys\":[");
        for (i = 0; i <= AGP_OIDC_JWKS_KEYS; i++)
            off += (size_t)snprintf(many + off, sizeof many - off, "%s{\"kty\":\"oct\"}",
                                    i ? "," : "");
        snprintf(many + off, sizeof many - off, "]}");
        EXPECT_ERR(verify(many, good, &c), AGP_ERR_TOO_BIG);
    }
    {
        char p[1024];
        snprintf(p, sizeof p,
                 "{\"iss\":\"" ISS "\",\"aud\":%s,\"exp\":%lld,\"iat\":%lld,\"nonce\":\"" NONCE
                 "\",\"sub\":\"%0256d\"}",
                 aud, (long long)now + 300, (long long)now, 7);
        tok = sign(rsa, "RS256", "rsa1", p);
        EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_TOO_BIG); /* sub of 256 characters */
        free(tok);
    }
    /* a malformed birthdate refuses the token */
    tok = sign(rsa, "RS256", "rsa1",
               claims(ISS, aud, now + 300, now, NONCE, ",\"birthdate\":\"2000-02-30\""));
    EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_RANGE);
    free(tok);
    tok = sign(rsa, "RS256", "rsa1",
               claims(ISS, aud, now + 300, now, NONCE, ",\"birthdate\":\"0000-05-01\""));
    EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_NOT_FOUND);
    free(tok);

    /* signed UserInfo: sub must match; exp and iat optional; no nonce */
    {
        struct agp_oidc_expect want = {ISS, CLIENT, NONCE, now, 60};
        char p[1024];
        snprintf(p, sizeof p,
                 "{\"iss\":\"" ISS "\",\"aud\":\"" CLIENT "\",\"sub\":\"user-42\","
                 "\"birthdate\":\"2000\"}");
        tok = sign(ec, "ES256", "ec1", p);
        EXPECT_OK(
            agp_oidc_verify_userinfo(&c, jwks, strlen(jwks), tok, strlen(tok), &want, "user-42"));
        EXPECT(c.has_birthdate && c.year_only && c.birth_year == 2000 && c.exp == 0);
        EXPECT_ERR(
            agp_oidc_verify_userinfo(&c, jwks, strlen(jwks), tok, strlen(tok), &want, "user-43"),
            AGP_ERR_CHALLENGE);
        EXPECT_ERR(agp_oidc_verify_userinfo(&c, jwks, strlen(jwks), tok, strlen(tok), &want, NULL),
                   AGP_ERR_ARG);
        EXPECT_ERR(verify(jwks, tok, &c), AGP_ERR_SYNTAX); /* not an ID token: no exp */
        free(tok);
        snprintf(p, sizeof p,
                 "{\"iss\":\"" ISS "\",\"aud\":\"" CLIENT "\",\"sub\":\"user-42\","
                 "\"exp\":%lld}",
                 (long long)now - 100);
        tok = sign(ec, "ES256", "ec1", p);
        EXPECT_ERR(
            agp_oidc_verify_userinfo(&c, jwks, strlen(jwks), tok, strlen(tok), &want, "user-42"),
            AGP_ERR_EXPIRED);
        free(tok);
        snprintf(p, sizeof p, "{\"iss\":\"" ISS "\",\"sub\":\"user-42\"}");
        tok = sign(ec, "ES256", "ec1", p);
        EXPECT_ERR(
            agp_oidc_verify_userinfo(&c, jwks, strlen(jwks), tok, strlen(tok), &want, "user-42"),
            AGP_ERR_SYNTAX); /* no aud */
        free(tok);
        snprintf(p, sizeof p, "{\"iss\":\"" ISS "\",\"aud\":\"" CLIENT "\",\"sub\":\"user-42\"}");
        tok = sign(other, "RS256", "rsa1", p);
        EXPECT_ERR(
            agp_oidc_verify_userinfo(&c, jwks, strlen(jwks), tok, strlen(tok), &want, "user-42"),
            AGP_ERR_SIGNATURE);
        free(tok);
    }

    free(good);
    free(rsa_pub);
    free(ec_pub);
    free(small_pub);
    cjose_jwk_release(rsa);
    cjose_jwk_release(ec);
    cjose_jwk_release(other);
    cjose_jwk_release(small);
    cjose_jwk_release(hmac);
}

static int64_t utc(int y, int m, int d)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_hour = 12;
    return (int64_t)timegm(&tm);
}

static agp_err age_of(const char *bd, int64_t at, unsigned *age)
{
    struct agp_oidc_claims c;
    memset(&c, 0, sizeof c);
    agp_err err = agp_oidc_parse_birthdate(&c, bd, strlen(bd));
    return err != AGP_OK ? err : agp_oidc_age(age, &c, at);
}

static void test_birthdates(void)
{
    struct agp_oidc_claims c;
    unsigned age = 99;
    static const char *bad_syntax[] = {"",           "199",        "19900",
                                       "1990-5-01",  "1990/05/01", "1990-05-01T",
                                       "+990-05-01", "1990-0a-01", "abcd"};
    static const char *bad_range[] = {"2000-13-01", "2000-02-30", "2001-02-29", "2000-00-10",
                                      "2000-01-00", "2000-04-31", "1849",       "1200-01-01"};
    size_t i;

    EXPECT_OK(age_of("1990-05-01", utc(2026, 5, 1), &age));
    EXPECT(age == 36);
    EXPECT_OK(age_of("1990-05-01", utc(2026, 4, 30), &age));
    EXPECT(age == 35);
    EXPECT_OK(age_of("2011-11-29", utc(2026, 11, 29), &age));
    EXPECT(age == 15);
    EXPECT_OK(age_of("2008-11-30", utc(2026, 11, 29), &age));
    EXPECT(age == 17); /* 18 tomorrow */
    EXPECT_OK(age_of("2008-11-29", utc(2026, 11, 29), &age));
    EXPECT(age == 18);
    EXPECT_OK(age_of("2000-02-29", utc(2018, 2, 28), &age));
    EXPECT(age == 17);
    EXPECT_OK(age_of("2000-02-29", utc(2018, 3, 1), &age));
    EXPECT(age == 18);
    /* year only: 31 December */
    EXPECT_OK(agp_oidc_parse_birthdate(&c, "2000", 4));
    EXPECT(c.year_only && c.birth_month == 12 && c.birth_day == 31);
    EXPECT_OK(age_of("2000", utc(2018, 12, 30), &age));
    EXPECT(age == 17);
    EXPECT_OK(age_of("2000", utc(2018, 12, 31), &age));
    EXPECT(age == 18);
    EXPECT_OK(age_of("2000", utc(2019, 1, 1), &age));
    EXPECT(age == 18);
    /* year withheld */
    EXPECT_ERR(agp_oidc_parse_birthdate(&c, "0000-05-01", 10), AGP_ERR_NOT_FOUND);
    EXPECT(!c.has_birthdate);
    EXPECT_ERR(agp_oidc_parse_birthdate(&c, "0000", 4), AGP_ERR_NOT_FOUND);
    /* born in the future */
    EXPECT_ERR(age_of("2030-01-01", utc(2026, 1, 1), &age), AGP_ERR_RANGE);
    EXPECT_ERR(age_of("2026-06-01", utc(2026, 1, 1), &age), AGP_ERR_RANGE);
    EXPECT_OK(age_of("2026-01-01", utc(2026, 1, 1), &age));
    EXPECT(age == 0);
    for (i = 0; i < sizeof bad_syntax / sizeof bad_syntax[0]; i++)
        EXPECT_ERR(agp_oidc_parse_birthdate(&c, bad_syntax[i], strlen(bad_syntax[i])),
                   AGP_ERR_SYNTAX);
    for (i = 0; i < sizeof bad_range / sizeof bad_range[0]; i++)
        EXPECT_ERR(agp_oidc_parse_birthdate(&c, bad_range[i], strlen(bad_range[i])), AGP_ERR_RANGE);
    EXPECT(!c.has_birthdate);
}

/* RFC 7515 A.2 (RS256) and A.3 (ES256): foreign signatures verify. */
static void test_rfc7515(const char *dir)
{
    json_t *root = test_load_json(dir, "rfc7515-jws.json");
    static const char *const names[] = {"rfc7515_a2_rs256", "rfc7515_a3_es256"};
    struct agp_oidc_claims c;
    size_t i;
    for (i = 0; i < 2; i++) {
        json_t *v = json_object_get(root, names[i]);
        char *jwk = json_dumps(json_object_get(v, "jwk_public"), JSON_COMPACT);
        char jwks[4096], tok[2048];
        const char *compact = json_string_value(json_object_get(v, "jws_compact"));
        /* the payload: {"iss":"joe", "exp":1300819380, ...}, no aud, no sub */
        struct agp_oidc_expect want = {"joe", CLIENT, NULL, 1300819000, 0};
        struct agp_oidc_expect other = {"jim", CLIENT, NULL, 1300819000, 0};
        size_t n;
        snprintf(jwks, sizeof jwks, "{\"keys\":[%s]}", jwk);
        n = strlen(compact);
        /* signature good, iss read: the claims check then stops at the missing aud */
        EXPECT_ERR(agp_oidc_verify_id_token(&c, jwks, strlen(jwks), compact, n, &want),
                   AGP_ERR_SYNTAX);
        EXPECT_ERR(agp_oidc_verify_id_token(&c, jwks, strlen(jwks), compact, n, &other),
                   AGP_ERR_CHALLENGE);
        snprintf(tok, sizeof tok, "%s", compact);
        tok[n - 3] = tok[n - 3] == 'A' ? 'B' : 'A';
        EXPECT_ERR(agp_oidc_verify_id_token(&c, jwks, strlen(jwks), tok, n, &want),
                   AGP_ERR_SIGNATURE);
        /* the same payload and signature under "alg":"none" */
        snprintf(tok, sizeof tok, "eyJhbGciOiJub25lIn0%s", strchr(compact, '.'));
        EXPECT_ERR(agp_oidc_verify_id_token(&c, jwks, strlen(jwks), tok, strlen(tok), &want),
                   AGP_ERR_TOKEN_TYPE);
        free(jwk);
    }
    json_decref(root);
}

static agp_err disc(const char *doc, struct agp_oidc_provider *p)
{
    return agp_oidc_discovery_parse(p, doc, strlen(doc), ISS);
}

static void make_doc(char *doc, size_t cap, const char *iss, const char *authz)
{
    snprintf(doc, cap,
             "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s\","
             "\"token_endpoint\":\"https://op.example/token\","
             "\"jwks_uri\":\"https://op.example/jwks\"}",
             iss, authz);
}

static void test_discovery(void)
{
    static struct agp_oidc_provider p;
    char doc[4096];
    static const char *const bad_urls[] = {"http://op.example/auth",
                                           "http://127.0.0.1.evil.example/a",
                                           "http://localhost@evil/",
                                           "https://op.example/a b",
                                           "https://",
                                           "ftp://op.example/",
                                           "https:///path",
                                           "javascript:alert(1)",
                                           "http://127.0.0.2/"};
    static const char *const good_urls[] = {"https://op.example/auth", "http://127.0.0.1:8080/auth",
                                            "http://localhost/auth", "http://[::1]:9/a",
                                            "http://127.0.0.1"};
    size_t i;

    make_doc(doc, sizeof doc, ISS, "https://op.example/auth?x=1");
    EXPECT_OK(disc(doc, &p));
    EXPECT(p.userinfo_endpoint[0] == '\0');
    EXPECT(strcmp(p.authorization_endpoint, "https://op.example/auth?x=1") == 0 &&
           strcmp(p.token_endpoint, "https://op.example/token") == 0 &&
           strcmp(p.jwks_uri, "https://op.example/jwks") == 0);
    make_doc(doc, sizeof doc, ISS "/", "https://op.example/auth");
    EXPECT_ERR(disc(doc, &p), AGP_ERR_CHALLENGE);
    EXPECT(p.token_endpoint[0] == '\0');
    make_doc(doc, sizeof doc, "https://evil.example", "https://op.example/auth");
    EXPECT_ERR(disc(doc, &p), AGP_ERR_CHALLENGE);
    for (i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
        make_doc(doc, sizeof doc, ISS, bad_urls[i]);
        EXPECT_ERR(disc(doc, &p), AGP_ERR_RANGE);
    }
    for (i = 0; i < sizeof good_urls / sizeof good_urls[0]; i++) {
        make_doc(doc, sizeof doc, ISS, good_urls[i]);
        EXPECT_OK(disc(doc, &p));
    }
    EXPECT_ERR(disc("{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"https://a/\","
                    "\"token_endpoint\":\"https://a/\"}",
                    &p),
               AGP_ERR_NOT_FOUND);
    EXPECT_ERR(disc("{\"issuer\":\"" ISS "\",\"issuer\":\"" ISS "\"}", &p), AGP_ERR_SYNTAX);
    EXPECT_ERR(disc("{\"issuer\":\"" ISS "\",\"authorization_endpoint\":7,"
                    "\"token_endpoint\":\"https://a/\",\"jwks_uri\":\"https://a/\"}",
                    &p),
               AGP_ERR_SYNTAX);
    EXPECT_OK(disc("{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"https://a/\","
                   "\"token_endpoint\":\"https://a/\",\"jwks_uri\":\"https://a/j\","
                   "\"userinfo_endpoint\":\"https://a/me\"}",
                   &p));
    EXPECT(strcmp(p.userinfo_endpoint, "https://a/me") == 0);
    EXPECT_ERR(disc("{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"https://a/\","
                    "\"token_endpoint\":\"https://a/\",\"jwks_uri\":\"https://a/j\","
                    "\"userinfo_endpoint\":\"http://a/me\"}",
                    &p),
               AGP_ERR_RANGE);
    EXPECT_ERR(disc("[]", &p), AGP_ERR_SYNTAX);
    make_doc(doc, sizeof doc, ISS, "https://op.example/\\u0000x");
    EXPECT_ERR(disc(doc, &p), AGP_ERR_SYNTAX); /* jansson refuses NUL in strings */
    EXPECT_ERR(disc("", &p), AGP_ERR_SYNTAX);
    make_doc(doc, sizeof doc, ISS, "https://op.example/auth");
    EXPECT_ERR(agp_oidc_discovery_parse(&p, doc, strlen(doc) - 1, ISS), AGP_ERR_SYNTAX);
    {
        char *big = malloc(70000);
        memset(big, ' ', 70000);
        memcpy(big, doc, strlen(doc));
        EXPECT_ERR(agp_oidc_discovery_parse(&p, big, 70000, ISS), AGP_ERR_TOO_BIG);
        EXPECT_OK(agp_oidc_discovery_parse(&p, big, 65536, ISS)); /* whitespace up to the cap */
        free(big);
    }
}

static char access[AGP_OIDC_ACCESS_MAX + 1];

static agp_err tresp(const char *doc, char *out)
{
    return agp_oidc_token_response_parse(out, AGP_OIDC_TOKEN_MAX + 1, access, sizeof access, doc,
                                         strlen(doc));
}

static void test_token_response(void)
{
    static char out[AGP_OIDC_TOKEN_MAX + 1], doc[AGP_OIDC_TOKEN_MAX + 200];
    EXPECT_OK(
        tresp("{\"access_token\":\"at\",\"token_type\":\"Bearer\",\"id_token\":\"a.b.c\"}", out));
    EXPECT(strcmp(out, "a.b.c") == 0 && strcmp(access, "at") == 0);
    EXPECT_OK(tresp("{\"token_type\":\"bEARER\",\"id_token\":\"x\",\"access_token\":\"y\"}", out));
    EXPECT_ERR(tresp("{\"token_type\":\"DPoP\",\"id_token\":\"x\",\"access_token\":\"y\"}", out),
               AGP_ERR_SYNTAX);
    EXPECT(out[0] == '\0' && access[0] == '\0');
    EXPECT_ERR(tresp("{\"id_token\":\"x\",\"access_token\":\"y\"}", out), AGP_ERR_SYNTAX);
    EXPECT_ERR(tresp("{\"token_type\":\"Bearer\",\"access_token\":\"y\"}", out), AGP_ERR_NOT_FOUND);
    EXPECT_ERR(tresp("{\"token_type\":\"Bearer\",\"id_token\":\"x\"}", out), AGP_ERR_NOT_FOUND);
    EXPECT_ERR(tresp("{\"token_type\":\"Bearer\",\"id_token\":\"x\",\"access_token\":\"\"}", out),
               AGP_ERR_SYNTAX);
    EXPECT_ERR(tresp("{\"token_type\":\"Bearer\",\"id_token\":1,\"access_token\":\"y\"}", out),
               AGP_ERR_SYNTAX);
    EXPECT_ERR(
        tresp("{\"token_type\":\"Bearer\",\"id_token\":\"a\\u0000b\",\"access_token\":\"y\"}", out),
        AGP_ERR_SYNTAX);
    EXPECT_ERR(tresp("{\"token_type\":\"Bearer\",\"id_token\":\"x\",\"id_token\":\"y\","
                     "\"access_token\":\"y\"}",
                     out),
               AGP_ERR_SYNTAX);
    EXPECT_ERR(tresp("{\"error\":\"invalid_grant\"}", out), AGP_ERR_SYNTAX);
    snprintf(doc, sizeof doc,
             "{\"token_type\":\"Bearer\",\"access_token\":\"y\",\"id_token\":\"%0*d\"}",
             AGP_OIDC_TOKEN_MAX, 0);
    EXPECT_OK(tresp(doc, out));
    EXPECT(strlen(out) == AGP_OIDC_TOKEN_MAX);
    snprintf(doc, sizeof doc,
             "{\"token_type\":\"Bearer\",\"access_token\":\"y\",\"id_token\":\"%0*d\"}",
             AGP_OIDC_TOKEN_MAX + 1, 0);
    EXPECT_ERR(tresp(doc, out), AGP_ERR_TOO_BIG);
    snprintf(doc, sizeof doc,
             "{\"token_type\":\"Bearer\",\"id_token\":\"x\",\"access_token\":\"%0*d\"}",
             AGP_OIDC_ACCESS_MAX + 1, 0);
    EXPECT_ERR(tresp(doc, out), AGP_ERR_TOO_BIG);
    EXPECT_ERR(
        agp_oidc_token_response_parse(out, AGP_OIDC_TOKEN_MAX, access, sizeof access, "{}", 2),
        AGP_ERR_ARG);
    EXPECT_ERR(agp_oidc_token_response_parse(out, sizeof out, access, AGP_OIDC_ACCESS_MAX, "{}", 2),
               AGP_ERR_ARG);
}

static void test_flow(void)
{
    uint8_t key[32], other[32], digest[32];
    struct agp_oidc_flow a, b, o;
    char want[64], bad[AGP_OIDC_STATE_LEN + 2];
    size_t len, i, refused = 0;
    int64_t t = 1800000000;

    memset(key, 7, sizeof key);
    memset(other, 8, sizeof other);
    EXPECT_OK(agp_oidc_flow_new(&a, key, t + 600));
    EXPECT_OK(agp_oidc_flow_new(&b, key, t + 600));
    EXPECT(strlen(a.state) == AGP_OIDC_STATE_LEN && strlen(a.nonce) == AGP_OIDC_SECRET_LEN &&
           strlen(a.verifier) == AGP_OIDC_SECRET_LEN && strlen(a.challenge) == AGP_OIDC_SECRET_LEN);
    EXPECT(strcmp(a.state, b.state) != 0 && strcmp(a.nonce, b.nonce) != 0 &&
           strcmp(a.verifier, b.verifier) != 0 && strcmp(a.nonce, a.verifier) != 0);
    /* RFC 7636 §4.2: challenge = BASE64URL(SHA256(ASCII(verifier))), unpadded */
    EXPECT_OK(agp_sha256(digest, (const uint8_t *)a.verifier, strlen(a.verifier)));
    EXPECT_OK(agp_b64url_encode(want, sizeof want, &len, digest, sizeof digest));
    EXPECT(len == 44 && want[43] == '=');
    EXPECT(memcmp(a.challenge, want, 43) == 0);

    EXPECT_OK(agp_oidc_flow_open(&o, key, a.state, strlen(a.state), t, 720));
    EXPECT(strcmp(o.state, a.state) == 0 && strcmp(o.nonce, a.nonce) == 0 &&
           strcmp(o.verifier, a.verifier) == 0 && strcmp(o.challenge, a.challenge) == 0 &&
           o.expires_at == t + 600 && memcmp(o.digest, a.digest, 32) == 0);
    EXPECT(memcmp(a.digest, b.digest, 32) != 0);
    EXPECT_ERR(agp_oidc_flow_open(&o, other, a.state, strlen(a.state), t, 720), AGP_ERR_SIGNATURE);
    EXPECT(o.nonce[0] == '\0' && o.expires_at == 0);
    EXPECT_ERR(agp_oidc_flow_open(&o, key, a.state, strlen(a.state), t + 600, 720),
               AGP_ERR_EXPIRED);
    EXPECT_OK(agp_oidc_flow_open(&o, key, a.state, strlen(a.state), t + 599, 720));
    /* the MAC is checked first: an expired state under another key is still the wrong key
       (src/enroll_oidc.c tries each provider's key until one opens the state) */
    EXPECT_ERR(agp_oidc_flow_open(&o, other, a.state, strlen(a.state), t + 600, 720),
               AGP_ERR_SIGNATURE);
    EXPECT_ERR(agp_oidc_flow_open(&o, key, a.state, strlen(a.state), t - 200, 720),
               AGP_ERR_EXPIRED); /* expires too far ahead: not a state we would make */
    EXPECT_ERR(agp_oidc_flow_open(&o, key, a.state, strlen(a.state) - 1, t, 720), AGP_ERR_LENGTH);
    snprintf(bad, sizeof bad, "%sA", a.state);
    EXPECT_ERR(agp_oidc_flow_open(&o, key, bad, strlen(bad), t, 720), AGP_ERR_LENGTH);
    for (i = 0; i < AGP_OIDC_STATE_LEN; i++) {
        memcpy(bad, a.state, sizeof a.state);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        if (agp_oidc_flow_open(&o, key, bad, AGP_OIDC_STATE_LEN, t, 720) != AGP_OK) refused++;
    }
    EXPECT(refused == AGP_OIDC_STATE_LEN); /* every changed character is refused */
    memcpy(bad, a.state, sizeof a.state);
    bad[10] = '+';
    EXPECT_ERR(agp_oidc_flow_open(&o, key, bad, AGP_OIDC_STATE_LEN, t, 720), AGP_ERR_ENCODING);
    bad[10] = '=';
    EXPECT_ERR(agp_oidc_flow_open(&o, key, bad, AGP_OIDC_STATE_LEN, t, 720), AGP_ERR_ENCODING);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_oidc VECTORS_DIR\n");
        return 2;
    }
    now = (int64_t)time(NULL);
    test_birthdates();
    test_tokens();
    test_rfc7515(argv[1]);
    test_discovery();
    test_token_response();
    test_flow();
    TEST_END();
}
