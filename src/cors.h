/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/cors.h: Cross-Origin Resource Sharing for the web wallet, when it is
 * served from another origin than its issuer (see cors.c).
 */
#ifndef AGEPASS_SRC_CORS_H
#define AGEPASS_SRC_CORS_H

#include <stdbool.h>

#include <microhttpd.h>

/*
 * The one origin allowed: that of wallet_url (--wallet-url), lowercased,
 * without its default port. Call once at start, before serving; false if
 * wallet_url has no origin (then nothing is allowed).
 */
bool cors_set_wallet_origin(const char *wallet_url);

/*
 * Called by the issuer's handler for each request, before it routes it:
 * notes, for this thread, whether the request is the wallet's (its Origin
 * is the wallet's, exactly, on a route the wallet fetches: the directory
 * and /token-request), so that cors_add then marks its answer.
 */
void cors_begin(struct MHD_Connection *conn, const char *url);

/*
 * True when this request is a CORS preflight (OPTIONS) from the wallet's
 * origin on one of its routes; cors_preflight then answers it (204).
 */
bool cors_is_preflight(const char *method);
enum MHD_Result cors_preflight(struct MHD_Connection *conn);

/*
 * Adds Access-Control-Allow-Origin (and Expose-Headers: ETag) to r when
 * the request is the wallet's, and Vary: Origin on the wallet's routes
 * whenever a wallet origin is set (the directory may be cached).
 */
void cors_add(struct MHD_Response *r);

#endif
