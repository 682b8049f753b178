/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/http.h: the one way the agepass services (issuer, verifier) start
 * libmicrohttpd, with the limits that keep them answering when reached
 * directly by a hostile client, and the framing checks that keep a request
 * hidden in another from reaching a handler.
 *
 * Limits:
 *   - at most HTTP_PER_ADDR_MAX connections from one client address (behind
 *     nginx, nginx is one address: see deploy/nginx/);
 *   - a request's head and body must arrive within HTTP_RECEIVE_S seconds
 *     of the connection's start (or of the previous response), however
 *     slowly the bytes trickle in: the reaper thread shuts down those that
 *     do not, whereas libmicrohttpd's own idle timeout restarts at every byte;
 *   - RLIMIT_NOFILE is raised (to the hard limit, at most HTTP_CONN_MAX plus
 *     a reserve) and the total connection limit follows it.
 *
 * Framing: before any handler runs, a request with more than one
 * Content-Length, a Content-Length that is not decimal digits, more than
 * one Transfer-Encoding, a Transfer-Encoding other than "chunked", or both
 * Transfer-Encoding and Content-Length is answered 400 and its connection
 * closed (RFC 9112 §6.1, §6.3: the ambiguities request smuggling uses).
 *
 * SIGPIPE and SIGXFSZ are ignored from http_start on: a peer gone or a
 * file-size limit is an error that a handler answers (503), not a death.
 *
 * Thread safety: http_start and http_stop from the main thread; the
 * handlers run on libmicrohttpd's threads, as before.
 */
#ifndef AGEPASS_HTTP_H
#define AGEPASS_HTTP_H

#include <sys/socket.h>

#include <microhttpd.h>

#define HTTP_PER_ADDR_MAX 256u
#define HTTP_RECEIVE_S    10u
#define HTTP_IDLE_S       30u /* libmicrohttpd's timeout, for what follows the request */
#define HTTP_CONN_MAX     32768u

struct http_config {
    const struct sockaddr *addr; /* where to listen (borrowed) */
    unsigned threads;            /* libmicrohttpd's thread pool */
    MHD_AccessHandlerCallback handler;
    void *handler_cls;
    MHD_RequestCompletedCallback completed; /* or NULL */
    void *completed_cls;
};

struct http_server;

/*
 * Starts the service; *out is freed with http_stop. Returns 0, or -1 when
 * it cannot listen (the reason on stderr).
 */
int http_start(struct http_server **out, const struct http_config *c);

/* Stops the daemon and the reaper, closes every connection; NULL is fine. */
void http_stop(struct http_server *s);

/* The connection limit the server runs with (for the start-up log). */
unsigned http_connection_limit(const struct http_server *s);

#endif
