/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/istore_internal.h: what lib/istore.c shares with the two backends of
 * agepass/istore.h (istore_sqlite.c, istore_redis.c) and nothing else.
 *
 * A backend's store struct starts with a struct agp_istore whose ops point
 * at the backend's functions; istore.c checks the arguments (so a backend
 * gets no NULL, no n of 0), zeroes the outputs of a failed take, and
 * dispatches.
 */
#ifndef AGEPASS_ISTORE_INTERNAL_H
#define AGEPASS_ISTORE_INTERNAL_H

#include "agepass/istore.h"

struct agp_istore_ops {
    agp_err (*grant_put)(struct agp_istore *s, const uint8_t id[AGP_GRANT_ID_LEN], unsigned age,
                         unsigned tokens, int64_t expires_at,
                         const uint8_t pseudonym[AGP_PSEUDONYM_LEN]);
    agp_err (*grant_take)(struct agp_istore *s, const uint8_t id[AGP_GRANT_ID_LEN], unsigned n,
                          int64_t now, unsigned *age, uint8_t pseudonym[AGP_PSEUDONYM_LEN]);
    agp_err (*grant_give_back)(struct agp_istore *s, const uint8_t id[AGP_GRANT_ID_LEN],
                               unsigned n);
    agp_err (*count)(struct agp_istore *s, const uint8_t pseudonym[AGP_PSEUDONYM_LEN], unsigned n,
                     unsigned day_limit, unsigned epoch_limit, uint32_t epoch, int64_t now);
    agp_err (*uncount)(struct agp_istore *s, const uint8_t pseudonym[AGP_PSEUDONYM_LEN], unsigned n,
                       uint32_t epoch, int64_t now);
    agp_err (*evidence_once)(struct agp_istore *s, const uint8_t digest[32], int64_t expires_at,
                             int64_t now);
    agp_err (*pickup_put)(struct agp_istore *s, const uint8_t id[AGP_PICKUP_ID_LEN],
                          const uint8_t *rec, size_t rec_len, int64_t expires_at, int64_t now);
    agp_err (*pickup_take)(struct agp_istore *s, const uint8_t id[AGP_PICKUP_ID_LEN], int64_t now,
                           uint8_t *rec, size_t cap, size_t *rec_len);
    agp_err (*sweep)(struct agp_istore *s, int64_t now);
    void (*free)(struct agp_istore *s); /* s is not NULL */
};

/* The first member of every backend's store. */
struct agp_istore {
    const struct agp_istore_ops *ops;
};

#endif
