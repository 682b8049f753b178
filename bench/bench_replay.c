/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/bench_replay.c: the embedded replay store (agp_replay_open_file)
 * filled with N random tags, through the public API only.
 *
 * Figures, one "name value" line each on stdout:
 *   replay_spends_per_s      first spends (table insert + write(2) of the
 *                            record), all of them timed, growth included
 *   replay_lookups_per_s     the same tags again, each AGP_ERR_REPLAY (no
 *                            write), on up to 10^6 of them
 *   replay_count             agp_replay_count at the end (must be N)
 *   replay_count_ms          how long that call took (it scans the table)
 *   replay_table_bytes       agp_replay_memory
 *   replay_bytes_per_token   agp_replay_memory / count
 *   replay_rss_bytes_per_token  VmRSS of the whole process / N
 *   replay_log_bytes         the log file's size
 *   replay_reopen_s          free (last fdatasync) then open again: reading
 *                            the log back and rewriting it
 *
 * Usage: bench_replay [N [SYNC_MS]]   defaults 10000000 and 1000.
 * The log lives in a fresh directory under $TMPDIR (or /tmp), removed at
 * the end. Tags come from a splitmix64 stream seeded by agp_random (cheap,
 * uniform: what HMAC tags look like to the table). Every spend must return
 * AGP_OK and every lookup AGP_ERR_REPLAY, or the program exits 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "agepass/replay.h"
#include "agepass/util.h"

#define N_MAX       1000000000u
#define LOOKUPS_MAX 1000000u

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void next_tag(uint8_t tag[AGP_REPLAY_TAG_LEN], uint64_t *s)
{
    uint64_t a = splitmix64(s), b = splitmix64(s);
    memcpy(tag, &a, 8);
    memcpy(tag + 8, &b, 8);
}

/* VmRSS from /proc/self/status, in bytes; 0 if unknown. */
static unsigned long long rss_bytes(void)
{
    char line[256];
    unsigned long long kb = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) return 0;
    while (fgets(line, sizeof line, f) != NULL) {
        size_t i = 6;
        if (strncmp(line, "VmRSS:", 6) != 0) continue;
        while (line[i] == ' ' || line[i] == '\t')
            i++;
        for (; line[i] >= '0' && line[i] <= '9'; i++)
            kb = kb * 10 + (unsigned long long)(line[i] - '0');
        break;
    }
    fclose(f);
    return kb * 1024;
}

static void die(const char *what, agp_err err)
{
    fprintf(stderr, "bench_replay: %s: %s\n", what, agp_err_str(err));
    exit(1);
}

int main(int argc, char **argv)
{
    size_t n = 10000000, sync_ms = 1000;
    size_t i, lookups;
    const char *tmp = getenv("TMPDIR");
    char dir[4096], path[4200], tmp_path[4300];
    struct agp_replay *r = NULL;
    uint8_t tag[AGP_REPLAY_TAG_LEN];
    uint64_t seed, s;
    int64_t now = (int64_t)time(NULL);
    double t0, spend_s, lookup_s, count_s, reopen_s;
    unsigned long long rss;
    size_t count, mem;
    struct stat st;
    agp_err err;

    if (argc > 1 && (!bench_count(argv[1], N_MAX, &n) || n == 0)) {
        fprintf(stderr, "usage: bench_replay [N [SYNC_MS]]\n");
        return 2;
    }
    if (argc > 2 && !bench_count(argv[2], 3600000, &sync_ms)) {
        fprintf(stderr, "usage: bench_replay [N [SYNC_MS]]\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "%s/agp-bench-replay-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/replay.log", dir);
    snprintf(tmp_path, sizeof tmp_path, "%s.tmp", path);
    if ((err = agp_random((uint8_t *)&seed, sizeof seed)) != AGP_OK) die("agp_random", err);
    if ((err = agp_replay_open_file(&r, path, (unsigned)sync_ms)) != AGP_OK) die("open", err);
    fprintf(stderr, "bench_replay: %zu tags into %s, sync_ms %zu\n", n, path, sync_ms);

    s = seed;
    t0 = seconds();
    for (i = 0; i < n; i++) {
        next_tag(tag, &s);
        if ((err = agp_replay_spend(r, tag, now + 3600, now)) != AGP_OK) die("spend", err);
    }
    spend_s = seconds() - t0;

    lookups = n < LOOKUPS_MAX ? n : LOOKUPS_MAX;
    s = seed;
    t0 = seconds();
    for (i = 0; i < lookups; i++) {
        next_tag(tag, &s);
        if ((err = agp_replay_spend(r, tag, now + 3600, now)) != AGP_ERR_REPLAY)
            die("lookup (want AGP_ERR_REPLAY)", err);
    }
    lookup_s = seconds() - t0;

    rss = rss_bytes();
    t0 = seconds();
    count = agp_replay_count(r);
    count_s = seconds() - t0;
    mem = agp_replay_memory(r);
    if (count != n) {
        fprintf(stderr, "bench_replay: count %zu, expected %zu\n", count, n);
        return 1;
    }
    printf("replay_spends_per_s %.0f\n", (double)n / spend_s);
    printf("replay_lookups_per_s %.0f\n", (double)lookups / lookup_s);
    printf("replay_count %zu\n", count);
    printf("replay_count_ms %.1f\n", count_s * 1000);
    printf("replay_table_bytes %zu\n", mem);
    printf("replay_bytes_per_token %.1f\n", (double)mem / (double)count);
    printf("replay_rss_bytes_per_token %.1f\n", (double)rss / (double)n);
    printf("replay_log_bytes %lld\n", stat(path, &st) == 0 ? (long long)st.st_size : -1LL);

    t0 = seconds();
    agp_replay_free(r);
    r = NULL;
    if ((err = agp_replay_open_file(&r, path, (unsigned)sync_ms)) != AGP_OK) die("reopen", err);
    reopen_s = seconds() - t0;
    if (agp_replay_count(r) != n) {
        fprintf(stderr, "bench_replay: %zu entries after reopen\n", agp_replay_count(r));
        return 1;
    }
    printf("replay_reopen_s %.2f\n", reopen_s);
    agp_replay_free(r);
    unlink(path);
    unlink(tmp_path);
    rmdir(dir);
    return 0;
}
