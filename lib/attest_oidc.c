/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/attest_oidc.c: OpenID Connect ID tokens as age evidence (see
 * agepass/oidc.h).
 *
 * The JOSE work (JWK import, JWS parsing and signature checks) is
 * libcjose's; this file decides which algorithm and which key may be used,
 * before any key is touched, and checks the claims of OpenID Connect Core
 * 1.0 §2 and §3.1.3.7 and the birthdate of §5.1.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjose/cjose.h>
#include <jansson.h>

#include "agepass/oidc.h"
#include "internal.h"

#define HEADER_MAX 2048 /* decoded protected header */

enum alg { ALG_RS256, ALG_ES256 };

/*
 *= https://www.rfc-editor.org/rfc/rfc7515#section-7.1
 *#   BASE64URL(UTF8(JWS Protected Header)) || '.' ||
 *#   BASE64URL(JWS Payload) || '.' ||
 *#   BASE64URL(JWS Signature)
 *
 * Three non-empty parts of the base64url alphabet (no padding), two dots,
 * nothing else. Returns the length of the first part in *head_len.
 */
static agp_err check_compact(const char *s, size_t len, size_t *head_len)
{
    size_t i, dots = 0, part = 0;
    *head_len = 0;
    AGP_ENSURE(len <= AGP_OIDC_TOKEN_MAX, AGP_ERR_TOO_BIG);
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (c == '.') {
            /* libcjose asserts (aborts) on a base64url part of 4k + 1 characters */
            AGP_ENSURE(part > 0 && dots < 2 && part % 4 != 1, AGP_ERR_SYNTAX);
            if (dots == 0) *head_len = i;
            dots++;
            part = 0;
            continue;
        }
        AGP_ENSURE((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_',
                   AGP_ERR_SYNTAX);
        part++;
    }
    AGP_ENSURE(dots == 2 && part > 0 && part % 4 != 1, AGP_ERR_SYNTAX);
    return AGP_OK;
}

static bool str_is(const json_t *j, const char *want)
{
    return json_is_string(j) && strcmp(json_string_value(j), want) == 0;
}

/*
 *= https://www.rfc-editor.org/rfc/rfc7515#section-4.1
 *#   "alg" (Algorithm) Header Parameter ... "kid" (Key ID) ...
 *#   "crit" (Critical) Header Parameter
 *
 * Reads alg and kid from the protected header; refuses every algorithm but
 * RS256 and ES256, and any critical extension (we understand none).
 */
static agp_err read_header(const char *b64, size_t len, enum alg *alg, char *kid, size_t kid_cap,
                           bool *has_kid)
{
    uint8_t raw[HEADER_MAX];
    size_t raw_len;
    json_t *h, *a, *k;
    agp_err err = AGP_ERR_SYNTAX;

    *has_kid = false;
    kid[0] = '\0';
    if (len > AGP_B64_ENC_LEN(sizeof raw)) return AGP_ERR_TOO_BIG;
    if (agp_b64url_decode(raw, sizeof raw, &raw_len, b64, len) != AGP_OK) return AGP_ERR_ENCODING;
    h = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(h)) goto out;
    a = json_object_get(h, "alg");
    k = json_object_get(h, "kid");
    if (!json_is_string(a)) goto out;
    err = AGP_ERR_TOKEN_TYPE;
    if (str_is(a, "RS256"))
        *alg = ALG_RS256;
    else if (str_is(a, "ES256"))
        *alg = ALG_ES256;
    else
        goto out; /* none, HS*, PS*, ES384...: refused before any key is used */
    if (json_object_get(h, "crit") != NULL) goto out;
    err = AGP_ERR_SYNTAX;
    if (k != NULL) {
        if (!json_is_string(k) || json_string_length(k) == 0 || json_string_length(k) >= kid_cap)
            goto out;
        memcpy(kid, json_string_value(k), json_string_length(k) + 1);
        *has_kid = true;
    }
    err = AGP_OK;
out:
    json_decref(h);
    return err;
}

/*
 *= https://www.rfc-editor.org/rfc/rfc7517#section-5
 *#   The value of the "keys" member is an array of JWK values.
 *
 * A key may verify an alg token if its kty (and crv) fit, its "use", if
 * any, is "sig", and its "alg", if any, is the token's.
 */
