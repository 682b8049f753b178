/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/istore_sqlite.c: the issuer's store of agepass/istore.h in one SQLite
 * file.
 *
 * One connection (SQLITE_OPEN_FULLMUTEX) with a WAL journal, synchronous
 * NORMAL (a commit survives a crash of the process; a power cut may lose the
 * last ones, never the file) and a 5 s busy timeout. Every operation holds
 * the store's mutex and runs in BEGIN IMMEDIATE ... COMMIT: the mutex makes a
 * read-modify-write atomic between threads, the immediate write lock makes it
 * atomic between processes sharing the file. Any refusal or error rolls the
 * transaction back, so a failed call leaves nothing behind. Statements are
 * prepared once at open and reset after each use.
 *
 * Schema (PRAGMA user_version = 3; a version-1 file, whose counters were
 * hourly, has its hourly table replaced by the daily one at open, and a
 * version-2 file gets the pickups table; a file
 * with another version, or a SQLite file holding other tables, is refused
 * with AGP_ERR_ENCODING):
 *
 *     grants(id BLOB PRIMARY KEY, age, remaining, expires, pseudonym BLOB)
 *     daily(pseudonym BLOB, day, n, PRIMARY KEY(pseudonym, day))
 *     epochs(pseudonym BLOB, epoch, n, expires, PRIMARY KEY(pseudonym, epoch))
 *     evidence(digest BLOB PRIMARY KEY, expires)
 *     pickups(id BLOB PRIMARY KEY, rec BLOB, expires)
 *
 * all WITHOUT ROWID, each with an index on the column the sweep looks at, so
 * that a sweep touches only what it deletes rather than scanning tables that
 * hold months of epoch counters while it keeps the write lock.
 *
 * Time: a grant, an epoch row or an evidence digest is live while now <
 * expires. day = floor(now / 86400): the day cap counts the person's tokens
 * of the current UTC day (and of any later one, if the clock went back),
 * one row per person and day: a row gives the day of a request, never its
 * hour. An epoch row lives until the first day
 * boundary at least 200 days after its first count, longer than any key
 * epoch; an expired one counts as absent. The times this file computes are
 * so on day boundaries; the grant and evidence expiries are stored as
 * given (the issuer gives them on hour boundaries, see src/issuer.c). The answers never
 * depend on whether a sweep has run: sweeping only frees space. Sweeps run
 * from agp_istore_sweep, and from the functions that are given a time at most
 * once a minute of that time, in a transaction of their own whose failure
 * the call does not report (the next sweep retries).
 *
 * Privacy: only the bytes and numbers passed in are stored. secure_delete
 * is on, so a deleted row is zeroed in its page and a page freed by a sweep
 * is zeroed too (the hot path frees no pages: it costs the sweeps only).
 * After every write transaction the -wal file is checkpointed into the file
 * and truncated (PRAGMA wal_checkpoint(TRUNCATE)), so the old page images it
 * held (a grant's earlier remaining counts, a counter's history) do not
 * survive the call; a checkpoint that cannot run at once (another process
 * reading) is left to the next write. The file is created 0600, as are its
 * -wal and -shm files.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agepass/istore.h"
#include "internal.h"
#include "istore_internal.h"

#define SCHEMA_VERSION 3
#define DIGEST_LEN     32
#define HOUR           3600
#define DAY            86400
#define EPOCH_TTL      ((int64_t)200 * DAY) /* longer than any key epoch (90 days at most) */
#define SWEEP_EVERY    60                   /* seconds of the callers' clock */
#define BUSY_MS        "5000"

#define DAILY_SQL                                                                                  \
    "CREATE TABLE daily(pseudonym BLOB NOT NULL, day INTEGER NOT NULL, n INTEGER NOT NULL,"        \
    " PRIMARY KEY(pseudonym, day)) WITHOUT ROWID;"                                                 \
    "CREATE INDEX daily_day ON daily(day);"

#define PICKUPS_SQL                                                                                \
    "CREATE TABLE pickups(id BLOB PRIMARY KEY, rec BLOB NOT NULL, expires INTEGER NOT NULL)"       \
    " WITHOUT ROWID;"                                                                              \
    "CREATE INDEX pickups_expires ON pickups(expires);"

static const char schema_sql[] =
    "CREATE TABLE grants(id BLOB PRIMARY KEY, age INTEGER NOT NULL, remaining INTEGER NOT NULL,"
    " expires INTEGER NOT NULL, pseudonym BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX grants_expires ON grants(expires);" DAILY_SQL
    "CREATE TABLE epochs(pseudonym BLOB NOT NULL, epoch INTEGER NOT NULL, n INTEGER NOT NULL,"
    " expires INTEGER NOT NULL, PRIMARY KEY(pseudonym, epoch)) WITHOUT ROWID;"
    "CREATE INDEX epochs_expires ON epochs(expires);"
    "CREATE TABLE evidence(digest BLOB PRIMARY KEY, expires INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX evidence_expires ON evidence(expires);" PICKUPS_SQL "PRAGMA user_version = 3;";

