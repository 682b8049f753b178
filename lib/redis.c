/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/redis.c: the connection code both Redis backends share (see
 * lib/redis_internal.h): lib/replay_redis.c and lib/istore_redis.c.
 *
 * URLs are redis://HOST[:PORT][/DB] and nothing more: HOST a name or IPv4
 * address of at most 255 characters ([A-Za-z0-9._-]) or an IPv6 address in
 * brackets, PORT 1..65535 (default 6379), DB 0..15 (default 0, else SELECTed
 * on connect), digits without leading zeros. No user, password, TLS, query
 * or Unix socket: a URL with any of them is AGP_ERR_SYNTAX.
 *
 * Connections (hiredis, synchronous) sit in a pool of AGP_REDIS_POOL, each
 * with its own mutex: a thread tries them round-robin with trylock and, if
 * all are busy, waits for the one it started at. A connection is made on
 * first use; any failure (connect, I/O, timeout, an error reply, a reply of
 * an unexpected type) frees it, answers AGP_ERR_IO and leaves the next
 * command to connect again, so a store recovers by itself when Redis comes
 * back. An idle connection whose server has gone (EOF pending) is replaced
 * before a command is sent on it, so the first commands after a Redis
 * restart succeed instead of each finding one dead connection of the pool.
 * The timeout bounds the connect and each read and write (SO_RCVTIMEO and
 * SO_SNDTIMEO), so a command against a hung Redis fails after about that.
 *
 * hiredis 0.14 writes with write(2): a peer that has gone would raise
 * SIGPIPE. Each lease blocks SIGPIPE in its thread and consumes one it
 * raised, as libpq does, leaving the process's signal handling alone.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "redis_internal.h"

#define DEFAULT_PORT 6379u

/* Reads a decimal number of at most max_digits, no leading zero, in [lo, hi]. */
static agp_err parse_number(const char *url, size_t *i, size_t max_digits, unsigned lo, unsigned hi,
                            unsigned *out)
{
    size_t n = 0;
    unsigned v = 0;
    while (url[*i] >= '0' && url[*i] <= '9') {
        AGP_ENSURE(n < max_digits, AGP_ERR_SYNTAX);
        AGP_ENSURE(n == 0 || v != 0, AGP_ERR_SYNTAX); /* a leading zero */
        v = v * 10 + (unsigned)(url[*i] - '0');
        n++;
        (*i)++;
    }
    AGP_ENSURE(n > 0 && v >= lo && v <= hi, AGP_ERR_SYNTAX);
    *out = v;
    return AGP_OK;
}

static int host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

static int ipv6_char(char c)
{
    return (c >= '0' && c <= '9') || (agp_lower(c) >= 'a' && agp_lower(c) <= 'f') || c == ':' ||
           c == '.';
}

/* redis://HOST[:PORT][/DB], strictly (see the top of this file). */
static agp_err parse_url(struct agp_redis *r, const char *url)
{
    static const char scheme[] = "redis://";
    size_t i, start, n;

    for (i = 0; i < sizeof scheme - 1; i++) /* url[i] == '\0' fails the test and stops */
        AGP_ENSURE(agp_lower(url[i]) == scheme[i], AGP_ERR_SYNTAX);
    if (url[i] == '[') {
        start = ++i;
        while (ipv6_char(url[i]))
            i++;
        AGP_ENSURE(url[i] == ']', AGP_ERR_SYNTAX);
        n = i++ - start;
    } else {
        start = i;
        while (host_char(url[i]))
            i++;
        n = i - start;
    }
    AGP_ENSURE(n >= 1 && n <= AGP_REDIS_HOST_MAX, AGP_ERR_SYNTAX);
    memcpy(r->host, url + start, n);
    r->host[n] = '\0';
    r->port = DEFAULT_PORT;
    if (url[i] == ':') {
        i++;
        AGP_TRY(parse_number(url, &i, 5, 1, 65535, &r->port));
    }
    r->db = 0;
    if (url[i] == '/') {
        i++;
        AGP_TRY(parse_number(url, &i, 2, 0, 15, &r->db));
    }
    AGP_ENSURE(url[i] == '\0', AGP_ERR_SYNTAX);
    return AGP_OK;
}

/* see redis_internal.h */
int agp_redis_reply_ok(const redisReply *rep)
{
    return rep != NULL && rep->type == REDIS_REPLY_STATUS && rep->len == 2 &&
           memcmp(rep->str, "OK", 2) == 0;
}

/* Connects k (whose mutex the caller holds): timeouts, then SELECT if needed. */
static agp_err conn_open(struct agp_redis *r, struct agp_redis_conn *k)
{
    redisContext *c;
    redisReply *rep = NULL;
    agp_err err = AGP_ERR_IO;

    c = redisConnectWithTimeout(r->host, (int)r->port, r->timeout);
    if (c == NULL || c->err != 0) goto out;
    if (redisSetTimeout(c, r->timeout) != REDIS_OK) goto out;
    if (r->db != 0) {
        rep = redisCommand(c, "SELECT %d", (int)r->db);
        if (!agp_redis_reply_ok(rep)) goto out;
    }
    k->c = c;
    c = NULL;
    err = AGP_OK;
out:
    if (rep != NULL) freeReplyObject(rep);
    if (c != NULL) redisFree(c);
    return err;
}

/*
 * Whether an idle connection is dead: between commands nothing should be
 * readable, so EOF (the server went away, e.g. a restart), stray bytes or
 * an error all say so. Checked before sending, a dead connection is
 * replaced without losing a command; after sending, the outcome of a write
 * is unknown and the command can only fail.
 */
