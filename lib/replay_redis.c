/*
 * lib/replay_redis.c: the Redis backend of agepass/replay.h, for several
 * verifier instances that must share what has been spent.
 *
 * A spend is one command, SET <prefix><tag in hex> 1 NX PX <ms>: Redis
 * answers OK if the key was absent (first spend) and nil if it was there
 * (replay), and drops the key when the token could no longer be accepted.
 * The ttl is at least a second (see agp_replay_ttl).
 *
 * URLs are redis://HOST[:PORT][/DB] and nothing more: HOST a name or IPv4
 * address of at most 255 characters ([A-Za-z0-9._-]) or an IPv6 address in
 * brackets, PORT 1..65535 (default 6379), DB 0..15 (default 0, else SELECTed
 * on connect), digits without leading zeros. No user, password, TLS, query
 * or Unix socket: a URL with any of them is AGP_ERR_SYNTAX.
 *
 * Connections (hiredis, synchronous) sit in a pool of POOL_SIZE, each with
 * its own mutex: a thread tries them round-robin with trylock and, if all
 * are busy, waits for the one it started at. A connection is made on first
 * use; any failure (connect, I/O, timeout, an error reply, a reply of an
 * unexpected type) frees it, answers AGP_ERR_IO and leaves the next spend to
 * connect again, so the store recovers by itself when Redis comes back.
 * An idle connection whose server has gone (EOF pending) is replaced before
 * a command is sent on it, so the first spends after a Redis restart
 * succeed instead of each finding one dead connection of the pool.
 * timeout_ms bounds the connect and each read and write (SO_RCVTIMEO and
 * SO_SNDTIMEO), so a spend against a hung Redis fails after about that long.
 *
 * hiredis 0.14 writes with write(2): a peer that has gone would raise
 * SIGPIPE. Each spend blocks SIGPIPE in its thread and consumes one it
 * raised, as libpq does, leaving the process's signal handling alone.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "internal.h"
#include "replay_internal.h"

#define POOL_SIZE    8
#define HOST_MAX     255
#define DEFAULT_PORT 6379u

struct conn {
    pthread_mutex_t mu; /* guards c */
    redisContext *c;    /* NULL until connected, and after an error */
};

struct redis_store {
    struct agp_replay base;
    struct conn pool[POOL_SIZE];
    size_t n_mu; /* pool mutexes initialized */
    atomic_uint next;
    char host[HOST_MAX + 1];
    unsigned port, db;
    char *prefix;
    size_t prefix_len;
    struct timeval timeout;
};

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
static agp_err parse_url(struct redis_store *s, const char *url)
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
    AGP_ENSURE(n >= 1 && n <= HOST_MAX, AGP_ERR_SYNTAX);
    memcpy(s->host, url + start, n);
    s->host[n] = '\0';
    s->port = DEFAULT_PORT;
    if (url[i] == ':') {
        i++;
        AGP_TRY(parse_number(url, &i, 5, 1, 65535, &s->port));
    }
    s->db = 0;
    if (url[i] == '/') {
        i++;
        AGP_TRY(parse_number(url, &i, 2, 0, 15, &s->db));
    }
    AGP_ENSURE(url[i] == '\0', AGP_ERR_SYNTAX);
    return AGP_OK;
}

static int reply_ok(const redisReply *rep)
{
    return rep != NULL && rep->type == REDIS_REPLY_STATUS && rep->len == 2 &&
           memcmp(rep->str, "OK", 2) == 0;
}

/* Connects k (whose mutex the caller holds): timeouts, then SELECT if needed. */
static agp_err conn_open(struct redis_store *s, struct conn *k)
{
    redisContext *c;
    redisReply *rep = NULL;
    agp_err err = AGP_ERR_IO;

    c = redisConnectWithTimeout(s->host, (int)s->port, s->timeout);
    if (c == NULL || c->err != 0) goto out;
    if (redisSetTimeout(c, s->timeout) != REDIS_OK) goto out;
    if (s->db != 0) {
        rep = redisCommand(c, "SELECT %d", (int)s->db);
        if (!reply_ok(rep)) goto out;
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
 * replaced without losing a spend; after sending, the outcome of a SET is
 * unknown and the spend can only fail.
 */
static int conn_stale(const redisContext *c)
{
    struct pollfd p = {c->fd, POLLIN, 0};
    return poll(&p, 1, 0) != 0;
}

/* A pool connection, its mutex held: the first free one from a rotating start. */
static struct conn *conn_take(struct redis_store *s)
{
    unsigned start = atomic_fetch_add_explicit(&s->next, 1u, memory_order_relaxed);
    unsigned i;
    for (i = 0; i < POOL_SIZE; i++) {
        struct conn *k = &s->pool[(start + i) % POOL_SIZE];
        if (pthread_mutex_trylock(&k->mu) == 0) return k;
    }
    pthread_mutex_lock(&s->pool[start % POOL_SIZE].mu);
    return &s->pool[start % POOL_SIZE];
}

struct sigpipe_guard {
    sigset_t old;
    int was_blocked, was_pending;
};

static void sigpipe_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGPIPE);
}

