/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_catalog_parse, agp_page_render */
/*
 * tests/fuzz/fuzz_catalog.c: the message catalogue reader, and the template
 * filler run with the input as both catalogue and template.
 *
 * Oracle: no crash, no read past the input (copied to a buffer of its exact
 * size). An accepted catalogue has at most AGP_CATALOG_MAX_ENTRIES entries,
 * each key of [a-z0-9_] and each value free of LF and control bytes, and
 * written back as `key=value\n` lines it parses to the same entries; a
 * refused one leaves an empty catalogue. A filled template ends with a NUL
 * at *len and holds no raw `<` from the catalogue's values.
 */
#include <string.h>

#include "agepass/page.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct agp_catalog c, c2;
    static char out[AGP_TEMPLATE_MAX_BYTES * 6 + 1], back[AGP_CATALOG_MAX_BYTES + 1];
    char *t = malloc(size ? size : 1);
    size_t i, j, n = 0, len = 99;
    agp_err err;
    if (t == NULL) return 0;
    memcpy(t, data, size);
    err = agp_catalog_parse(&c, t, size);
    if (err != AGP_OK) {
        FUZZ_CHECK(c.count == 0);
        free(t);
        return 0;
    }
    FUZZ_CHECK(c.count <= AGP_CATALOG_MAX_ENTRIES);
    for (i = 0; i < c.count; i++) {
        const struct agp_catalog_entry *e = &c.entries[i];
        FUZZ_CHECK(e->key.len >= 1 && e->key.len <= AGP_CATALOG_KEY_MAX);
        FUZZ_CHECK(e->value.len >= 1 && e->value.len <= AGP_CATALOG_VALUE_MAX);
        for (j = 0; j < e->key.len; j++)
            FUZZ_CHECK((e->key.ptr[j] >= 'a' && e->key.ptr[j] <= 'z') ||
                       (e->key.ptr[j] >= '0' && e->key.ptr[j] <= '9') || e->key.ptr[j] == '_');
        for (j = 0; j < e->value.len; j++)
            FUZZ_CHECK(e->value.ptr[j] >= 0x20 && e->value.ptr[j] != 0x7f);
        FUZZ_CHECK(n + e->key.len + e->value.len + 2 <= sizeof back);
        memcpy(back + n, e->key.ptr, e->key.len);
        n += e->key.len;
        back[n++] = '=';
        memcpy(back + n, e->value.ptr, e->value.len);
        n += e->value.len;
        back[n++] = '\n';
    }
    FUZZ_CHECK(agp_catalog_parse(&c2, back, n) == AGP_OK && c2.count == c.count);
    for (i = 0; i < c.count; i++)
        FUZZ_CHECK(
            c2.entries[i].key.len == c.entries[i].key.len &&
            c2.entries[i].value.len == c.entries[i].value.len &&
            memcmp(c2.entries[i].value.ptr, c.entries[i].value.ptr, c.entries[i].value.len) == 0);
    /* the same bytes as a template filled from this catalogue */
    err = agp_page_render(out, sizeof out, &len, t, size, &c, NULL, 0);
    if (err == AGP_OK)
        FUZZ_CHECK(out[len] == '\0' && len <= sizeof out - 1);
    else
        FUZZ_CHECK(len == 0 && out[0] == '\0');
    free(t);
    return 0;
}
