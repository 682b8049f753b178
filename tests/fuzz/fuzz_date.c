/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_date_parse */
/*
 * tests/fuzz/fuzz_date.c: the YYYY-MM-DD dates of `--trust FILE,expires=`.
 *
 * Oracle: on success the time is the first second of a day, and writing
 * that day back with gmtime_r gives the input text exactly (one text per
 * day); on failure the output is 0.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agepass/util.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[16];
    struct tm tm;
    time_t t;
    int64_t out = 1;
    agp_err err = agp_date_parse(&out, (const char *)data, size);
    if (err != AGP_OK) {
        FUZZ_CHECK(err == AGP_ERR_SYNTAX && out == 0);
        return 0;
    }
    FUZZ_CHECK(size == 10 && out >= 0 && out % 86400 == 0);
    t = (time_t)out;
    FUZZ_CHECK(gmtime_r(&t, &tm) != NULL);
    FUZZ_CHECK(snprintf(text, sizeof text, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                        tm.tm_mday) == 10);
    FUZZ_CHECK(memcmp(text, data, 10) == 0);
    return 0;
}