static int conn_stale(const redisContext *c)
{
    struct pollfd p = {c->fd, POLLIN, 0};
    return poll(&p, 1, 0) != 0;
}

/* A pool connection, its mutex held: the first free one from a rotating start. */
static struct agp_redis_conn *conn_take(struct agp_redis *r)
{
    unsigned start = atomic_fetch_add_explicit(&r->next, 1u, memory_order_relaxed);
    unsigned i;
    for (i = 0; i < AGP_REDIS_POOL; i++) {
        struct agp_redis_conn *k = &r->pool[(start + i) % AGP_REDIS_POOL];
        if (pthread_mutex_trylock(&k->mu) == 0) return k;
    }
    pthread_mutex_lock(&r->pool[start % AGP_REDIS_POOL].mu);
    return &r->pool[start % AGP_REDIS_POOL];
}

static void sigpipe_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGPIPE);
}

/* Blocks SIGPIPE in this thread, noting whether one was already pending. */
static void sigpipe_block(struct agp_redis_lease *l)
{
    sigset_t pipe_set, pending;
    sigpipe_set(&pipe_set);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &l->old_mask);
    l->was_blocked = sigismember(&l->old_mask, SIGPIPE) == 1;
    l->was_pending = 0;
    if (!l->was_blocked && sigpending(&pending) == 0)
        l->was_pending = sigismember(&pending, SIGPIPE) == 1;
}

/* Consumes a SIGPIPE raised since sigpipe_block, then restores the mask. */
static void sigpipe_restore(struct agp_redis_lease *l)
{
    sigset_t pipe_set, pending;
    struct timespec zero = {0, 0};
    if (l->was_blocked) return;
    sigpipe_set(&pipe_set);
    if (!l->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1)
        (void)sigtimedwait(&pipe_set, NULL, &zero);
    pthread_sigmask(SIG_SETMASK, &l->old_mask, NULL);
}

/* see redis_internal.h */
agp_err agp_redis_acquire(struct agp_redis *r, struct agp_redis_lease *l)
{
    struct agp_redis_conn *k = conn_take(r);

    l->k = k;
    sigpipe_block(l);
    if (k->c != NULL && conn_stale(k->c)) {
        redisFree(k->c);
        k->c = NULL;
    }
    if (k->c == NULL) return conn_open(r, k);
    return AGP_OK;
}

/* see redis_internal.h */
void agp_redis_release(struct agp_redis_lease *l, int broken)
{
    struct agp_redis_conn *k = l->k;
    if (broken && k->c != NULL) { /* whatever went wrong, start afresh next time */
        redisFree(k->c);
        k->c = NULL;
    }
    sigpipe_restore(l);
    pthread_mutex_unlock(&k->mu);
}

/* see redis_internal.h */
agp_err agp_redis_init(struct agp_redis *r, const char *url, unsigned timeout_ms)
{
    atomic_init(&r->next, 0u);
    for (; r->n_mu < AGP_REDIS_POOL; r->n_mu++)
        if (pthread_mutex_init(&r->pool[r->n_mu].mu, NULL) != 0) return AGP_ERR_NOMEM;
    AGP_ENSURE(url != NULL && timeout_ms > 0, AGP_ERR_ARG);
    AGP_TRY(parse_url(r, url));
    r->timeout.tv_sec = (time_t)(timeout_ms / 1000);
    r->timeout.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
    return AGP_OK;
}

/* see redis_internal.h */
void agp_redis_cleanup(struct agp_redis *r)
{
    size_t i;
    for (i = 0; i < r->n_mu; i++) {
        if (r->pool[i].c != NULL) redisFree(r->pool[i].c);
        pthread_mutex_destroy(&r->pool[i].mu);
    }
    r->n_mu = 0;
}

/* The value of a CONFIG GET reply for one parameter: ["name", "value"]. */
static const char *config_value(const redisReply *rep)
{
    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) return NULL;
    if (rep->element[1]->type != REDIS_REPLY_STRING) return NULL;
    return rep->element[1]->str;
}

/* see redis_internal.h */
agp_err agp_redis_check_durable(struct agp_redis *r)
{
    struct agp_redis_lease l;
    redisReply *aof = NULL, *fsync_rep = NULL;
    const char *a, *f;
    agp_err err = AGP_ERR_IO;

    if (agp_redis_acquire(r, &l) != AGP_OK) goto out;
    aof = redisCommand(l.k->c, "CONFIG GET appendonly");
    if (aof == NULL) goto out;
    err = AGP_ERR_NOT_FOUND;
    if (aof->type == REDIS_REPLY_ERROR || (a = config_value(aof)) == NULL) goto out;
    fsync_rep = redisCommand(l.k->c, "CONFIG GET appendfsync");
    err = AGP_ERR_IO;
    if (fsync_rep == NULL) goto out;
    err = AGP_ERR_NOT_FOUND;
    if ((f = config_value(fsync_rep)) == NULL) goto out;
    err = strcmp(a, "yes") == 0 && (strcmp(f, "everysec") == 0 || strcmp(f, "always") == 0)
              ? AGP_OK
              : AGP_ERR_RANGE;
out:
    if (aof != NULL) freeReplyObject(aof);
    if (fsync_rep != NULL) freeReplyObject(fsync_rep);
    agp_redis_release(&l, err == AGP_ERR_IO || err == AGP_ERR_NOT_FOUND);
    return err;
}
