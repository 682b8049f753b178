/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/replay_redis.c: the Redis backend of agepass/replay.h, for several
 * verifier instances that must share what has been spent.
 *
 * A spend is one command, SET <prefix><tag in hex> 1 NX EXAT <expires_at>:
 * Redis answers OK if the key was absent (first spend) and nil if it was
 * there (replay), and drops the key when the token could no longer be
 * accepted. The expiry is the caller's absolute, coarse time (a key's or a
 * challenge window's end), never now plus a ttl: Redis then stores the same
 * value for every token of a key, to the second, and nothing of the spend
 * time; an expiry already past is held for a second (see agp_replay_ttl).
 *
 * A store opened with agp_replay_open_redis_checked also checks, at open and
 * every check_s seconds, that Redis persists (lib/redis.c's
 * agp_redis_check_durable) and that <prefix>owner names the secret of this
 * verifier; while the last check failed, spends are AGP_ERR_IO. One thread
 * checks at a time (a trylock); the others go on with the last result.
 *
 * The URL, the connection pool, reconnection after an error and the
 * SIGPIPE guard are lib/redis.c's (shared with lib/istore_redis.c): any
 * failure answers AGP_ERR_IO and the next spend connects afresh.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "redis_internal.h"
#include "replay_internal.h"

#define DEFAULT_CHECK_S 60

struct redis_store {
    struct agp_replay base;
    struct agp_redis redis;
    char *prefix;
    size_t prefix_len;
    bool checked; /* opened with agp_replay_open_redis_checked */
    bool allow_volatile;
    bool have_owner;
    uint8_t owner[AGP_REPLAY_OWNER_LEN];
    unsigned check_s;
    pthread_mutex_t check_mu; /* held by the one thread checking */
    bool have_check_mu;
    _Atomic int64_t next_check; /* wall-clock second of the next check; 0: at once */
    _Atomic int health;         /* agp_err of the last check */
};

static void hex_of(char *out, const uint8_t *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
}

/* SET <prefix>owner <owner> NX, then GET it: is it ours? */
static agp_err check_owner(struct redis_store *s)
{
    char hex[2 * AGP_REPLAY_OWNER_LEN];
    struct agp_redis_lease l;
    redisReply *set = NULL, *get = NULL;
    agp_err err = AGP_ERR_IO;

    hex_of(hex, s->owner, sizeof s->owner);
    if (agp_redis_acquire(&s->redis, &l) != AGP_OK) goto out;
    set = redisCommand(l.k->c, "SET %bowner %b NX", s->prefix, s->prefix_len, hex, sizeof hex);
    if (set == NULL || (!agp_redis_reply_ok(set) && set->type != REDIS_REPLY_NIL)) goto out;
    get = redisCommand(l.k->c, "GET %bowner", s->prefix, s->prefix_len);
    if (get == NULL || get->type != REDIS_REPLY_STRING) goto out;
    err = get->len == sizeof hex && memcmp(get->str, hex, sizeof hex) == 0 ? AGP_OK : AGP_ERR_KEY;
out:
    if (set != NULL) freeReplyObject(set);
    if (get != NULL) freeReplyObject(get);
    agp_redis_release(&l, err == AGP_ERR_IO);
    return err;
}

/* Runs the checks now; records and returns the result. */
static agp_err run_checks(struct redis_store *s, int64_t now)
{
    agp_err err = AGP_OK;
    if (!s->allow_volatile) {
        err = agp_redis_check_durable(&s->redis);
        if (err == AGP_ERR_NOT_FOUND) err = AGP_ERR_RANGE; /* no CONFIG: cannot vouch */
    }
    if (err == AGP_OK && s->have_owner) err = check_owner(s);
    atomic_store(&s->health, (int)err);
    /* after a failure, try again at the next spend: Redis may be back */
    atomic_store(&s->next_check, err == AGP_OK ? now + (int64_t)s->check_s : 0);
    return err;
}

/* AGP_OK if the last check passed, checking first when it is due. */
static agp_err checks_ok(struct redis_store *s)
{
    int64_t now = (int64_t)time(NULL), due = atomic_load(&s->next_check);
    /* a clock set back by more than a period also counts as due */
    if ((due == 0 || now >= due || due - now > (int64_t)s->check_s) &&
        pthread_mutex_trylock(&s->check_mu) == 0) {
        due = atomic_load(&s->next_check);
        if (due == 0 || now >= due || due - now > (int64_t)s->check_s) (void)run_checks(s, now);
        pthread_mutex_unlock(&s->check_mu);
    }
    return atomic_load(&s->health) == AGP_OK ? AGP_OK : AGP_ERR_IO;
}