static bool key_fits(const json_t *k, enum alg alg)
{
    const json_t *use = json_object_get(k, "use"), *a = json_object_get(k, "alg");
    const char *name = alg == ALG_RS256 ? "RS256" : "ES256";
    if (use != NULL && !str_is(use, "sig")) return false;
    if (a != NULL && !str_is(a, name)) return false;
    if (alg == ALG_RS256) return str_is(json_object_get(k, "kty"), "RSA");
    return str_is(json_object_get(k, "kty"), "EC") && str_is(json_object_get(k, "crv"), "P-256");
}

/*
 * Copies member name of k into out if it is strict unpadded base64url of
 * min..max bytes. libcjose's own decoder aborts on some malformed lengths,
 * so only values checked here reach it.
 */
static bool copy_b64(json_t *out, const json_t *k, const char *name, size_t min, size_t max)
{
    uint8_t buf[1024];
    size_t len;
    const json_t *v = json_object_get(k, name);
    if (!json_is_string(v) || max > sizeof buf || strchr(json_string_value(v), '=') != NULL ||
        agp_b64url_decode(buf, max, &len, json_string_value(v), json_string_length(v)) != AGP_OK ||
        len < min)
        return false;
    return json_object_set_new(out, name, json_string(json_string_value(v))) == 0;
}

/*
 *= https://www.rfc-editor.org/rfc/rfc7518#section-6.3.1
 *#   "n" (Modulus) Parameter ... "e" (Exponent) Parameter
 *= https://www.rfc-editor.org/rfc/rfc7518#section-6.2.1
 *#   "crv" (Curve) Parameter ... "x" (X Coordinate) Parameter ... The length
 *#   of this octet string MUST be the full size of a coordinate for the curve
 *
 * A fresh JWK holding only the public members, each checked, for libcjose.
 */
