/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/http.c: starting libmicrohttpd for the services (see http.h).
 *
 * Each connection gets a struct conn (libmicrohttpd's socket context) on a
 * list the reaper thread walks once a second: a connection still receiving
 * its request HTTP_RECEIVE_S seconds after it started waiting for one is
 * shut down (shutdown(2): libmicrohttpd then sees the end of the stream and
 * closes it in its own thread). The list's mutex is held both by the reaper
 * while it shuts a socket down and by the close notification that removes
 * the connection, which libmicrohttpd sends before closing the socket, so
 * the reaper never touches a descriptor already reused.
 *
 * The access handler is wrapped: its first call for a request (the head is
 * in) checks the framing headers; a later call with no body bytes left
 * means the whole request is in, and the clock stops until the response is
 * done (the completion notification restarts it for the next request).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include "http.h"

#define FD_RESERVE 256u /* descriptors kept for files, Redis, outgoing HTTP */

struct conn {
    struct conn *prev, *next;
    int fd;
    int64_t since;  /* monotonic seconds: when it started waiting for a request */
    bool receiving; /* the request is not all in yet */
    bool reaped;
    unsigned calls; /* access handler calls for the current request */
};

struct http_server {
    struct MHD_Daemon *d;
    struct http_config c;
    pthread_mutex_t mu; /* guards the list and every struct conn's fields */
    struct conn head;   /* list sentinel */
    pthread_t reaper;
    pthread_cond_t cv;
    bool stop, have_reaper;
    unsigned limit;
};

/*
 * libmicrohttpd's messages (one per connection a flood opens), at most
 * LOG_PER_S a second: the rest are counted, and the count said once the
 * flood ebbs, so that an attacker cannot fill the disk through the log.
 */
#define LOG_PER_S 20

static atomic_llong log_second;
static atomic_uint log_lines, log_dropped;

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct timespec ts;
    long long now;
    unsigned dropped;
    (void)cls;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (long long)ts.tv_sec;
    if (atomic_exchange(&log_second, now) != now) {
        atomic_store(&log_lines, 0);
        if ((dropped = atomic_exchange(&log_dropped, 0)) > 0)
            fprintf(stderr, "agepass: %u libmicrohttpd messages not logged\n", dropped);
    }
    if (atomic_fetch_add(&log_lines, 1) >= LOG_PER_S) {
        atomic_fetch_add(&log_dropped, 1);
        return;
    }
    vfprintf(stderr, fmt, ap);
}

static int64_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

static void on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct http_server *s = cls;
    struct conn *c = *socket_context;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci == NULL || (c = calloc(1, sizeof *c)) == NULL) return; /* then not timed */
        c->fd = ci->connect_fd;
        c->since = mono_now();
        c->receiving = true;
        pthread_mutex_lock(&s->mu);
        c->next = s->head.next;
        c->prev = &s->head;
        s->head.next->prev = c;
        s->head.next = c;
        pthread_mutex_unlock(&s->mu);
        *socket_context = c;
        return;
    }
    if (c == NULL) return;
    pthread_mutex_lock(&s->mu);
    c->prev->next = c->next;
    c->next->prev = c->prev;
    pthread_mutex_unlock(&s->mu);
    free(c);
    *socket_context = NULL;
}

static void *reaper(void *arg)
{
    struct http_server *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        struct timespec until;
        struct conn *c;
        int64_t now = mono_now();
        unsigned reaped = 0;
        for (c = s->head.next; c != &s->head; c = c->next)
            if (c->receiving && !c->reaped && now - c->since >= (int64_t)HTTP_RECEIVE_S) {
                c->reaped = true;
                (void)shutdown(c->fd, SHUT_RDWR);
                reaped++;
            }
        if (reaped > 0)
            fprintf(stderr, "agepass: %u connections closed: no whole request within %u s\n",
                    reaped, HTTP_RECEIVE_S);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        (void)pthread_cond_timedwait(&s->cv, &s->mu, &until);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* What the framing headers of one request say. */
struct framing {
    unsigned content_length, transfer_encoding;
    bool bad_length, bad_coding;
};

static enum MHD_Result framing_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct framing *f = cls;
    (void)kind;
    if (strcasecmp(key, "Content-Length") == 0) {
        f->content_length++;
        if (value == NULL || value[0] == '\0' || strspn(value, "0123456789") != strlen(value) ||
            strlen(value) > 18)
            f->bad_length = true;
    } else if (strcasecmp(key, "Transfer-Encoding") == 0) {
        f->transfer_encoding++;
        if (value == NULL || strcasecmp(value, "chunked") != 0) f->bad_coding = true;
    }
    return MHD_YES;
}

