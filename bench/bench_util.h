/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/bench_util.h: what the benchmark programs share for reading their
 * command line and input files. Not part of libagepass.
 */
#ifndef AGEPASS_BENCH_UTIL_H
#define AGEPASS_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* s as a count 0..max, decimal digits only; false when it is not that. */
bool bench_count(const char *s, size_t max, size_t *out);

/* The whole file at path (at most 1 MiB); on failure prints tool: path and exits 1. */
uint8_t *bench_read_file(const char *tool, const char *path, size_t *len);

#endif
