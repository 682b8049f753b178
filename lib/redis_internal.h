/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/redis_internal.h: what the two Redis backends (lib/replay_redis.c for
 * the verifier's spent tokens, lib/istore_redis.c for the issuer's store)
 * share: the strict redis:// URL, a pool of hiredis connections that
 * reconnect by themselves, and the SIGPIPE guard around each command.
 * lib/redis.c holds the code; see the top of that file for the rules.
 */
#ifndef AGEPASS_REDIS_INTERNAL_H
#define AGEPASS_REDIS_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "agepass/err.h"

#define AGP_REDIS_POOL     8
#define AGP_REDIS_HOST_MAX 255

struct agp_redis_conn {
    pthread_mutex_t mu; /* guards c */
    redisContext *c;    /* NULL until connected, and after an error */
};

/* A server and its connections. Zero it, then agp_redis_init. */
struct agp_redis {
    struct agp_redis_conn pool[AGP_REDIS_POOL];
    size_t n_mu; /* pool mutexes initialized */
    atomic_uint next;
    char host[AGP_REDIS_HOST_MAX + 1];
    unsigned port, db;
    struct timeval timeout;
};

/* One connection held by one thread for one or more commands. */
struct agp_redis_lease {
    struct agp_redis_conn *k;
    sigset_t old_mask;
    int was_blocked, was_pending;
};

/*
 * Parses url (redis://HOST[:PORT][/DB]) and sets up the pool; connects
 * nothing yet. Errors: AGP_ERR_SYNTAX (url), AGP_ERR_ARG (timeout 0),
 * AGP_ERR_NOMEM. On error r still needs agp_redis_cleanup.
 */
agp_err agp_redis_init(struct agp_redis *r, const char *url, unsigned timeout_ms);

/* Closes the connections and destroys the mutexes. */
void agp_redis_cleanup(struct agp_redis *r);

/*
 * Takes a pool connection for this thread, with SIGPIPE blocked, replacing
 * an idle connection whose server has gone and connecting if needed. Always
 * to be followed by agp_redis_release, whatever it returns; on AGP_OK
 * l->k->c is a live connection. Errors: AGP_ERR_IO (cannot connect).
 */
agp_err agp_redis_acquire(struct agp_redis *r, struct agp_redis_lease *l);

/*
 * Gives the connection back; broken != 0 (an I/O error, an error reply or
 * a reply of an unexpected type: the connection's state is unknown) frees
 * it, so that the next command connects afresh.
 */
void agp_redis_release(struct agp_redis_lease *l, int broken);

/*
 * Whether the server keeps every write across a restart, asked with
 * CONFIG GET: AGP_OK when appendonly is "yes" and appendfsync "everysec"
 * (a crash of the machine may lose the last second) or "always"; any other
 * setting, RDB snapshots alone included, is AGP_ERR_RANGE. AGP_ERR_IO when
 * the server cannot be reached, and AGP_ERR_NOT_FOUND when it refuses or
 * lacks CONFIG (renamed or disabled): then nothing says that it persists.
 */
agp_err agp_redis_check_durable(struct agp_redis *r);

/* Whether rep is the status reply OK. */
int agp_redis_reply_ok(const redisReply *rep);

#endif
