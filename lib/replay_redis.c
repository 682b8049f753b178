/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/replay_redis.c: the Redis backend of agepass/replay.h, for several
 * verifier instances that must share what has been spent.
 *
 * A spend is one command, SET <prefix><tag in hex> 1 NX PX <ms>: Redis
 * answers OK if the key was absent (first spend) and nil if it was there
 * (replay), and drops the key when the token could no longer be accepted.
 * The ttl is at least a second (see agp_replay_ttl).
 *
 * The URL, the connection pool, reconnection after an error and the
 * SIGPIPE guard are lib/redis.c's (shared with lib/istore_redis.c): any
 * failure answers AGP_ERR_IO and the next spend connects afresh.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "redis_internal.h"
#include "replay_internal.h"

struct redis_store {
    struct agp_replay base;
    struct agp_redis redis;
    char *prefix;
    size_t prefix_len;
};

static agp_err redis_spend(struct agp_replay *r, const uint8_t tag[AGP_REPLAY_TAG_LEN],
                           int64_t expires_at, int64_t now)
{
    static const char digits[] = "0123456789abcdef";
    struct redis_store *s = (struct redis_store *)r;
    long long ms = (long long)agp_replay_ttl(expires_at, now) * 1000; /* < 2^42 */
    char hex[2 * AGP_REPLAY_TAG_LEN];
    struct agp_redis_lease l;
    redisReply *rep = NULL;
    size_t i;
    agp_err err = AGP_ERR_IO;

    for (i = 0; i < AGP_REPLAY_TAG_LEN; i++) {
        hex[2 * i] = digits[tag[i] >> 4];
        hex[2 * i + 1] = digits[tag[i] & 15];
    }
    if (agp_redis_acquire(&s->redis, &l) != AGP_OK) goto out;
    rep = redisCommand(l.k->c, "SET %b%b 1 NX PX %lld", s->prefix, s->prefix_len, hex, sizeof hex,
                       ms);
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

static void redis_free(struct agp_replay *r)
{
    struct redis_store *s = (struct redis_store *)r;
    agp_redis_cleanup(&s->redis);
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
    if ((err = agp_redis_init(&s->redis, url, timeout_ms)) != AGP_OK) goto out;
    err = AGP_ERR_NOMEM;
    s->prefix_len = strlen(prefix);
    if ((s->prefix = malloc(s->prefix_len + 1)) == NULL) goto out;
    memcpy(s->prefix, prefix, s->prefix_len + 1);
    *out = &s->base;
    s = NULL;
    err = AGP_OK;
out:
    if (s != NULL) redis_free(&s->base);
    return err;
}
