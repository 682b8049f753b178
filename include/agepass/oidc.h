/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agepass/oidc.h: OpenID Connect ID tokens as age evidence, without any
 * network: the caller fetches the provider's JWKS and the ID token, this
 * module checks the signature (libcjose), the claims, and reads birthdate.
 *
 * Only RS256 and ES256 (P-256) are accepted; `none`, the HMAC algorithms
 * and anything else are refused from the header, before any key is used.
 * The key is chosen by `kid` among the JWKS keys of a matching type (RSA
 * for RS256, EC P-256 for ES256); a token without `kid` is accepted only
 * when the JWKS holds exactly one such key.
 *
 * Thread safety: every function is pure and thread safe.
 */
#ifndef AGEPASS_OIDC_H
#define AGEPASS_OIDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agepass/err.h"

#define AGP_OIDC_TOKEN_MAX  16384 /* largest compact JWS read (bytes) */
#define AGP_OIDC_JWKS_MAX   65536 /* largest JWKS document read (bytes) */
#define AGP_OIDC_JWKS_KEYS  32    /* most keys in a JWKS */
#define AGP_OIDC_SUB_MAX    255   /* OIDC Core §2: sub is at most 255 ASCII characters */
#define AGP_OIDC_STRING_MAX 1024  /* longest iss, aud, nonce or kid compared */

/* What the relying party expects of a token; all strings borrowed. */
struct agp_oidc_expect {
    const char *issuer;    /* `iss`, compared exactly */
    const char *client_id; /* in `aud`; `azp` when there are several audiences */
    const char *nonce;     /* `nonce`, compared in constant time; NULL: not checked */
    int64_t now;           /* Unix seconds */
    int64_t skew;          /* seconds of clock difference tolerated */
};

/* What was read from a verified token. */
struct agp_oidc_claims {
    char sub[AGP_OIDC_SUB_MAX + 1]; /* NUL-terminated copy */
    int64_t exp;
    bool has_birthdate;
    bool year_only; /* birthdate was "YYYY": counted as 31 December */
    unsigned birth_year, birth_month, birth_day;
};

/*
 * Verifies the compact JWS id_token[0..len) against the JWKS document
 * jwks[0..jwks_len) and the expectations: signature, `iss`, `aud`/`azp`,
 * `exp` (after now - skew), `iat` (not after now + skew), `nonce`, `sub`;
 * then reads `birthdate` if present (see agp_oidc_parse_birthdate). On
 * failure *out is zeroed. Errors: AGP_ERR_TOO_BIG (caps above), AGP_ERR_SYNTAX
 * or AGP_ERR_ENCODING (not a JWS / JSON), AGP_ERR_KEY (unusable JWKS or no
 * key for this token's kid: refetch the JWKS once), AGP_ERR_TOKEN_TYPE
 * (algorithm refused), AGP_ERR_SIGNATURE, AGP_ERR_CHALLENGE (iss, aud, azp
 * or nonce differ), AGP_ERR_EXPIRED (exp past, iat in the future),
 * AGP_ERR_NOT_FOUND (no sub), AGP_ERR_RANGE (malformed birthdate).
 */
AGP_MUST_USE agp_err agp_oidc_verify_id_token(struct agp_oidc_claims *out, const char *jwks,
                                              size_t jwks_len, const char *id_token, size_t len,
                                              const struct agp_oidc_expect *want);

/*
 * Verifies a signed UserInfo response (OIDC Core §5.3.2, `application/jwt`)
 * as an ID token, except that exp and iat may be absent (checked when
 * present), no nonce is checked, and `sub` must equal sub (the ID token's).
 * Same errors as agp_oidc_verify_id_token; a different sub is
 * AGP_ERR_CHALLENGE.
 */
AGP_MUST_USE agp_err agp_oidc_verify_userinfo(struct agp_oidc_claims *out, const char *jwks,
                                              size_t jwks_len, const char *jwt, size_t len,
                                              const struct agp_oidc_expect *want, const char *sub);

/*
 * OIDC Core §5.1 birthdate: "YYYY-MM-DD" or "YYYY" (a year alone counts as
 * 31 December of that year, the latest possible birthday). "0000-MM-DD"
 * (year withheld) proves no age: AGP_ERR_NOT_FOUND. A date that does not
 * exist (2000-13-01, 2001-02-29) or a year before 1850: AGP_ERR_RANGE;
 * any other shape: AGP_ERR_SYNTAX.
 */
AGP_MUST_USE agp_err agp_oidc_parse_birthdate(struct agp_oidc_claims *c, const char *s, size_t len);

/*
 * Age in whole years at now (UTC) of the birthdate in c. Errors:
 * AGP_ERR_NOT_FOUND (no birthdate), AGP_ERR_RANGE (born after now).
 */