static json_t *public_jwk(const json_t *k, enum alg alg)
{
    json_t *out = json_object();
    bool ok;
    if (out == NULL) return NULL;
    if (alg == ALG_RS256)
        ok = json_object_set_new(out, "kty", json_string("RSA")) == 0 &&
             copy_b64(out, k, "n", 256, 1024) && copy_b64(out, k, "e", 1, 8);
    else
        ok = json_object_set_new(out, "kty", json_string("EC")) == 0 &&
             json_object_set_new(out, "crv", json_string("P-256")) == 0 &&
             copy_b64(out, k, "x", 32, 32) && copy_b64(out, k, "y", 32, 32);
    if (!ok) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* Imports the one key of the JWKS for this alg and kid into *jwk. */
static agp_err pick_key(cjose_jwk_t **jwk, const char *jwks, size_t jwks_len, enum alg alg,
                        const char *kid, bool has_kid)
{
    json_t *root, *keys, *found = NULL, *pub = NULL;
    size_t i, n = 0;
    agp_err err = AGP_ERR_SYNTAX;
    cjose_err cerr;

    *jwk = NULL;
    if (jwks_len > AGP_OIDC_JWKS_MAX) return AGP_ERR_TOO_BIG;
    root = json_loadb(jwks, jwks_len, JSON_REJECT_DUPLICATES, NULL);
    keys = json_object_get(root, "keys");
    if (!json_is_array(keys)) goto out;
    err = AGP_ERR_TOO_BIG;
    if (json_array_size(keys) > AGP_OIDC_JWKS_KEYS) goto out;
    for (i = 0; i < json_array_size(keys); i++) {
        json_t *k = json_array_get(keys, i);
        if (!json_is_object(k) || !key_fits(k, alg)) continue;
        if (has_kid && !str_is(json_object_get(k, "kid"), kid)) continue;
        found = k;
        n++;
    }
    err = AGP_ERR_KEY;
    if (n != 1) goto out; /* unknown kid, or no kid and a choice of keys */
    if ((pub = public_jwk(found, alg)) == NULL) goto out;
    if ((*jwk = cjose_jwk_import_json((cjose_header_t *)pub, &cerr)) == NULL) goto out;
    if (alg == ALG_RS256 && cjose_jwk_get_keysize(*jwk, &cerr) < 2048) goto out;
    if (alg == ALG_ES256 && cjose_jwk_EC_get_curve(*jwk, &cerr) != CJOSE_JWK_EC_P_256) goto out;
    err = AGP_OK;
out:
    if (err != AGP_OK && *jwk != NULL) {
        cjose_jwk_release(*jwk);
        *jwk = NULL;
    }
    json_decref(pub);
    json_decref(root);
    return err;
}

/*
 *= https://openid.net/specs/openid-connect-core-1_0.html#IDToken
 *#   aud REQUIRED. Audience(s) that this ID Token is intended for. It MUST
 *#   contain the OAuth 2.0 client_id of the Relying Party as an audience
 *#   value. ... In the general case, the aud value is an array of case-
 *#   sensitive strings. In the common special case when there is one
 *#   audience, the aud value MAY be a single case-sensitive string.
 *
 * §3.1.3.7: with several audiences, azp should be present and equal the
 * client id; we require it.
 */
static agp_err check_aud(const json_t *p, const char *client_id)
{
    const json_t *aud = json_object_get(p, "aud"), *azp = json_object_get(p, "azp");
    size_t i;
    bool mine = false;
    if (json_is_string(aud)) {
        mine = strcmp(json_string_value(aud), client_id) == 0;
    } else {
        AGP_ENSURE(json_is_array(aud) && json_array_size(aud) > 0, AGP_ERR_SYNTAX);
        for (i = 0; i < json_array_size(aud); i++) {
            AGP_ENSURE(json_is_string(json_array_get(aud, i)), AGP_ERR_SYNTAX);
            if (str_is(json_array_get(aud, i), client_id)) mine = true;
        }
        if (json_array_size(aud) > 1) AGP_ENSURE(azp != NULL, AGP_ERR_CHALLENGE);
    }
    AGP_ENSURE(mine, AGP_ERR_CHALLENGE);
    AGP_ENSURE(azp == NULL || str_is(azp, client_id), AGP_ERR_CHALLENGE);
    return AGP_OK;
}

/*
 *= https://openid.net/specs/openid-connect-core-1_0.html#IDToken
 *#   iss REQUIRED. ... sub REQUIRED. ... It MUST NOT exceed 255 ASCII
 *#   characters in length. ... exp REQUIRED. Expiration time on or after
 *#   which the ID Token MUST NOT be accepted for processing. ... iat
 *#   REQUIRED. Time at which the JWT was issued. ... nonce ... the nonce
 *#   Claim Value MUST be checked to verify that it is the same value as the
 *#   one that was sent in the Authentication Request.
 */
static agp_err check_claims(struct agp_oidc_claims *out, const json_t *p,
                            const struct agp_oidc_expect *want, const char *userinfo_sub)
{
    const json_t *iss = json_object_get(p, "iss"), *sub = json_object_get(p, "sub");
    const json_t *exp = json_object_get(p, "exp"), *iat = json_object_get(p, "iat");
    const json_t *nonce = json_object_get(p, "nonce"), *bd = json_object_get(p, "birthdate");
    bool id_token = userinfo_sub == NULL;

    AGP_ENSURE(json_is_object(p), AGP_ERR_SYNTAX);
    AGP_ENSURE(json_is_string(iss), AGP_ERR_SYNTAX);
    AGP_ENSURE(strcmp(json_string_value(iss), want->issuer) == 0, AGP_ERR_CHALLENGE);
    AGP_TRY(check_aud(p, want->client_id));
    /* a UserInfo JWT may omit exp and iat; when present they count */
    AGP_ENSURE((json_is_integer(exp) || (!id_token && exp == NULL)) &&
                   (json_is_integer(iat) || (!id_token && iat == NULL)),
               AGP_ERR_SYNTAX);
    AGP_ENSURE(exp == NULL || json_integer_value(exp) > want->now - want->skew, AGP_ERR_EXPIRED);
    AGP_ENSURE(iat == NULL || json_integer_value(iat) <= want->now + want->skew, AGP_ERR_EXPIRED);
    if (id_token && want->nonce != NULL) {
        size_t n = strlen(want->nonce);
        AGP_ENSURE(json_is_string(nonce), AGP_ERR_CHALLENGE);
        AGP_ENSURE(json_string_length(nonce) == n &&
                       agp_ct_eq((const uint8_t *)json_string_value(nonce),
                                 (const uint8_t *)want->nonce, n),
                   AGP_ERR_CHALLENGE);
    }
    AGP_ENSURE(sub != NULL, AGP_ERR_NOT_FOUND);
    AGP_ENSURE(json_is_string(sub) && json_string_length(sub) > 0, AGP_ERR_SYNTAX);
    AGP_ENSURE(json_string_length(sub) <= AGP_OIDC_SUB_MAX, AGP_ERR_TOO_BIG);
    AGP_ENSURE(strlen(json_string_value(sub)) == json_string_length(sub), AGP_ERR_SYNTAX);
    /* §5.3.2: the sub of a UserInfo response MUST match the ID token's */
    AGP_ENSURE(id_token || strcmp(json_string_value(sub), userinfo_sub) == 0, AGP_ERR_CHALLENGE);
    memcpy(out->sub, json_string_value(sub), json_string_length(sub) + 1);
    out->exp = exp != NULL ? json_integer_value(exp) : 0;
    if (bd != NULL) {
        AGP_ENSURE(json_is_string(bd), AGP_ERR_SYNTAX);
        AGP_TRY(agp_oidc_parse_birthdate(out, json_string_value(bd), json_string_length(bd)));
    }
    return AGP_OK;
}

/* A JWS checked against the JWKS, then its claims (userinfo_sub: see check_claims). */
static agp_err verify_jwt(struct agp_oidc_claims *out, const char *jwks, size_t jwks_len,
                          const char *id_token, size_t len, const struct agp_oidc_expect *want,
                          const char *userinfo_sub)
{
    char kid[AGP_OIDC_STRING_MAX + 1];
    size_t head_len, plain_len;
    uint8_t *plain = NULL;
    cjose_jwk_t *jwk = NULL;
    cjose_jws_t *jws = NULL;
    json_t *payload = NULL;
    enum alg alg = ALG_RS256;
    bool has_kid;
    cjose_err cerr;
    agp_err err;

    memset(out, 0, sizeof *out);
    if (want == NULL || want->issuer == NULL || want->client_id == NULL) return AGP_ERR_ARG;
    if ((err = check_compact(id_token, len, &head_len)) != AGP_OK ||
        (err = read_header(id_token, head_len, &alg, kid, sizeof kid, &has_kid)) != AGP_OK ||
        (err = pick_key(&jwk, jwks, jwks_len, alg, kid, has_kid)) != AGP_OK)
        goto out;
    err = AGP_ERR_SYNTAX;
    if ((jws = cjose_jws_import(id_token, len, &cerr)) == NULL) goto out;
    err = AGP_ERR_SIGNATURE;
    if (!cjose_jws_verify(jws, jwk, &cerr)) goto out;
    err = AGP_ERR_SYNTAX;
    if (!cjose_jws_get_plaintext(jws, &plain, &plain_len, &cerr)) goto out;
    payload = json_loadb((const char *)plain, plain_len, JSON_REJECT_DUPLICATES, NULL);
    if (payload == NULL) goto out;
    err = check_claims(out, payload, want, userinfo_sub);
out:
    json_decref(payload);
    cjose_jws_release(jws);
    cjose_jwk_release(jwk);
    if (err != AGP_OK) memset(out, 0, sizeof *out);
    return err;
}

/* see agepass/oidc.h */
agp_err agp_oidc_verify_id_token(struct agp_oidc_claims *out, const char *jwks, size_t jwks_len,
                                 const char *id_token, size_t len,
                                 const struct agp_oidc_expect *want)
{
    return verify_jwt(out, jwks, jwks_len, id_token, len, want, NULL);
}

/*
 *= https://openid.net/specs/openid-connect-core-1_0.html#UserInfoResponse
 *#   The sub Claim in the UserInfo Response MUST be verified to exactly
 *#   match the sub Claim in the ID Token ... If signed, the UserInfo
 *#   Response MUST contain the Claims iss (issuer) and aud (audience) as
 *#   members.
 */
/* see agepass/oidc.h */
agp_err agp_oidc_verify_userinfo(struct agp_oidc_claims *out, const char *jwks, size_t jwks_len,
                                 const char *jwt, size_t len, const struct agp_oidc_expect *want,
                                 const char *sub)
{
    if (sub == NULL) {
        memset(out, 0, sizeof *out);
        return AGP_ERR_ARG;
    }
    return verify_jwt(out, jwks, jwks_len, jwt, len, want, sub);
}

static bool digits(const char *s, size_t n, unsigned *v)
{
    size_t i;
    *v = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        *v = *v * 10 + (unsigned)(s[i] - '0');
    }
    return true;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
    static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/*
 *= https://openid.net/specs/openid-connect-core-1_0.html#StandardClaims
 *#   birthdate: End-User's birthday, represented as an ISO 8601-1 [ISO8601-1]
 *#   YYYY-MM-DD format. The year MAY be 0000, indicating that it is omitted.
 *#   To represent only the year, YYYY format is allowed.
 */
/* see agepass/oidc.h */
agp_err agp_oidc_parse_birthdate(struct agp_oidc_claims *c, const char *s, size_t len)
{
    unsigned y, m = 12, d = 31;
    c->has_birthdate = false;
    c->year_only = false;
    c->birth_year = c->birth_month = c->birth_day = 0;
    AGP_ENSURE(len == 4 || len == 10, AGP_ERR_SYNTAX);
    AGP_ENSURE(digits(s, 4, &y), AGP_ERR_SYNTAX);
    if (len == 10) {
        AGP_ENSURE(s[4] == '-' && s[7] == '-', AGP_ERR_SYNTAX);
        AGP_ENSURE(digits(s + 5, 2, &m) && digits(s + 8, 2, &d), AGP_ERR_SYNTAX);
    }
    AGP_ENSURE(y != 0, AGP_ERR_NOT_FOUND); /* year withheld: no age evidence */
    AGP_ENSURE(y >= 1850, AGP_ERR_RANGE);
    AGP_ENSURE(m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m), AGP_ERR_RANGE);
    c->has_birthdate = true;
    c->year_only = len == 4;
    c->birth_year = y;
    c->birth_month = m;
    c->birth_day = d;
    return AGP_OK;
}

