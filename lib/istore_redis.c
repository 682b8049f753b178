/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/istore_redis.c: the issuer's store of agepass/istore.h in Redis, so
 * that several issuer instances share grants and caps.
 *
 * Keys (P = "agepass:issuer:", hex in lower case):
 *
 *     P g:<grant id>     hash age, left, exp, nym (16 raw bytes)
 *     P d:<pseudonym>    hash <day> -> n: the count of the UTC day (day = now / 86400)
 *     P e:<pseudonym>:<epoch>   hash n, exp: the count in one key epoch
 *     P v:<digest>       string exp: evidence used once
 *     P p:<pickup id>    hash rec (the sealed record, opaque), exp: a pickup
 *
 * Every operation is one Lua script (EVALSHA, and EVAL when the server
 * answers NOSCRIPT, e.g. after a restart or a SCRIPT FLUSH), which Redis
 * runs atomically: a take, a count or an evidence check reads and writes
 * with nothing in between, whichever instance or thread sends it.
 *
 * Time: the answers follow the callers' clock, as in the SQLite backend:
 * each record keeps its expiry (exp) and a script compares it with the now
 * it is given. Redis itself would only compare with its own clock, and a
 * Lua number (a double) cannot hold every int64_t, so a time travels as
 * 20 decimal digits of (t + 2^63) as an unsigned number: same length, same
 * order, compared in two exact halves of 10 digits. The key's expiry frees
 * the space, set with EXPIREAT to an hour or day boundary (never a TTL
 * counted from the request, which would keep the request's millisecond):
 * a grant until the first hour boundary at or after its expiry, a day key
 * until the end of its last count's UTC day, an epoch key until the first
 * day boundary 200 days after its first count (its stored exp too), an
 * evidence digest or a pickup until the hour boundary at or after its expiry. A
 * boundary already past by the wall clock (grant_put has no now) is moved
 * to the next hour boundary. Days before yesterday are deleted from a day
 * key by the count that finds them, as the SQLite sweep does, so a day key
 * holds one or two fields. agp_istore_sweep has nothing to do: it asks
 * Redis for a PONG so that the caller learns whether it is there.
 *
 * Errors: anything but the answers the scripts give (no connection, a
 * timeout, an error reply, a reply of an unexpected shape) is AGP_ERR_IO;
 * the connection is dropped and the next call connects afresh (lib/redis.c).
 * A script whose outcome is unknown (the connection broke after sending)
 * may have run: a take may be lost, never doubled.
 *
 * Privacy: the same bytes and numbers as in SQLite, nothing more.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "internal.h"
#include "istore_internal.h"
#include "redis_internal.h"

#define PREFIX     "agepass:issuer:"
#define TIMEOUT_MS 1000u
#define HOUR       3600
#define DAY        86400
#define EPOCH_TTL  ((int64_t)200 * DAY)  /* as the SQLite backend */
#define TTL_MAX    ((int64_t)UINT32_MAX) /* seconds: 136 years */
#define TIME_LEN   20                    /* digits of a time, see above */
#define KEY_MAX    128

/* a < b for two times of TIME_LEN digits, exactly (each half is below 2^53) */
#define LUA_LT                                                                                     \
    "local function lt(a, b)\n"                                                                    \
    "  local x, y = tonumber(string.sub(a, 1, 10)), tonumber(string.sub(b, 1, 10))\n"              \
    "  if x ~= y then return x < y end\n"                                                          \
    "  return tonumber(string.sub(a, 11)) < tonumber(string.sub(b, 11))\n"                         \
    "end\n"

enum {
    SC_PUT,
    SC_TAKE,
    SC_GIVE,
    SC_COUNT,
    SC_UNCOUNT,
    SC_EVIDENCE,
    SC_PICKUP_PUT,
    SC_PICKUP_TAKE,
    SC_COUNT_ALL
};

static const char *const scripts[SC_COUNT_ALL] = {
    /* KEYS: grant. ARGV: age, tokens, exp, nym, expire-at s. 0: id present */
    [SC_PUT] = "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
               "redis.call('HMSET', KEYS[1], 'age', ARGV[1], 'left', ARGV[2], 'exp', ARGV[3],"
               " 'nym', ARGV[4])\n"
               "redis.call('EXPIREAT', KEYS[1], ARGV[5])\n"
               "return 1\n",
    /* KEYS: grant. ARGV: n, -n, now. {0}: unknown, {1}: expired, {2}: too few, {3, age, nym} */
    [SC_TAKE] = LUA_LT "local v = redis.call('HMGET', KEYS[1], 'age', 'left', 'exp', 'nym')\n"
                       "if not v[1] then return {0} end\n"
                       "if not lt(ARGV[3], v[3]) then return {1} end\n"
                       "if tonumber(v[2]) < tonumber(ARGV[1]) then return {2} end\n"
                       "redis.call('HINCRBY', KEYS[1], 'left', ARGV[2])\n"
                       "return {3, tonumber(v[1]), v[4]}\n",
    /* KEYS: grant. ARGV: n. 0: unknown */
    [SC_GIVE] = "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
                "redis.call('HINCRBY', KEYS[1], 'left', ARGV[1])\n"
                "return 1\n",
    /*
     * KEYS: day, epoch. ARGV: n, day limit, epoch limit, today, now, epoch
     * exp, today, the last day deleted, the day key's expire-at s, the
     * epoch key's expire-at s. 0: over a limit
     */
    [SC_COUNT] =
        LUA_LT "local n, dl, el = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
               "local first, old = tonumber(ARGV[7]), tonumber(ARGV[8])\n"
               "local day = 0\n"
               "local h = redis.call('HGETALL', KEYS[1])\n"
               "for i = 1, #h, 2 do\n"
               "  local d = tonumber(h[i])\n"
               "  if d >= first then day = day + tonumber(h[i + 1])\n"
               "  elseif d <= old then redis.call('HDEL', KEYS[1], h[i]) end\n"
               "end\n"
               "local e = redis.call('HMGET', KEYS[2], 'n', 'exp')\n"
               "local live = e[1] and lt(ARGV[5], e[2])\n"
               "local used = 0\n"
               "if live then used = tonumber(e[1]) end\n"
               "if day + n > dl or used + n > el then return 0 end\n"
               "redis.call('HINCRBY', KEYS[1], ARGV[4], ARGV[1])\n"
               "redis.call('EXPIREAT', KEYS[1], ARGV[9])\n"
               "if live then redis.call('HINCRBY', KEYS[2], 'n', ARGV[1])\n"
               "else\n"
               "  redis.call('DEL', KEYS[2])\n"
               "  redis.call('HMSET', KEYS[2], 'n', ARGV[1], 'exp', ARGV[6])\n"
               "  redis.call('EXPIREAT', KEYS[2], ARGV[10])\n"
               "end\n"
               "return 1\n",
    /* KEYS: day, epoch. ARGV: n, day, now. Takes n back from both, never below 0 */
    [SC_UNCOUNT] = LUA_LT "local n = tonumber(ARGV[1])\n"
                          "local h = tonumber(redis.call('HGET', KEYS[1], ARGV[2]))\n"
                          "if h then\n"
                          "  if h > n then redis.call('HINCRBY', KEYS[1], ARGV[2], -n)\n"
                          "  else redis.call('HDEL', KEYS[1], ARGV[2]) end\n"
                          "end\n"
                          "local e = redis.call('HMGET', KEYS[2], 'n', 'exp')\n"
                          "if e[1] and lt(ARGV[3], e[2]) then\n"
                          "  local left = tonumber(e[1]) - n\n"
                          "  if left < 0 then left = 0 end\n"
                          "  redis.call('HSET', KEYS[2], 'n', left)\n"
                          "end\n"
                          "return 1\n",
    /* KEYS: digest. ARGV: exp, now, expire-at s. 0: remembered */
    [SC_EVIDENCE] = LUA_LT "local v = redis.call('GET', KEYS[1])\n"
                           "if v and lt(ARGV[2], v) then return 0 end\n"
                           "redis.call('SET', KEYS[1], ARGV[1])\n"
                           "redis.call('EXPIREAT', KEYS[1], ARGV[3])\n"
                           "return 1\n",
    /* KEYS: pickup. ARGV: rec, exp, now, expire-at s. 0: a live record is there */
    [SC_PICKUP_PUT] = LUA_LT "local v = redis.call('HGET', KEYS[1], 'exp')\n"
                             "if v and lt(ARGV[3], v) then return 0 end\n"
                             "redis.call('DEL', KEYS[1])\n"
                             "redis.call('HSET', KEYS[1], 'rec', ARGV[1], 'exp', ARGV[2])\n"
                             "redis.call('EXPIREAT', KEYS[1], ARGV[4])\n"
                             "return 1\n",
    /*
     * KEYS: pickup. ARGV: now, cap. {0}: none or expired, {1}: larger than
     * cap (kept), {2, rec}: taken (deleted)
     */
    [SC_PICKUP_TAKE] =
        LUA_LT "local v = redis.call('HMGET', KEYS[1], 'rec', 'exp')\n"
               "if not v[1] or not v[2] or not lt(ARGV[1], v[2]) then return {0} end\n"
               "if #v[1] > tonumber(ARGV[2]) then return {1} end\n"
               "redis.call('DEL', KEYS[1])\n"
               "return {2, v[1]}\n",
};

struct redis_istore {
    struct agp_istore base;
    struct agp_redis redis;
    char sha[SC_COUNT_ALL][41]; /* SHA-1 of each script in hex: its EVALSHA name */
};

/* A time as TIME_LEN digits of t + 2^63 (see the top of this file), NUL-terminated. */
static void time_text(char out[TIME_LEN + 1], int64_t t)
{
    snprintf(out, TIME_LEN + 1, "%020llu", (unsigned long long)((uint64_t)t ^ ((uint64_t)1 << 63)));
}

/* a + b for b >= 0, saturating at INT64_MAX */
static int64_t add_sat(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* floor(t / step), also for negative t */
static int64_t floor_div(int64_t t, int64_t step)
{
    return t >= 0 ? t / step : -((-(t + 1)) / step) - 1;
}

/* The first boundary of step seconds at or after t (t itself past the last one). */
static int64_t time_ceil(int64_t t, int64_t step)
{
    int64_t q = floor_div(t, step);
    return q * step == t || q >= INT64_MAX / step ? t : (q + 1) * step;
}

/*
 * The EXPIREAT second for a record good until t: the hour boundary at or
 * after t, within [the next hour boundary, TTL_MAX from now] by the wall
 * clock (Redis expires by its own clock), as text in out.
 */
static size_t expire_at(char out[24], int64_t t)
{
    int64_t now = (int64_t)time(NULL), lo = time_ceil(now + 1, HOUR);
    int64_t hi = time_ceil(now + TTL_MAX - HOUR, HOUR);
    t = t < lo ? lo : t > hi ? hi : time_ceil(t, HOUR);
    return (size_t)snprintf(out, 24, "%lld", (long long)t);
}

/* PREFIX kind hex(bytes) [":" number] into key (KEY_MAX). */
static size_t key_of(char key[KEY_MAX], const char *kind, const uint8_t *p, size_t n,
                     const uint32_t *epoch)
{
    static const char digits[] = "0123456789abcdef";
    size_t i, len = (size_t)snprintf(key, KEY_MAX, "%s%s:", PREFIX, kind);
    for (i = 0; i < n; i++) { /* n is at most 32: the key fits */
        key[len++] = digits[p[i] >> 4];
        key[len++] = digits[p[i] & 15];
    }
    key[len] = '\0';
    if (epoch != NULL)
        len += (size_t)snprintf(key + len, KEY_MAX - len, ":%lu", (unsigned long)*epoch);
    return len;
}

/*
 * Runs script sc with argc arguments (the first nkeys of them keys):
 * EVALSHA, then EVAL if the server does not have it. *out is the reply,
 * which the caller frees; anything but an integer or an array is AGP_ERR_IO.
 */
static agp_err eval(struct redis_istore *s, int sc, int nkeys, size_t argc, const char **args,
                    const size_t *lens, redisReply **out)
{
    const char *argv[16];
    size_t argl[16], i;
    char nk[8];
    struct agp_redis_lease l;
    redisReply *rep = NULL;
    agp_err err = AGP_ERR_IO;

    *out = NULL;
    if (argc > 13) return AGP_ERR_INTERNAL;
    snprintf(nk, sizeof nk, "%d", nkeys);
    argv[0] = "EVALSHA";
    argl[0] = 7;
    argv[1] = s->sha[sc];
    argl[1] = 40;
    argv[2] = nk;
    argl[2] = strlen(nk);
    for (i = 0; i < argc; i++) {
        argv[3 + i] = args[i];
        argl[3 + i] = lens[i];
    }
    if (agp_redis_acquire(&s->redis, &l) != AGP_OK) goto out;
    rep = redisCommandArgv(l.k->c, (int)(3 + argc), argv, argl);
    if (rep != NULL && rep->type == REDIS_REPLY_ERROR && rep->len >= 8 &&
        memcmp(rep->str, "NOSCRIPT", 8) == 0) {
        freeReplyObject(rep);
        argv[0] = "EVAL";
        argl[0] = 4;
        argv[1] = scripts[sc];
        argl[1] = strlen(scripts[sc]);
        rep = redisCommandArgv(l.k->c, (int)(3 + argc), argv, argl);
    }
    if (rep == NULL || (rep->type != REDIS_REPLY_INTEGER && rep->type != REDIS_REPLY_ARRAY))
        goto out;
    *out = rep;
    rep = NULL;
    err = AGP_OK;
out:
    if (rep != NULL) freeReplyObject(rep);
    agp_redis_release(&l, err != AGP_OK);
    return err;
}

/* The script's answer as one integer in [0, max]; anything else is a broken store. */
static agp_err small_int(const redisReply *rep, long long max, long long *v)
{
    AGP_ENSURE(rep->type == REDIS_REPLY_INTEGER && rep->integer >= 0 && rep->integer <= max,
               AGP_ERR_IO);
    *v = rep->integer;
    return AGP_OK;
}

static agp_err redis_grant_put(struct agp_istore *b, const uint8_t id[AGP_GRANT_ID_LEN],
                               unsigned age, unsigned tokens, int64_t expires_at,
                               const uint8_t pseudonym[AGP_PSEUDONYM_LEN])
{
    struct redis_istore *s = (struct redis_istore *)b;
    char key[KEY_MAX], a[16], t[16], exp[TIME_LEN + 1], ttl[24];
    const char *args[6];
    size_t lens[6];
    redisReply *rep = NULL;
    long long v = 0;
    agp_err err;

    lens[0] = key_of(key, "g", id, AGP_GRANT_ID_LEN, NULL);
    lens[1] = (size_t)snprintf(a, sizeof a, "%u", age);
    lens[2] = (size_t)snprintf(t, sizeof t, "%u", tokens);
    time_text(exp, expires_at);
    lens[3] = TIME_LEN;
    lens[4] = AGP_PSEUDONYM_LEN;
    lens[5] = expire_at(ttl, expires_at); /* no now here: the wall clock, the issuer's now */
    args[0] = key, args[1] = a, args[2] = t, args[3] = exp;
    args[4] = (const char *)pseudonym, args[5] = ttl;
    if ((err = eval(s, SC_PUT, 1, 6, args, lens, &rep)) != AGP_OK) goto out;
    if ((err = small_int(rep, 1, &v)) != AGP_OK) goto out;
    err = v == 1 ? AGP_OK : AGP_ERR_ARG;
out:
    if (rep != NULL) freeReplyObject(rep);
    return err;
}

static agp_err redis_grant_take(struct agp_istore *b, const uint8_t id[AGP_GRANT_ID_LEN],
                                unsigned n, int64_t now, unsigned *age,
                                uint8_t pseudonym[AGP_PSEUDONYM_LEN])
{
    struct redis_istore *s = (struct redis_istore *)b;
    char key[KEY_MAX], num[16], neg[16], t[TIME_LEN + 1];
    const char *args[4];
    size_t lens[4];
    redisReply *rep = NULL;
    const redisReply *e;
    long long code = 0, a = 0;
    agp_err err;

    lens[0] = key_of(key, "g", id, AGP_GRANT_ID_LEN, NULL);
    lens[1] = (size_t)snprintf(num, sizeof num, "%u", n);
    lens[2] = (size_t)snprintf(neg, sizeof neg, "-%u", n);
    time_text(t, now);
    lens[3] = TIME_LEN;
    args[0] = key, args[1] = num, args[2] = neg, args[3] = t;
    if ((err = eval(s, SC_TAKE, 1, 4, args, lens, &rep)) != AGP_OK) goto out;
    err = AGP_ERR_IO;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1) goto out;
    if (small_int(rep->element[0], 3, &code) != AGP_OK) goto out;
    if (code < 3) {
        err = rep->elements != 1 ? AGP_ERR_IO
              : code == 0        ? AGP_ERR_NOT_FOUND
              : code == 1        ? AGP_ERR_EXPIRED
                                 : AGP_ERR_RANGE;
        goto out;
    }
    /* what this file did not write is a broken store, not a grant */
    if (rep->elements != 3 || small_int(rep->element[1], UINT_MAX, &a) != AGP_OK) goto out;
    e = rep->element[2];
    if (e->type != REDIS_REPLY_STRING || e->len != AGP_PSEUDONYM_LEN) goto out;
    *age = (unsigned)a;
    memcpy(pseudonym, e->str, AGP_PSEUDONYM_LEN);
    err = AGP_OK;
out:
    if (rep != NULL) freeReplyObject(rep); /* istore.c zeroes the outputs on failure */
    return err;
}

static agp_err redis_grant_give_back(struct agp_istore *b, const uint8_t id[AGP_GRANT_ID_LEN],
                                     unsigned n)
{
    struct redis_istore *s = (struct redis_istore *)b;
    char key[KEY_MAX], num[16];
    const char *args[2];
    size_t lens[2];
    redisReply *rep = NULL;
    long long v = 0;
    agp_err err;

    lens[0] = key_of(key, "g", id, AGP_GRANT_ID_LEN, NULL);
    lens[1] = (size_t)snprintf(num, sizeof num, "%u", n);
    args[0] = key, args[1] = num;
    if ((err = eval(s, SC_GIVE, 1, 2, args, lens, &rep)) != AGP_OK) goto out;
    if ((err = small_int(rep, 1, &v)) != AGP_OK) goto out;
    err = v == 1 ? AGP_OK : AGP_ERR_NOT_FOUND;
out:
    if (rep != NULL) freeReplyObject(rep);
    return err;
}

static agp_err redis_count(struct agp_istore *b, const uint8_t pseudonym[AGP_PSEUDONYM_LEN],
                           unsigned n, unsigned day_limit, unsigned epoch_limit, uint32_t epoch,
                           int64_t now)
{
    struct redis_istore *s = (struct redis_istore *)b;
    char day[KEY_MAX], ep[KEY_MAX], num[16], dl[16], el[16], today[24], first[24], old[24];
    char t[TIME_LEN + 1], exp[TIME_LEN + 1], day_at[24], epoch_at[24];
    const char *args[12];
    size_t lens[12];
    redisReply *rep = NULL;
    int64_t d = floor_div(now, DAY); /* |d| < 2^52: exact in a Lua number */
    int64_t epoch_exp = time_ceil(add_sat(now, EPOCH_TTL), DAY);
    long long v = 0;
    agp_err err;

    lens[0] = key_of(day, "d", pseudonym, AGP_PSEUDONYM_LEN, NULL);
    lens[1] = key_of(ep, "e", pseudonym, AGP_PSEUDONYM_LEN, &epoch);
    lens[2] = (size_t)snprintf(num, sizeof num, "%u", n);
    lens[3] = (size_t)snprintf(dl, sizeof dl, "%u", day_limit);
    lens[4] = (size_t)snprintf(el, sizeof el, "%u", epoch_limit);
    lens[5] = (size_t)snprintf(today, sizeof today, "%lld", (long long)d);
    time_text(t, now);
    lens[6] = TIME_LEN;
    time_text(exp, epoch_exp);
    lens[7] = TIME_LEN;
    /* the day: today's field (and any later); yesterday's is kept a while, as by SQLite */
    lens[8] = (size_t)snprintf(first, sizeof first, "%lld", (long long)d);
    lens[9] = (size_t)snprintf(old, sizeof old, "%lld", (long long)(d - 2));
    lens[10] = expire_at(day_at, d < INT64_MAX / DAY ? (d + 1) * DAY : INT64_MAX);
    lens[11] = expire_at(epoch_at, epoch_exp);
    args[0] = day, args[1] = ep, args[2] = num, args[3] = dl, args[4] = el, args[5] = today;
    args[6] = t, args[7] = exp, args[8] = first, args[9] = old, args[10] = day_at;
    args[11] = epoch_at;
    if ((err = eval(s, SC_COUNT, 2, 12, args, lens, &rep)) != AGP_OK) goto out;
    if ((err = small_int(rep, 1, &v)) != AGP_OK) goto out;
    err = v == 1 ? AGP_OK : AGP_ERR_RANGE;
out:
    if (rep != NULL) freeReplyObject(rep);
    return err;
}

static agp_err redis_uncount(struct agp_istore *b, const uint8_t pseudonym[AGP_PSEUDONYM_LEN],
                             unsigned n, uint32_t epoch, int64_t now)
{
    struct redis_istore *s = (struct redis_istore *)b;
    char day[KEY_MAX], ep[KEY_MAX], num[16], today[24], t[TIME_LEN + 1];
    const char *args[5];
    size_t lens[5];
    redisReply *rep = NULL;
    long long v = 0;
    agp_err err;

    lens[0] = key_of(day, "d", pseudonym, AGP_PSEUDONYM_LEN, NULL);
    lens[1] = key_of(ep, "e", pseudonym, AGP_PSEUDONYM_LEN, &epoch);
    lens[2] = (size_t)snprintf(num, sizeof num, "%u", n);
    lens[3] = (size_t)snprintf(today, sizeof today, "%lld", (long long)floor_div(now, DAY));
    time_text(t, now);
    lens[4] = TIME_LEN;
    args[0] = day, args[1] = ep, args[2] = num, args[3] = today, args[4] = t;
    if ((err = eval(s, SC_UNCOUNT, 2, 5, args, lens, &rep)) != AGP_OK) goto out;
    if ((err = small_int(rep, 1, &v)) != AGP_OK) goto out;
    err = v == 1 ? AGP_OK : AGP_ERR_IO;
out:
    if (rep != NULL) freeReplyObject(rep);
    return err;
}

static agp_err redis_evidence_once(struct agp_istore *b, const uint8_t digest[32],
                                   int64_t expires_at, int64_t now)
{
    struct redis_istore *s = (struct redis_istore *)b;
    /* an expiry already past still holds the digest, until the next hour boundary */
    int64_t expires = expires_at > now ? expires_at : time_ceil(add_sat(now, 1), HOUR);
    char key[KEY_MAX], exp[TIME_LEN + 1], t[TIME_LEN + 1], ttl[24];
    const char *args[4];
    size_t lens[4];
    redisReply *rep = NULL;
    long long v = 0;
    agp_err err;

    lens[0] = key_of(key, "v", digest, 32, NULL);
    time_text(exp, expires);
    lens[1] = TIME_LEN;
    time_text(t, now);
    lens[2] = TIME_LEN;
    lens[3] = expire_at(ttl, expires);
    args[0] = key, args[1] = exp, args[2] = t, args[3] = ttl;
    if ((err = eval(s, SC_EVIDENCE, 1, 4, args, lens, &rep)) != AGP_OK) goto out;
    if ((err = small_int(rep, 1, &v)) != AGP_OK) goto out;
    err = v == 1 ? AGP_OK : AGP_ERR_REPLAY;
out:
    if (rep != NULL) freeReplyObject(rep);
    return err;
}

static agp_err redis_pickup_put(struct agp_istore *b, const uint8_t id[AGP_PICKUP_ID_LEN],
                                const uint8_t *rec, size_t rec_len, int64_t expires_at, int64_t now)
{
    struct redis_istore *s = (struct redis_istore *)b;
    char key[KEY_MAX], exp[TIME_LEN + 1], t[TIME_LEN + 1], ttl[24];
    const char *args[5];
    size_t lens[5];
    redisReply *rep = NULL;
    long long v = 0;
    agp_err err;

    lens[0] = key_of(key, "p", id, AGP_PICKUP_ID_LEN, NULL);
    lens[1] = rec_len;
    time_text(exp, expires_at);
    lens[2] = TIME_LEN;
    time_text(t, now);
    lens[3] = TIME_LEN;
    lens[4] = expire_at(ttl, expires_at);
    args[0] = key, args[1] = (const char *)rec, args[2] = exp, args[3] = t, args[4] = ttl;
    if ((err = eval(s, SC_PICKUP_PUT, 1, 5, args, lens, &rep)) != AGP_OK) goto out;
    if ((err = small_int(rep, 1, &v)) != AGP_OK) goto out;
    err = v == 1 ? AGP_OK : AGP_ERR_REPLAY;
out:
    if (rep != NULL) freeReplyObject(rep);
    return err;
}

static agp_err redis_pickup_take(struct agp_istore *b, const uint8_t id[AGP_PICKUP_ID_LEN],
                                 int64_t now, uint8_t *rec, size_t cap, size_t *rec_len)
{
    struct redis_istore *s = (struct redis_istore *)b;
    char key[KEY_MAX], t[TIME_LEN + 1], c[24];
    const char *args[3];
    size_t lens[3];
    redisReply *rep = NULL;
    const redisReply *e;
    long long code = 0;
    agp_err err;

    lens[0] = key_of(key, "p", id, AGP_PICKUP_ID_LEN, NULL);
    time_text(t, now);
    lens[1] = TIME_LEN;
    lens[2] = (size_t)snprintf(c, sizeof c, "%zu", cap < AGP_PICKUP_MAX ? cap : AGP_PICKUP_MAX);
    args[0] = key, args[1] = t, args[2] = c;
    if ((err = eval(s, SC_PICKUP_TAKE, 1, 3, args, lens, &rep)) != AGP_OK) goto out;
    err = AGP_ERR_IO;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1) goto out;
    if (small_int(rep->element[0], 2, &code) != AGP_OK) goto out;
    if (code < 2) {
        err = rep->elements != 1 ? AGP_ERR_IO : code == 0 ? AGP_ERR_NOT_FOUND : AGP_ERR_TOO_BIG;
        goto out;
    }
    /* what this file did not write is a broken store, not a record */
    if (rep->elements != 2) goto out;
    e = rep->element[1];
    if (e->type != REDIS_REPLY_STRING || e->len == 0 || e->len > cap || e->len > AGP_PICKUP_MAX)
        goto out;
    memcpy(rec, e->str, e->len);
    *rec_len = e->len;
    err = AGP_OK;
out:
    if (rep != NULL) freeReplyObject(rep); /* istore.c wipes rec on failure */
    return err;
}