/* Blocks SIGPIPE in this thread, noting whether one was already pending. */
static void sigpipe_block(struct sigpipe_guard *g)
{
    sigset_t pipe_set, pending;
    sigpipe_set(&pipe_set);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old);
    g->was_blocked = sigismember(&g->old, SIGPIPE) == 1;
    g->was_pending = 0;
    if (!g->was_blocked && sigpending(&pending) == 0)
        g->was_pending = sigismember(&pending, SIGPIPE) == 1;
}

/* Consumes a SIGPIPE raised since sigpipe_block, then restores the mask. */
static void sigpipe_restore(struct sigpipe_guard *g)
{
    sigset_t pipe_set, pending;
    struct timespec zero = {0, 0};
    if (g->was_blocked) return;
    sigpipe_set(&pipe_set);
    if (!g->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1)
        (void)sigtimedwait(&pipe_set, NULL, &zero);
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static agp_err redis_spend(struct agp_replay *r, const uint8_t tag[AGP_REPLAY_TAG_LEN],
                           int64_t expires_at, int64_t now)
{
    static const char digits[] = "0123456789abcdef";
    struct redis_store *s = (struct redis_store *)r;
    long long ms = (long long)agp_replay_ttl(expires_at, now) * 1000; /* < 2^42 */
    char hex[2 * AGP_REPLAY_TAG_LEN];
    struct sigpipe_guard g;
    struct conn *k;
    redisReply *rep = NULL;
    size_t i;
    agp_err err = AGP_ERR_IO;

    for (i = 0; i < AGP_REPLAY_TAG_LEN; i++) {
        hex[2 * i] = digits[tag[i] >> 4];
        hex[2 * i + 1] = digits[tag[i] & 15];
    }
    k = conn_take(s);
    sigpipe_block(&g);
    if (k->c != NULL && conn_stale(k->c)) {
        redisFree(k->c);
        k->c = NULL;
    }
    if (k->c == NULL && conn_open(s, k) != AGP_OK) goto out;
    rep =
        redisCommand(k->c, "SET %b%b 1 NX PX %lld", s->prefix, s->prefix_len, hex, sizeof hex, ms);
    if (reply_ok(rep))
        err = AGP_OK;
    else if (rep != NULL && rep->type == REDIS_REPLY_NIL)
        err = AGP_ERR_REPLAY;
out:
    if (err == AGP_ERR_IO && k->c != NULL) { /* whatever went wrong, start afresh next time */
        redisFree(k->c);
        k->c = NULL;
    }
    if (rep != NULL) freeReplyObject(rep);
    sigpipe_restore(&g);
    pthread_mutex_unlock(&k->mu);
    return err;
}

static size_t redis_count(struct agp_replay *r)
{
    (void)r;
    return 0;
}

static size_t redis_memory(struct agp_replay *r)
{
    (void)r;
    return 0;
}

static void redis_free(struct agp_replay *r)
{
    struct redis_store *s = (struct redis_store *)r;
    size_t i;
    for (i = 0; i < s->n_mu; i++) {
        if (s->pool[i].c != NULL) redisFree(s->pool[i].c);
        pthread_mutex_destroy(&s->pool[i].mu);
    }
    free(s->prefix);
    free(s);
}

static const struct agp_replay_ops redis_ops = {redis_spend, redis_count, redis_memory, redis_free};

/* see agepass/replay.h */
agp_err agp_replay_open_redis(struct agp_replay **out, const char *url, const char *prefix,
                              unsigned timeout_ms)
{
    struct redis_store *s = NULL;
    agp_err err = AGP_ERR_ARG;

    if (out != NULL) *out = NULL;
    if (out == NULL || url == NULL || prefix == NULL || timeout_ms == 0) goto out;
    err = AGP_ERR_NOMEM;
    if ((s = calloc(1, sizeof *s)) == NULL) goto out;
    s->base.ops = &redis_ops;
    atomic_init(&s->next, 0u);
    for (; s->n_mu < POOL_SIZE; s->n_mu++)
        if (pthread_mutex_init(&s->pool[s->n_mu].mu, NULL) != 0) goto out;
    if ((err = parse_url(s, url)) != AGP_OK) goto out;
    err = AGP_ERR_NOMEM;
    s->prefix_len = strlen(prefix);
    if ((s->prefix = malloc(s->prefix_len + 1)) == NULL) goto out;
    memcpy(s->prefix, prefix, s->prefix_len + 1);
    s->timeout.tv_sec = (time_t)(timeout_ms / 1000);
    s->timeout.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
    *out = &s->base;
    s = NULL;
    err = AGP_OK;
out:
    if (s != NULL) redis_free(&s->base);
    return err;
}
