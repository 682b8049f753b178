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

#endif