/* Nothing to sweep (the TTLs do it): whether Redis answers PING. */
static agp_err redis_sweep(struct agp_istore *b, int64_t now)
{
    struct redis_istore *s = (struct redis_istore *)b;
    struct agp_redis_lease l;
    redisReply *rep = NULL;
    agp_err err = AGP_ERR_IO;

    (void)now;
    if (agp_redis_acquire(&s->redis, &l) != AGP_OK) goto out;
    rep = redisCommand(l.k->c, "PING");
    if (rep != NULL && rep->type == REDIS_REPLY_STATUS && rep->len == 4 &&
        memcmp(rep->str, "PONG", 4) == 0)
        err = AGP_OK;
out:
    if (rep != NULL) freeReplyObject(rep);
    agp_redis_release(&l, err != AGP_OK);
    return err;
}

static void redis_free(struct agp_istore *b)
{
    struct redis_istore *s = (struct redis_istore *)b;
    agp_redis_cleanup(&s->redis);
    free(s);
}

static const struct agp_istore_ops redis_ops = {
    redis_grant_put,     redis_grant_take, redis_grant_give_back, redis_count, redis_uncount,
    redis_evidence_once, redis_pickup_put, redis_pickup_take,     redis_sweep, redis_free};

/* SHA-1 of each script, the name EVALSHA knows it by (an identifier, not a security use). */
static agp_err script_names(struct redis_istore *s)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;
    size_t sc;

    for (sc = 0; sc < SC_COUNT_ALL; sc++) {
        AGP_ENSURE(EVP_Digest(scripts[sc], strlen(scripts[sc]), md, &n, EVP_sha1(), NULL) == 1 &&
                       n == 20,
                   AGP_ERR_CRYPTO);
        for (i = 0; i < 20; i++) {
            s->sha[sc][2 * i] = digits[md[i] >> 4];
            s->sha[sc][2 * i + 1] = digits[md[i] & 15];
        }
        s->sha[sc][40] = '\0';
    }
    return AGP_OK;
}

/* see agepass/istore.h */
agp_err agp_istore_open_redis(struct agp_istore **out, const char *url)
{
    struct redis_istore *s = NULL;
    agp_err err = AGP_ERR_ARG;

    if (out != NULL) *out = NULL;
    if (out == NULL || url == NULL) goto out;
    err = AGP_ERR_NOMEM;
    if ((s = calloc(1, sizeof *s)) == NULL) goto out;
    s->base.ops = &redis_ops;
    if ((err = agp_redis_init(&s->redis, url, TIMEOUT_MS)) != AGP_OK) goto out;
    if ((err = script_names(s)) != AGP_OK) goto out;
    *out = &s->base;
    s = NULL;
    err = AGP_OK;
out:
    if (s != NULL) redis_free(&s->base);
    return err;
}
