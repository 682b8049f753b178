/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/istore.c: the public functions of agepass/istore.h. They check the
 * arguments once for both backends and dispatch to the store's ops (see
 * lib/istore_internal.h).
 */
#include <string.h>

#include "internal.h"
#include "istore_internal.h"

/* see agepass/istore.h */
agp_err agp_istore_grant_put(struct agp_istore *s, const uint8_t id[AGP_GRANT_ID_LEN], unsigned age,
                             unsigned tokens, int64_t expires_at,
                             const uint8_t pseudonym[AGP_PSEUDONYM_LEN])
{
    AGP_ENSURE(s != NULL && id != NULL && pseudonym != NULL, AGP_ERR_ARG);
    return s->ops->grant_put(s, id, age, tokens, expires_at, pseudonym);
}

/* see agepass/istore.h */
agp_err agp_istore_grant_take(struct agp_istore *s, const uint8_t id[AGP_GRANT_ID_LEN], unsigned n,
                              int64_t now, unsigned *age, uint8_t pseudonym[AGP_PSEUDONYM_LEN])
{
    agp_err err = AGP_ERR_ARG;

    if (s != NULL && id != NULL && n > 0 && age != NULL && pseudonym != NULL)
        err = s->ops->grant_take(s, id, n, now, age, pseudonym);
    if (err != AGP_OK) {
        if (age != NULL) *age = 0;
        if (pseudonym != NULL) agp_wipe(pseudonym, AGP_PSEUDONYM_LEN);
    }
    return err;
}

/* see agepass/istore.h */
agp_err agp_istore_grant_give_back(struct agp_istore *s, const uint8_t id[AGP_GRANT_ID_LEN],
                                   unsigned n)
{
    AGP_ENSURE(s != NULL && id != NULL && n > 0, AGP_ERR_ARG);
    return s->ops->grant_give_back(s, id, n);
}

/* see agepass/istore.h */
agp_err agp_istore_count(struct agp_istore *s, const uint8_t pseudonym[AGP_PSEUDONYM_LEN],
                         unsigned n, unsigned day_limit, unsigned epoch_limit, uint32_t epoch,
                         int64_t now)
{
    AGP_ENSURE(s != NULL && pseudonym != NULL && n > 0, AGP_ERR_ARG);
    return s->ops->count(s, pseudonym, n, day_limit, epoch_limit, epoch, now);
}

/* see agepass/istore.h */
agp_err agp_istore_uncount(struct agp_istore *s, const uint8_t pseudonym[AGP_PSEUDONYM_LEN],
                           unsigned n, uint32_t epoch, int64_t now)
{
    AGP_ENSURE(s != NULL && pseudonym != NULL && n > 0, AGP_ERR_ARG);
    return s->ops->uncount(s, pseudonym, n, epoch, now);
}

/* see agepass/istore.h */
agp_err agp_istore_evidence_once(struct agp_istore *s, const uint8_t digest[32], int64_t expires_at,
                                 int64_t now)
{
    AGP_ENSURE(s != NULL && digest != NULL, AGP_ERR_ARG);
    return s->ops->evidence_once(s, digest, expires_at, now);
}

/* see agepass/istore.h */
agp_err agp_istore_pickup_put(struct agp_istore *s, const uint8_t id[AGP_PICKUP_ID_LEN],
                              const uint8_t *rec, size_t rec_len, int64_t expires_at, int64_t now)
{
    AGP_ENSURE(s != NULL && id != NULL && rec != NULL && rec_len > 0 && rec_len <= AGP_PICKUP_MAX,
               AGP_ERR_ARG);
    return s->ops->pickup_put(s, id, rec, rec_len, expires_at, now);
}

/* see agepass/istore.h */
agp_err agp_istore_pickup_take(struct agp_istore *s, const uint8_t id[AGP_PICKUP_ID_LEN],
                               int64_t now, uint8_t *rec, size_t cap, size_t *rec_len)
{
    agp_err err = AGP_ERR_ARG;

    if (rec_len != NULL) *rec_len = 0;
    if (s != NULL && id != NULL && rec != NULL && rec_len != NULL)
        err = s->ops->pickup_take(s, id, now, rec, cap, rec_len);
    if (err != AGP_OK && rec_len != NULL) {
        if (rec != NULL) agp_wipe(rec, cap);
        *rec_len = 0;
    }
    return err;
}

/* see agepass/istore.h */
agp_err agp_istore_sweep(struct agp_istore *s, int64_t now)
{
    AGP_ENSURE(s != NULL, AGP_ERR_ARG);
    return s->ops->sweep(s, now);
}

/* see agepass/istore.h */
void agp_istore_free(struct agp_istore *s)
{
    if (s != NULL) s->ops->free(s);
}

#ifndef AGP_WITH_REDIS
/* see agepass/istore.h: this build has no Redis backend, so nothing is reachable */
agp_err agp_istore_open_redis(struct agp_istore **out, const char *url)
{
    (void)url;
    if (out != NULL) *out = NULL;
    return AGP_ERR_IO;
}
#endif
