/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/replay.c: the part of the replay store both backends share: dispatch
 * through the backend's ops, and the tag a verifier derives for a token.
 * The backends are lib/replay_file.c (embedded table and log) and
 * lib/replay_redis.c (Redis, built when AGP_WITH_REDIS is set).
 */
#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>

#include "internal.h"
#include "replay_internal.h"

/* see agepass/replay.h */
agp_err agp_replay_spend(struct agp_replay *r, const uint8_t tag[AGP_REPLAY_TAG_LEN],
                         int64_t expires_at, int64_t now)
{
    AGP_ENSURE(r != NULL && tag != NULL, AGP_ERR_ARG);
    return r->ops->spend(r, tag, expires_at, now);
}

/* see agepass/replay.h */
size_t agp_replay_count(struct agp_replay *r)
{
    return r != NULL ? r->ops->count(r) : 0;
}

/* see agepass/replay.h */
size_t agp_replay_memory(struct agp_replay *r)
{
    return r != NULL ? r->ops->memory(r) : 0;
}

/* see agepass/replay.h */
agp_err agp_replay_health(struct agp_replay *r)
{
    return r != NULL ? r->ops->health(r) : AGP_OK;
}

/* see agepass/replay.h */
void agp_replay_free(struct agp_replay *r)
{
    if (r != NULL) r->ops->free(r);
}

/* see agepass/replay.h */
agp_err agp_replay_tag(uint8_t tag[AGP_REPLAY_TAG_LEN], const uint8_t *key, size_t key_len,
                       const uint8_t *data, size_t data_len)
{
    uint8_t mac[AGP_SHA256_LEN]; /* a tag before truncation: public */

    memset(tag, 0, AGP_REPLAY_TAG_LEN);
    AGP_ENSURE(key != NULL && key_len > 0 && key_len <= INT_MAX, AGP_ERR_ARG);
    AGP_ENSURE(data != NULL || data_len == 0, AGP_ERR_ARG);
    AGP_TRY(
        agp_hmac_sha256(mac, key, key_len, data_len > 0 ? data : (const uint8_t *)"", data_len));
    memcpy(tag, mac, AGP_REPLAY_TAG_LEN);
    return AGP_OK;
}

#ifndef AGP_WITH_REDIS
/* see agepass/replay.h: this build has no Redis backend, so nothing is reachable */
agp_err agp_replay_open_redis(struct agp_replay **out, const char *url, const char *prefix,
                              unsigned timeout_ms)
{
    (void)url, (void)prefix, (void)timeout_ms;
    if (out != NULL) *out = NULL;
    return AGP_ERR_IO;
}

/* see agepass/replay.h: no Redis backend in this build */
agp_err agp_replay_open_redis_checked(struct agp_replay **out,
                                      const struct agp_replay_redis_config *cfg)
{
    (void)cfg;
    if (out != NULL) *out = NULL;
    return AGP_ERR_IO;
}
#endif