AGP_MUST_USE agp_err agp_oidc_age(unsigned *age, const struct agp_oidc_claims *c, int64_t now);

/* ---- the relying party's side of the flow -------------------------------- */

#define AGP_OIDC_URL_MAX    2048
#define AGP_OIDC_ACCESS_MAX 4096 /* longest access token kept (for UserInfo) */
#define AGP_OIDC_STATE_LEN  54   /* unpadded base64url of 40 bytes */
#define AGP_OIDC_SECRET_LEN 43   /* nonce, PKCE verifier and challenge: base64url of 32 bytes */

/* The endpoints of a provider, read from its discovery document. */
struct agp_oidc_provider {
    char authorization_endpoint[AGP_OIDC_URL_MAX + 1];
    char token_endpoint[AGP_OIDC_URL_MAX + 1];
    char jwks_uri[AGP_OIDC_URL_MAX + 1];
    char userinfo_endpoint[AGP_OIDC_URL_MAX + 1]; /* "" when the provider has none */
};

/*
 * Reads an OpenID Provider configuration document (OpenID Connect
 * Discovery 1.0 §3) json[0..len), at most 64 KiB: `issuer` must equal
 * issuer exactly; the three endpoints must be https URLs (http only to
 * 127.0.0.1, [::1] or localhost) of printable ASCII without spaces, at
 * most AGP_OIDC_URL_MAX; `userinfo_endpoint`, optional, likewise. Errors: AGP_ERR_TOO_BIG,
 * AGP_ERR_SYNTAX, AGP_ERR_CHALLENGE (another issuer), AGP_ERR_NOT_FOUND (an endpoint missing),
 * AGP_ERR_RANGE (a URL refused). On failure *out is zeroed.
 */
AGP_MUST_USE agp_err agp_oidc_discovery_parse(struct agp_oidc_provider *out, const char *json,
                                              size_t len, const char *issuer);

/*
 * Reads a successful token response (RFC 6749 §5.1, OpenID Connect Core
 * §3.1.3.3) json[0..len), at most 64 KiB: `token_type` Bearer (any case)
 * an `access_token` of at most AGP_OIDC_ACCESS_MAX characters and an
 * `id_token` string of at most AGP_OIDC_TOKEN_MAX characters, copied
 * NUL-terminated into access_token (access_cap at least AGP_OIDC_ACCESS_MAX
 * + 1) and id_token (cap at least AGP_OIDC_TOKEN_MAX + 1). Errors:
 * AGP_ERR_TOO_BIG, AGP_ERR_SYNTAX, AGP_ERR_NOT_FOUND (no id_token or no
 * access_token), AGP_ERR_ARG (a cap too small). On failure both are wiped.
 */
AGP_MUST_USE agp_err agp_oidc_token_response_parse(char *id_token, size_t cap, char *access_token,
                                                   size_t access_cap, const char *json, size_t len);

/*
 * A stateless authorization flow. state = base64url(rnd[16] || expiry[8,
 * big-endian] || HMAC(key, "state" || rnd || expiry)[:16]); the nonce is
 * base64url(HMAC(key, "nonce" || rnd)), the PKCE verifier
 * base64url(HMAC(key, "pkce" || rnd)) and the challenge
 * base64url(SHA-256(verifier)) (RFC 7636 §4.2, S256). digest identifies
 * the state for a one-use store. All strings NUL-terminated; nonce and
 * verifier are secret (wipe the struct).
 */
struct agp_oidc_flow {
    char state[AGP_OIDC_STATE_LEN + 1];
    char nonce[AGP_OIDC_SECRET_LEN + 1];
    char verifier[AGP_OIDC_SECRET_LEN + 1];
    char challenge[AGP_OIDC_SECRET_LEN + 1];
    int64_t expires_at;
    uint8_t digest[32];
};

/* A new flow expiring at expires_at. Errors: AGP_ERR_RANDOM, AGP_ERR_CRYPTO. */
AGP_MUST_USE agp_err agp_oidc_flow_new(struct agp_oidc_flow *out, const uint8_t key[32],
                                       int64_t expires_at);

/*
 * The flow of a state returned to the callback, state[0..len). Errors:
 * AGP_ERR_LENGTH or AGP_ERR_ENCODING (not a state), AGP_ERR_SIGNATURE (not
 * made with key), AGP_ERR_EXPIRED (expired at now, or expiring more than
 * max_ttl after now). On failure *out is zeroed.
 */
AGP_MUST_USE agp_err agp_oidc_flow_open(struct agp_oidc_flow *out, const uint8_t key[32],
                                        const char *state, size_t len, int64_t now,
                                        int64_t max_ttl);

#endif
