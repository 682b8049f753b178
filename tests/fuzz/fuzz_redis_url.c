/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_redis_init */
/*
 * tests/fuzz/fuzz_redis_url.c: the redis://HOST[:PORT][/DB] URL that the
 * verifier's replay store and the issuer's store both take (lib/redis.c),
 * from the command line or a config file.
 *
 * Oracle: the input is read as a C string (up to its first NUL). Refused:
 * AGP_ERR_SYNTAX and nothing else. Accepted: the host is 1..255 characters
 * of the allowed sets, the port 1..65535, the database 0..15; the URL
 * rebuilt from them (brackets around a host with a ':') is accepted too
 * and gives the same three; and no connection is made (init connects
 * nothing, so the target needs no server and stays deterministic).
 */
#include <stdio.h>
#include <string.h>

#include "../../lib/redis_internal.h"
#include "fuzz.h"

#define URL_MAX 1024

static int allowed(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == ':';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char url[URL_MAX + 1], again[URL_MAX + 32];
    static struct agp_redis r, r2;
    size_t n = size < URL_MAX ? size : URL_MAX, i, host_len;
    agp_err err;

    memcpy(url, data, n);
    url[n] = '\0';
    memset(&r, 0, sizeof r);
    err = agp_redis_init(&r, url, 500);
    if (err != AGP_OK) {
        FUZZ_CHECK(err == AGP_ERR_SYNTAX);
        agp_redis_cleanup(&r);
        return 0;
    }
    host_len = strlen(r.host);
    FUZZ_CHECK(host_len >= 1 && host_len <= AGP_REDIS_HOST_MAX);
    for (i = 0; i < host_len; i++)
        FUZZ_CHECK(allowed(r.host[i]));
    FUZZ_CHECK(r.port >= 1 && r.port <= 65535 && r.db <= 15);
    FUZZ_CHECK(strlen(url) >= 8 + host_len);
    for (i = 0; i < AGP_REDIS_POOL; i++)
        FUZZ_CHECK(r.pool[i].c == NULL);

    snprintf(again, sizeof again,
             strchr(r.host, ':') != NULL ? "redis://[%s]:%u/%u" : "redis://%s:%u/%u", r.host,
             r.port, r.db);
    memset(&r2, 0, sizeof r2);
    FUZZ_CHECK(agp_redis_init(&r2, again, 500) == AGP_OK);
    FUZZ_CHECK(strcmp(r2.host, r.host) == 0 && r2.port == r.port && r2.db == r.db);
    agp_redis_cleanup(&r2);
    agp_redis_cleanup(&r);
    return 0;
}
