/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/replay_internal.h: what lib/replay.c shares with the two backends of
 * agepass/replay.h (replay_file.c, replay_redis.c) and nothing else.
 *
 * A backend's store struct starts with a struct agp_replay whose ops point
 * at the backend's functions; replay.c dispatches through them, and each
 * function casts the struct agp_replay * it gets back to its own struct.
 */
#ifndef AGEPASS_REPLAY_INTERNAL_H
#define AGEPASS_REPLAY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "agepass/replay.h"

struct agp_replay_ops {
    /* agp_replay_spend without the argument checks (r and tag not NULL) */
    agp_err (*spend)(struct agp_replay *r, const uint8_t tag[AGP_REPLAY_TAG_LEN],
                     int64_t expires_at, int64_t now);
    size_t (*count)(struct agp_replay *r);
    size_t (*memory)(struct agp_replay *r);
    agp_err (*health)(struct agp_replay *r);
    void (*free)(struct agp_replay *r); /* r is not NULL */
};

/* The first member of every backend's store. */
struct agp_replay {
    const struct agp_replay_ops *ops;
};

/*
 * The time until which a spend is remembered, in seconds after now: at
 * least 1 (an expiry already past is the caller's business, but the tag is
 * still held for a second, by both backends alike) and at most 2^32 - 1
 * (the file format's range). Overflow-free for every pair of int64_t.
 */
static inline uint64_t agp_replay_ttl(int64_t expires_at, int64_t now)
{
    uint64_t d;
    if (expires_at <= now) return 1;
    d = (uint64_t)expires_at - (uint64_t)now; /* the true difference, > 0 */
    return d > UINT32_MAX ? UINT32_MAX : d;
}

#endif