/* version 1 kept hourly buckets; their counts restart for the day */
static const char migrate_1_sql[] =
    "DROP TABLE hourly;" DAILY_SQL PICKUPS_SQL "PRAGMA user_version = 3;";
/* version 2 had no pickups */
static const char migrate_2_sql[] = PICKUPS_SQL "PRAGMA user_version = 3;";

enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_GRANT_PUT,
    ST_GRANT_GET,
    ST_GRANT_TAKE,
    ST_GRANT_GIVE,
    ST_DAY_SUM,
    ST_EPOCH_GET,
    ST_DAY_ADD,
    ST_EPOCH_ADD,
    ST_DAY_SUB,
    ST_EPOCH_SUB,
    ST_EVIDENCE_ADD,
    ST_PICKUP_PUT,
    ST_PICKUP_GET,
    ST_PICKUP_DEL,
    ST_SWEEP_GRANTS,
    ST_SWEEP_DAILY,
    ST_SWEEP_EPOCHS,
    ST_SWEEP_EVIDENCE,
    ST_SWEEP_PICKUPS,
    ST_CHECKPOINT,
    ST_COUNT
};

static const char *const statement_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_GRANT_PUT] = "INSERT INTO grants(id, age, remaining, expires, pseudonym)"
                     " VALUES(?1, ?2, ?3, ?4, ?5)",
    [ST_GRANT_GET] = "SELECT age, remaining, expires, pseudonym FROM grants WHERE id = ?1",
    [ST_GRANT_TAKE] = "UPDATE grants SET remaining = remaining - ?2 WHERE id = ?1",
    [ST_GRANT_GIVE] = "UPDATE grants SET remaining = remaining + ?2 WHERE id = ?1",
    [ST_DAY_SUM] = "SELECT COALESCE(SUM(n), 0) FROM daily WHERE pseudonym = ?1 AND day >= ?2",
    [ST_EPOCH_GET] = "SELECT n FROM epochs WHERE pseudonym = ?1 AND epoch = ?2 AND expires > ?3",
    [ST_DAY_ADD] = "INSERT INTO daily(pseudonym, day, n) VALUES(?1, ?2, ?3)"
                   " ON CONFLICT(pseudonym, day) DO UPDATE SET n = daily.n + excluded.n",
    /* an expired row starts over (SET sees the old row in both expressions) */
    [ST_EPOCH_ADD] = "INSERT INTO epochs(pseudonym, epoch, n, expires) VALUES(?1, ?2, ?3, ?4)"
                     " ON CONFLICT(pseudonym, epoch) DO UPDATE SET"
                     " n = CASE WHEN epochs.expires > ?5 THEN epochs.n + excluded.n"
                     " ELSE excluded.n END,"
                     " expires = CASE WHEN epochs.expires > ?5 THEN epochs.expires"
                     " ELSE excluded.expires END",
    [ST_DAY_SUB] = "UPDATE daily SET n = MAX(n - ?3, 0) WHERE pseudonym = ?1 AND day = ?2",
    [ST_EPOCH_SUB] = "UPDATE epochs SET n = MAX(n - ?3, 0) WHERE pseudonym = ?1 AND epoch = ?2"
                     " AND expires > ?4",
    /* one change: stored (new, or in place of an expired row); none: live */
    [ST_EVIDENCE_ADD] = "INSERT INTO evidence(digest, expires) VALUES(?1, ?2)"
                        " ON CONFLICT(digest) DO UPDATE SET expires = excluded.expires"
                        " WHERE evidence.expires <= ?3",
    /* one change: stored (new, or in place of an expired record); none: a live one is there */
    [ST_PICKUP_PUT] = "INSERT INTO pickups(id, rec, expires) VALUES(?1, ?2, ?3)"
                      " ON CONFLICT(id) DO UPDATE SET rec = excluded.rec,"
                      " expires = excluded.expires WHERE pickups.expires <= ?4",
    [ST_PICKUP_GET] = "SELECT rec, expires FROM pickups WHERE id = ?1",
    [ST_PICKUP_DEL] = "DELETE FROM pickups WHERE id = ?1",
    [ST_SWEEP_GRANTS] = "DELETE FROM grants WHERE expires <= ?1",
    [ST_SWEEP_DAILY] = "DELETE FROM daily WHERE day < ?1",
    [ST_SWEEP_EPOCHS] = "DELETE FROM epochs WHERE expires <= ?1",
    [ST_SWEEP_EVIDENCE] = "DELETE FROM evidence WHERE expires <= ?1",
    [ST_SWEEP_PICKUPS] = "DELETE FROM pickups WHERE expires <= ?1",
    [ST_CHECKPOINT] = "PRAGMA wal_checkpoint(TRUNCATE)",
};

