/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/err.c: names and kinds of agp_err values.
 */
#include "agepass/err.h"

/* see agepass/err.h */
const char *agp_err_str(agp_err err)
{
    switch (err) {
    case AGP_OK: return "success";
    case AGP_ERR_TRUNCATED: return "input is truncated";
    case AGP_ERR_TRAILING: return "unexpected bytes after the end of the input";
    case AGP_ERR_LENGTH: return "a length is outside its allowed range";
    case AGP_ERR_ENCODING: return "invalid encoding";
    case AGP_ERR_SYNTAX: return "invalid syntax";
    case AGP_ERR_TOO_BIG: return "input or output exceeds its size limit";
    case AGP_ERR_TOKEN_TYPE: return "unsupported token type";
    case AGP_ERR_KEY_ID: return "token key id does not match the key";
    case AGP_ERR_CHALLENGE: return "token was made for another challenge";
    case AGP_ERR_SIGNATURE: return "signature does not verify";
    case AGP_ERR_KEY: return "unusable key";
    case AGP_ERR_RANGE: return "value out of range";
    case AGP_ERR_NOT_FOUND: return "nothing usable found";
    case AGP_ERR_REPLAY: return "already spent";
    case AGP_ERR_EXPIRED: return "expired or not yet valid";
    case AGP_ERR_IO: return "input/output error";
    case AGP_ERR_NOMEM: return "out of memory";
    case AGP_ERR_CRYPTO: return "cryptographic library failure";
    case AGP_ERR_RANDOM: return "random generator failure";
    case AGP_ERR_ARG: return "invalid argument";
    case AGP_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}

/* see agepass/err.h */
enum agp_err_kind agp_err_kind(agp_err err)
{
    if (err == AGP_OK) return AGP_KIND_OK;
    if (err >= 100 && err < 200) return AGP_KIND_MALFORMED;
    if (err >= 200 && err < 300) return AGP_KIND_REJECTED;
    if (err >= 300 && err < 400) return AGP_KIND_UNAVAILABLE;
    return AGP_KIND_INTERNAL;
}

/* see agepass/err.h */
int agp_err_http_status(agp_err err)
{
    switch (agp_err_kind(err)) {
    case AGP_KIND_OK: return 200;
    case AGP_KIND_MALFORMED: return 400;
    case AGP_KIND_REJECTED: return 422;
    case AGP_KIND_UNAVAILABLE: return 503;
    case AGP_KIND_INTERNAL: break;
    }
    return 500;
}
