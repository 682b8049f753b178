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
 *    about 20 bytes a slot, backed by an append-only file. A spend is
 *    written to the file with write(2) before agp_replay_spend returns, so
 *    a crash of the process (even SIGKILL) never lets a spent token be
 *    accepted again; the file is flushed to disk (fdatasync) at most
 *    sync_ms milliseconds later (0: before returning). On open, the file is
 *    read back and rewritten without the expired entries.
 *  - Redis (agp_replay_open_redis): SET tag NX PX ttl, shared by several
 *    verifier instances. Any error talking to Redis is AGP_ERR_IO: callers
 *    fail closed (refuse, answer 503), never open.
 *
 * Thread safety: agp_replay_spend may be called from several threads at
 * once; open and free may not.
 */
#ifndef AGEPASS_REPLAY_H
#define AGEPASS_REPLAY_H

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
 * Errors: AGP_ERR_SYNTAX (bad url), AGP_ERR_ARG (NULL, timeout 0),
 * AGP_ERR_NOMEM; AGP_ERR_IO when built without Redis.
 */
AGP_MUST_USE agp_err agp_replay_open_redis(struct agp_replay **out, const char *url,
                                           const char *prefix, unsigned timeout_ms);

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
 * secret, so the store alone does not reveal nonces.
 */
AGP_MUST_USE agp_err agp_replay_tag(uint8_t tag[AGP_REPLAY_TAG_LEN], const uint8_t *key,
                                    size_t key_len, const uint8_t *data, size_t data_len);

/* Closes the store (flushing the log); NULL is fine. */
void agp_replay_free(struct agp_replay *r);

#endif