/* see agepass/oidc.h */
agp_err agp_oidc_age(unsigned *age, const struct agp_oidc_claims *c, int64_t now)
{
    time_t t = (time_t)now;
    struct tm tm;
    unsigned y, m, d, years;
    *age = 0;
    AGP_ENSURE(c->has_birthdate, AGP_ERR_NOT_FOUND);
    AGP_ENSURE(gmtime_r(&t, &tm) != NULL && tm.tm_year >= 0, AGP_ERR_RANGE);
    y = (unsigned)tm.tm_year + 1900;
    m = (unsigned)tm.tm_mon + 1;
    d = (unsigned)tm.tm_mday;
    AGP_ENSURE(c->birth_year <= y, AGP_ERR_RANGE);
    years = y - c->birth_year;
    if (m < c->birth_month || (m == c->birth_month && d < c->birth_day)) {
        AGP_ENSURE(years > 0, AGP_ERR_RANGE); /* born later this year */
        years--;
    }
    *age = years;
    return AGP_OK;
}

/* ---- the relying party's side of the flow -------------------------------- */

#define DOC_MAX 65536 /* discovery document, token response */

/* https, or http to a loopback host; printable ASCII, no spaces. */
static bool good_url(const char *u, size_t len)
{
    static const char *const loop[] = {"127.0.0.1", "localhost", "[::1]"};
    const char *host;
    size_t i, n;
    if (len == 0 || len > AGP_OIDC_URL_MAX) return false;
    for (i = 0; i < len; i++)
        if (u[i] < 0x21 || u[i] > 0x7e) return false;
    if (len > 8 && strncmp(u, "https://", 8) == 0) return u[8] != '/' && u[8] != ':';
    if (len <= 7 || strncmp(u, "http://", 7) != 0) return false;
    host = u + 7;
    for (i = 0; i < AGP_ARRAY_LEN(loop); i++) {
        n = strlen(loop[i]);
        if (len - 7 >= n && strncmp(host, loop[i], n) == 0 &&
            (len - 7 == n || host[n] == ':' || host[n] == '/'))
            return true;
    }
    return false;
}

