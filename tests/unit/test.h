/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test.h: the in-house test macros. A test program is one main()
 * that calls EXPECT* and ends with TEST_END(); each failed expectation
 * prints its file, line and the expression, and the program exits 1.
 */
#ifndef AGEPASS_TEST_H
#define AGEPASS_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agepass/err.h"

static int test_failures, test_checks;

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        test_checks++;                                                                             \
        if (!(cond)) {                                                                             \
            test_failures++;                                                                       \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);                    \
        }                                                                                          \
    } while (0)

#define EXPECT_ERR(call, want)                                                                     \
    do {                                                                                           \
        agp_err test_got_ = (call);                                                                \
        test_checks++;                                                                             \
        if (test_got_ != (want)) {                                                                 \
            test_failures++;                                                                       \
            fprintf(stderr, "%s:%d: %s returned %d (%s), expected %s\n", __FILE__, __LINE__,       \
                    #call, (int)test_got_, agp_err_str(test_got_), #want);                         \
        }                                                                                          \
    } while (0)

#define EXPECT_OK(call) EXPECT_ERR(call, AGP_OK)

/* An error, any error, but not AGP_OK. */
#define EXPECT_FAIL(call)                                                                          \
    do {                                                                                           \
        agp_err test_got_ = (call);                                                                \
        test_checks++;                                                                             \
        if (test_got_ == AGP_OK) {                                                                 \
            test_failures++;                                                                       \
            fprintf(stderr, "%s:%d: %s succeeded, expected an error\n", __FILE__, __LINE__,        \
                    #call);                                                                        \
        }                                                                                          \
    } while (0)

#define EXPECT_BYTES(got, want, n)                                                                 \
    do {                                                                                           \
        test_checks++;                                                                             \
        if (memcmp((got), (want), (n)) != 0) {                                                     \
            test_failures++;                                                                       \
            fprintf(stderr, "%s:%d: bytes %s differ from %s\n", __FILE__, __LINE__, #got, #want);  \
        }                                                                                          \
    } while (0)

#define TEST_END()                                                                                 \
    do {                                                                                           \
        printf("%s: %d checks, %d failed\n", __FILE__, test_checks, test_failures);                \
        return (test_failures == 0 && test_checks > 0) ? 0 : 1;                                    \
    } while (0)

/* A hex string as a malloc'd byte buffer (exits on bad hex: test data). */
struct test_bytes {
    unsigned char *ptr;
    size_t len;
};

static inline int test_hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static inline struct test_bytes test_hex(const char *hex)
{
    struct test_bytes b;
    size_t i, n = strlen(hex);
    if (n % 2 != 0) {
        fprintf(stderr, "odd hex length\n");
        exit(2);
    }
    b.len = n / 2;
    b.ptr = malloc(b.len + 1);
    if (b.ptr == NULL) exit(2);
    for (i = 0; i < b.len; i++) {
        int hi = test_hexval(hex[2 * i]), lo = test_hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            fprintf(stderr, "bad hex\n");
            exit(2);
        }
        b.ptr[i] = (unsigned char)(hi << 4 | lo);
    }
    return b;
}

/* The hex string member `name` of obj, decoded. */
static inline struct test_bytes test_json_hex(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_string(v)) {
        fprintf(stderr, "vector member %s missing\n", name);
        exit(2);
    }
    return test_hex(json_string_value(v));
}

/* Loads dir/name as JSON (exits if it cannot: the vectors are required). */
static inline json_t *test_load_json(const char *dir, const char *name)
{
    char path[4096];
    json_error_t e;
    json_t *j;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    j = json_load_file(path, 0, &e);
    if (j == NULL) {
        fprintf(stderr, "%s: %s\n", path, e.text);
        exit(2);
    }
    return j;
}

#endif