struct sql_store {
    struct agp_istore base;
    pthread_mutex_t mu; /* guards all below, and one operation at a time on db */
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    int64_t last_sweep; /* the callers' now at the last sweep, if swept */
    int swept;
    int have_mu;
};

/*
 * Opens are serialized in the process: closing any descriptor of a file
 * drops every POSIX lock the process holds on it, SQLite's included, so the
 * descriptor that creates the file must be closed before another store in
 * this process can open it with SQLite.
 */
static pthread_mutex_t open_mu = PTHREAD_MUTEX_INITIALIZER;

/* floor(t / 86400), also for negative t */
static int64_t day_of(int64_t t)
{
    return t >= 0 ? t / DAY : -((-(t + 1)) / DAY) - 1;
}

/* a + b for b >= 0, saturating at INT64_MAX */
static int64_t add_sat(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* The first boundary of step seconds at or after t (t itself past the last one). */
static int64_t time_ceil(int64_t t, int64_t step)
{
    int64_t q = t >= 0 ? t / step : -((-(t + 1)) / step) - 1;
    return q * step == t || q >= INT64_MAX / step ? t : (q + 1) * step;
}

/*
 * Copies the -wal file into the database and truncates it, so that no old
 * page image outlives the write (see the top of this file). SQLITE_BUSY (a
 * reader elsewhere) leaves it to the next write: the answer is not changed.
 */
static void checkpoint(struct sql_store *s)
{
    (void)sqlite3_step(s->st[ST_CHECKPOINT]);
    sqlite3_reset(s->st[ST_CHECKPOINT]);
}

static agp_err bind_blob(sqlite3_stmt *st, int i, const uint8_t *p, int n)
{
    /* SQLITE_STATIC: every statement is reset and cleared before the call returns */
    return sqlite3_bind_blob(st, i, p, n, SQLITE_STATIC) == SQLITE_OK ? AGP_OK : AGP_ERR_IO;
}

static agp_err bind_i64(sqlite3_stmt *st, int i, int64_t v)
{
    return sqlite3_bind_int64(st, i, (sqlite3_int64)v) == SQLITE_OK ? AGP_OK : AGP_ERR_IO;
}

/* Runs a statement that returns no row. */
static agp_err step_done(sqlite3_stmt *st)
{
    return sqlite3_step(st) == SQLITE_DONE ? AGP_OK : AGP_ERR_IO;
}

/* Runs a query for at most one row: *row is 1 if there is one. */
static agp_err step_row(sqlite3_stmt *st, int *row)
{
    int rc = sqlite3_step(st);
    *row = rc == SQLITE_ROW;
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? AGP_OK : AGP_ERR_IO;
}

/* Column i of the current row as an integer; AGP_ERR_IO if it is not one. */
static agp_err column_i64(sqlite3_stmt *st, int i, int64_t *v)
{
    if (sqlite3_column_type(st, i) != SQLITE_INTEGER) return AGP_ERR_IO;
    *v = (int64_t)sqlite3_column_int64(st, i);
    return AGP_OK;
}

static void reset_all(struct sql_store *s)
{
    size_t i;
    for (i = 0; i < ST_COUNT; i++) {
        sqlite3_reset(s->st[i]);
        sqlite3_clear_bindings(s->st[i]);
    }
}

static void rollback(struct sql_store *s)
{
    if (sqlite3_get_autocommit(s->db)) return; /* SQLite already rolled back */
    (void)sqlite3_step(s->st[ST_ROLLBACK]);
    sqlite3_reset(s->st[ST_ROLLBACK]);
}

typedef agp_err (*tx_body)(struct sql_store *s, void *arg);

/*
 * Runs body in BEGIN IMMEDIATE ... COMMIT; rolls back whatever body did if it
 * or the commit fails. The caller holds s->mu.
 */
static agp_err transact(struct sql_store *s, tx_body body, void *arg)
{
    agp_err err = AGP_ERR_IO;
    int rc;

    rollback(s); /* a transaction left open by a failed rollback would block all others */
    rc = sqlite3_step(s->st[ST_BEGIN]);
    sqlite3_reset(s->st[ST_BEGIN]);
    if (rc != SQLITE_DONE) goto out;
    err = body(s, arg);
    reset_all(s);
    if (err != AGP_OK) goto out;
    rc = sqlite3_step(s->st[ST_COMMIT]);
    sqlite3_reset(s->st[ST_COMMIT]);
    if (rc != SQLITE_DONE) err = AGP_ERR_IO;
out:
    if (err != AGP_OK) rollback(s);
    return err;
}

static agp_err sweep_body(struct sql_store *s, void *arg)
{
    int64_t now = *(const int64_t *)arg;

    AGP_TRY(bind_i64(s->st[ST_SWEEP_GRANTS], 1, now));
    AGP_TRY(step_done(s->st[ST_SWEEP_GRANTS]));
    /* yesterday's row stays until today is over: a clock a little behind still finds it */
    AGP_TRY(bind_i64(s->st[ST_SWEEP_DAILY], 1, day_of(now) - 1));
    AGP_TRY(step_done(s->st[ST_SWEEP_DAILY]));
    AGP_TRY(bind_i64(s->st[ST_SWEEP_EPOCHS], 1, now));
    AGP_TRY(step_done(s->st[ST_SWEEP_EPOCHS]));
    AGP_TRY(bind_i64(s->st[ST_SWEEP_EVIDENCE], 1, now));
    AGP_TRY(step_done(s->st[ST_SWEEP_EVIDENCE]));
    AGP_TRY(bind_i64(s->st[ST_SWEEP_PICKUPS], 1, now));
    return step_done(s->st[ST_SWEEP_PICKUPS]);
}

/*
 * Runs body in a transaction under the mutex, after a sweep if the last was
 * a minute or more (of now) ago, or now went back by a minute or more.
 */
static agp_err run(struct sql_store *s, int64_t now, int may_sweep, tx_body body, void *arg)
{
    agp_err err;
    uint64_t ago;

    pthread_mutex_lock(&s->mu);
    if (may_sweep) {
        /* the difference as unsigned: no overflow whatever the two times */
        ago = now >= s->last_sweep ? (uint64_t)now - (uint64_t)s->last_sweep
                                   : (uint64_t)s->last_sweep - (uint64_t)now;
        if (!s->swept || ago >= SWEEP_EVERY) {
            s->swept = 1;
            s->last_sweep = now;
            (void)transact(s, sweep_body, &now); /* housekeeping: the answers do not need it */
        }
    }
    err = transact(s, body, arg);
    checkpoint(s); /* also after a failed call: a sweep before it may have written */
    pthread_mutex_unlock(&s->mu);
    return err;
}

struct grant_put_args {
    const uint8_t *id, *pseudonym;
    unsigned age, tokens;
    int64_t expires_at;
};

static agp_err grant_put_body(struct sql_store *s, void *arg)
{
    const struct grant_put_args *a = arg;
    sqlite3_stmt *st = s->st[ST_GRANT_PUT];
    int rc;

    AGP_TRY(bind_blob(st, 1, a->id, AGP_GRANT_ID_LEN));
    AGP_TRY(bind_i64(st, 2, (int64_t)a->age));
    AGP_TRY(bind_i64(st, 3, (int64_t)a->tokens));
    AGP_TRY(bind_i64(st, 4, a->expires_at));
    AGP_TRY(bind_blob(st, 5, a->pseudonym, AGP_PSEUDONYM_LEN));
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) return AGP_OK;
    return (rc & 0xff) == SQLITE_CONSTRAINT ? AGP_ERR_ARG : AGP_ERR_IO; /* id present */
}

