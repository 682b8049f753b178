/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agepass/istore.h: what an issuer remembers, and nothing more: issuance
 * grants, per-person counters and digests of evidence already used, each
 * with an expiry. No name, birthdate, subject identifier or raw evidence is
 * ever given to it (R30): a person is a 16-byte keyed pseudonym, a grant is
 * known by the SHA-256 of its bearer value, evidence by its digest.
 *
 Two backends behind the same functions:
 *  - SQLite (agp_istore_open_sqlite), the embedded default: one file, WAL
 *    journal, survives restarts;
 *  - Redis (agp_istore_open_redis), shared by several issuer instances, so
 *    that their caps and grants are one: every key expires at an hour or
 *    day boundary.
 * Privacy: every time either backend stores or expires by is on an hour
 * (grant, evidence: callers give hour boundaries) or day boundary (the
 * counters); the SQLite -wal is truncated after each write (docs/privacy.md).
 * Every operation is one transaction (SQLite) or one Lua script (Redis), so
 * counting and issuing cannot diverge: a caller issues only after a
 * successful take/count. Any storage error is AGP_ERR_IO; callers then
 * refuse (503), never issue uncounted. The answers follow the `now` the
 * caller gives, in both backends alike.
 *
 * Thread safety: every function but open and free may be called from
 * several threads at once (the SQLite connection is guarded by a mutex,
 * Redis connections come from a pool).
 */
#ifndef AGEPASS_ISTORE_H
#define AGEPASS_ISTORE_H

#include <stddef.h>
#include <stdint.h>

#include "agepass/err.h"

#define AGP_PSEUDONYM_LEN 16
#define AGP_GRANT_ID_LEN  32
#define AGP_PICKUP_ID_LEN 32
#define AGP_PICKUP_MAX    256 /* the largest pickup record the store keeps */

struct agp_istore;

/* Opens (creating, mode 0600) the SQLite store at path. Errors: AGP_ERR_IO. */
AGP_MUST_USE agp_err agp_istore_open_sqlite(struct agp_istore **out, const char *path);

/*
 * Opens the Redis store at url, redis://HOST[:PORT][/DB] (the form the
 * verifier's Redis replay store takes, see agepass/replay.h), keys under
 * "agepass:issuer:". Connects on first use, and again after any error;
 * each command waits at most a second. Errors: AGP_ERR_SYNTAX (url),
 * AGP_ERR_ARG, AGP_ERR_NOMEM; AGP_ERR_IO when built without Redis.
 */
AGP_MUST_USE agp_err agp_istore_open_redis(struct agp_istore **out, const char *url);

/* Closes the store; NULL is fine. */
void agp_istore_free(struct agp_istore *s);

/*
 * Records a grant: id = SHA-256 of the bearer value, good for `tokens`
 * tokens of any age class up to `age`, until expires_at, for the person
 * `pseudonym`. Errors: AGP_ERR_IO, AGP_ERR_ARG (id already present).
 */
AGP_MUST_USE agp_err agp_istore_grant_put(struct agp_istore *s, const uint8_t id[AGP_GRANT_ID_LEN],
                                          unsigned age, unsigned tokens, int64_t expires_at,
                                          const uint8_t pseudonym[AGP_PSEUDONYM_LEN]);

/*
 * Takes n tokens from grant id at time now, atomically: on success *age
 * and pseudonym are the grant's. Errors: AGP_ERR_NOT_FOUND (unknown grant),
 * AGP_ERR_EXPIRED, AGP_ERR_RANGE (fewer than n tokens left: nothing taken),
 * AGP_ERR_IO.
 */
AGP_MUST_USE agp_err agp_istore_grant_take(struct agp_istore *s, const uint8_t id[AGP_GRANT_ID_LEN],
                                           unsigned n, int64_t now, unsigned *age,
                                           uint8_t pseudonym[AGP_PSEUDONYM_LEN]);

/* Gives n tokens back to a grant after a take whose issuance then failed. */
AGP_MUST_USE agp_err agp_istore_grant_give_back(struct agp_istore *s,
                                                const uint8_t id[AGP_GRANT_ID_LEN], unsigned n);

/*
 * Counts n tokens for pseudonym at time now, atomically, if the person
 * stays within day_limit in the UTC day of now (one count a person and
 * day: nothing finer than the day is kept) and epoch_limit within key
 * epoch `epoch` (kept until a day boundary some 200 days on). Errors:
 * AGP_ERR_RANGE (a limit would be passed: nothing counted), AGP_ERR_IO.
 */
AGP_MUST_USE agp_err agp_istore_count(struct agp_istore *s,
                                      const uint8_t pseudonym[AGP_PSEUDONYM_LEN], unsigned n,
                                      unsigned day_limit, unsigned epoch_limit, uint32_t epoch,
                                      int64_t now);

/*
 * Takes back n tokens counted by agp_istore_count(s, pseudonym, n, ...,
 * epoch, now) with the same now, for a request that then issued nothing:
 * the hour bucket of now and the epoch's count go down by n (never below
 * 0). Errors: AGP_ERR_IO.
 */
AGP_MUST_USE agp_err agp_istore_uncount(struct agp_istore *s,
                                        const uint8_t pseudonym[AGP_PSEUDONYM_LEN], unsigned n,
                                        uint32_t epoch, int64_t now);

/*
 * Remembers an evidence digest until expires_at. AGP_OK the first time,
 * AGP_ERR_REPLAY while it is remembered, AGP_ERR_IO.
 */
AGP_MUST_USE agp_err agp_istore_evidence_once(struct agp_istore *s, const uint8_t digest[32],
                                              int64_t expires_at, int64_t now);

/*
 * Pickups: a record an enrolment leaves for the browser that began it
 * (src/enroll_mdoc.c: the EU wallet answers one connection, the person's
 * browser picks the grant up on another). id is a keyed hash of the
 * browser's pickup secret; rec, rec_len bytes (1 to AGP_PICKUP_MAX), is
 * opaque to the store (the caller seals it, agepass/pickup.h). Put: kept
 * until expires_at (the caller gives an hour boundary); AGP_ERR_REPLAY if
 * a live record has that id already (the first answer stays), AGP_ERR_IO.
 */
AGP_MUST_USE agp_err agp_istore_pickup_put(struct agp_istore *s,
                                           const uint8_t id[AGP_PICKUP_ID_LEN], const uint8_t *rec,
                                           size_t rec_len, int64_t expires_at, int64_t now);

/*
 * Takes the record id at now, atomically, once: it is deleted as it is
 * read, so a second take finds nothing. Errors: AGP_ERR_NOT_FOUND (none,
 * or expired: left to the sweep), AGP_ERR_TOO_BIG (cap short: nothing taken),
 * AGP_ERR_IO. *rec_len is 0 on error.
 */
AGP_MUST_USE agp_err agp_istore_pickup_take(struct agp_istore *s,
                                            const uint8_t id[AGP_PICKUP_ID_LEN], int64_t now,
                                            uint8_t *rec, size_t cap, size_t *rec_len);

/*
 * Deletes everything expired at now (also done now and then by the others).
 * Redis drops expired keys by itself: there, this only checks that the
 * server answers. Errors: AGP_ERR_IO.
 */
AGP_MUST_USE agp_err agp_istore_sweep(struct agp_istore *s, int64_t now);

#endif
