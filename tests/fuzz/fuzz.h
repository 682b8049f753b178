/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz.h: what every fuzz target shares: the libFuzzer entry
 * point and the oracle check.
 *
 * A target is a deterministic function of its input: no randomness, no
 * clock, no state kept between calls, so that a crash found by libFuzzer
 * replays the same way under tests/fuzz/replay.c in a plain build.
 */
#ifndef AGEPASS_FUZZ_H
#define AGEPASS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * An oracle failed: say where, then abort so that libFuzzer saves the input
 * and the replay test fails.
 */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: oracle failed: %s\n", __FILE__, __LINE__, #cond);              \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