static agp_err copy_endpoint(char out[AGP_OIDC_URL_MAX + 1], const json_t *doc, const char *name)
{
    const json_t *v = json_object_get(doc, name);
    AGP_ENSURE(v != NULL, AGP_ERR_NOT_FOUND);
    AGP_ENSURE(json_is_string(v), AGP_ERR_SYNTAX);
    AGP_ENSURE(good_url(json_string_value(v), json_string_length(v)) &&
                   strlen(json_string_value(v)) == json_string_length(v),
               AGP_ERR_RANGE);
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return AGP_OK;
}

/*
 *= https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata
 *#   issuer REQUIRED. URL using the https scheme with no query or fragment
 *#   components that the OP asserts as its Issuer Identifier.
 *#   authorization_endpoint REQUIRED. ... token_endpoint ... jwks_uri
 *#   REQUIRED.
 *
 * §4.3: the issuer value returned MUST be identical to the Issuer URL that
 * was used as the prefix to /.well-known/openid-configuration.
 */
/* see agepass/oidc.h */
agp_err agp_oidc_discovery_parse(struct agp_oidc_provider *out, const char *json, size_t len,
                                 const char *issuer)
{
    json_t *doc;
    const json_t *iss;
    agp_err err = AGP_ERR_SYNTAX;
    memset(out, 0, sizeof *out);
    if (len > DOC_MAX) return AGP_ERR_TOO_BIG;
    doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(doc)) goto out;
    iss = json_object_get(doc, "issuer");
    if (!json_is_string(iss)) goto out;
    err = AGP_ERR_CHALLENGE;
    if (strlen(json_string_value(iss)) != json_string_length(iss) ||
        strcmp(json_string_value(iss), issuer) != 0)
        goto out;
    if ((err = copy_endpoint(out->authorization_endpoint, doc, "authorization_endpoint")) !=
            AGP_OK ||
        (err = copy_endpoint(out->token_endpoint, doc, "token_endpoint")) != AGP_OK ||
        (err = copy_endpoint(out->jwks_uri, doc, "jwks_uri")) != AGP_OK)
        goto out;
    if (json_object_get(doc, "userinfo_endpoint") != NULL &&
        (err = copy_endpoint(out->userinfo_endpoint, doc, "userinfo_endpoint")) != AGP_OK)
        goto out;
    err = AGP_OK;
