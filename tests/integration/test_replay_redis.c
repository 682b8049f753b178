/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/test_replay_redis.c: the Redis replay store against a
 * real redis-server, which tests/integration/replay_redis.sh starts and
 * which this program stops, restarts, pauses and queries through that
 * script (the command in $AGP_REDIS_HOOK: "hook stop|start|pause|resume" and
 * "hook pttl KEY").
 *
 * Checked: first spend OK then REPLAY; two stores on one Redis see each
 * other's spends; a DB in the URL is SELECTed; the key's PTTL follows the
 * expiry (at least a second) and the key goes when it ends; 2 threads over
 * the same 2000 tags get one OK per tag, on one store and on two; with Redis
 * stopped every spend is AGP_ERR_IO at once, with Redis hung (SIGSTOP) it is
 * AGP_ERR_IO after about the timeout; when Redis is back, the same stores
 * work again without being reopened, and what was spent before the restart
 * (the server persists: AOF) is still spent.
 *
 * The checked store (agp_replay_open_redis_checked): refused at open when
 * the server does not persist (appendonly no, appendfsync no) or when the
 * store's owner is another verifier's secret; a store that is open refuses
 * spends (AGP_ERR_IO, health says why) from the first check after the
 * server stops persisting, and serves again once it persists; a spend's
 * expiry is the caller's second exactly (EXAT), with no trace of now.
 *
 * usage: test_replay_redis redis://127.0.0.1:PORT
 */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "agepass/replay.h"
#include "../unit/test.h"

#define TIMEOUT_MS 500
#define RACE_TAGS  2000

static char prefix[64];

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0)
        ;
}

static void tag_of(uint8_t tag[AGP_REPLAY_TAG_LEN], uint32_t i, uint8_t family)
{
    memset(tag, 0x5a, AGP_REPLAY_TAG_LEN);
    tag[0] = family;
    tag[12] = (uint8_t)(i >> 24);
    tag[13] = (uint8_t)(i >> 16);
    tag[14] = (uint8_t)(i >> 8);
    tag[15] = (uint8_t)i;
}

/* The Redis key of tag: prefix and lower-case hex. */
static void key_of(char *key, size_t cap, const uint8_t tag[AGP_REPLAY_TAG_LEN])
{
    size_t i, n = (size_t)snprintf(key, cap, "%s", prefix);
    for (i = 0; i < AGP_REPLAY_TAG_LEN && n + 2 < cap; i++, n += 2)
        snprintf(key + n, cap - n, "%02x", tag[i]);
}

/* Runs the script's hook; 0 on success. */
static int hook(const char *verb)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "bash \"$AGP_REDIS_HOOK\" hook %s", verb);
    return system(cmd);
}

/* PTTL of key through redis-cli (-2: no such key); -1000 if it cannot say. */
static long long pttl(const char *key)
{
    char cmd[256], line[64];
    long long v = 0;
    int neg = 0;
    size_t i = 0, digits = 0;
    FILE *f;
    snprintf(cmd, sizeof cmd, "bash \"$AGP_REDIS_HOOK\" hook pttl %s", key);
    if ((f = popen(cmd, "r")) == NULL) return -1000;
    if (fgets(line, sizeof line, f) == NULL) line[0] = '\0';
    pclose(f);
    if (line[0] == '-') neg = 1, i = 1;
    for (; line[i] >= '0' && line[i] <= '9' && digits < 15; i++, digits++)
        v = v * 10 + (line[i] - '0');
    if (digits == 0) return -1000;
    return neg ? -v : v;
}

/* The integer redis-cli prints for args; -1000 if none. */
static long long cli_number(const char *args)
{
    char cmd[256], line[64];
    long long v = 0;
    int neg = 0;
    size_t i = 0, digits = 0;
    FILE *f;
    snprintf(cmd, sizeof cmd, "bash \"$AGP_REDIS_HOOK\" hook cli %s", args);
    if ((f = popen(cmd, "r")) == NULL) return -1000;
    if (fgets(line, sizeof line, f) == NULL) line[0] = '\0';
    pclose(f);
    if (line[0] == '-') neg = 1, i = 1;
    for (; line[i] >= '0' && line[i] <= '9' && digits < 18; i++, digits++)
        v = v * 10 + (line[i] - '0');
    if (digits == 0) return -1000;
    return neg ? -v : v;
}

static void cli(const char *args)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "bash \"$AGP_REDIS_HOOK\" hook cli %s >/dev/null", args);
    EXPECT(system(cmd) == 0);
}