static agp_err sql_grant_put(struct agp_istore *b, const uint8_t id[AGP_GRANT_ID_LEN], unsigned age,
                             unsigned tokens, int64_t expires_at,
                             const uint8_t pseudonym[AGP_PSEUDONYM_LEN])
{
    struct sql_store *s = (struct sql_store *)b;
    struct grant_put_args a;

    a.id = id;
    a.pseudonym = pseudonym;
    a.age = age;
    a.tokens = tokens;
    a.expires_at = expires_at;
    return run(s, 0, 0, grant_put_body, &a); /* no time given: no sweep */
}

struct grant_take_args {
    const uint8_t *id;
    unsigned n;
    int64_t now;
    unsigned age;                         /* out */
    uint8_t pseudonym[AGP_PSEUDONYM_LEN]; /* out */
};

static agp_err grant_take_body(struct sql_store *s, void *arg)
{
    struct grant_take_args *a = arg;
    sqlite3_stmt *st = s->st[ST_GRANT_GET];
    int64_t age, remaining, expires;
    int row;

    AGP_TRY(bind_blob(st, 1, a->id, AGP_GRANT_ID_LEN));
    AGP_TRY(step_row(st, &row));
    AGP_ENSURE(row, AGP_ERR_NOT_FOUND);
    AGP_TRY(column_i64(st, 0, &age));
    AGP_TRY(column_i64(st, 1, &remaining));
    AGP_TRY(column_i64(st, 2, &expires));
    /* what this file did not write is a broken store, not a grant */
    AGP_ENSURE(age >= 0 && age <= (int64_t)UINT_MAX, AGP_ERR_IO);
    AGP_ENSURE(sqlite3_column_type(st, 3) == SQLITE_BLOB &&
                   sqlite3_column_bytes(st, 3) == AGP_PSEUDONYM_LEN,
               AGP_ERR_IO);
    AGP_ENSURE(a->now < expires, AGP_ERR_EXPIRED);
    AGP_ENSURE(remaining >= (int64_t)a->n, AGP_ERR_RANGE);
    a->age = (unsigned)age;
    memcpy(a->pseudonym, sqlite3_column_blob(st, 3), AGP_PSEUDONYM_LEN);

    st = s->st[ST_GRANT_TAKE];
    AGP_TRY(bind_blob(st, 1, a->id, AGP_GRANT_ID_LEN));
    AGP_TRY(bind_i64(st, 2, (int64_t)a->n));
    return step_done(st);
}

