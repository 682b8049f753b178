/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/cors.c: the issuer's answers to a web wallet served from another
 * origin (--wallet-url on a static host of its own). The wallet fetches
 * two things with fetch(), without credentials: the directory (GET, with
 * If-None-Match) and tokens (POST /token-request, with Content-Type and
 * Authorization: Bearer, hence a preflight). Only these routes, and only
 * for the one origin of --wallet-url, get CORS headers (Fetch standard,
 * "CORS protocol"): Access-Control-Allow-Origin with that origin, never
 * "*", never credentials; any other origin gets no CORS header at all, so
 * its scripts cannot read the answers, and its preflights are not
 * answered (404, as any unknown route).
 *
 * The handler runs a request from its routing to its answer on one MHD
 * thread, so what cors_begin learnt about the request is kept in a
 * thread-local and read back by cors_add when the answer is made.
 */
#include <stdio.h>
#include <string.h>

#include "cors.h"

#define ORIGIN_MAX 512

static char wallet_origin[ORIGIN_MAX]; /* "" : no CORS */

/* Set by cors_begin for the request this thread is answering. */
static _Thread_local bool on_route; /* a route the wallet fetches */
static _Thread_local bool from_wallet;

/* see cors.h */
bool cors_set_wallet_origin(const char *url)
{
    const char *auth = strstr(url, "://");
    size_t scheme, n, i;
    wallet_origin[0] = '\0';
    if (auth == NULL) return false;
    scheme = (size_t)(auth - url);
    auth += 3;
    n = strcspn(auth, "/?#");
    if (n == 0 || scheme + 3 + n >= sizeof wallet_origin) return false;
    memcpy(wallet_origin, url, scheme + 3 + n);
    wallet_origin[scheme + 3 + n] = '\0';
    /* as a browser serialises an origin: lowercase, no default port */
    for (i = 0; wallet_origin[i] != '\0'; i++)
        if (wallet_origin[i] >= 'A' && wallet_origin[i] <= 'Z')
            wallet_origin[i] = (char)(wallet_origin[i] - 'A' + 'a');
    n = strlen(wallet_origin);
    if (strncmp(wallet_origin, "https://", 8) == 0 && n > 4 &&
        strcmp(wallet_origin + n - 4, ":443") == 0)
        wallet_origin[n - 4] = '\0';
    else if (strncmp(wallet_origin, "http://", 7) == 0 && n > 3 &&
             strcmp(wallet_origin + n - 3, ":80") == 0)
        wallet_origin[n - 3] = '\0';
    return true;
}

/* see cors.h */
void cors_begin(struct MHD_Connection *conn, const char *url)
{
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    on_route = wallet_origin[0] != '\0' &&
               (strcmp(url, "/.well-known/private-token-issuer-directory") == 0 ||
                strcmp(url, "/token-request") == 0);
    from_wallet = on_route && origin != NULL && strcmp(origin, wallet_origin) == 0;
}

/* see cors.h */
bool cors_is_preflight(const char *method)
{
    return from_wallet && strcmp(method, "OPTIONS") == 0;
}

/* see cors.h */
enum MHD_Result cors_preflight(struct MHD_Connection *conn)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;
    if (r == NULL) return MHD_NO;
    cors_add(r);
    MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST");
    MHD_add_response_header(r, "Access-Control-Allow-Headers",
                            "Authorization, Content-Type, If-None-Match");
    MHD_add_response_header(r, "Access-Control-Max-Age", "600");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    ret = MHD_queue_response(conn, MHD_HTTP_NO_CONTENT, r);
    MHD_destroy_response(r);
    return ret;
}

/* see cors.h */
void cors_add(struct MHD_Response *r)
{
    if (!on_route) return;
    MHD_add_response_header(r, "Vary", "Origin");
    if (!from_wallet) return;
    MHD_add_response_header(r, "Access-Control-Allow-Origin", wallet_origin);
    MHD_add_response_header(r, "Access-Control-Expose-Headers", "ETag");
}