static agp_err redis_spend(struct agp_replay *r, const uint8_t tag[AGP_REPLAY_TAG_LEN],
                           int64_t expires_at, int64_t now)
{
    struct redis_store *s = (struct redis_store *)r;
    long long at = (long long)now + (long long)agp_replay_ttl(expires_at, now); /* < 2^63 */
    char hex[2 * AGP_REPLAY_TAG_LEN];
    struct agp_redis_lease l;
    redisReply *rep = NULL;
    agp_err err = AGP_ERR_IO;

    if (s->checked && checks_ok(s) != AGP_OK) return AGP_ERR_IO;
    hex_of(hex, tag, AGP_REPLAY_TAG_LEN);
    if (agp_redis_acquire(&s->redis, &l) != AGP_OK) goto out;
    rep = redisCommand(l.k->c, "SET %b%b 1 NX EXAT %lld", s->prefix, s->prefix_len, hex, sizeof hex,
                       at);
    if (agp_redis_reply_ok(rep))
        err = AGP_OK;
    else if (rep != NULL && rep->type == REDIS_REPLY_NIL)
        err = AGP_ERR_REPLAY;
out:
    if (rep != NULL) freeReplyObject(rep);
    agp_redis_release(&l, err == AGP_ERR_IO);
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

static agp_err redis_health(struct agp_replay *r)
{
    struct redis_store *s = (struct redis_store *)r;
    return s->checked ? (agp_err)atomic_load(&s->health) : AGP_OK;
}

static void redis_free(struct agp_replay *r)
{
    struct redis_store *s = (struct redis_store *)r;
    agp_redis_cleanup(&s->redis);
    if (s->have_check_mu) pthread_mutex_destroy(&s->check_mu);
    free(s->prefix);
    free(s);
}

static const struct agp_replay_ops redis_ops = {redis_spend, redis_count, redis_memory,
                                                redis_health, redis_free};

/* see agepass/replay.h */
agp_err agp_replay_open_redis_checked(struct agp_replay **out,
                                      const struct agp_replay_redis_config *cfg)
{
    struct redis_store *s = NULL;
    agp_err err = AGP_ERR_ARG;

    if (out != NULL) *out = NULL;
    if (out == NULL || cfg == NULL || cfg->url == NULL || cfg->prefix == NULL ||
        cfg->timeout_ms == 0)
        goto out;
    err = AGP_ERR_NOMEM;
    if ((s = calloc(1, sizeof *s)) == NULL) goto out;
    s->base.ops = &redis_ops;
    atomic_init(&s->next_check, 0);
    atomic_init(&s->health, (int)AGP_OK);
    if ((err = agp_redis_init(&s->redis, cfg->url, cfg->timeout_ms)) != AGP_OK) goto out;
    err = AGP_ERR_NOMEM;
    if (pthread_mutex_init(&s->check_mu, NULL) != 0) goto out;
    s->have_check_mu = true;
    s->prefix_len = strlen(cfg->prefix);
    if ((s->prefix = malloc(s->prefix_len + 1)) == NULL) goto out;
    memcpy(s->prefix, cfg->prefix, s->prefix_len + 1);
    s->allow_volatile = cfg->allow_volatile;
    s->have_owner = cfg->owner != NULL;
    if (s->have_owner) memcpy(s->owner, cfg->owner, sizeof s->owner);
    s->check_s = cfg->check_s > 0 ? cfg->check_s : DEFAULT_CHECK_S;
    s->checked = !cfg->allow_volatile || s->have_owner;
    if (s->checked) {
        err = run_checks(s, (int64_t)time(NULL));
        if (err != AGP_OK && err != AGP_ERR_IO) goto out; /* unreachable: checked later */
    }
    *out = &s->base;
    s = NULL;
    err = AGP_OK;
out:
    if (s != NULL) redis_free(&s->base);
    return err;
}

/* see agepass/replay.h */
agp_err agp_replay_open_redis(struct agp_replay **out, const char *url, const char *prefix,
                              unsigned timeout_ms)
{
    struct agp_replay_redis_config cfg = {url, prefix, timeout_ms, NULL, true, 0};
    return agp_replay_open_redis_checked(out, &cfg);
}