static agp_err sql_grant_take(struct agp_istore *b, const uint8_t id[AGP_GRANT_ID_LEN], unsigned n,
                              int64_t now, unsigned *age, uint8_t pseudonym[AGP_PSEUDONYM_LEN])
{
    struct sql_store *s = (struct sql_store *)b;
    struct grant_take_args a;
    agp_err err;

    memset(&a, 0, sizeof a);
    a.id = id;
    a.n = n;
    a.now = now;
    if ((err = run(s, now, 1, grant_take_body, &a)) != AGP_OK) goto out;
    *age = a.age;
    memcpy(pseudonym, a.pseudonym, AGP_PSEUDONYM_LEN);
out: /* istore.c zeroes the outputs on failure */
    AGP_WIPE(a.pseudonym);
    return err;
}

struct give_back_args {
    const uint8_t *id;
    unsigned n;
};

static agp_err give_back_body(struct sql_store *s, void *arg)
{
    const struct give_back_args *a = arg;
    sqlite3_stmt *st = s->st[ST_GRANT_GIVE];

    AGP_TRY(bind_blob(st, 1, a->id, AGP_GRANT_ID_LEN));
    AGP_TRY(bind_i64(st, 2, (int64_t)a->n));
    AGP_TRY(step_done(st));
    return sqlite3_changes(s->db) == 1 ? AGP_OK : AGP_ERR_NOT_FOUND;
}

static agp_err sql_grant_give_back(struct agp_istore *b, const uint8_t id[AGP_GRANT_ID_LEN],
                                   unsigned n)
{
    struct sql_store *s = (struct sql_store *)b;
    struct give_back_args a;

    a.id = id;
    a.n = n;
    return run(s, 0, 0, give_back_body, &a);
}

struct count_args {
    const uint8_t *pseudonym;
    unsigned n, day_limit, epoch_limit;
    uint32_t epoch;
    int64_t now;
};

static agp_err count_body(struct sql_store *s, void *arg)
{
    const struct count_args *a = arg;
    sqlite3_stmt *st;
    int64_t today = day_of(a->now), day, in_epoch = 0;
    int row;

    st = s->st[ST_DAY_SUM];
    AGP_TRY(bind_blob(st, 1, a->pseudonym, AGP_PSEUDONYM_LEN));
    AGP_TRY(bind_i64(st, 2, today));
    AGP_TRY(step_row(st, &row));
    AGP_ENSURE(row, AGP_ERR_IO);
    AGP_TRY(column_i64(st, 0, &day));

    st = s->st[ST_EPOCH_GET];
    AGP_TRY(bind_blob(st, 1, a->pseudonym, AGP_PSEUDONYM_LEN));
    AGP_TRY(bind_i64(st, 2, (int64_t)a->epoch));
    AGP_TRY(bind_i64(st, 3, a->now));
    AGP_TRY(step_row(st, &row));
    if (row) AGP_TRY(column_i64(st, 0, &in_epoch));

    AGP_ENSURE(day >= 0 && in_epoch >= 0, AGP_ERR_IO);
    /* all below 2^33 once the limits, at most UINT_MAX, have been checked */
    AGP_ENSURE(day <= (int64_t)a->day_limit && in_epoch <= (int64_t)a->epoch_limit, AGP_ERR_RANGE);
    AGP_ENSURE(day + (int64_t)a->n <= (int64_t)a->day_limit, AGP_ERR_RANGE);
    AGP_ENSURE(in_epoch + (int64_t)a->n <= (int64_t)a->epoch_limit, AGP_ERR_RANGE);

    st = s->st[ST_DAY_ADD];
    AGP_TRY(bind_blob(st, 1, a->pseudonym, AGP_PSEUDONYM_LEN));
    AGP_TRY(bind_i64(st, 2, today));
    AGP_TRY(bind_i64(st, 3, (int64_t)a->n));
    AGP_TRY(step_done(st));

    st = s->st[ST_EPOCH_ADD];
    AGP_TRY(bind_blob(st, 1, a->pseudonym, AGP_PSEUDONYM_LEN));
    AGP_TRY(bind_i64(st, 2, (int64_t)a->epoch));
    AGP_TRY(bind_i64(st, 3, (int64_t)a->n));
    AGP_TRY(bind_i64(st, 4, time_ceil(add_sat(a->now, EPOCH_TTL), DAY)));
    AGP_TRY(bind_i64(st, 5, a->now));
    return step_done(st);
}