/* Persistence, owner and coarse expiries of the checked store. */
static void check_checked(const char *url, int64_t now)
{
    static const uint8_t mine[AGP_REPLAY_OWNER_LEN] = {1, 2, 3}, theirs[AGP_REPLAY_OWNER_LEN] = {9};
    struct agp_replay_redis_config cfg = {url, prefix, TIMEOUT_MS, mine, false, 1};
    struct agp_replay *r = NULL, *r2 = (struct agp_replay *)&r2;
    uint8_t t[AGP_REPLAY_TAG_LEN];
    char key[128], args[200];
    int64_t end = (now / 86400 + 30) * 86400; /* a key's end: a day boundary */

    EXPECT_OK(agp_replay_open_redis_checked(&r, &cfg));
    if (r == NULL) return;
    EXPECT(agp_replay_health(r) == AGP_OK);
    tag_of(t, 1, 'k');
    EXPECT_OK(agp_replay_spend(r, t, end, now));
    key_of(key, sizeof key, t);
    snprintf(args, sizeof args, "pexpiretime %s", key);
    EXPECT(cli_number(args) == (long long)end * 1000); /* the end itself: no spend time */

    /* another verifier's secret: refused; the same one: fine */
    cfg.owner = theirs;
    EXPECT_ERR(agp_replay_open_redis_checked(&r2, &cfg), AGP_ERR_KEY);
    EXPECT(r2 == NULL);
    cfg.owner = mine;
    EXPECT_OK(agp_replay_open_redis_checked(&r2, &cfg));
    agp_replay_free(r2);

    /* a server that stops persisting: refused at open, and by the open store */
    cli("config set appendfsync no");
    r2 = NULL;
    EXPECT_ERR(agp_replay_open_redis_checked(&r2, &cfg), AGP_ERR_RANGE);
    sleep_ms(1100); /* check_s 1 */
    tag_of(t, 2, 'k');
    EXPECT_ERR(agp_replay_spend(r, t, end, now), AGP_ERR_IO);
    EXPECT(agp_replay_health(r) == AGP_ERR_RANGE);
    cli("config set appendfsync everysec");
    EXPECT_OK(agp_replay_spend(r, t, end, now)); /* a failed check is retried at once */
    cli("config set appendonly no");
    EXPECT_ERR(agp_replay_open_redis_checked(&r2, &cfg), AGP_ERR_RANGE);
    sleep_ms(1100);
    tag_of(t, 3, 'k');
    EXPECT_ERR(agp_replay_spend(r, t, end, now), AGP_ERR_IO);
    /* unless the operator says so */
    cfg.allow_volatile = true;
    EXPECT_OK(agp_replay_open_redis_checked(&r2, &cfg));
    EXPECT_OK(agp_replay_spend(r2, t, end, now));
    agp_replay_free(r2);
    cli("config set appendonly yes");
    sleep_ms(300); /* the AOF rewrite that turning it on starts */
    tag_of(t, 4, 'k');
    EXPECT_OK(agp_replay_spend(r, t, end, now));
    agp_replay_free(r);
}

struct racer {
    struct agp_replay *r;
    uint8_t family;
    int64_t now;
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
        tag_of(t, i, x->family);
        e = agp_replay_spend(x->r, t, x->now + 60, x->now);
        if (e == AGP_OK)
            x->ok[i]++;
        else if (e == AGP_ERR_REPLAY)
            x->replay++;
        else
            x->other++;
    }
    return NULL;
}

/* Two threads, on stores a and b (maybe the same), over one set of tags. */
static void check_race(struct agp_replay *a, struct agp_replay *b, uint8_t family, int64_t now)
{
    static struct racer x[2];
    pthread_t th[2];
    size_t i, once = 0;
    memset(x, 0, sizeof x);
    x[0].r = a, x[1].r = b;
    x[0].family = x[1].family = family;
    x[0].now = x[1].now = now;
    EXPECT(pthread_create(&th[0], NULL, race, &x[0]) == 0);
    EXPECT(pthread_create(&th[1], NULL, race, &x[1]) == 0);
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    for (i = 0; i < RACE_TAGS; i++)
        if (x[0].ok[i] + x[1].ok[i] == 1) once++;
    EXPECT(once == RACE_TAGS);
    EXPECT(x[0].replay + x[1].replay == RACE_TAGS);
    EXPECT(x[0].other + x[1].other == 0);
}

