/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agepass/replay.h: the replay store of a verifier, where spent tokens are
 * remembered until they could no longer be accepted anyway.
 *
 * What is stored is not the token nor its nonce but a 16-byte tag, a keyed
 * hash the caller derives (see agp_replay_tag), and an expiry time; nothing
 * in it links two visits or names a person. Two backends share this
 * interface:
 *
 *  - embedded (agp_replay_open_file): an in-memory open-addressing table,
 *    about 20 bytes a slot, mirrored slot for slot by a file. A spend is
 *    written to the file with pwrite(2) before agp_replay_spend returns, so
 *    a crash of the process (even SIGKILL) never lets a spent token be
 *    accepted again; the file is flushed to disk (fdatasync) at most
 *    sync_ms milliseconds later (0: before returning). On open, and when
 *    the table is rebuilt, the file is rewritten without expired entries.
 *    Where a tag sits in the file follows from the tag (its hash), not from
 *    when it was spent: the file keeps no order of spends.
 *  - Redis (agp_replay_open_redis): SET tag 1 NX EXAT expires_at, shared by
 *    several verifier instances. Any error talking to Redis is AGP_ERR_IO:
 *    callers fail closed (refuse, answer 503), never open.
 *
 * What is stored for a spend is its tag and expires_at, to the second the
 * caller chose: callers pass coarse, shared times (the end of the token's
 * key or challenge window), so that nothing stored tells when it was spent.
 *
 * Thread safety: agp_replay_spend may be called from several threads at
 * once; open and free may not.
 */
#ifndef AGEPASS_REPLAY_H
#define AGEPASS_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agepass/err.h"

#define AGP_REPLAY_TAG_LEN 16

struct agp_replay;

/*
 * Opens (creating if needed, mode 0600) the embedded store whose log is at
 * path, holding an exclusive lock on it. Errors: AGP_ERR_IO (also: another
 * store holds the log), AGP_ERR_NOMEM, AGP_ERR_ARG (empty path),
 * AGP_ERR_ENCODING (a log that is not ours; a torn last record from a crash
 * is dropped, not an error). Programs using it should ignore SIGXFSZ so that
 * a file-size limit becomes AGP_ERR_IO.
 */
AGP_MUST_USE agp_err agp_replay_open_file(struct agp_replay **out, const char *path,
                                          unsigned sync_ms);

/*
 * Opens a Redis-backed store. url is redis://HOST[:PORT][/DB]; keys are
 * prefixed with prefix (e.g. "agp:spent:"). The connection is made lazily
 * and re-made after an error, so a store opened while Redis is down starts
 * working when Redis returns. timeout_ms bounds every command.
 * It checks neither persistence nor owner (agp_replay_open_redis_checked
 * does: services use that). Errors: AGP_ERR_SYNTAX (bad url), AGP_ERR_ARG
 * (NULL, timeout 0), AGP_ERR_NOMEM; AGP_ERR_IO when built without Redis.
 */
AGP_MUST_USE agp_err agp_replay_open_redis(struct agp_replay **out, const char *url,
                                           const char *prefix, unsigned timeout_ms);

#define AGP_REPLAY_OWNER_LEN 16

/* A Redis store that checks what it stands on: agp_replay_open_redis_checked. */
struct agp_replay_redis_config {
    const char *url;      /* redis://HOST[:PORT][/DB] */
    const char *prefix;   /* of every key, e.g. "agepass:spent:" */
    unsigned timeout_ms;  /* bounds every command; > 0 */
    const uint8_t *owner; /* AGP_REPLAY_OWNER_LEN bytes, or NULL: no owner check */
    bool allow_volatile;  /* serve even when Redis does not persist (not checked) */
    unsigned check_s;     /* checks again this often, seconds (0: 60) */
};

/*
 * Opens a Redis-backed store like agp_replay_open_redis, and checks that
 * the store can keep its promise:
 *  - persistence (unless allow_volatile): the server's appendonly is "yes"
 *    and appendfsync "everysec" or "always" (a Redis that forgets on
 *    restart would accept every spent token again); RDB snapshots alone, or
 *    a server that refuses CONFIG GET, do not pass;
 *  - owner: the key <prefix>owner holds owner, written by the first store
 *    that opened it (SET NX). Verifiers sharing a store must derive the
 *    same tag for a token, so they must share the secret that keys the
 *    tag; owner is a fingerprint of that secret (never the secret).
 * The checks run now and again every check_s seconds (wall clock), at the
 * first spend after that time: a spend while the last check failed is
 * AGP_ERR_IO. If Redis cannot be reached now, the store opens and the
 * checks run at the first spend. Errors: as agp_replay_open_redis, and
 * AGP_ERR_RANGE (the server does not persist, or refuses CONFIG),
 * AGP_ERR_KEY (the store belongs to another owner).
 */
AGP_MUST_USE agp_err agp_replay_open_redis_checked(struct agp_replay **out,
                                                   const struct agp_replay_redis_config *cfg);

/*
 * Why the last check of a store opened with agp_replay_open_redis_checked
 * failed: AGP_OK (it passed, or another kind of store), AGP_ERR_IO,
 * AGP_ERR_RANGE, AGP_ERR_KEY (as above). For logs.
 */
agp_err agp_replay_health(struct agp_replay *r);

/*
 * Spends tag, to be remembered until expires_at (Unix seconds); now is the
 * current time (a parameter so that tests control the clock).
 * Returns AGP_OK the first time, AGP_ERR_REPLAY if tag was spent and has not
 * expired, AGP_ERR_IO if the store cannot record it (the caller refuses),
 * AGP_ERR_NOMEM if the table cannot grow. An expiry already past is kept for
 * one second. After a failed fdatasync the file store answers AGP_ERR_IO
 * until it is reopened.
 */
AGP_MUST_USE agp_err agp_replay_spend(struct agp_replay *r, const uint8_t tag[AGP_REPLAY_TAG_LEN],
                                      int64_t expires_at, int64_t now);

/* Number of unexpired entries held in memory (embedded store; 0 for Redis). */
size_t agp_replay_count(struct agp_replay *r);

/* Bytes of memory the embedded store holds for its table (0 for Redis). */
size_t agp_replay_memory(struct agp_replay *r);

/*
 * tag = first 16 bytes of HMAC-SHA256(key, data): the value a verifier
 * stores for a token (data = token_key_id || nonce). key is the verifier's
 * secret, so the store alone does not reveal nonces. Also the owner of a
 * shared store: the tag of a fixed label under that secret.
 */
AGP_MUST_USE agp_err agp_replay_tag(uint8_t tag[AGP_REPLAY_TAG_LEN], const uint8_t *key,
                                    size_t key_len, const uint8_t *data, size_t data_len);

/* Closes the store (flushing the log); NULL is fine. */
void agp_replay_free(struct agp_replay *r);

#endif