static agp_err sql_count(struct agp_istore *b, const uint8_t pseudonym[AGP_PSEUDONYM_LEN],
                         unsigned n, unsigned day_limit, unsigned epoch_limit, uint32_t epoch,
                         int64_t now)
{
    struct sql_store *s = (struct sql_store *)b;
    struct count_args a;

    a.pseudonym = pseudonym;
    a.n = n;
    a.day_limit = day_limit;
    a.epoch_limit = epoch_limit;
    a.epoch = epoch;
    a.now = now;
    return run(s, now, 1, count_body, &a);
}

static agp_err uncount_body(struct sql_store *s, void *arg)
{
    const struct count_args *a = arg;
    sqlite3_stmt *st = s->st[ST_DAY_SUB];

    AGP_TRY(bind_blob(st, 1, a->pseudonym, AGP_PSEUDONYM_LEN));
    AGP_TRY(bind_i64(st, 2, day_of(a->now)));
    AGP_TRY(bind_i64(st, 3, (int64_t)a->n));
    AGP_TRY(step_done(st));

    st = s->st[ST_EPOCH_SUB];
    AGP_TRY(bind_blob(st, 1, a->pseudonym, AGP_PSEUDONYM_LEN));
    AGP_TRY(bind_i64(st, 2, (int64_t)a->epoch));
    AGP_TRY(bind_i64(st, 3, (int64_t)a->n));
    AGP_TRY(bind_i64(st, 4, a->now));
    return step_done(st);
}

static agp_err sql_uncount(struct agp_istore *b, const uint8_t pseudonym[AGP_PSEUDONYM_LEN],
                           unsigned n, uint32_t epoch, int64_t now)
{
    struct sql_store *s = (struct sql_store *)b;
    struct count_args a;

    memset(&a, 0, sizeof a);
    a.pseudonym = pseudonym;
    a.n = n;
    a.epoch = epoch;
    a.now = now;
    return run(s, 0, 0, uncount_body, &a); /* no sweep: it undoes, it does not move time */
}

struct evidence_args {
    const uint8_t *digest;
    int64_t expires_at, now;
};

static agp_err evidence_body(struct sql_store *s, void *arg)
{
    const struct evidence_args *a = arg;
    sqlite3_stmt *st = s->st[ST_EVIDENCE_ADD];
    /* an expiry already past still holds the digest, until the next hour boundary */
    int64_t expires = a->expires_at > a->now ? a->expires_at : time_ceil(add_sat(a->now, 1), HOUR);

    AGP_TRY(bind_blob(st, 1, a->digest, DIGEST_LEN));
    AGP_TRY(bind_i64(st, 2, expires));
    AGP_TRY(bind_i64(st, 3, a->now));
    AGP_TRY(step_done(st));
    return sqlite3_changes(s->db) == 1 ? AGP_OK : AGP_ERR_REPLAY;
}

static agp_err sql_evidence_once(struct agp_istore *b, const uint8_t digest[32], int64_t expires_at,
                                 int64_t now)
{
    struct sql_store *s = (struct sql_store *)b;
    struct evidence_args a;

    a.digest = digest;
    a.expires_at = expires_at;
    a.now = now;
    return run(s, now, 1, evidence_body, &a);
}

struct pickup_args {
    const uint8_t *id;
    const uint8_t *rec; /* put */
    uint8_t *out;       /* take */
    size_t len, cap;
    int64_t expires_at, now;
};

static agp_err pickup_put_body(struct sql_store *s, void *arg)
{
    const struct pickup_args *a = arg;
    sqlite3_stmt *st = s->st[ST_PICKUP_PUT];

    AGP_TRY(bind_blob(st, 1, a->id, AGP_PICKUP_ID_LEN));
    AGP_TRY(bind_blob(st, 2, a->rec, (int)a->len));
    AGP_TRY(bind_i64(st, 3, a->expires_at));
    AGP_TRY(bind_i64(st, 4, a->now));
    AGP_TRY(step_done(st));
    return sqlite3_changes(s->db) == 1 ? AGP_OK : AGP_ERR_REPLAY;
}

