/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_istore.c: the issuer's store of agepass/istore.h, on
 * SQLite, and on Redis when given redis://HOST:PORT (ctest runs it so
 * through tests/integration/replay_redis.sh, which starts a redis-server).
 *
 * Both backends. Grants: put, take, expiry, unknown ids, taking more than
 * is left (nothing taken), giving back, duplicate ids, the widest numbers.
 * Counting: the UTC day's count as the clock moves by hours and over
 * midnight, the limit per key epoch, limits of 0, refusals that count
 * nothing, epoch counts that expire at a day boundary. Evidence: once, replay, accepted again after
 * its expiry. Pickups: taken once, not after their expiry, the first put
 * kept. Reopening, and a process killed before it closed the store.
 * 4 threads taking from one grant, then counting against one day cap
 * (exactly the cap passes); 2 processes taking from one grant.
 *
 * SQLite only: modes 0600 (the file, -wal, -shm) whatever the umask.
 * Sweeping, checked with COUNT(*) through a second SQLite connection; the
 * sweep the other calls run once a minute. Failures inside a transaction
 * (a trigger that aborts the second statement) and a write lock held
 * elsewhere: AGP_ERR_IO, nothing left behind, the store usable afterwards.
 * Files that are not a store of ours. A scan of the raw file for what must
 * and must not be there, before and after the sweep that forgets a person;
 * the -wal file empty after each write; every stored time on an hour (a
 * day, for what the store computes itself) boundary; a version-1 file (hourly
 * buckets) taken over.
 *
 * Redis only: every key has a TTL, to an hour boundary; two stores (two issuers) share grants
 * and caps; Redis stopped: every call AGP_ERR_IO; started again (empty,
 * without the scripts: EVAL after NOSCRIPT): the same store works; hung
 * (SIGSTOP): AGP_ERR_IO after about the timeout; bad URLs.
 *
 * usage: test_istore [VECTOR_DIR]   (the argument is ignored)
 *        test_istore redis://HOST:PORT   (databases 1 to 7 are used)
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agepass/istore.h"
#include "test.h"

/*
 * The tests' clock: the next hour boundary but one, so that the Redis
 * backend's TTLs, which run on the wall clock, outlast every expiry the
 * tests give (the answers follow the `now` passed in, in both backends).
 */
#define T0   t0
#define HOUR ((int64_t)3600)
#define DAY  (24 * HOUR)

static int64_t t0;

/* The first day boundary at or after t (t > 0). */
static int64_t day_ceil(int64_t t)
{
    return (t + DAY - 1) / DAY * DAY;
}
static char dir[4096];
static const char *redis_url; /* set: the checks run against Redis, else SQLite */

