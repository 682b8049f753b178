/* SPDX-License-Identifier: Apache-2.0 */
/* bench/bench_util.c: see bench_util.h. */
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"

bool bench_count(const char *s, size_t max, size_t *out)
{
    size_t v = 0;
    if (*s == '\0') return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (max - (size_t)(*s - '0')) / 10) return false;
        v = v * 10 + (size_t)(*s - '0');
    }
    *out = v;
    return true;
}

uint8_t *bench_read_file(const char *tool, const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > (1L << 20) ||
        fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL ||
        fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "%s: cannot read %s\n", tool, path);
        exit(1);
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}