out:
    json_decref(doc);
    if (err != AGP_OK) memset(out, 0, sizeof *out);
    return err;
}

/*
 *= https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 *#   access_token REQUIRED. ... token_type REQUIRED. The type of the token
 *#   issued as described in Section 7.1.  Value is case insensitive.
 *= https://openid.net/specs/openid-connect-core-1_0.html#TokenResponse
 *#   id_token ID Token value associated with the authenticated session.
 *#   ... the OAuth 2.0 token_type response parameter value MUST be Bearer
 */
/* see agepass/oidc.h */
agp_err agp_oidc_token_response_parse(char *id_token, size_t cap, char *access_token,
                                      size_t access_cap, const char *json, size_t len)
{
    json_t *doc;
    const json_t *tt, *idt, *at;
    agp_err err = AGP_ERR_SYNTAX;
    if (cap < AGP_OIDC_TOKEN_MAX + 1 || access_cap < AGP_OIDC_ACCESS_MAX + 1) return AGP_ERR_ARG;
    id_token[0] = access_token[0] = '\0';
    if (len > DOC_MAX) return AGP_ERR_TOO_BIG;
    doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(doc)) goto out;
    tt = json_object_get(doc, "token_type");
    idt = json_object_get(doc, "id_token");
    at = json_object_get(doc, "access_token");
    if (!json_is_string(tt) || json_string_length(tt) != 6 ||
        strncasecmp(json_string_value(tt), "bearer", 6) != 0)
        goto out;
    err = AGP_ERR_NOT_FOUND;
    if (idt == NULL || at == NULL) goto out;
    err = AGP_ERR_SYNTAX;
    if (!json_is_string(idt) || strlen(json_string_value(idt)) != json_string_length(idt) ||
        !json_is_string(at) || strlen(json_string_value(at)) != json_string_length(at) ||
        json_string_length(at) == 0)
        goto out;
    err = AGP_ERR_TOO_BIG;
    if (json_string_length(idt) > AGP_OIDC_TOKEN_MAX ||
        json_string_length(at) > AGP_OIDC_ACCESS_MAX)
        goto out;
    memcpy(id_token, json_string_value(idt), json_string_length(idt) + 1);
    memcpy(access_token, json_string_value(at), json_string_length(at) + 1);
    err = AGP_OK;