static agp_err sql_pickup_put(struct agp_istore *b, const uint8_t id[AGP_PICKUP_ID_LEN],
                              const uint8_t *rec, size_t rec_len, int64_t expires_at, int64_t now)
{
    struct pickup_args a = {
        .id = id, .rec = rec, .len = rec_len, .expires_at = expires_at, .now = now};
    return run((struct sql_store *)b, now, 1, pickup_put_body, &a);
}

/* Read and delete in one transaction: two takes at once get it once. */
static agp_err pickup_take_body(struct sql_store *s, void *arg)
{
    struct pickup_args *a = arg;
    sqlite3_stmt *st = s->st[ST_PICKUP_GET];
    int64_t expires;
    int row, n;

    AGP_TRY(bind_blob(st, 1, a->id, AGP_PICKUP_ID_LEN));
    AGP_TRY(step_row(st, &row));
    AGP_ENSURE(row, AGP_ERR_NOT_FOUND);
    AGP_TRY(column_i64(st, 1, &expires));
    AGP_ENSURE(sqlite3_column_type(st, 0) == SQLITE_BLOB, AGP_ERR_IO);
    n = sqlite3_column_bytes(st, 0);
    AGP_ENSURE(n > 0 && n <= AGP_PICKUP_MAX, AGP_ERR_IO);
    AGP_ENSURE(a->now < expires, AGP_ERR_NOT_FOUND);
    AGP_ENSURE((size_t)n <= a->cap, AGP_ERR_TOO_BIG);
    memcpy(a->out, sqlite3_column_blob(st, 0), (size_t)n);
    a->len = (size_t)n;
    st = s->st[ST_PICKUP_DEL];
    AGP_TRY(bind_blob(st, 1, a->id, AGP_PICKUP_ID_LEN));
    return step_done(st);
}

static agp_err sql_pickup_take(struct agp_istore *b, const uint8_t id[AGP_PICKUP_ID_LEN],
                               int64_t now, uint8_t *rec, size_t cap, size_t *rec_len)
{
    struct pickup_args a = {.id = id, .out = rec, .cap = cap, .now = now};
    agp_err err = run((struct sql_store *)b, now, 1, pickup_take_body, &a);
    if (err == AGP_OK) *rec_len = a.len; /* istore.c wipes rec on failure */
    return err;
}

static agp_err sql_sweep(struct agp_istore *b, int64_t now)
{
    struct sql_store *s = (struct sql_store *)b;
    agp_err err;

    pthread_mutex_lock(&s->mu);
    err = transact(s, sweep_body, &now);
    checkpoint(s);
    if (err == AGP_OK) {
        s->swept = 1;
        s->last_sweep = now;
    }
    pthread_mutex_unlock(&s->mu);
    return err;
}

/* Frees what open made of s, whatever it got to; NULL is fine. */
static void sql_free(struct sql_store *s)
{
    size_t i;

    if (s == NULL) return;
    for (i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->st[i]); /* NULL is a no-op */
    sqlite3_close(s->db);           /* checkpoints; NULL is a no-op */
    if (s->have_mu) pthread_mutex_destroy(&s->mu);
    agp_wipe(s, sizeof *s);
    free(s);
}

/*
 * Creates path, 0600 whatever the umask, if it does not exist. An existing
 * file is not opened here (see open_mu); a dangling symlink is refused, as
 * SQLite would create its target with its own default mode.
 */
static agp_err create_file(const char *path)
{
    struct stat st;
    agp_err err = AGP_ERR_IO;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

    if (fd < 0) return errno == EEXIST && stat(path, &st) == 0 ? AGP_OK : AGP_ERR_IO;
    if (fchmod(fd, 0600) == 0) err = AGP_OK;
    close(fd);
    return err;
}

/* chmod 0600 of path + suffix, if it exists. */
static agp_err protect(const char *path, const char *suffix)
{
    size_t n = strlen(path), m = strlen(suffix);
    char *p;
    agp_err err = AGP_ERR_NOMEM;

    if ((p = malloc(n + m + 1)) == NULL) goto out;
    memcpy(p, path, n);
    memcpy(p + n, suffix, m + 1);
    err = AGP_OK;
    if (chmod(p, 0600) != 0 && errno != ENOENT) err = AGP_ERR_IO;
out:
    free(p);
    return err;
}

/* The single integer a query returns. */
static agp_err query_i64(sqlite3 *db, const char *sql, int64_t *v)
{
    sqlite3_stmt *st = NULL;
    int row;
    agp_err err = AGP_ERR_IO;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) goto out;
    if ((err = step_row(st, &row)) != AGP_OK) goto out;
    err = AGP_ERR_IO;
    if (!row) goto out;
    err = column_i64(st, 0, v);
out:
    sqlite3_finalize(st);
    return err;
}

/*
 * Connection settings. The journal mode is the first statement that reads
 * the file (preparing it reads the schema), so this is where a file that is
 * not SQLite shows: AGP_ERR_ENCODING.
 */