/* dir/name, in a static buffer (one at a time). */
static const char *path_of(const char *name)
{
    static char p[4400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

/* A 32-byte id or digest, or a 16-byte pseudonym, from a family and a counter. */
static void id_of(uint8_t *out, size_t len, uint8_t family, uint32_t i)
{
    memset(out, 0, len);
    out[0] = family;
    out[len - 4] = (uint8_t)(i >> 24);
    out[len - 3] = (uint8_t)(i >> 16);
    out[len - 2] = (uint8_t)(i >> 8);
    out[len - 1] = (uint8_t)i;
}

/*
 * Opens the store the checks run on: the SQLite file `name` in dir, or
 * Redis database `db` (each check has its own, so they cannot meet).
 */
static agp_err open_store(struct agp_istore **s, const char *name, unsigned db)
{
    char url[300];
    if (redis_url == NULL) return agp_istore_open_sqlite(s, path_of(name));
    snprintf(url, sizeof url, "%s/%u", redis_url, db);
    return agp_istore_open_redis(s, url);
}

/* The integer `sql` returns from the file at p, through a connection of our own; -1 on error. */
static int64_t query(const char *p, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_busy_timeout(db, 5000) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = (int64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Runs sql on the file at p through a connection of our own; 0 on success. */
static int exec_sql(const char *p, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_busy_timeout(db, 5000);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

static void write_file(const char *p, const void *data, size_t n)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    EXPECT(fd >= 0);
    if (fd < 0) return;
    EXPECT(write(fd, data, n) == (ssize_t)n);
    close(fd);
}

static void check_grants(void)
{
    struct agp_istore *s = NULL;
    uint8_t id[AGP_GRANT_ID_LEN], id2[AGP_GRANT_ID_LEN], nym[AGP_PSEUDONYM_LEN];
    uint8_t got[AGP_PSEUDONYM_LEN], zero[AGP_PSEUDONYM_LEN] = {0};
    unsigned age = 0;
    const char *p = path_of("grants.db");
    bool sql = redis_url == NULL;

    id_of(id, sizeof id, 'g', 1);
    id_of(id2, sizeof id2, 'g', 2);
    id_of(nym, sizeof nym, 'p', 1);
    EXPECT_OK(open_store(&s, "grants.db", 1));
    EXPECT(s != NULL);
    EXPECT_OK(agp_istore_grant_put(s, id, 18, 5, T0 + 600, nym));
    EXPECT_ERR(agp_istore_grant_put(s, id, 16, 9, T0 + 900, nym), AGP_ERR_ARG); /* duplicate */

    /* take: the grant's age and person come back */
    EXPECT_OK(agp_istore_grant_take(s, id, 2, T0, &age, got));
    EXPECT(age == 18);
    EXPECT_BYTES(got, nym, sizeof nym);
    /* more than is left: nothing taken, outputs zeroed */
    age = 99;
    memset(got, 0xaa, sizeof got);
    EXPECT_ERR(agp_istore_grant_take(s, id, 4, T0, &age, got), AGP_ERR_RANGE);
    EXPECT(age == 0);
    EXPECT_BYTES(got, zero, sizeof zero);
    EXPECT_OK(agp_istore_grant_take(s, id, 3, T0 + 1, &age, got)); /* exactly the 3 left */
    EXPECT_ERR(agp_istore_grant_take(s, id, 1, T0 + 1, &age, got), AGP_ERR_RANGE);
    /* give back after a failed issuance, then take again */
    EXPECT_OK(agp_istore_grant_give_back(s, id, 2));
    EXPECT_ERR(agp_istore_grant_take(s, id, 3, T0 + 2, &age, got), AGP_ERR_RANGE);
    EXPECT_OK(agp_istore_grant_take(s, id, 2, T0 + 2, &age, got));
    if (sql) EXPECT(query(p, "SELECT remaining FROM grants") == 0);
    /* unknown */
    EXPECT_ERR(agp_istore_grant_take(s, id2, 1, T0, &age, got), AGP_ERR_NOT_FOUND);
    EXPECT(age == 0);
    EXPECT_ERR(agp_istore_grant_give_back(s, id2, 1), AGP_ERR_NOT_FOUND);
    /* expiry: good while now < expires_at */
    EXPECT_OK(agp_istore_grant_put(s, id2, 13, 10, T0 + 600, nym));
    EXPECT_OK(agp_istore_grant_take(s, id2, 1, T0 + 599, &age, got));
    EXPECT(age == 13);
    memset(got, 0xaa, sizeof got);
    EXPECT_ERR(agp_istore_grant_take(s, id2, 1, T0 + 600, &age, got), AGP_ERR_EXPIRED);
    EXPECT(age == 0);
    EXPECT_BYTES(got, zero, sizeof zero);
    if (sql) EXPECT(query(p, "SELECT remaining FROM grants WHERE age = 13") == 9);
    /* the widest values */
    id_of(id2, sizeof id2, 'g', 3);
    EXPECT_OK(agp_istore_grant_put(s, id2, UINT32_MAX, UINT32_MAX, INT64_MAX, nym));
    EXPECT_OK(agp_istore_grant_take(s, id2, UINT32_MAX, INT64_MAX - 1, &age, got));
    EXPECT(age == UINT32_MAX);
    EXPECT_OK(agp_istore_grant_give_back(s, id2, UINT32_MAX));
    EXPECT_OK(agp_istore_grant_give_back(s, id2, UINT32_MAX)); /* no wrap-around */
    if (sql)
        EXPECT(query(p, "SELECT remaining FROM grants WHERE age = 4294967295") == 2 * 4294967295LL);
    /* 2 * (2^32 - 1) left, whichever backend: all but one, then one, then none */
    EXPECT_OK(agp_istore_grant_take(s, id2, UINT32_MAX, INT64_MAX - 1, &age, got));
    EXPECT_OK(agp_istore_grant_take(s, id2, UINT32_MAX - 1, INT64_MAX - 1, &age, got));
    EXPECT_OK(agp_istore_grant_take(s, id2, 1, INT64_MAX - 1, &age, got));
    EXPECT_ERR(agp_istore_grant_take(s, id2, 1, INT64_MAX - 1, &age, got), AGP_ERR_RANGE);
    EXPECT_ERR(agp_istore_grant_take(s, id2, 1, INT64_MAX, &age, got), AGP_ERR_EXPIRED);
    /* misuse */
    EXPECT_ERR(agp_istore_grant_put(NULL, id, 18, 5, T0, nym), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_grant_put(s, NULL, 18, 5, T0, nym), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_grant_put(s, id, 18, 5, T0, NULL), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_grant_take(NULL, id, 1, T0, &age, got), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_grant_take(s, NULL, 1, T0, &age, got), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_grant_take(s, id, 0, T0, &age, got), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_grant_take(s, id, 1, T0, NULL, got), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_grant_take(s, id, 1, T0, &age, NULL), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_grant_give_back(NULL, id, 1), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_grant_give_back(s, NULL, 1), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_grant_give_back(s, id, 0), AGP_ERR_ARG);
    agp_istore_free(s);
    agp_istore_free(NULL);
}

static void check_count(void)
{
    struct agp_istore *s = NULL;
    uint8_t a[AGP_PSEUDONYM_LEN], b[AGP_PSEUDONYM_LEN];
    const char *p = path_of("count.db");
    int64_t d0 = day_ceil(T0 + 1), t = d0 + 1800; /* half past midnight, UTC */
    bool sql = redis_url == NULL;

    id_of(a, sizeof a, 'p', 1);
    id_of(b, sizeof b, 'p', 2);
    EXPECT_OK(open_store(&s, "count.db", 2));

    /* day limit 6, epoch limit out of the way */
    EXPECT_OK(agp_istore_count(s, a, 3, 6, 1000, 1, t));            /* day d: 3 */
    EXPECT_OK(agp_istore_count(s, a, 2, 6, 1000, 1, t + 5 * HOUR)); /* day d: 5 */
    EXPECT_ERR(agp_istore_count(s, a, 2, 6, 1000, 1, t + 10 * HOUR), AGP_ERR_RANGE);
    EXPECT_OK(agp_istore_count(s, a, 1, 6, 1000, 1, t + 10 * HOUR)); /* day d: 6 */
    EXPECT_ERR(agp_istore_count(s, a, 1, 6, 1000, 1, t + 10 * HOUR), AGP_ERR_RANGE);
    /* the last second of day d: still full */
    EXPECT_ERR(agp_istore_count(s, a, 1, 6, 1000, 1, d0 + DAY - 1), AGP_ERR_RANGE);
    /* midnight: day d+1 starts from 0 */
    EXPECT_OK(agp_istore_count(s, a, 4, 6, 1000, 1, d0 + DAY));
    EXPECT_OK(agp_istore_count(s, a, 2, 6, 1000, 1, d0 + DAY + 23 * HOUR));
    EXPECT_ERR(agp_istore_count(s, a, 1, 6, 1000, 1, d0 + 2 * DAY - 1), AGP_ERR_RANGE);
    /* a refused count counted nothing: the rows hold exactly what was accepted, one a day */
    if (sql) EXPECT(query(p, "SELECT SUM(n) FROM daily") == 6 + 6);
    if (sql) EXPECT(query(p, "SELECT COUNT(*) FROM daily") == 2);
    if (sql) EXPECT(query(p, "SELECT n FROM epochs") == 12);
    /* another person has a day of their own */
    EXPECT_OK(agp_istore_count(s, b, 6, 6, 1000, 1, d0 + DAY));

    /* epoch limit 10 per epoch id, day limit out of the way */
    t = T0 + 100 * DAY;
    EXPECT_OK(agp_istore_count(s, a, 4, 1000, 10, 7, t));
    EXPECT_OK(agp_istore_count(s, a, 6, 1000, 10, 7, t + 2 * DAY));
    EXPECT_ERR(agp_istore_count(s, a, 1, 1000, 10, 7, t + 3 * DAY), AGP_ERR_RANGE);
    EXPECT_OK(agp_istore_count(s, a, 10, 1000, 10, 8, t + 3 * DAY)); /* the next epoch */
    EXPECT_ERR(agp_istore_count(s, a, 1, 1000, 10, 8, t + 3 * DAY), AGP_ERR_RANGE);
    EXPECT_OK(agp_istore_count(s, b, 10, 1000, 10, 7, t + 3 * DAY)); /* another person */
    /* an epoch row lives until the day boundary 200 days after its first count, then
       starts over */
    if (sql)
        EXPECT(query(p, "SELECT expires FROM epochs WHERE epoch = 7 LIMIT 1") ==
               day_ceil(t + 200 * DAY));
    EXPECT_ERR(agp_istore_count(s, a, 1, 1000, 10, 7, day_ceil(t + 200 * DAY) - 1), AGP_ERR_RANGE);
    EXPECT_OK(agp_istore_count(s, a, 10, 1000, 10, 7, day_ceil(t + 200 * DAY)));
    EXPECT_ERR(agp_istore_count(s, a, 1, 1000, 10, 7, day_ceil(t + 200 * DAY)), AGP_ERR_RANGE);

    /* both limits at once, and limits of 0: nothing is allowed */
    t = T0 + 400 * DAY;
    EXPECT_ERR(agp_istore_count(s, a, 1, 0, 10, 9, t), AGP_ERR_RANGE);
    EXPECT_ERR(agp_istore_count(s, a, 1, 10, 0, 9, t), AGP_ERR_RANGE);
    EXPECT_OK(agp_istore_count(s, a, 5, 5, 8, 9, t));
    EXPECT_ERR(agp_istore_count(s, a, 1, 5, 8, 9, t), AGP_ERR_RANGE); /* the day */
    EXPECT_ERR(agp_istore_count(s, a, 4, 9, 8, 9, t), AGP_ERR_RANGE); /* the epoch */
    EXPECT_OK(agp_istore_count(s, a, 3, 9, 8, 9, t));
    EXPECT_OK(agp_istore_count(s, a, 1, 100, 100, 9, t));
    if (sql) EXPECT(query(p, "SELECT n FROM epochs WHERE epoch = 9") == 9);
    /* the largest numbers: no overflow */
    EXPECT_OK(agp_istore_count(s, b, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, t));
    EXPECT_ERR(agp_istore_count(s, b, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, t),
               AGP_ERR_RANGE);
    EXPECT_ERR(agp_istore_count(s, b, 1, UINT32_MAX, UINT32_MAX, UINT32_MAX, t), AGP_ERR_RANGE);
    if (sql) EXPECT(query(p, "SELECT n FROM epochs WHERE epoch = 4294967295") == 4294967295LL);
    /* misuse */
    EXPECT_ERR(agp_istore_count(NULL, a, 1, 1, 1, 1, t), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_count(s, NULL, 1, 1, 1, 1, t), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_count(s, a, 0, 1, 1, 1, t), AGP_ERR_ARG);
    /* times far from now (last: they sweep everything) */
    id_of(a, sizeof a, 'p', 3);
    EXPECT_OK(agp_istore_count(s, a, 1, 1, 1, 100, INT64_MIN));
    EXPECT_OK(agp_istore_count(s, a, 1, 1, 1, 101, INT64_MAX));
    /* a bucket in the future still counts: 1 + 1 of 2 */
    EXPECT_OK(agp_istore_count(s, a, 1, 2, 1, 102, -1));
    EXPECT_ERR(agp_istore_count(s, a, 1, 2, 1, 103, -1), AGP_ERR_RANGE);
    agp_istore_free(s);
}

/* Uncounting: what a request that issued nothing took from the day and the epoch comes back. */
static void check_uncount(void)
{
    struct agp_istore *s = NULL;
    uint8_t a[AGP_PSEUDONYM_LEN], b[AGP_PSEUDONYM_LEN];
    int64_t t = T0 + 1000 * DAY + 1800;
    int i;

    id_of(a, sizeof a, 'u', 1);
    id_of(b, sizeof b, 'u', 2);
    EXPECT_OK(open_store(&s, "uncount.db", 2));
    /* the day cap (5): a refused request given back leaves it whole, many times over */
    for (i = 0; i < 20; i++) {
        EXPECT_OK(agp_istore_count(s, a, 2, 5, 100, 1, t + i));
        EXPECT_OK(agp_istore_uncount(s, a, 2, 1, t + i));
    }
    EXPECT_OK(agp_istore_count(s, a, 5, 5, 100, 1, t + 30));
    EXPECT_ERR(agp_istore_count(s, a, 1, 5, 100, 1, t + 30), AGP_ERR_RANGE);
    EXPECT_OK(agp_istore_uncount(s, a, 1, 1, t + 30));
    EXPECT_OK(agp_istore_count(s, a, 1, 5, 100, 1, t + 30));
    EXPECT_ERR(agp_istore_count(s, a, 1, 5, 100, 1, t + 30), AGP_ERR_RANGE);
    /* the epoch cap (6) alike, in a later day */
    t += 2 * DAY;
    EXPECT_OK(agp_istore_count(s, a, 6, 100, 6, 2, t));
    EXPECT_ERR(agp_istore_count(s, a, 1, 100, 6, 2, t), AGP_ERR_RANGE);
    EXPECT_OK(agp_istore_uncount(s, a, 3, 2, t));
    EXPECT_OK(agp_istore_count(s, a, 3, 100, 6, 2, t));
    EXPECT_ERR(agp_istore_count(s, a, 1, 100, 6, 2, t), AGP_ERR_RANGE);
    /* never below 0: uncounting more than was counted frees no more than that */
    t += 2 * DAY;
    EXPECT_OK(agp_istore_count(s, b, 1, 3, 3, 3, t));
    EXPECT_OK(agp_istore_uncount(s, b, 10, 3, t));
    EXPECT_OK(agp_istore_count(s, b, 3, 3, 3, 3, t));
    EXPECT_ERR(agp_istore_count(s, b, 1, 3, 3, 3, t), AGP_ERR_RANGE);
    /* nothing counted: nothing to take back, no error */
    id_of(b, sizeof b, 'u', 3);
    EXPECT_OK(agp_istore_uncount(s, b, 1, 4, t));
    EXPECT_OK(agp_istore_count(s, b, 3, 3, 3, 4, t));
    /* another person's counts are not touched */
    EXPECT_ERR(agp_istore_count(s, a, 1, 100, 6, 2, t - 2 * DAY), AGP_ERR_RANGE);
    /* misuse */
    EXPECT_ERR(agp_istore_uncount(NULL, a, 1, 1, t), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_uncount(s, NULL, 1, 1, t), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_uncount(s, a, 0, 1, t), AGP_ERR_ARG);
    agp_istore_free(s);
}

static void check_evidence(void)
{
    struct agp_istore *s = NULL;
    uint8_t d[32], e[32];

    id_of(d, sizeof d, 'e', 1);
    id_of(e, sizeof e, 'e', 2);
    EXPECT_OK(open_store(&s, "evidence.db", 3));
    EXPECT_OK(agp_istore_evidence_once(s, d, T0 + 100, T0));
    EXPECT_ERR(agp_istore_evidence_once(s, d, T0 + 100, T0), AGP_ERR_REPLAY);
    EXPECT_ERR(agp_istore_evidence_once(s, d, T0 + 900, T0 + 99), AGP_ERR_REPLAY);
    EXPECT_OK(agp_istore_evidence_once(s, e, T0 + 100, T0 + 1));
    /* remembered while now < expires_at, then accepted again (and remembered anew) */
    EXPECT_OK(agp_istore_evidence_once(s, d, T0 + 200, T0 + 100));
    EXPECT_ERR(agp_istore_evidence_once(s, d, T0 + 200, T0 + 199), AGP_ERR_REPLAY);
    EXPECT_OK(agp_istore_evidence_once(s, d, T0 + 300, T0 + 200));
    /* an expiry already past still holds it until the next hour boundary (no finer time) */
    id_of(e, sizeof e, 'e', 3);
    EXPECT_OK(agp_istore_evidence_once(s, e, T0 - 50, T0 + 10));
    EXPECT_ERR(agp_istore_evidence_once(s, e, T0 - 50, T0 + 10), AGP_ERR_REPLAY);
    EXPECT_ERR(agp_istore_evidence_once(s, e, T0 - 50, T0 + HOUR - 1), AGP_ERR_REPLAY);
    EXPECT_OK(agp_istore_evidence_once(s, e, T0 - 50, T0 + HOUR));
    id_of(e, sizeof e, 'e', 4);
    EXPECT_OK(agp_istore_evidence_once(s, e, INT64_MIN, INT64_MAX - 1));
    EXPECT_ERR(agp_istore_evidence_once(s, e, INT64_MIN, INT64_MAX - 1), AGP_ERR_REPLAY);
    /* misuse */
    EXPECT_ERR(agp_istore_evidence_once(NULL, d, T0, T0), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_evidence_once(s, NULL, T0, T0), AGP_ERR_ARG);
    agp_istore_free(s);
}

/*
 * Pickups: put, taken once (a second take finds nothing), not taken after
 * its expiry, a live record not replaced (an expired one is), a short
 * buffer takes nothing, misuse.
 */
static void check_pickup(void)
{
    struct agp_istore *s = NULL;
    uint8_t id[AGP_PICKUP_ID_LEN], id2[AGP_PICKUP_ID_LEN], rec[AGP_PICKUP_MAX + 1], got[300];
    size_t len = 1;

    id_of(id, sizeof id, 'k', 1);
    id_of(id2, sizeof id2, 'k', 2);
    memset(rec, 0xa5, sizeof rec);
    rec[0] = 1;
    EXPECT_OK(open_store(&s, "pickup.db", 3));
    EXPECT_ERR(agp_istore_pickup_take(s, id, T0, got, sizeof got, &len), AGP_ERR_NOT_FOUND);
    EXPECT(len == 0);
    EXPECT_OK(agp_istore_pickup_put(s, id, rec, 83, T0 + HOUR, T0));
    /* the first answer stays */
    rec[0] = 2;
    EXPECT_ERR(agp_istore_pickup_put(s, id, rec, 83, T0 + HOUR, T0 + 1), AGP_ERR_REPLAY);
    /* a buffer too short: nothing taken */
    EXPECT_ERR(agp_istore_pickup_take(s, id, T0 + 2, got, 82, &len), AGP_ERR_TOO_BIG);
    EXPECT_OK(agp_istore_pickup_take(s, id, T0 + 2, got, sizeof got, &len));
    EXPECT(len == 83 && got[0] == 1 && got[82] == 0xa5);
    /* once */
    EXPECT_ERR(agp_istore_pickup_take(s, id, T0 + 3, got, sizeof got, &len), AGP_ERR_NOT_FOUND);
    EXPECT(len == 0);
    /* expired: not taken; then another may be put there */
    EXPECT_OK(agp_istore_pickup_put(s, id2, rec, AGP_PICKUP_MAX, T0 + HOUR, T0));
    EXPECT_ERR(agp_istore_pickup_take(s, id2, T0 + HOUR, got, sizeof got, &len), AGP_ERR_NOT_FOUND);
    rec[0] = 3;
    EXPECT_OK(agp_istore_pickup_put(s, id2, rec, 1, T0 + 2 * HOUR, T0 + HOUR));
    EXPECT_OK(agp_istore_pickup_take(s, id2, T0 + HOUR, got, sizeof got, &len));
    EXPECT(len == 1 && got[0] == 3);
    /* misuse */
    EXPECT_ERR(agp_istore_pickup_put(s, id, rec, 0, T0 + HOUR, T0), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_pickup_put(s, id, rec, AGP_PICKUP_MAX + 1, T0 + HOUR, T0), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_pickup_put(s, NULL, rec, 1, T0 + HOUR, T0), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_pickup_put(NULL, id, rec, 1, T0 + HOUR, T0), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_pickup_take(s, id, T0, NULL, 0, &len), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_pickup_take(s, NULL, T0, got, sizeof got, &len), AGP_ERR_ARG);
    /* one left for the TTL check (Redis) and the sweep check (SQLite) */
    EXPECT_OK(agp_istore_pickup_put(s, id, rec, 10, T0 + HOUR, T0));
    if (redis_url == NULL) {
        EXPECT(query(path_of("pickup.db"), "SELECT COUNT(*) FROM pickups") == 1);
        EXPECT_OK(agp_istore_sweep(s, T0 + HOUR - 1));
        EXPECT(query(path_of("pickup.db"), "SELECT COUNT(*) FROM pickups") == 1);
        EXPECT_OK(agp_istore_sweep(s, T0 + HOUR));
        EXPECT(query(path_of("pickup.db"), "SELECT COUNT(*) FROM pickups") == 0);
        EXPECT_OK(agp_istore_pickup_put(s, id, rec, 10, T0 + HOUR, T0));
    }
    agp_istore_free(s);
}

/* State written by one store is there for the next, also after a kill. */
static void check_reopen(void)
{
    struct agp_istore *s = NULL;
    uint8_t id[AGP_GRANT_ID_LEN], nym[AGP_PSEUDONYM_LEN], got[AGP_PSEUDONYM_LEN], d[32];
    const char *p = path_of("reopen.db");
    unsigned age;
    pid_t pid;
    int status = -1;

    id_of(id, sizeof id, 'g', 1);
    id_of(nym, sizeof nym, 'p', 1);
    id_of(d, sizeof d, 'e', 1);
    (void)p;
    EXPECT_OK(open_store(&s, "reopen.db", 4));
    EXPECT_OK(agp_istore_grant_put(s, id, 18, 10, T0 + 600, nym));
    EXPECT_OK(agp_istore_grant_take(s, id, 4, T0, &age, got));
    EXPECT_OK(agp_istore_count(s, nym, 4, 5, 100, 1, T0));
    EXPECT_OK(agp_istore_evidence_once(s, d, T0 + 600, T0));
    agp_istore_free(s);

    s = NULL;
    EXPECT_OK(open_store(&s, "reopen.db", 4));
    EXPECT_ERR(agp_istore_grant_take(s, id, 7, T0 + 1, &age, got), AGP_ERR_RANGE);
    EXPECT_ERR(agp_istore_count(s, nym, 2, 5, 100, 1, T0 + 1), AGP_ERR_RANGE);
    EXPECT_ERR(agp_istore_evidence_once(s, d, T0 + 600, T0 + 1), AGP_ERR_REPLAY);
    EXPECT_ERR(agp_istore_grant_put(s, id, 18, 10, T0 + 600, nym), AGP_ERR_ARG);
    agp_istore_free(s);

    /* a process killed with its store open: its commits are in the WAL, and stay */
    fflush(NULL);
    pid = fork();
    EXPECT(pid >= 0);
    if (pid == 0) {
        struct agp_istore *c = NULL;
        unsigned a;
        uint8_t g[AGP_PSEUDONYM_LEN];
        if (open_store(&c, "reopen.db", 4) != AGP_OK) _exit(1);
        if (agp_istore_grant_take(c, id, 6, T0 + 2, &a, g) != AGP_OK) _exit(2);
        raise(SIGKILL);
        _exit(3);
    }
    if (pid > 0) waitpid(pid, &status, 0);
    EXPECT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    s = NULL;
    EXPECT_OK(open_store(&s, "reopen.db", 4));
    EXPECT_ERR(agp_istore_grant_take(s, id, 1, T0 + 3, &age, got), AGP_ERR_RANGE);
    agp_istore_free(s);
}

static unsigned mode_of(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0xffffu;
}

/* 0600 for the file and its companions, whatever the umask. */
static void check_modes(void)
{
    static const mode_t masks[] = {0, 022, 077};
    char wal[4500], shm[4500];
    size_t i;

    for (i = 0; i < sizeof masks / sizeof masks[0]; i++) {
        struct agp_istore *s = NULL;
        uint8_t d[32];
        char name[32];
        mode_t old = umask(masks[i]);
        snprintf(name, sizeof name, "mode%zu.db", i);
        snprintf(wal, sizeof wal, "%s-wal", path_of(name));
        snprintf(shm, sizeof shm, "%s-shm", path_of(name));
        EXPECT_OK(agp_istore_open_sqlite(&s, path_of(name)));
        id_of(d, sizeof d, 'e', 1);
        EXPECT_OK(agp_istore_evidence_once(s, d, T0 + 1, T0));
        EXPECT(mode_of(path_of(name)) == 0600);
        EXPECT(mode_of(wal) == 0600);
        EXPECT(mode_of(shm) == 0600);
        agp_istore_free(s);
        umask(old);
        EXPECT(mode_of(path_of(name)) == 0600);
    }
    /* companions left by another with a wider mode are narrowed at open */
    {
        struct agp_istore *s = NULL;
        snprintf(wal, sizeof wal, "%s-wal", path_of("mode0.db"));
        write_file(wal, "", 0);
        EXPECT(chmod(wal, 0644) == 0);
        EXPECT_OK(agp_istore_open_sqlite(&s, path_of("mode0.db")));
        EXPECT(mode_of(wal) == 0600);
        agp_istore_free(s);
    }
}

/* Rows that expired go, live ones stay; the other calls sweep once a minute. */
static void check_sweep(void)
{
    struct agp_istore *s = NULL;
    uint8_t id[AGP_GRANT_ID_LEN], nym[AGP_PSEUDONYM_LEN], got[AGP_PSEUDONYM_LEN], d[32];
    const char *p = path_of("sweep.db");
    int64_t d0 = day_ceil(T0 + 1);
    unsigned age, i;

    id_of(nym, sizeof nym, 'p', 1);
    EXPECT_OK(agp_istore_open_sqlite(&s, p));
    /* 10 persons, each counted in hours 0, 1, 2 of day d (one row a day) and in epochs 1, 2 */
    for (i = 0; i < 10; i++) {
        id_of(nym, sizeof nym, 'p', i);
        EXPECT_OK(agp_istore_count(s, nym, 1, 10, 10, 1, d0));
        EXPECT_OK(agp_istore_count(s, nym, 1, 10, 10, 1, d0 + HOUR));
        EXPECT_OK(agp_istore_count(s, nym, 1, 10, 10, 2, d0 + 2 * HOUR));
    }
    /* then, back at T0 (or the counts' sweeps would take them), grants and digests */
    for (i = 0; i < 10; i++) {
        id_of(id, sizeof id, 'g', i);
        EXPECT_OK(agp_istore_grant_put(s, id, 18, 1, T0 + 100 + i * 100, nym)); /* 100..1000 */
        id_of(d, sizeof d, 'e', i);
        EXPECT_OK(agp_istore_evidence_once(s, d, T0 + 100 + i * 100, T0));
    }
    EXPECT(query(p, "SELECT COUNT(*) FROM grants") == 10);
    EXPECT(query(p, "SELECT COUNT(*) FROM evidence") == 10);
    EXPECT(query(p, "SELECT COUNT(*) FROM daily") == 10);
    EXPECT(query(p, "SELECT COUNT(*) FROM epochs") == 20);

    /* at T0 + 550: 5 grants and 5 digests expired (100..500) */
    EXPECT_OK(agp_istore_sweep(s, T0 + 550));
    EXPECT(query(p, "SELECT COUNT(*) FROM grants") == 5);
    EXPECT(query(p, "SELECT COUNT(*) FROM evidence") == 5);
    EXPECT(query(p, "SELECT COUNT(*) FROM daily") == 10);
    EXPECT(query(p, "SELECT COUNT(*) FROM epochs") == 20);
    id_of(id, sizeof id, 'g', 9);
    EXPECT_OK(agp_istore_grant_take(s, id, 1, T0 + 551, &age, got)); /* live ones work */

    /* day d's rows stay through day d+1, and go when day d+2 starts */
    EXPECT_OK(agp_istore_sweep(s, d0 + 2 * DAY - 1));
    EXPECT(query(p, "SELECT COUNT(*) FROM daily") == 10);
    EXPECT(query(p, "SELECT COUNT(*) FROM grants") == 0);
    EXPECT(query(p, "SELECT COUNT(*) FROM evidence") == 0);
    EXPECT_OK(agp_istore_sweep(s, d0 + 2 * DAY));
    EXPECT(query(p, "SELECT COUNT(*) FROM daily") == 0);
    EXPECT(query(p, "SELECT COUNT(*) FROM epochs") == 20);
    /* epoch rows at the day boundary after 200 days (epoch 2's, made 2 hours later: a day on) */
    EXPECT_OK(agp_istore_sweep(s, d0 + 200 * DAY - 1));
    EXPECT(query(p, "SELECT COUNT(*) FROM epochs") == 20);
    EXPECT_OK(agp_istore_sweep(s, d0 + 200 * DAY));
    EXPECT(query(p, "SELECT COUNT(*) FROM epochs") == 10);
    EXPECT_OK(agp_istore_sweep(s, d0 + 201 * DAY));
    EXPECT(query(p, "SELECT COUNT(*) FROM epochs") == 0);
    EXPECT_ERR(agp_istore_sweep(NULL, T0), AGP_ERR_ARG);

    /* the sweep other calls run: not within a minute of the last, then again */
    id_of(d, sizeof d, 'f', 1);
    EXPECT_OK(agp_istore_evidence_once(s, d, T0 + 300 * DAY + 10, T0 + 300 * DAY));
    EXPECT_OK(agp_istore_sweep(s, T0 + 300 * DAY));
    id_of(d, sizeof d, 'f', 2);
    EXPECT_OK(agp_istore_evidence_once(s, d, T0 + 300 * DAY + 100, T0 + 300 * DAY + 59));
    EXPECT(query(p, "SELECT COUNT(*) FROM evidence") == 2); /* f1 expired, not swept */
    id_of(d, sizeof d, 'f', 3);
    EXPECT_OK(agp_istore_evidence_once(s, d, T0 + 300 * DAY + 100, T0 + 300 * DAY + 60));
    EXPECT(query(p, "SELECT COUNT(*) FROM evidence") == 2); /* f1 swept, f3 added */
    agp_istore_free(s);
}

/*
 * Failures inside a transaction: a trigger aborts the second statement of a
 * call, after the first has written; the call fails with AGP_ERR_IO and the
 * first write is gone. A write lock held elsewhere past the busy timeout:
 * AGP_ERR_IO. After each, the store works.
 */
static void check_failures(void)
{
    struct agp_istore *s = NULL;
    uint8_t id[AGP_GRANT_ID_LEN], nym[AGP_PSEUDONYM_LEN], got[AGP_PSEUDONYM_LEN], d[32];
    uint8_t zero[AGP_PSEUDONYM_LEN] = {0};
    const char *p = path_of("fail.db");
    sqlite3 *db = NULL;
    unsigned age = 7;

    id_of(id, sizeof id, 'g', 1);
    id_of(nym, sizeof nym, 'p', 1);
    id_of(d, sizeof d, 'e', 1);
    EXPECT_OK(agp_istore_open_sqlite(&s, p));
    EXPECT_OK(agp_istore_grant_put(s, id, 18, 10, T0 + 600, nym));
    EXPECT_OK(agp_istore_count(s, nym, 1, 10, 10, 1, T0));

    /* count: the day's row is written, then the epoch row fails */
    EXPECT(exec_sql(p, "CREATE TRIGGER no_epochs BEFORE UPDATE ON epochs"
                       " BEGIN SELECT RAISE(ABORT, 'test'); END") == 0);
    EXPECT_ERR(agp_istore_count(s, nym, 2, 10, 10, 1, T0), AGP_ERR_IO);
    EXPECT(query(p, "SELECT SUM(n) FROM daily") == 1);
    EXPECT(exec_sql(p, "DROP TRIGGER no_epochs") == 0);
    EXPECT_OK(agp_istore_count(s, nym, 2, 10, 10, 1, T0));
    EXPECT(query(p, "SELECT SUM(n) FROM daily") == 3);
    EXPECT(query(p, "SELECT n FROM epochs") == 3);

    /* take: the grant is read, then its update fails; outputs zeroed */
    EXPECT(exec_sql(p, "CREATE TRIGGER no_take BEFORE UPDATE ON grants"
                       " BEGIN SELECT RAISE(ABORT, 'test'); END") == 0);
    memset(got, 0xaa, sizeof got);
    EXPECT_ERR(agp_istore_grant_take(s, id, 1, T0, &age, got), AGP_ERR_IO);
    EXPECT(age == 0);
    EXPECT_BYTES(got, zero, sizeof zero);
    EXPECT_ERR(agp_istore_grant_give_back(s, id, 1), AGP_ERR_IO);
    EXPECT(exec_sql(p, "DROP TRIGGER no_take") == 0);
    EXPECT(query(p, "SELECT remaining FROM grants") == 10);
    EXPECT_OK(agp_istore_grant_take(s, id, 10, T0, &age, got));

    /* a write lock held by another connection past the 5 s busy timeout */
    EXPECT(sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
    EXPECT(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    EXPECT_ERR(agp_istore_evidence_once(s, d, T0 + 600, T0), AGP_ERR_IO);
    EXPECT(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    EXPECT_OK(agp_istore_evidence_once(s, d, T0 + 600, T0)); /* the first time after all */
    EXPECT_ERR(agp_istore_evidence_once(s, d, T0 + 600, T0), AGP_ERR_REPLAY);
    agp_istore_free(s);
}

#define RACE_THREADS 4
#define RACE_TRIES   300
#define RACE_TOKENS  1000

struct racer {
    struct agp_istore *s;
    const uint8_t *id;
    const uint8_t *nym; /* set: count for this person (day cap RACE_TOKENS) instead of taking */
    unsigned ok, range, other;
};

static void *race(void *arg)
{
    struct racer *x = arg;
    uint8_t nym[AGP_PSEUDONYM_LEN];
    unsigned i, age;
    for (i = 0; i < RACE_TRIES; i++) {
        agp_err e = x->nym != NULL
                        ? agp_istore_count(x->s, x->nym, 1, RACE_TOKENS, UINT32_MAX, 1, T0)
                        : agp_istore_grant_take(x->s, x->id, 1, T0, &age, nym);
        if (e == AGP_OK)
            x->ok++;
        else if (e == AGP_ERR_RANGE)
            x->range++;
        else
            x->other++;
    }
    return NULL;
}

/*
 * 4 threads on one store taking from one grant, then counting for one
 * person; then 2 processes on one file (or Redis), taking from one grant.
 */
static void check_race(void)
{
    struct racer x[RACE_THREADS];
    pthread_t th[RACE_THREADS];
    struct agp_istore *s = NULL;
    uint8_t id[AGP_GRANT_ID_LEN], nym[AGP_PSEUDONYM_LEN];
    const char *p = path_of("race.db");
    bool sql = redis_url == NULL;
    unsigned k, ok = 0, range = 0, other = 0, child[2] = {0, 0};
    int up[2] = {-1, -1}, down[2] = {-1, -1}, status = -1;
    char c = 0;
    pid_t pid;

    id_of(id, sizeof id, 'g', 1);
    id_of(nym, sizeof nym, 'p', 1);
    EXPECT_OK(open_store(&s, "race.db", 5));
    EXPECT_OK(agp_istore_grant_put(s, id, 18, RACE_TOKENS, T0 + 600, nym));
    memset(x, 0, sizeof x);
    for (k = 0; k < RACE_THREADS; k++) {
        x[k].s = s;
        x[k].id = id;
        EXPECT(pthread_create(&th[k], NULL, race, &x[k]) == 0);
    }
    for (k = 0; k < RACE_THREADS; k++)
        pthread_join(th[k], NULL);
    for (k = 0; k < RACE_THREADS; k++)
        ok += x[k].ok, range += x[k].range, other += x[k].other;
    EXPECT(ok == RACE_TOKENS);
    EXPECT(range == RACE_THREADS * RACE_TRIES - RACE_TOKENS);
    EXPECT(other == 0);
    if (sql) EXPECT(query(p, "SELECT remaining FROM grants") == 0);

    /* the same race on a day cap: exactly the cap is counted */
    memset(x, 0, sizeof x);
    for (k = 0; k < RACE_THREADS; k++) {
        x[k].s = s;
        x[k].nym = nym;
        EXPECT(pthread_create(&th[k], NULL, race, &x[k]) == 0);
    }
    for (k = 0; k < RACE_THREADS; k++)
        pthread_join(th[k], NULL);
    ok = range = other = 0;
    for (k = 0; k < RACE_THREADS; k++)
        ok += x[k].ok, range += x[k].range, other += x[k].other;
    EXPECT(ok == RACE_TOKENS);
    EXPECT(range == RACE_THREADS * RACE_TRIES - RACE_TOKENS);
    EXPECT(other == 0);
    EXPECT_ERR(agp_istore_count(s, nym, 1, RACE_TOKENS, UINT32_MAX, 1, T0), AGP_ERR_RANGE);
    EXPECT_OK(agp_istore_count(s, nym, 1, RACE_TOKENS + 1, UINT32_MAX, 1, T0));

    /*
     * Two processes, 300 tries each, 500 tokens. Each opens a store of its
     * own after the fork (a connection must not cross one) and frees it, and
     * both start together: the child says it is ready, the parent says go.
     */
    id_of(id, sizeof id, 'g', 2);
    EXPECT_OK(agp_istore_grant_put(s, id, 18, 500, T0 + 600, nym));
    agp_istore_free(s);
    s = NULL;
    EXPECT(pipe(up) == 0 && pipe(down) == 0);
    fflush(NULL);
    pid = fork();
    EXPECT(pid >= 0);
    if (pid == 0) {
        struct racer me;
        unsigned report[2];
        int opened;
        memset(&me, 0, sizeof me);
        me.id = id;
        close(up[0]);
        close(down[1]);
        opened = open_store(&me.s, "race.db", 5) == AGP_OK;
        if (opened && write(up[1], "r", 1) == 1 && read(down[0], &c, 1) == 1) race(&me);
        agp_istore_free(me.s);
        report[0] = me.ok;
        report[1] = opened ? me.other : 1;
        _exit(write(up[1], report, sizeof report) == (ssize_t)sizeof report ? 0 : 1);
    }
    close(up[1]);
    close(down[0]);
    memset(x, 0, sizeof x);
    x[0].id = id;
    EXPECT_OK(open_store(&x[0].s, "race.db", 5));
    EXPECT(read(up[0], &c, 1) == 1 && c == 'r');
    EXPECT(write(down[1], "g", 1) == 1);
    race(&x[0]);
    EXPECT(read(up[0], child, sizeof child) == (ssize_t)sizeof child);
    if (pid > 0) waitpid(pid, &status, 0);
    EXPECT(WIFEXITED(status));
    close(up[0]);
    close(down[1]);
    EXPECT(x[0].other == 0 && child[1] == 0);
    EXPECT(x[0].ok + child[0] == 500);
    if (sql) EXPECT(query(p, "SELECT SUM(remaining) FROM grants") == 0);
    EXPECT_ERR(agp_istore_grant_take(x[0].s, id, 1, T0, &ok, nym), AGP_ERR_RANGE);
    agp_istore_free(x[0].s);
}

/*
 * A version-1 file, whose day counters were hourly buckets (each giving
 * the hour of a request), is taken over: the hourly table goes, the daily
 * one comes, the grants stay.
 */
static void check_migrate(void)
{
    static const char v1[] =
        "CREATE TABLE grants(id BLOB PRIMARY KEY, age INTEGER NOT NULL, remaining INTEGER NOT"
        " NULL, expires INTEGER NOT NULL, pseudonym BLOB NOT NULL) WITHOUT ROWID;"
        "CREATE INDEX grants_expires ON grants(expires);"
        "CREATE TABLE hourly(pseudonym BLOB NOT NULL, hour INTEGER NOT NULL, n INTEGER NOT NULL,"
        " PRIMARY KEY(pseudonym, hour)) WITHOUT ROWID;"
        "CREATE INDEX hourly_hour ON hourly(hour);"
        "CREATE TABLE epochs(pseudonym BLOB NOT NULL, epoch INTEGER NOT NULL, n INTEGER NOT NULL,"
        " expires INTEGER NOT NULL, PRIMARY KEY(pseudonym, epoch)) WITHOUT ROWID;"
        "CREATE INDEX epochs_expires ON epochs(expires);"
        "CREATE TABLE evidence(digest BLOB PRIMARY KEY, expires INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE INDEX evidence_expires ON evidence(expires);"
        "INSERT INTO hourly VALUES(x'00', 1, 5);"
        "PRAGMA user_version = 1;";
    struct agp_istore *s = NULL;
    const char *p = path_of("migrate.db");
    uint8_t nym[AGP_PSEUDONYM_LEN];

    id_of(nym, sizeof nym, 'p', 1);
    EXPECT(exec_sql(p, v1) == 0);
    EXPECT_OK(agp_istore_open_sqlite(&s, p));
    EXPECT_OK(agp_istore_count(s, nym, 2, 2, 10, 1, T0));
    EXPECT_ERR(agp_istore_count(s, nym, 1, 2, 10, 1, T0), AGP_ERR_RANGE);
    agp_istore_free(s);
    EXPECT(query(p, "PRAGMA user_version") == 3);
    EXPECT(query(p, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'hourly'") == 0);
    EXPECT(query(p, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'pickups'") == 1);
    EXPECT(query(p, "SELECT SUM(n) FROM daily") == 2);

    /* version 2 (no pickups): gets the table, keeps the rest */
    p = path_of("migrate2.db");
    EXPECT_OK(agp_istore_open_sqlite(&s, p));
    EXPECT_OK(agp_istore_count(s, nym, 1, 2, 10, 1, T0));
    agp_istore_free(s);
    s = NULL;
    EXPECT(exec_sql(p, "DROP TABLE pickups; PRAGMA user_version = 2;") == 0);
    EXPECT_OK(agp_istore_open_sqlite(&s, p));
    EXPECT_ERR(agp_istore_count(s, nym, 2, 2, 10, 1, T0), AGP_ERR_RANGE);
    {
        uint8_t id[AGP_PICKUP_ID_LEN], rec[8] = "record", got[8];
        size_t len = 0;
        id_of(id, sizeof id, 'k', 1);
        EXPECT_OK(agp_istore_pickup_put(s, id, rec, 6, T0 + HOUR, T0));
        EXPECT_OK(agp_istore_pickup_take(s, id, T0, got, sizeof got, &len));
        EXPECT(len == 6 && memcmp(got, rec, 6) == 0);
    }
    agp_istore_free(s);
    EXPECT(query(p, "PRAGMA user_version") == 3);
}

/* Files that are not a store of ours, and paths that cannot be one. */
static void check_foreign(void)
{
    struct agp_istore *s = NULL;
    char text[4096], target[4500];
    struct stat st;

    memset(text, 'x', sizeof text);
    write_file(path_of("text.db"), text, sizeof text);
    s = (struct agp_istore *)&s;
    EXPECT_ERR(agp_istore_open_sqlite(&s, path_of("text.db")), AGP_ERR_ENCODING);
    EXPECT(s == NULL);
    EXPECT(stat(path_of("text.db"), &st) == 0 && st.st_size == (off_t)sizeof text); /* untouched */
    write_file(path_of("short.db"), "not sqlite", 10);
    EXPECT_ERR(agp_istore_open_sqlite(&s, path_of("short.db")), AGP_ERR_ENCODING);
    EXPECT(s == NULL);
    /* a SQLite header, then garbage */
    memcpy(text, "SQLite format 3", 16);
    write_file(path_of("torn.db"), text, sizeof text);
    EXPECT_FAIL(agp_istore_open_sqlite(&s, path_of("torn.db")));

    /* someone else's database, another version of ours */
    EXPECT(exec_sql(path_of("other.db"), "CREATE TABLE users(name TEXT)") == 0);
    EXPECT_ERR(agp_istore_open_sqlite(&s, path_of("other.db")), AGP_ERR_ENCODING);
    EXPECT(query(path_of("other.db"), "SELECT COUNT(*) FROM sqlite_master") == 1);
    EXPECT(exec_sql(path_of("v4.db"), "PRAGMA user_version = 4") == 0);
    EXPECT_ERR(agp_istore_open_sqlite(&s, path_of("v4.db")), AGP_ERR_ENCODING);
    EXPECT(exec_sql(path_of("v3.db"), "PRAGMA user_version = 3") == 0); /* no tables */
    EXPECT_ERR(agp_istore_open_sqlite(&s, path_of("v3.db")), AGP_ERR_ENCODING);
    EXPECT(exec_sql(path_of("v2.db"), "PRAGMA user_version = 2") == 0); /* no tables */
    EXPECT_ERR(agp_istore_open_sqlite(&s, path_of("v2.db")), AGP_ERR_ENCODING);
    EXPECT(exec_sql(path_of("v1.db"), "PRAGMA user_version = 1") == 0); /* no tables */
    EXPECT_ERR(agp_istore_open_sqlite(&s, path_of("v1.db")), AGP_ERR_ENCODING);
    EXPECT(s == NULL);

    /* paths */
    EXPECT_ERR(agp_istore_open_sqlite(&s, dir), AGP_ERR_IO);
    EXPECT_ERR(agp_istore_open_sqlite(&s, path_of("missing/x.db")), AGP_ERR_IO);
    snprintf(target, sizeof target, "%s", path_of("nowhere.db"));
    EXPECT(symlink(target, path_of("dangling.db")) == 0);
    EXPECT_ERR(agp_istore_open_sqlite(&s, path_of("dangling.db")), AGP_ERR_IO);
    EXPECT(stat(path_of("nowhere.db"), &st) != 0);
    EXPECT_ERR(agp_istore_open_sqlite(&s, ""), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_open_sqlite(&s, NULL), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_open_sqlite(NULL, path_of("x.db")), AGP_ERR_ARG);
    EXPECT(s == NULL);
}

/* 1 if needle occurs in the file at p. */
static int file_has(const char *p, const void *needle, size_t n)
{
    static unsigned char buf[1 << 20];
    size_t len = 0, i;
    int fd = open(p, O_RDONLY);
    ssize_t r;
    if (fd < 0) return 0;
    while (len < sizeof buf && (r = read(fd, buf + len, sizeof buf - len)) > 0)
        len += (size_t)r;
    close(fd);
    for (i = 0; i + n <= len; i++)
        if (memcmp(buf + i, needle, n) == 0) return 1;
    return 0;
}

/*
 * The file holds what it was given: the pseudonym is there (so the scan
 * sees the data), a name never given is not (a sanity check; the service's
 * privacy test is elsewhere).
 */
static void check_privacy(void)
{
    static const uint8_t nym[AGP_PSEUDONYM_LEN] = "\x8c\x1f\x44\xe0pseudo\x01\x02\x03\x04\x05";
    static const char name[] = "Erika Mustermann";
    struct agp_istore *s = NULL;
    uint8_t id[AGP_GRANT_ID_LEN];
    const char *p = path_of("privacy.db");
    char wal[4500];
    uint8_t got[AGP_PSEUDONYM_LEN];
    unsigned age;
    struct stat st;

    id_of(id, sizeof id, 'g', 1);
    snprintf(wal, sizeof wal, "%s-wal", p);
    EXPECT_OK(agp_istore_open_sqlite(&s, p));
    EXPECT_OK(agp_istore_grant_put(s, id, 18, 3, T0 + 600, nym));
    EXPECT_OK(agp_istore_count(s, nym, 1, 10, 10, 1, T0));
    /* the -wal is checkpointed and truncated after each write: no old row image waits there */
    EXPECT(stat(wal, &st) == 0 && st.st_size == 0);
    EXPECT_OK(agp_istore_grant_take(s, id, 1, T0 + 1, &age, got));
    EXPECT(stat(wal, &st) == 0 && st.st_size == 0);
    /* what the store computes itself is on a day boundary: the epoch row's expiry, the day */
    EXPECT(query(p, "SELECT COUNT(*) FROM epochs WHERE expires % 86400 != 0") == 0);
    EXPECT(query(p, "SELECT COUNT(*) FROM epochs") == 1);
    EXPECT(query(p, "SELECT day FROM daily") == T0 / DAY);
    agp_istore_free(s); /* the WAL is checkpointed into the file and removed */
    EXPECT(stat(p, &st) == 0 && st.st_size < (1 << 20));
    EXPECT(file_has(p, nym, sizeof nym));
    EXPECT(file_has(p, id, sizeof id));
    EXPECT(!file_has(p, name, sizeof name - 1));

    /* once all of it has expired and been swept, its bytes are gone (secure_delete) */
    s = NULL;
    EXPECT_OK(agp_istore_open_sqlite(&s, p));
    EXPECT_OK(agp_istore_sweep(s, T0 + 201 * DAY));
    agp_istore_free(s);
    EXPECT(!file_has(p, nym, sizeof nym));
    EXPECT(!file_has(p, id, sizeof id));
}

/* Runs the hook of tests/integration/replay_redis.sh with args; 0 on success. */
static int hook(const char *args)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "bash \"$AGP_REDIS_HOOK\" hook %s", args);
    return system(cmd);
}

/* The number redis-cli prints for args (one line of digits); -1 if none. */
static long long cli_number(const char *args)
{
    char cmd[1024], line[64];
    long long v = 0;
    size_t i;
    FILE *f;
    snprintf(cmd, sizeof cmd, "bash \"$AGP_REDIS_HOOK\" hook cli %s", args);
    if ((f = popen(cmd, "r")) == NULL) return -1;
    if (fgets(line, sizeof line, f) == NULL) line[0] = '\0';
    pclose(f);
    for (i = 0; line[i] >= '0' && line[i] <= '9' && i < 18; i++)
        v = v * 10 + (line[i] - '0');
    return i > 0 && (line[i] == '\n' || line[i] == '\0') ? v : -1;
}

/*
 * Every key the checks left in Redis (databases 1 to 5) has a TTL, and the
 * grants' hold their expiry: what the issuer keeps, it keeps for a while.
 */
static void check_redis_ttls(void)
{
    static const char no_ttl[] =
        "eval \"local n = 0 for _, k in ipairs(redis.call('KEYS', '*')) do"
        " if redis.call('PTTL', k) < 0 then n = n + 1 end end return n\" 0";
    char args[300];
    unsigned db;
    long long keys, total = 0, ttl;

    for (db = 1; db <= 5; db++) {
        snprintf(args, sizeof args, "-n %u dbsize", db);
        keys = cli_number(args);
        EXPECT(keys > 0);
        total += keys;
        snprintf(args, sizeof args, "-n %u %s", db, no_ttl);
        EXPECT(cli_number(args) == 0);
    }
    EXPECT(total >= 10);
    /* and each at an hour boundary (EXPIREAT), never a TTL counted from the request */
    for (db = 1; db <= 5; db++) {
        snprintf(args, sizeof args,
                 "-n %u eval \"local n = 0 for _, k in ipairs(redis.call('KEYS', '*')) do"
                 " if redis.call('PEXPIRETIME', k) %% 3600000 ~= 0 then n = n + 1 end end"
                 " return n\" 0",
                 db);
        EXPECT(cli_number(args) == 0);
    }
    /* the grant of check_race, put for T0 + 600 s: T0 is an hour or two away */
    snprintf(args, sizeof args, "-n 5 ttl agepass:issuer:g:67%062x", 2u);
    ttl = cli_number(args);
    EXPECT(ttl > HOUR && ttl <= 3 * HOUR + 5); /* T0 + 600 up to the hour boundary */
}

/* Two stores on one Redis, as two issuer instances: one grant, one cap. */
static void check_redis_shared(void)
{
    struct agp_istore *a = NULL, *b = NULL;
    uint8_t id[AGP_GRANT_ID_LEN], nym[AGP_PSEUDONYM_LEN], got[AGP_PSEUDONYM_LEN];
    unsigned age = 0, i, ok = 0;

    id_of(id, sizeof id, 'g', 1);
    id_of(nym, sizeof nym, 'p', 1);
    EXPECT_OK(open_store(&a, NULL, 6));
    EXPECT_OK(open_store(&b, NULL, 6));
    EXPECT_OK(agp_istore_grant_put(a, id, 18, 3, T0 + 600, nym));
    EXPECT_ERR(agp_istore_grant_put(b, id, 18, 3, T0 + 600, nym), AGP_ERR_ARG);
    EXPECT_OK(agp_istore_grant_take(b, id, 1, T0, &age, got));
    EXPECT(age == 18);
    EXPECT_BYTES(got, nym, sizeof nym);
    EXPECT_OK(agp_istore_grant_take(a, id, 1, T0, &age, got));
    EXPECT_OK(agp_istore_grant_take(b, id, 1, T0, &age, got));
    EXPECT_ERR(agp_istore_grant_take(a, id, 1, T0, &age, got), AGP_ERR_RANGE);
    for (i = 0; i < 10; i++)
        ok += agp_istore_count(i % 2 ? a : b, nym, 1, 7, 100, 1, T0) == AGP_OK;
    EXPECT(ok == 7);
    agp_istore_free(a);
    agp_istore_free(b);
}

/*
 * Redis stopped: every call is AGP_ERR_IO and nothing is issued; started
 * again (empty, without the scripts), the same store works without being
 * reopened. Redis hung (SIGSTOP): AGP_ERR_IO after about the 1 s timeout.
 */
static void check_redis_down(void)
{
    struct agp_istore *s = NULL;
    uint8_t id[AGP_GRANT_ID_LEN], nym[AGP_PSEUDONYM_LEN], got[AGP_PSEUDONYM_LEN], d[32];
    unsigned age = 0;
    time_t started;

    id_of(id, sizeof id, 'g', 1);
    id_of(nym, sizeof nym, 'p', 1);
    id_of(d, sizeof d, 'e', 1);
    EXPECT_OK(open_store(&s, NULL, 7));
    EXPECT_OK(agp_istore_grant_put(s, id, 18, 5, T0 + 600, nym));
    EXPECT_OK(agp_istore_grant_take(s, id, 1, T0, &age, got));
    EXPECT_OK(agp_istore_sweep(s, T0));

    EXPECT(hook("stop") == 0);
    EXPECT_ERR(agp_istore_grant_take(s, id, 1, T0, &age, got), AGP_ERR_IO);
    EXPECT(age == 0);
    EXPECT_ERR(agp_istore_grant_put(s, id, 18, 5, T0 + 600, nym), AGP_ERR_IO);
    EXPECT_ERR(agp_istore_grant_give_back(s, id, 1), AGP_ERR_IO);
    EXPECT_ERR(agp_istore_count(s, nym, 1, 10, 10, 1, T0), AGP_ERR_IO);
    EXPECT_ERR(agp_istore_evidence_once(s, d, T0 + 60, T0), AGP_ERR_IO);
    EXPECT_ERR(agp_istore_sweep(s, T0), AGP_ERR_IO);

    EXPECT(hook("start-empty") == 0); /* its files removed: as if nothing persisted */
    EXPECT_OK(agp_istore_sweep(s, T0));
    /* nothing persisted: the grant is gone */
    EXPECT_ERR(agp_istore_grant_take(s, id, 1, T0, &age, got), AGP_ERR_NOT_FOUND);
    EXPECT_OK(agp_istore_grant_put(s, id, 18, 2, T0 + 600, nym));
    EXPECT_OK(agp_istore_grant_take(s, id, 2, T0, &age, got));
    EXPECT_OK(agp_istore_count(s, nym, 2, 2, 10, 1, T0));
    EXPECT_ERR(agp_istore_count(s, nym, 1, 2, 10, 1, T0), AGP_ERR_RANGE);
    EXPECT_OK(agp_istore_evidence_once(s, d, T0 + 60, T0));
    EXPECT_ERR(agp_istore_evidence_once(s, d, T0 + 60, T0), AGP_ERR_REPLAY);

    EXPECT(hook("pause") == 0);
    started = time(NULL);
    EXPECT_ERR(agp_istore_count(s, nym, 1, 100, 100, 2, T0), AGP_ERR_IO);
    EXPECT(time(NULL) - started <= 3);
    EXPECT(hook("resume") == 0);
    EXPECT_OK(agp_istore_count(s, nym, 1, 100, 100, 3, T0));
    agp_istore_free(s);

    /* URLs: the verifier's rules (lib/redis.c) */
    s = (struct agp_istore *)&s;
    EXPECT_ERR(agp_istore_open_redis(&s, "redis://127.0.0.1:6379/16"), AGP_ERR_SYNTAX);
    EXPECT(s == NULL);
    EXPECT_ERR(agp_istore_open_redis(&s, "redis://user@127.0.0.1"), AGP_ERR_SYNTAX);
    EXPECT_ERR(agp_istore_open_redis(&s, "http://127.0.0.1"), AGP_ERR_SYNTAX);
    EXPECT_ERR(agp_istore_open_redis(&s, NULL), AGP_ERR_ARG);
    EXPECT_ERR(agp_istore_open_redis(NULL, "redis://127.0.0.1"), AGP_ERR_ARG);
}

/* Removes the files the checks made, then the directory. */
static void remove_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (d == NULL) return;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) unlink(path_of(e->d_name));
    closedir(d);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    const char *tmp = getenv("TMPDIR");

    /* argv[1]: the vector directory (unused), or redis://HOST:PORT from replay_redis.sh */
    if (argc > 1 && strncmp(argv[1], "redis://", 8) == 0) redis_url = argv[1];
    t0 = (int64_t)time(NULL);
    t0 += 2 * HOUR - t0 % HOUR;
    snprintf(dir, sizeof dir, "%s/agp-test-istore-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    check_grants();
    check_count();
    check_uncount();
    check_evidence();
    check_pickup();
    check_reopen();
    check_race();
    if (redis_url != NULL) {
        check_redis_ttls();
        check_redis_shared();
        check_redis_down();
        remove_dir();
        TEST_END();
    }
    check_modes();
    check_sweep();
    check_failures();
    check_foreign();
    check_migrate();
    check_privacy();
    remove_dir();
    TEST_END();
}
