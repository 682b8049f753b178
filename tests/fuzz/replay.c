/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/replay.c: runs a fuzz target over saved inputs, without
 * libFuzzer, so that ctest replays every corpus in a normal build (SQLite
 * fuzzcheck.c, s2n tests/fuzz).
 *
 *   replay_<name> PATH...
 *
 * Each PATH is a file or a directory; a directory contributes its regular
 * files (not its subdirectories, not names starting with '.'), in name
 * order so that runs are reproducible. Every input is copied into a buffer
 * of exactly its size, so a sanitizer build catches reads past the end.
 * Exit status: 0 if every input ran, 1 if a path is unreadable, a directory
 * holds no input, or an input cannot be read (a target that finds a bug
 * aborts by itself).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Corpus files are small; anything larger is a mistake, not an input. */
#define REPLAY_MAX_INPUT (16u * 1024u * 1024u)

/* Reads the whole file into a malloc'd buffer of exactly its size. */
static int read_file(const char *path, uint8_t **out, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL, *exact;
    size_t len = 0, cap = 0;
    int ok = 0;

    *out = NULL;
    *out_len = 0;
    if (f == NULL) return 0;
    for (;;) {
        size_t got;
        if (len == cap) {
            uint8_t *bigger;
            if (cap >= REPLAY_MAX_INPUT) goto out;
            cap = cap ? cap * 2 : 4096;
            if ((bigger = realloc(buf, cap)) == NULL) goto out;
            buf = bigger;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    if (ferror(f)) goto out;
    /* malloc(0) may return NULL: keep one byte so that data is never NULL */
    if ((exact = malloc(len ? len : 1)) == NULL) goto out;
    if (len > 0) memcpy(exact, buf, len);
    *out = exact;
    *out_len = len;
    ok = 1;
out:
    free(buf);
    fclose(f);
    return ok;
}

static int run_file(const char *path)
{
    uint8_t *data;
    size_t len;
    if (!read_file(path, &data, &len)) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        return 0;
    }
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    return 1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* dir + "/" + name, malloc'd. */
static char *join(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    char *p = malloc(dl + 1 + nl + 1);
    if (p == NULL) return NULL;
    memcpy(p, dir, dl);
    p[dl] = '/';
    memcpy(p + dl + 1, name, nl + 1);
    return p;
}

/* Runs every regular file of dir; returns the count, or -1 on error. */
static long run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **paths = NULL;
    size_t n = 0, cap = 0, i;
    long ran = -1;

    if (d == NULL) {
        fprintf(stderr, "replay: cannot open directory %s\n", dir);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        struct stat sb;
        char *p;
        if (e->d_name[0] == '.') continue;
        if ((p = join(dir, e->d_name)) == NULL) goto out;
        if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            free(p);
            continue;
        }
        if (n == cap) {
            char **bigger;
            cap = cap ? cap * 2 : 64;
            if ((bigger = realloc(paths, cap * sizeof *paths)) == NULL) {
                free(p);
                goto out;
            }
            paths = bigger;
        }
        paths[n++] = p;
    }
    if (n == 0) {
        fprintf(stderr, "replay: no input in %s\n", dir);
        goto out;
    }
    qsort(paths, n, sizeof *paths, by_name);
    for (i = 0; i < n; i++)
        if (!run_file(paths[i])) goto out;
    ran = (long)n;
out:
    for (i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    closedir(d);
    return ran;
}

int main(int argc, char **argv)
{
    long total = 0;
    int i;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "replay: cannot stat %s\n", argv[i]);
            return 1;
        }
        if (S_ISDIR(sb.st_mode)) {
            long n = run_dir(argv[i]);
            if (n < 0) return 1;
            total += n;
        } else {
            if (!run_file(argv[i])) return 1;
            total++;
        }
    }
    printf("replay: ran %ld inputs\n", total);
    return 0;
}