out:
    json_decref(doc); /* jansson frees without wiping */
    if (err != AGP_OK) {
        agp_wipe(id_token, cap);
        agp_wipe(access_token, access_cap);
    }
    return err;
}

/* HMAC(key, label || data) */
static agp_err keyed(uint8_t out[32], const uint8_t key[32], const char *label, const uint8_t *data,
                     size_t n)
{
    uint8_t msg[8 + AGP_SEAL_RND];
    size_t l = strlen(label);
    agp_err err;
    if (l > 8 || n > AGP_SEAL_RND) return AGP_ERR_ARG;
    memcpy(msg, label, l);
    memcpy(msg + l, data, n);
    err = agp_hmac_sha256(out, key, 32, msg, l + n);
    agp_wipe(msg, sizeof msg);
    return err;
}

_Static_assert(AGP_OIDC_STATE_LEN == AGP_SEAL_LEN(0), "an OIDC state is a sealed ticket");

/* Fills the derived fields of f from the state's random part. */
static agp_err flow_derive(struct agp_oidc_flow *f, const uint8_t key[32],
                           const uint8_t rnd[AGP_SEAL_RND])
{
    static const char label[] = "agepass oidc state v1";
    uint8_t mac[32], msg[sizeof label + AGP_OIDC_STATE_LEN];
    agp_err err;
    if ((err = keyed(mac, key, "nonce", rnd, AGP_SEAL_RND)) == AGP_OK &&
        (err = agp_b64url_encode_nopad(f->nonce, sizeof f->nonce, NULL, mac, sizeof mac)) ==
            AGP_OK &&
        (err = keyed(mac, key, "pkce", rnd, AGP_SEAL_RND)) == AGP_OK &&
        (err = agp_b64url_encode_nopad(f->verifier, sizeof f->verifier, NULL, mac, sizeof mac)) ==
            AGP_OK &&
        (err = agp_sha256(mac, (const uint8_t *)f->verifier, AGP_OIDC_SECRET_LEN)) == AGP_OK)
        err = agp_b64url_encode_nopad(f->challenge, sizeof f->challenge, NULL, mac, sizeof mac);
    memcpy(msg, label, sizeof label);
    memcpy(msg + sizeof label, f->state, AGP_OIDC_STATE_LEN);
    if (err == AGP_OK) err = agp_sha256(f->digest, msg, sizeof msg);
    agp_wipe(mac, sizeof mac);
    return err;
}

/* see agepass/oidc.h */
agp_err agp_oidc_flow_new(struct agp_oidc_flow *out, const uint8_t key[32], int64_t expires_at)
{
    uint8_t rnd[AGP_SEAL_RND];
    agp_err err;
    memset(out, 0, sizeof *out);
    if ((err = agp_seal(out->state, sizeof out->state, rnd, key, "state", expires_at, NULL, 0)) ==
        AGP_OK)
        err = flow_derive(out, key, rnd);
    out->expires_at = expires_at;
    agp_wipe(rnd, sizeof rnd);
    if (err != AGP_OK) agp_wipe(out, sizeof *out);
    return err;
}

/* see agepass/oidc.h */
agp_err agp_oidc_flow_open(struct agp_oidc_flow *out, const uint8_t key[32], const char *state,
                           size_t len, int64_t now, int64_t max_ttl)
{
    uint8_t rnd[AGP_SEAL_RND];
    agp_err err;
    memset(out, 0, sizeof *out);
    err = agp_unseal(rnd, &out->expires_at, NULL, 0, key, "state", state, len, now, max_ttl);
    if (err == AGP_OK) {
        memcpy(out->state, state, len);
        out->state[len] = '\0';
        err = flow_derive(out, key, rnd);
    }
    agp_wipe(rnd, sizeof rnd);
    if (err != AGP_OK) agp_wipe(out, sizeof *out);
    return err;
}
