/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agepass/directory.h: the issuer directory of RFC 9578 §4, a JSON object
 * served at /.well-known/private-token-issuer-directory:
 *
 *   {
 *     "issuer-request-uri": "https://issuer.example/request",
 *     "token-keys": [
 *       { "token-type": 2, "token-key": "MIIBUjA9...", "not-before": 1686913811 }
 *     ]
 *   }
 *
 * token-key is base64url (padded when written, either way when read).
 * agepass adds members that RFC clients ignore: per key "agepass-age", the
 * age class the key proves (an integer 1..255: 18 means "over 18"), and at
 * the top "agepass-issuer-name", the issuer_name its tokens' challenges
 * carry (so that verifiers and clients agree on it), and
 * "agepass-wallet-url", where the issuer's web wallet is served (an http or
 * https URL without fragment: age-check pages link to it).
 * Unknown members are ignored (the format is extensible); keys of token
 * types other than 1 and 2 are skipped. Duplicate member names are refused.
 * Thread safety: reentrant.
 */
#ifndef AGEPASS_DIRECTORY_H
#define AGEPASS_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agepass/authhdr.h"
#include "agepass/err.h"

#define AGP_DIR_MAX_BYTES 65536
#define AGP_DIR_MAX_KEYS  16
#define AGP_URI_MAX       2048

struct agp_dir_key {
    uint16_t token_type;
    uint8_t token_key[AGP_TOKEN_KEY_MAX];
    size_t token_key_len;
    bool has_not_before;
    int64_t not_before; /* seconds since the Unix epoch */
    unsigned age;       /* "agepass-age", 0 when absent */
};

struct agp_directory {
    char issuer_request_uri[AGP_URI_MAX + 1];
    char issuer_name[AGP_ISSUER_NAME_MAX + 1]; /* "agepass-issuer-name", "" when absent */
    char wallet_url[AGP_URI_MAX + 1];          /* "agepass-wallet-url", "" when absent */
    size_t count;
    struct agp_dir_key keys[AGP_DIR_MAX_KEYS];
};

/*
 * Parses the JSON text json[0..len) into d (caller-allocated, ~10 KiB).
 * Errors: AGP_ERR_TOO_BIG, AGP_ERR_SYNTAX (not JSON, a required member
 * missing or of the wrong type, duplicate names), AGP_ERR_ENCODING (token-key
 * not base64url, wallet URL not http(s) or with a fragment, quote, angle
 * bracket or space), AGP_ERR_LENGTH (uri or key too long, more than
 * AGP_DIR_MAX_KEYS keys), AGP_ERR_RANGE (token-type, not-before or
 * agepass-age out of range).
 */
AGP_MUST_USE agp_err agp_directory_parse(struct agp_directory *d, const char *json, size_t len);

/*
 * Key consistency (a provider must not give one person keys of their own):
 * checks that d shows, for every age class (agepass-age, or default_age
 * for keys without it), at most one current key and at most one announced
 * next one. Only type-2 keys count; a key without not-before counts as
 * current since 1970. At now, a key is "next" while its not-before is to
 * come, else "current" if no other key of its class has a later not-before
 * that has come, else "superseded". One superseded key per class is
 * allowed (an epoch whose successor has begun before `issuer rotate`
 * dropped it) and marked in keep[] as not to be trusted; keep[i] is true
 * for every current or next type-2 key. Errors: AGP_ERR_KEY (two current
 * keys of one class: equal not-before; two next keys; two superseded
 * ones), keep[] then all false.
 */
AGP_MUST_USE agp_err agp_directory_check_keys(const struct agp_directory *d, unsigned default_age,
                                              int64_t now, bool keep[AGP_DIR_MAX_KEYS]);

/*
 * Writes d as compact JSON with members in the RFC's order. *out is
 * malloc'd, NUL-terminated; the caller frees it.
 */
AGP_MUST_USE agp_err agp_directory_write(const struct agp_directory *d, char **out, size_t *len);

#endif