/* NULL if the request's framing is unambiguous, else why it is not. */
static const char *framing_problem(struct MHD_Connection *conn)
{
    struct framing f;
    memset(&f, 0, sizeof f);
    MHD_get_connection_values(conn, MHD_HEADER_KIND, framing_header, &f);
    if (f.content_length > 1) return "more than one Content-Length";
    if (f.bad_length) return "a Content-Length that is not a number";
    if (f.transfer_encoding > 1) return "more than one Transfer-Encoding";
    if (f.bad_coding) return "a Transfer-Encoding other than chunked";
    if (f.transfer_encoding && f.content_length) return "Transfer-Encoding with Content-Length";
    return NULL;
}

static enum MHD_Result refuse_framing(struct MHD_Connection *conn)
{
    static const char body[] = "bad request framing\n";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;
    if (r == NULL) return MHD_NO;
    MHD_add_response_header(r, "Connection", "close");
    MHD_add_response_header(r, "Content-Type", "text/plain");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    ret = MHD_queue_response(conn, MHD_HTTP_BAD_REQUEST, r);
    MHD_destroy_response(r);
    return ret;
}

static struct conn *conn_of(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
    struct http_server *s = cls;
    struct conn *c = conn_of(conn);
    unsigned calls = 0;

    if (c != NULL) {
        pthread_mutex_lock(&s->mu);
        calls = c->calls++;
        if (calls > 0 && *upload_size == 0) c->receiving = false;
        pthread_mutex_unlock(&s->mu);
    }
    if (c != NULL ? calls == 0 : *con_cls == NULL) {
        const char *why = framing_problem(conn);
        if (why != NULL) {
            fprintf(stderr, "agepass: request refused (400, connection closed): %s\n", why);
            return refuse_framing(conn);
        }
    }
    return s->c.handler(s->c.handler_cls, conn, url, method, version, upload_data, upload_size,
                        con_cls);
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;
    struct conn *c = conn_of(connection);
    if (c != NULL) {
        pthread_mutex_lock(&s->mu);
        c->calls = 0;
        c->receiving = true;
        c->since = mono_now();
        pthread_mutex_unlock(&s->mu);
    }
    if (s->c.completed != NULL) s->c.completed(s->c.completed_cls, connection, con_cls, toe);
}

/* Raises the soft descriptor limit (and the hard one if allowed); the connections it allows. */
static unsigned raise_nofile(void)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)HTTP_CONN_MAX + FD_RESERVE;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024u - FD_RESERVE;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
        struct rlimit up = {want, want};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0) rl = up; /* root may raise the hard limit */
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur < want) {
        rlim_t cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        struct rlimit next = {cur, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &next) == 0) rl.rlim_cur = cur;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want) return HTTP_CONN_MAX;
    return rl.rlim_cur > 2 * FD_RESERVE ? (unsigned)(rl.rlim_cur - FD_RESERVE) : FD_RESERVE;
}

/* see http.h */
int http_start(struct http_server **out, const struct http_config *c)
{
    struct http_server *s;

    *out = NULL;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN); /* a full disk or file limit is an error, not a death */
    if ((s = calloc(1, sizeof *s)) == NULL) return -1;
    s->c = *c;
    s->head.next = s->head.prev = &s->head;
    s->limit = raise_nofile();
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        return -1;
    }
    if (pthread_cond_init(&s->cv, NULL) != 0) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        return -1;
    }
    if (pthread_create(&s->reaper, NULL, reaper, s) != 0) goto fail;
    s->have_reaper = true;
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
                                (c->addr->sa_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                            0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                            MHD_OPTION_SOCK_ADDR, c->addr, MHD_OPTION_THREAD_POOL_SIZE,
                            c->threads > 0 ? c->threads : 1u, MHD_OPTION_CONNECTION_TIMEOUT,
                            HTTP_IDLE_S, MHD_OPTION_CONNECTION_LIMIT, s->limit,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, HTTP_PER_ADDR_MAX,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    if (s->d == NULL) goto fail;
    *out = s;
    return 0;
fail:
    http_stop(s);
    return -1;
}

/* see http.h */
void http_stop(struct http_server *s)
{
    if (s == NULL) return;
    if (s->d != NULL) MHD_stop_daemon(s->d);
    if (s->have_reaper) {
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->reaper, NULL);
    }
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* see http.h */
unsigned http_connection_limit(const struct http_server *s)
{
    return s->limit;
}
