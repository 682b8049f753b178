/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_replay.c: the replay store of agepass/replay.h. The tag:
 * RFC 4231 case 2 truncated, determinism, key and data dependence. The
 * embedded store: first spend, replay, expiry under a test clock, 100k tags
 * through several rehashes, expired slots that must not cut probe chains,
 * memory that stays bounded under churn, reopening (spent tags stay spent,
 * expired ones go, the log is compacted), a torn last record, logs that are
 * not ours, paths it cannot use, a second store on a locked log, a write
 * that fails halfway (RLIMIT_FSIZE), a SIGKILL before any fdatasync, and 4
 * threads racing over one set of tags. The Redis backend's URL parser, and failing closed when
 * nothing listens (the rest needs a server: tests/integration/replay_redis.sh).
 *
 * usage: test_replay [VECTOR_DIR]   (the argument is ignored)
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agepass/replay.h"
#include "agepass/util.h"
#include "test.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static char dir[4096];

/* dir/name, in a static buffer (one at a time). */
static const char *path_of(const char *name)
{
    static char p[4400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

/* A tag that is a counter, the kind of input that would cluster a bad hash. */
static void tag_of(uint8_t tag[AGP_REPLAY_TAG_LEN], uint32_t i, uint8_t family)
{
    memset(tag, 0, AGP_REPLAY_TAG_LEN);
    tag[0] = family;
    tag[12] = (uint8_t)(i >> 24);
    tag[13] = (uint8_t)(i >> 16);
    tag[14] = (uint8_t)(i >> 8);
    tag[15] = (uint8_t)i;
}

static off_t file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? st.st_size : -1;
}

/*
 * The records of a store's file that are not empty, in file order: their
 * count, and (up to max) their tags' first four bytes and expiries. -1 if
 * the file is not whole records after the header.
 */
static long read_records(const char *p, uint32_t *tags, uint32_t *expiries, size_t max)
{
    uint8_t head[16], r[20];
    FILE *f = fopen(p, "rb");
    size_t n;
    long count = 0;
    if (f == NULL) return -1;
    if (fread(head, 1, sizeof head, f) != sizeof head) count = -1;
    while (count >= 0 && (n = fread(r, 1, sizeof r, f)) > 0) {
        uint32_t e = (uint32_t)r[16] << 24 | (uint32_t)r[17] << 16 | (uint32_t)r[18] << 8 | r[19];
        if (n != sizeof r) {
            count = -1;
            break;
        }
        if (e == 0) continue;
        if ((size_t)count < max) {
            tags[count] =
                (uint32_t)r[12] << 24 | (uint32_t)r[13] << 16 | (uint32_t)r[14] << 8 | r[15];
            expiries[count] = e;
        }
        count++;
    }
    fclose(f);
    return count;
}

static long records_in(const char *p)
{
    return read_records(p, NULL, NULL, 0);
}

static void write_file(const char *p, const void *data, size_t n, int append)
{
    int fd = open(p, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0600);
    EXPECT(fd >= 0);
    if (fd < 0) return;
    EXPECT(write(fd, data, n) == (ssize_t)n);
    close(fd);
}

static void check_tag(void)
{
    /* RFC 4231 §4.3: HMAC-SHA256("Jefe", "what do ya want for nothing?") */
    struct test_bytes want = test_hex("5bdcc146bf60754e6a042426089575c7");
    const uint8_t *key = (const uint8_t *)"Jefe", *data = (const uint8_t *)"what do ya want for "
                                                                           "nothing?";
    uint8_t t1[AGP_REPLAY_TAG_LEN], t2[AGP_REPLAY_TAG_LEN];
    uint8_t k2[4] = {'J', 'e', 'f', 'f'};

    EXPECT_OK(agp_replay_tag(t1, key, 4, data, 28));
    EXPECT_BYTES(t1, want.ptr, AGP_REPLAY_TAG_LEN);
    EXPECT_OK(agp_replay_tag(t2, key, 4, data, 28));
    EXPECT_BYTES(t1, t2, AGP_REPLAY_TAG_LEN);
    EXPECT_OK(agp_replay_tag(t2, k2, 4, data, 28)); /* another key */
    EXPECT(memcmp(t1, t2, AGP_REPLAY_TAG_LEN) != 0);
    EXPECT_OK(agp_replay_tag(t2, key, 4, data, 27)); /* other data */
    EXPECT(memcmp(t1, t2, AGP_REPLAY_TAG_LEN) != 0);
    EXPECT_OK(agp_replay_tag(t2, key, 4, NULL, 0));
    EXPECT(memcmp(t1, t2, AGP_REPLAY_TAG_LEN) != 0);
    /* misuse: no key; the output is zeroed */
    EXPECT_ERR(agp_replay_tag(t2, NULL, 4, data, 28), AGP_ERR_ARG);
    EXPECT(t2[0] == 0 && t2[15] == 0);
    EXPECT_ERR(agp_replay_tag(t2, key, 0, data, 28), AGP_ERR_ARG);
    EXPECT_ERR(agp_replay_tag(t2, key, 4, NULL, 1), AGP_ERR_ARG);
    free(want.ptr);
}

static void check_basic(int64_t t0)
{
    struct agp_replay *r = NULL;
    uint8_t a[AGP_REPLAY_TAG_LEN], b[AGP_REPLAY_TAG_LEN], c[AGP_REPLAY_TAG_LEN];

    tag_of(a, 1, 'a'), tag_of(b, 2, 'a'), tag_of(c, 3, 'a');
    EXPECT_OK(agp_replay_open_file(&r, path_of("basic.log"), 0));
    EXPECT(r != NULL);
    EXPECT(agp_replay_count(r) == 0);
    EXPECT_OK(agp_replay_spend(r, a, t0 + 10, t0));
    EXPECT_ERR(agp_replay_spend(r, a, t0 + 10, t0), AGP_ERR_REPLAY);
    EXPECT_ERR(agp_replay_spend(r, a, t0 + 500, t0 + 1), AGP_ERR_REPLAY);
    EXPECT_OK(agp_replay_spend(r, b, t0 + 10, t0));
    EXPECT(agp_replay_count(r) == 2);
    /* remembered while now < expires_at, forgotten from then on */
    EXPECT_ERR(agp_replay_spend(r, a, t0 + 10, t0 + 9), AGP_ERR_REPLAY);
    EXPECT(agp_replay_count(r) == 2);
    EXPECT_OK(agp_replay_spend(r, a, t0 + 20, t0 + 10));
    EXPECT(agp_replay_count(r) == 1); /* b expired at t0 + 10 */
    EXPECT_ERR(agp_replay_spend(r, a, t0 + 20, t0 + 19), AGP_ERR_REPLAY);
    EXPECT_OK(agp_replay_spend(r, b, t0 + 20, t0 + 19));
    /* an expiry already past still holds the tag for a second */
    EXPECT_OK(agp_replay_spend(r, c, t0 - 5, t0 + 30));
    EXPECT_ERR(agp_replay_spend(r, c, t0 - 5, t0 + 30), AGP_ERR_REPLAY);
    EXPECT_OK(agp_replay_spend(r, c, t0 - 5, t0 + 31));
    /* far expiries are clamped, not wrapped */
    tag_of(c, 4, 'a');
    EXPECT_OK(agp_replay_spend(r, c, INT64_MAX, t0));
    EXPECT_ERR(agp_replay_spend(r, c, INT64_MAX, (int64_t)UINT32_MAX - 1), AGP_ERR_REPLAY);
    tag_of(c, 5, 'a');
    EXPECT_OK(agp_replay_spend(r, c, INT64_MIN, INT64_MIN));
    EXPECT_ERR(agp_replay_spend(r, c, INT64_MIN, INT64_MIN), AGP_ERR_REPLAY);
    /* misuse */
    EXPECT_ERR(agp_replay_spend(NULL, a, t0, t0), AGP_ERR_ARG);
    EXPECT_ERR(agp_replay_spend(r, NULL, t0, t0), AGP_ERR_ARG);
    agp_replay_free(r);
    agp_replay_free(NULL);
    EXPECT(agp_replay_count(NULL) == 0 && agp_replay_memory(NULL) == 0);
}

/* 100k tags: growth, figures, and every one still there afterwards. */
static void check_many(int64_t t0)
{
    enum { N = 100000 };
    struct agp_replay *r = NULL;
    uint8_t t[AGP_REPLAY_TAG_LEN];
    size_t mem, ok = 0, replay = 0;
    uint32_t i;

    EXPECT_OK(agp_replay_open_file(&r, path_of("many.log"), 50));
    EXPECT(agp_replay_memory(r) > 0 && agp_replay_memory(r) < 100000);
    for (i = 0; i < N; i++) {
        tag_of(t, i, 'm');
        if (agp_replay_spend(r, t, t0 + 3600, t0) == AGP_OK) ok++;
    }
    EXPECT(ok == N);
    EXPECT(agp_replay_count(r) == N);
    mem = agp_replay_memory(r);
    /* at most half full, at least a quarter: 40 to 80 bytes a token */
    EXPECT(mem >= (size_t)N * 40 && mem <= (size_t)N * 80);
    for (i = 0; i < N; i++) {
        tag_of(t, i, 'm');
        if (agp_replay_spend(r, t, t0 + 3600, t0 + 1) == AGP_ERR_REPLAY) replay++;
    }
    EXPECT(replay == N);
    EXPECT(agp_replay_memory(r) == mem);
    agp_replay_free(r);
    EXPECT(records_in(path_of("many.log")) == N);
}

/*
 * Expired entries sit among live ones; a lookup must probe past them, and
 * reusing them must not lose or duplicate anything.
 */
static void check_expired_chains(int64_t t0)
{
    enum { N = 20000 };
    struct agp_replay *r = NULL;
    uint8_t t[AGP_REPLAY_TAG_LEN];
    size_t bad = 0;
    uint32_t i;

    EXPECT_OK(agp_replay_open_file(&r, path_of("chains.log"), 50));
    for (i = 0; i < N; i++) {
        tag_of(t, i, 'A');
        if (agp_replay_spend(r, t, t0 + 10, t0) != AGP_OK) bad++;
        tag_of(t, i, 'B');
        if (agp_replay_spend(r, t, t0 + 1000, t0) != AGP_OK) bad++;
    }
    EXPECT(agp_replay_count(r) == 2 * N);
    for (i = 0; i < N; i++) { /* A expired: B must still be found behind them */
        tag_of(t, i, 'B');
        if (agp_replay_spend(r, t, t0 + 1000, t0 + 20) != AGP_ERR_REPLAY) bad++;
    }
    EXPECT(agp_replay_count(r) == N);
    for (i = 0; i < N; i++) { /* new tags take the expired slots */
        tag_of(t, i, 'C');
        if (agp_replay_spend(r, t, t0 + 1000, t0 + 20) != AGP_OK) bad++;
    }
    for (i = 0; i < N; i++) {
        tag_of(t, i, 'B');
        if (agp_replay_spend(r, t, t0 + 1000, t0 + 20) != AGP_ERR_REPLAY) bad++;
        tag_of(t, i, 'C');
        if (agp_replay_spend(r, t, t0 + 1000, t0 + 20) != AGP_ERR_REPLAY) bad++;
    }
    for (i = 0; i < N; i++) { /* and the expired ones are spendable again, once */
        tag_of(t, i, 'A');
        if (agp_replay_spend(r, t, t0 + 1000, t0 + 20) != AGP_OK) bad++;
        if (agp_replay_spend(r, t, t0 + 1000, t0 + 20) != AGP_ERR_REPLAY) bad++;
    }
    EXPECT(bad == 0);
    EXPECT(agp_replay_count(r) == 3 * N);
    agp_replay_free(r);
}

/* Tokens that keep expiring: the table is rehashed in place, it does not grow. */
static void check_churn(int64_t t0)
{
    enum { ROUNDS = 60, PER_ROUND = 5000 };
    struct agp_replay *r = NULL;
    uint8_t t[AGP_REPLAY_TAG_LEN];
    size_t bad = 0;
    uint32_t k, i;

    EXPECT_OK(agp_replay_open_file(&r, path_of("churn.log"), 50));
    for (k = 0; k < ROUNDS; k++) {
        int64_t now = t0 + 10 * (int64_t)k;
        for (i = 0; i < PER_ROUND; i++) {
            tag_of(t, k * PER_ROUND + i, 'c');
            if (agp_replay_spend(r, t, now + 5, now) != AGP_OK) bad++;
        }
    }
    EXPECT(bad == 0);
    EXPECT(agp_replay_count(r) == PER_ROUND);
    /* live entries never pass 5000, so 4 * 5000 slots suffice, doubled once at most */
    EXPECT(agp_replay_memory(r) <= 2 * 4 * PER_ROUND * 20);
    agp_replay_free(r);
}

/* Reopening: spent stays spent, expired goes, the log is rewritten compact. */
static void check_reopen(int64_t t0)
{
    enum { N = 3000 };
    struct agp_replay *r = NULL;
    uint8_t t[AGP_REPLAY_TAG_LEN];
    size_t bad = 0;
    uint32_t i;
    char p[4400];

    snprintf(p, sizeof p, "%s", path_of("reopen.log"));

    EXPECT_OK(agp_replay_open_file(&r, p, 10));
    for (i = 0; i < N; i++) {
        tag_of(t, i, 'L'); /* live long after the reopen */
        if (agp_replay_spend(r, t, t0 + 3600, t0) != AGP_OK) bad++;
        tag_of(t, i, 'E'); /* expired by the time of the reopen */
        if (agp_replay_spend(r, t, t0 - 50, t0 - 100) != AGP_OK) bad++;
    }
    tag_of(t, 0, 'D'); /* two records for one tag: the later one counts */
    EXPECT_OK(agp_replay_spend(r, t, t0 - 50, t0 - 100));
    EXPECT_OK(agp_replay_spend(r, t, t0 + 3600, t0));
    agp_replay_free(r);
    /* E's entries may be gone already: a rebuild at t0 drops them (D's took its own slot) */
    EXPECT(records_in(p) >= N + 1 && records_in(p) <= 2 * N + 1);

    r = NULL;
    EXPECT_OK(agp_replay_open_file(&r, p, 10));
    EXPECT(records_in(p) == N + 1);
    EXPECT(file_size(path_of("reopen.log.tmp")) == -1);
    EXPECT(agp_replay_count(r) == N + 1);
    {
        struct stat st;
        EXPECT(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
    }
    /* a second store on the same log while this one holds it */
    {
        struct agp_replay *r2 = (struct agp_replay *)&r2;
        EXPECT_ERR(agp_replay_open_file(&r2, p, 0), AGP_ERR_IO);
        EXPECT(r2 == NULL);
    }
    for (i = 0; i < N; i++) {
        tag_of(t, i, 'L');
        if (agp_replay_spend(r, t, t0 + 3600, t0) != AGP_ERR_REPLAY) bad++;
        tag_of(t, i, 'E');
        if (agp_replay_spend(r, t, t0 + 3600, t0) != AGP_OK) bad++;
    }
    tag_of(t, 0, 'D');
    EXPECT_ERR(agp_replay_spend(r, t, t0 + 3600, t0), AGP_ERR_REPLAY);
    EXPECT(bad == 0);
    agp_replay_free(r);

    /* the spends after the reopen went to the compacted log */
    r = NULL;
    EXPECT_OK(agp_replay_open_file(&r, p, 0));
    EXPECT(agp_replay_count(r) == 2 * N + 1);
    tag_of(t, N - 1, 'E');
    EXPECT_ERR(agp_replay_spend(r, t, t0 + 3600, t0), AGP_ERR_REPLAY);
    agp_replay_free(r);
}

/* A crash in the middle of a write leaves part of a record: it is dropped. */
static void check_torn(int64_t t0)
{
    struct agp_replay *r = NULL;
    uint8_t t[AGP_REPLAY_TAG_LEN];
    const char *p = path_of("torn.log");
    uint32_t i;
    size_t bad = 0;
    static const uint8_t partial[7] = {1, 2, 3, 4, 5, 6, 7};
    off_t size;

    EXPECT_OK(agp_replay_open_file(&r, p, 0));
    for (i = 0; i < 10; i++) {
        tag_of(t, i, 't');
        if (agp_replay_spend(r, t, t0 + 3600, t0) != AGP_OK) bad++;
    }
    agp_replay_free(r);
    size = file_size(p);
    write_file(p, partial, sizeof partial, 1);
    EXPECT(file_size(p) == size + 7);

    r = NULL;
    EXPECT_OK(agp_replay_open_file(&r, p, 0));
    EXPECT(file_size(p) == size);
    EXPECT(records_in(p) == 10);
    EXPECT(agp_replay_count(r) == 10);
    for (i = 0; i < 10; i++) {
        tag_of(t, i, 't');
        if (agp_replay_spend(r, t, t0 + 3600, t0) != AGP_ERR_REPLAY) bad++;
    }
    tag_of(t, 10, 't');
    EXPECT_OK(agp_replay_spend(r, t, t0 + 3600, t0));
    agp_replay_free(r);
    r = NULL;
    EXPECT_OK(agp_replay_open_file(&r, p, 0));
    EXPECT(agp_replay_count(r) == 11);
    EXPECT_ERR(agp_replay_spend(r, t, t0 + 3600, t0), AGP_ERR_REPLAY);
    EXPECT(bad == 0);
    agp_replay_free(r);
}

/* Files that are not our logs are refused and left as they were. */
static void check_foreign(void)
{
    struct agp_replay *r = NULL;
    uint8_t head[16 + 20];
    const char *p;

    memcpy(head, "AGPREPL3", 8); /* another version */
    memset(head + 8, 0, sizeof head - 8);
    p = path_of("magic.log");
    write_file(p, head, sizeof head, 0);
    r = (struct agp_replay *)&r;
    EXPECT_ERR(agp_replay_open_file(&r, p, 0), AGP_ERR_ENCODING);
    EXPECT(r == NULL);
    EXPECT(file_size(p) == (off_t)sizeof head);
    EXPECT(file_size(path_of("magic.log.tmp")) == -1);

    memcpy(head, "AGPREPL1", 8); /* reserved bytes not zero */
    head[15] = 1;
    p = path_of("reserved.log");
    write_file(p, head, sizeof head, 0);
    EXPECT_ERR(agp_replay_open_file(&r, p, 0), AGP_ERR_ENCODING);
    head[15] = 0;
    p = path_of("short.log"); /* shorter than a header */
    write_file(p, head, 5, 0);
    EXPECT_ERR(agp_replay_open_file(&r, p, 0), AGP_ERR_ENCODING);
    p = path_of("text.log");
    write_file(p, "hello, world\n", 13, 0);
    EXPECT_ERR(agp_replay_open_file(&r, p, 0), AGP_ERR_ENCODING);

    p = path_of("empty.log"); /* an empty file is a new store */
    write_file(p, "", 0, 0);
    EXPECT_OK(agp_replay_open_file(&r, p, 0));
    agp_replay_free(r);
    EXPECT(records_in(p) == 0);
    p = path_of("header.log"); /* a header alone too (AGPREPL1: the append-only log before) */
    write_file(p, head, 16, 0);
    EXPECT_OK(agp_replay_open_file(&r, p, 0));
    EXPECT(agp_replay_count(r) == 0);
    agp_replay_free(r);
}

/* Paths the store cannot use, and a write that fails halfway. */
static void check_io(int64_t t0)
{
    struct agp_replay *r = NULL;
    uint8_t a[AGP_REPLAY_TAG_LEN], b[AGP_REPLAY_TAG_LEN];
    const char *p;
    struct rlimit old, lim;
    off_t size;

    r = (struct agp_replay *)&r;
    EXPECT_ERR(agp_replay_open_file(&r, "/nonexistent-agp-dir/replay.log", 0), AGP_ERR_IO);
    EXPECT(r == NULL);
    EXPECT_ERR(agp_replay_open_file(&r, dir, 0), AGP_ERR_IO); /* a directory */
    EXPECT_ERR(agp_replay_open_file(&r, "", 0), AGP_ERR_ARG);
    EXPECT_ERR(agp_replay_open_file(NULL, path_of("x.log"), 0), AGP_ERR_ARG);

    /*
     * A file size limit: spends go to their slots in the file as it is, but
     * the rewrite that a rebuilt table needs fails: then every spend is
     * refused (not accepted, not a replay) until the rewrite works, and
     * nothing accepted before is lost.
     */
    p = path_of("full.log");
    EXPECT_OK(agp_replay_open_file(&r, p, 0));
    size = file_size(p);
    EXPECT(size > 16 && (size - 16) % 20 == 0);
    signal(SIGXFSZ, SIG_IGN);
    EXPECT(getrlimit(RLIMIT_FSIZE, &old) == 0);
    lim = old;
    lim.rlim_cur = (rlim_t)size;
    EXPECT(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    {
        uint32_t i, half = (uint32_t)((size - 16) / 20 / 2), ok = 0;
        for (i = 0; i < half; i++) {
            tag_of(a, i, 'w');
            if (agp_replay_spend(r, a, t0 + 3600, t0) == AGP_OK) ok++;
        }
        EXPECT(ok == half);
        EXPECT(file_size(p) == size);
        tag_of(b, half, 'w'); /* one more needs a bigger table: its file cannot be written */
        EXPECT_ERR(agp_replay_spend(r, b, t0 + 3600, t0), AGP_ERR_IO);
        EXPECT_ERR(agp_replay_spend(r, b, t0 + 3600, t0), AGP_ERR_IO); /* not REPLAY */
        EXPECT(file_size(path_of("full.log.tmp")) == -1);
        p = path_of("full.log"); /* path_of's buffer is one */
        EXPECT(setrlimit(RLIMIT_FSIZE, &old) == 0);
        /* the limit lifted: the store recovers by itself, nothing lost */
        tag_of(a, 0, 'w');
        EXPECT_ERR(agp_replay_spend(r, a, t0 + 3600, t0), AGP_ERR_REPLAY);
        EXPECT_OK(agp_replay_spend(r, b, t0 + 3600, t0));
        EXPECT(records_in(p) == (long)half + 1);
        /* a limit below a slot's place: refused, then served again, no reopen */
        EXPECT(setrlimit(RLIMIT_FSIZE, &lim) == 0);
        lim.rlim_cur = 0;
        EXPECT(setrlimit(RLIMIT_FSIZE, &lim) == 0);
        tag_of(b, half + 1, 'w');
        EXPECT_ERR(agp_replay_spend(r, b, t0 + 3600, t0), AGP_ERR_IO);
        EXPECT(setrlimit(RLIMIT_FSIZE, &old) == 0);
        EXPECT_OK(agp_replay_spend(r, b, t0 + 3600, t0));
        agp_replay_free(r);
        r = NULL;
        EXPECT_OK(agp_replay_open_file(&r, p, 0));
        EXPECT(agp_replay_count(r) == half + 2);
        EXPECT_ERR(agp_replay_spend(r, a, t0 + 3600, t0), AGP_ERR_REPLAY);
        EXPECT_ERR(agp_replay_spend(r, b, t0 + 3600, t0), AGP_ERR_REPLAY);
        agp_replay_free(r);
    }
}

/*
 * Issue 13 item 2: the file keeps no order of spends and no time but the
 * ones the caller gave. 400 tags spent one after the other, with two
 * coarse expiries: in the file, their order is not the order of spends
 * (an append-only log kept it exactly: every pair in order), and every
 * stored expiry is one of the two.
 */
static void check_no_order(int64_t t0)
{
    enum { N = 400 };
    static uint32_t tags[N], expiries[N];
    struct agp_replay *r = NULL;
    uint8_t t[AGP_REPLAY_TAG_LEN];
    const char *p = path_of("order.log");
    int64_t end_a = (t0 / 3600 + 2) * 3600, end_b = end_a + 86400;
    size_t i, j, in_order = 0, pairs = 0, other_times = 0;

    EXPECT_OK(agp_replay_open_file(&r, p, 0));
    for (i = 0; i < N; i++) {
        EXPECT_OK(agp_random(t, sizeof t));
        t[12] = (uint8_t)(i >> 24), t[13] = (uint8_t)(i >> 16), t[14] = (uint8_t)(i >> 8);
        t[15] = (uint8_t)i; /* the spend's rank, to read back */
        EXPECT_OK(agp_replay_spend(r, t, i % 2 ? end_a : end_b, t0 + (int64_t)i));
    }
    agp_replay_free(r);
    EXPECT(read_records(p, tags, expiries, N) == N);
    for (i = 0; i < N; i++) {
        if (expiries[i] != (uint32_t)end_a && expiries[i] != (uint32_t)end_b) other_times++;
        for (j = i + 1; j < N; j++, pairs++)
            if (tags[i] < tags[j]) in_order++;
    }
    EXPECT(other_times == 0);
    /* random order: about half the pairs; 0.4..0.6 fails by chance < 1e-9 */
    EXPECT(in_order * 10 > pairs * 4 && in_order * 10 < pairs * 6);
}

/*
 * SIGKILL right after the spends, long before the sync thread's fdatasync
 * (sync_ms is a minute): the kernel has every record, none is lost.
 */
static void check_kill(int64_t t0)
{
    enum { N = 1000 };
    struct agp_replay *r = NULL;
    uint8_t t[AGP_REPLAY_TAG_LEN];
    char p[4400];
    int fds[2], status = 0;
    uint32_t i, done = 0;
    size_t bad = 0;
    pid_t pid;

    snprintf(p, sizeof p, "%s", path_of("kill.log"));
    EXPECT(pipe(fds) == 0);
    fflush(NULL);
    pid = fork();
    EXPECT(pid >= 0);
    if (pid == 0) { /* the child spends, says how many, and waits to die */
        close(fds[0]);
        if (agp_replay_open_file(&r, p, 60000) != AGP_OK) _exit(3);
        for (i = 0; i < N; i++) {
            tag_of(t, i, 'k');
            if (agp_replay_spend(r, t, t0 + 3600, t0) == AGP_OK) done++;
        }
        if (write(fds[1], &done, sizeof done) != (ssize_t)sizeof done) _exit(4);
        for (;;)
            pause();
    }
    close(fds[1]);
    EXPECT(read(fds[0], &done, sizeof done) == (ssize_t)sizeof done);
    close(fds[0]);
    EXPECT(done == N);
    kill(pid, SIGKILL);
    EXPECT(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status));
    EXPECT_OK(agp_replay_open_file(&r, p, 0));
    EXPECT(agp_replay_count(r) == N);
    for (i = 0; i < N; i++) {
        tag_of(t, i, 'k');
        if (agp_replay_spend(r, t, t0 + 3600, t0) != AGP_ERR_REPLAY) bad++;
    }
    EXPECT(bad == 0);
    agp_replay_free(r);
}

enum { RACE_THREADS = 4, RACE_TAGS = 10000 };

struct racer {
    struct agp_replay *r;
    int64_t t0;
    unsigned ok[RACE_TAGS];
    size_t replay, other;
};

static void *race(void *arg)
{
    struct racer *x = arg;
    uint8_t t[AGP_REPLAY_TAG_LEN];
    uint32_t i;
    for (i = 0; i < RACE_TAGS; i++) {
        agp_err e;
        tag_of(t, i, 'r');
        e = agp_replay_spend(x->r, t, x->t0 + 3600, x->t0);
        if (e == AGP_OK)
            x->ok[i]++;
        else if (e == AGP_ERR_REPLAY)
            x->replay++;
        else
            x->other++;
    }
    return NULL;
}

/* 4 threads, one set of tags: each tag is accepted once in all. */
static void check_race(int64_t t0)
{
    static struct racer x[RACE_THREADS];
    pthread_t th[RACE_THREADS];
    struct agp_replay *r = NULL;
    size_t i, k, once = 0, replays = 0, others = 0;

    EXPECT_OK(agp_replay_open_file(&r, path_of("race.log"), 5));
    for (k = 0; k < RACE_THREADS; k++) {
        x[k].r = r;
        x[k].t0 = t0;
        EXPECT(pthread_create(&th[k], NULL, race, &x[k]) == 0);
    }
    for (k = 0; k < RACE_THREADS; k++)
        pthread_join(th[k], NULL);
    for (i = 0; i < RACE_TAGS; i++) {
        unsigned n = 0;
        for (k = 0; k < RACE_THREADS; k++)
            n += x[k].ok[i];
        if (n == 1) once++;
    }
    for (k = 0; k < RACE_THREADS; k++)
        replays += x[k].replay, others += x[k].other;
    EXPECT(once == RACE_TAGS);
    EXPECT(replays == (size_t)(RACE_THREADS - 1) * RACE_TAGS);
    EXPECT(others == 0);
    EXPECT(agp_replay_count(r) == RACE_TAGS);
    agp_replay_free(r);
    EXPECT(records_in(path_of("race.log")) == RACE_TAGS);
}

static void check_redis_urls(void)
{
    static const char *good[] = {
        "redis://localhost",  "redis://127.0.0.1:6379", "redis://h:1/0",
        "redis://h:65535/15", "redis://[::1]:6380/3",   "REDIS://Cache-1.internal_x",
        "redis://10.0.0.1/9",
    };
    static const char *bad[] = {
        "",
        "redis:/h",
        "http://h",
        "rediss://h",
        "redis://",
        "redis://:6379",
        "redis://h:",
        "redis://h:0",
        "redis://h:65536",
        "redis://h:100000",
        "redis://h:06379",
        "redis://h:-1",
        "redis://h/16",
        "redis://h/",
        "redis://h/01",
        "redis://h/1/",
        "redis://user:pw@h",
        "redis://:pw@h:6379",
        "redis://h:6379/1?x=1",
        "redis://h x",
        "redis://[::1",
        "redis://[]:1",
        "redis://[::1]x",
        "redis:// h",
    };
    char host[300];
    struct agp_replay *r = NULL;
    size_t i;

#ifdef AGP_WITH_REDIS
    for (i = 0; i < COUNT_OF(good); i++) {
        agp_err e = agp_replay_open_redis(&r, good[i], "p:", 1000);
        EXPECT(e == AGP_OK);
        if (e != AGP_OK) fprintf(stderr, "  refused %s\n", good[i]);
        agp_replay_free(r);
    }
    for (i = 0; i < COUNT_OF(bad); i++) {
        r = (struct agp_replay *)&r;
        EXPECT_ERR(agp_replay_open_redis(&r, bad[i], "p:", 1000), AGP_ERR_SYNTAX);
        EXPECT(r == NULL);
    }
    memcpy(host, "redis://", 8);
    memset(host + 8, 'a', 255);
    host[8 + 255] = '\0';
    EXPECT_OK(agp_replay_open_redis(&r, host, "p:", 1000));
    agp_replay_free(r);
    host[8 + 255] = 'a';
    host[8 + 256] = '\0';
    EXPECT_ERR(agp_replay_open_redis(&r, host, "p:", 1000), AGP_ERR_SYNTAX);
    EXPECT_ERR(agp_replay_open_redis(&r, NULL, "p:", 1000), AGP_ERR_ARG);
    EXPECT_ERR(agp_replay_open_redis(&r, "redis://h", NULL, 1000), AGP_ERR_ARG);
    EXPECT_ERR(agp_replay_open_redis(&r, "redis://h", "p:", 0), AGP_ERR_ARG);

    /* nothing listens on port 1: a spend fails closed, at once */
    {
        uint8_t t[AGP_REPLAY_TAG_LEN];
        struct timespec a, b;
        double secs;
        tag_of(t, 1, 'R');
        EXPECT_OK(agp_replay_open_redis(&r, "redis://127.0.0.1:1", "p:", 2000));
        clock_gettime(CLOCK_MONOTONIC, &a);
        EXPECT_ERR(agp_replay_spend(r, t, 100, 0), AGP_ERR_IO);
        EXPECT_ERR(agp_replay_spend(r, t, 100, 0), AGP_ERR_IO);
        clock_gettime(CLOCK_MONOTONIC, &b);
        secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
        EXPECT(secs < 2.0);
        EXPECT(agp_replay_count(r) == 0 && agp_replay_memory(r) == 0);
        agp_replay_free(r);
    }
#else
    (void)good, (void)bad, (void)host, (void)i;
    EXPECT_ERR(agp_replay_open_redis(&r, "redis://localhost", "p:", 1000), AGP_ERR_IO);
    EXPECT(r == NULL);
#endif
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

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    int64_t t0 = (int64_t)time(NULL);

    snprintf(dir, sizeof dir, "%s/agp-test-replay-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    check_tag();
    check_basic(t0);
    check_many(t0);
    check_expired_chains(t0);
    check_churn(t0);
    check_reopen(t0);
    check_torn(t0);
    check_foreign();
    check_io(t0);
    check_no_order(t0);
    check_kill(t0);
    check_race(t0);
    check_redis_urls();
    remove_dir();
    TEST_END();
}
