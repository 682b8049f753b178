/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_directory_parse, agp_directory_check_keys */
/*
 * tests/fuzz/fuzz_directory.c: the issuer directory JSON of RFC 9578 §4.
 *
 * Oracle: a directory that parses is written with agp_directory_write and
 * parsed again; the two structs must be equal field by field (the structs
 * are compared member by member, never with memcmp over padding). The
 * parsed values are also checked against the documented bounds. A failed
 * parse leaves the struct empty.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "agepass/directory.h"
#include "fuzz.h"

static struct agp_directory first, second;

static bool same_key(const struct agp_dir_key *a, const struct agp_dir_key *b)
{
    return a->token_type == b->token_type && a->token_key_len == b->token_key_len &&
           memcmp(a->token_key, b->token_key, a->token_key_len) == 0 &&
           a->has_not_before == b->has_not_before &&
           (!a->has_not_before || a->not_before == b->not_before) && a->age == b->age;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = NULL;
    size_t i, json_len = 1;
    agp_err err;

    err = agp_directory_parse(&first, (const char *)data, size);
    if (err != AGP_OK) {
        FUZZ_CHECK(first.count == 0 && first.issuer_request_uri[0] == '\0');
        return 0;
    }
    FUZZ_CHECK(size <= AGP_DIR_MAX_BYTES);
    FUZZ_CHECK(first.count <= AGP_DIR_MAX_KEYS);
    FUZZ_CHECK(strnlen(first.issuer_request_uri, sizeof first.issuer_request_uri) <= AGP_URI_MAX);
    FUZZ_CHECK(first.issuer_request_uri[0] != '\0');
    for (i = 0; i < first.count; i++) {
        const struct agp_dir_key *k = &first.keys[i];
        FUZZ_CHECK(k->token_type == 1 || k->token_type == 2);
        FUZZ_CHECK(k->token_key_len > 0 && k->token_key_len <= AGP_TOKEN_KEY_MAX);
        FUZZ_CHECK(!k->has_not_before || k->not_before >= 0);
    }
    {
        /* key consistency: only type-2 keys kept; a refusal keeps none */
        bool keep[AGP_DIR_MAX_KEYS];
        size_t kept = 0;
        err = agp_directory_check_keys(&first, 18, 1800000000, keep);
        FUZZ_CHECK(err == AGP_OK || err == AGP_ERR_KEY);
        for (i = 0; i < AGP_DIR_MAX_KEYS; i++) {
            FUZZ_CHECK(!keep[i] || (i < first.count && first.keys[i].token_type == 2));
            kept += keep[i];
        }
        FUZZ_CHECK(err == AGP_OK || kept == 0);
        FUZZ_CHECK(kept <= 2 * (first.count > 0 ? first.count : 1));
    }

    FUZZ_CHECK(agp_directory_write(&first, &json, &json_len) == AGP_OK);
    FUZZ_CHECK(json != NULL && json_len == strlen(json));
    err = agp_directory_parse(&second, json, json_len);
    free(json);
    FUZZ_CHECK(err == AGP_OK);
    FUZZ_CHECK(strcmp(first.issuer_request_uri, second.issuer_request_uri) == 0);
    FUZZ_CHECK(strcmp(first.issuer_name, second.issuer_name) == 0);
    FUZZ_CHECK(first.count == second.count);
    for (i = 0; i < first.count; i++)
        FUZZ_CHECK(same_key(&first.keys[i], &second.keys[i]));
    return 0;
}