int main(int argc, char **argv)
{
    struct agp_replay *a = NULL, *b = NULL, *c = NULL;
    uint8_t x[AGP_REPLAY_TAG_LEN], y[AGP_REPLAY_TAG_LEN], t[AGP_REPLAY_TAG_LEN];
    char key[128], url_db[300];
    int64_t now = (int64_t)time(NULL);
    long long ms;
    double t0, dt;
    int i;

    if (argc != 2 || getenv("AGP_REDIS_HOOK") == NULL) {
        fprintf(stderr, "usage: AGP_REDIS_HOOK=... test_replay_redis redis://HOST:PORT\n");
        return 2;
    }
    snprintf(prefix, sizeof prefix, "agptest:%ld:", (long)getpid());
    EXPECT_OK(agp_replay_open_redis(&a, argv[1], prefix, TIMEOUT_MS));
    EXPECT_OK(agp_replay_open_redis(&b, argv[1], prefix, TIMEOUT_MS));
    snprintf(url_db, sizeof url_db, "%s/3", argv[1]);
    EXPECT_OK(agp_replay_open_redis(&c, url_db, prefix, TIMEOUT_MS));
    if (a == NULL || b == NULL || c == NULL) TEST_END();

    /* first spend, replay, and two stores sharing one Redis */
    tag_of(x, 1, 'x'), tag_of(y, 1, 'y');
    EXPECT_OK(agp_replay_spend(a, x, now + 60, now));
    EXPECT_ERR(agp_replay_spend(a, x, now + 60, now), AGP_ERR_REPLAY);
    EXPECT_ERR(agp_replay_spend(b, x, now + 60, now), AGP_ERR_REPLAY);
    EXPECT_OK(agp_replay_spend(b, y, now + 60, now));
    EXPECT_ERR(agp_replay_spend(a, y, now + 60, now), AGP_ERR_REPLAY);
    /* DB 3 is another keyspace */
    EXPECT_OK(agp_replay_spend(c, x, now + 60, now));
    EXPECT_ERR(agp_replay_spend(c, x, now + 60, now), AGP_ERR_REPLAY);
    EXPECT(agp_replay_count(a) == 0 && agp_replay_memory(a) == 0);

    /* the key lives until the expiry, and no longer */
    key_of(key, sizeof key, x);
    ms = pttl(key);
    EXPECT(ms > 50000 && ms <= 60000);
    /* EXAT: an absolute second, so the clock now is the one that counts */
    now = (int64_t)time(NULL);
    while ((int64_t)time(NULL) == now) /* at the start of a second */
        sleep_ms(20);
    now = (int64_t)time(NULL);
    tag_of(t, 2, 'x');
    EXPECT_OK(agp_replay_spend(a, t, now - 10, now)); /* already past: one second */
    key_of(key, sizeof key, t);
    ms = pttl(key);
    EXPECT(ms > 0 && ms <= 1000);
    tag_of(t, 3, 'x');
    EXPECT_OK(agp_replay_spend(a, t, now + 1, now));
    key_of(key, sizeof key, t);
    ms = pttl(key);
    EXPECT(ms > 0 && ms <= 1000);
    sleep_ms(1300);
    EXPECT(pttl(key) == -2);
    EXPECT_OK(agp_replay_spend(b, t, now + 61, now + 2));

    /* two threads, one tag set: on one store (two pool connections), on two */
    check_race(a, a, 'r', now);
    check_race(a, b, 's', now);

    /* Redis gone: fail closed, and at once (connection refused) */
    EXPECT(hook("stop") == 0);
    tag_of(t, 4, 'x');
    t0 = seconds();
    for (i = 0; i < 3; i++) {
        EXPECT_ERR(agp_replay_spend(a, t, now + 60, now), AGP_ERR_IO);
        EXPECT_ERR(agp_replay_spend(b, t, now + 60, now), AGP_ERR_IO);
        EXPECT_ERR(agp_replay_spend(c, t, now + 60, now), AGP_ERR_IO);
    }
    dt = seconds() - t0;
    EXPECT(dt < 9 * TIMEOUT_MS / 1000.0);
    printf("redis stopped: 9 spends refused in %.3f s\n", dt);

    /* Redis back, the same stores work again; it persists: x is still spent */
    EXPECT(hook("start") == 0);
    EXPECT_OK(agp_replay_spend(a, t, now + 60, now));
    EXPECT_ERR(agp_replay_spend(b, t, now + 60, now), AGP_ERR_REPLAY);
    EXPECT_OK(agp_replay_spend(c, t, now + 60, now));
    EXPECT_ERR(agp_replay_spend(b, x, now + 60, now), AGP_ERR_REPLAY);
    check_race(a, b, 'u', now);

    /* Redis hung: each spend gives up after about the timeout */
    EXPECT(hook("pause") == 0);
    tag_of(t, 5, 'x');
    t0 = seconds();
    EXPECT_ERR(agp_replay_spend(a, t, now + 60, now), AGP_ERR_IO);
    dt = seconds() - t0;
    EXPECT(dt >= 0.8 * TIMEOUT_MS / 1000.0 && dt < 3 * TIMEOUT_MS / 1000.0);
    printf("redis hung: spend refused after %.3f s (timeout %d ms)\n", dt, TIMEOUT_MS);
    t0 = seconds();
    EXPECT_ERR(agp_replay_spend(b, t, now + 60, now), AGP_ERR_IO); /* a new connection too */
    dt = seconds() - t0;
    EXPECT(dt < 3 * TIMEOUT_MS / 1000.0);
    EXPECT(hook("resume") == 0);
    tag_of(t, 6, 'x'); /* tag 5 may have been SET after all, once Redis woke */
    EXPECT_OK(agp_replay_spend(a, t, now + 60, now));
    EXPECT_ERR(agp_replay_spend(b, t, now + 60, now), AGP_ERR_REPLAY);

    check_checked(argv[1], now);

    agp_replay_free(a);
    agp_replay_free(b);
    agp_replay_free(c);
    TEST_END();
}