static agp_err configure(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    const unsigned char *mode;
    int rc;
    agp_err err = AGP_ERR_IO;

    if (sqlite3_exec(db, "PRAGMA busy_timeout = " BUSY_MS, NULL, NULL, NULL) != SQLITE_OK) goto out;
    rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_NOTADB) err = AGP_ERR_ENCODING;
    if (rc != SQLITE_ROW) goto out;
    /* SQLite keeps the old mode where WAL cannot work (no shared memory) */
    mode = sqlite3_column_text(st, 0);
    if (mode == NULL || strcmp((const char *)mode, "wal") != 0) goto out;
    if (sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA secure_delete = ON", NULL, NULL, NULL) != SQLITE_OK)
        goto out;
    err = AGP_OK;
out:
    sqlite3_finalize(st);
    return err;
}

/*
 * Creates the schema in a new file, accepts version 1, refuses the rest. The
 * check and the creation share one write transaction, so two processes
 * opening a new file at once create it once.
 */
static agp_err check_schema(sqlite3 *db)
{
    int64_t version, objects;
    int in_tx = 0;
    agp_err err = AGP_ERR_IO;

    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) goto out;
    in_tx = 1;
    if ((err = query_i64(db, "PRAGMA user_version", &version)) != AGP_OK) goto out;
    if (version == 0) {
        if ((err = query_i64(db, "SELECT count(*) FROM sqlite_master", &objects)) != AGP_OK)
            goto out;
        err = AGP_ERR_ENCODING; /* someone else's database */
        if (objects != 0) goto out;
        err = AGP_ERR_IO;
        if (sqlite3_exec(db, schema_sql, NULL, NULL, NULL) != SQLITE_OK) goto out;
    } else if (version == 1) {
        err = AGP_ERR_ENCODING; /* version 1 without its hourly table: not ours */
        if (sqlite3_exec(db, migrate_1_sql, NULL, NULL, NULL) != SQLITE_OK) goto out;
    } else if (version == 2) {
        err = AGP_ERR_ENCODING; /* a version-2 file that already has such a table: not ours */
        if (sqlite3_exec(db, migrate_2_sql, NULL, NULL, NULL) != SQLITE_OK) goto out;
    } else if (version != SCHEMA_VERSION) {
        err = AGP_ERR_ENCODING;
        goto out;
    }
    err = AGP_ERR_IO;
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) goto out;
    in_tx = 0;
    err = AGP_OK;
out:
    if (in_tx && !sqlite3_get_autocommit(db)) (void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return err;
}

/* see agepass/istore.h */
static void sql_free_base(struct agp_istore *b)
{
    sql_free((struct sql_store *)b);
}

static const struct agp_istore_ops sql_ops = {
    sql_grant_put,     sql_grant_take, sql_grant_give_back, sql_count, sql_uncount,
    sql_evidence_once, sql_pickup_put, sql_pickup_take,     sql_sweep, sql_free_base};

/* see agepass/istore.h */
agp_err agp_istore_open_sqlite(struct agp_istore **out, const char *path)
{
    struct sql_store *s = NULL;
    int locked = 0, rc;
    size_t i;
    agp_err err = AGP_ERR_ARG;

    if (out != NULL) *out = NULL;
    if (out == NULL || path == NULL || path[0] == '\0') goto out;
    err = AGP_ERR_NOMEM;
    if ((s = calloc(1, sizeof *s)) == NULL) goto out;
    s->base.ops = &sql_ops;
    if (pthread_mutex_init(&s->mu, NULL) != 0) goto out;
    s->have_mu = 1;

    pthread_mutex_lock(&open_mu);
    locked = 1;
    if ((err = create_file(path)) != AGP_OK) goto out;
    err = AGP_ERR_IO;
    rc = sqlite3_open_v2(path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) goto out; /* s->db, if set, is closed by sql_free */
    if ((err = configure(s->db)) != AGP_OK) goto out;
    if ((err = check_schema(s->db)) != AGP_OK) goto out;
    /* the schema transaction made the -wal and -shm files; SQLite gave them the file's mode */
    if ((err = protect(path, "-wal")) != AGP_OK || (err = protect(path, "-shm")) != AGP_OK)
        goto out;
    for (i = 0; i < ST_COUNT; i++) {
        rc = sqlite3_prepare_v3(s->db, statement_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                                NULL);
        /* version 1 without our tables: not a store of ours */
        err = rc == SQLITE_ERROR ? AGP_ERR_ENCODING : AGP_ERR_IO;
        if (rc != SQLITE_OK) goto out;
    }
    *out = &s->base;
    s = NULL;
    err = AGP_OK;
out:
    if (locked) pthread_mutex_unlock(&open_mu);
    sql_free(s);
    return err;
}
