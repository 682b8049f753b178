/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_redeem_form_parse, agp_return_path_ok, agp_pct_encode */
/*
 * tests/fuzz/fuzz_redeem_form.c: the body of POST /_agepass/redeem, and the
 * return path it names, which must never lead off the site.
 *
 * Oracle: no crash, no read past the input. An accepted form gives two
 * NUL-terminated values free of control bytes; a refused one leaves both
 * empty. A return path that is accepted starts with exactly one `/`, holds
 * no backslash, space or control byte. Percent-encoding any accepted value
 * gives only unreserved characters and `%XX`, and the form rebuilt from
 * the two encoded values parses to the same values.
 */
#include <string.h>

#include "agepass/page.h"
#include "fuzz.h"

static void check_encoded(const char *e, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        FUZZ_CHECK((e[i] >= 'a' && e[i] <= 'z') || (e[i] >= 'A' && e[i] <= 'Z') ||
                   (e[i] >= '0' && e[i] <= '9') || e[i] == '-' || e[i] == '.' || e[i] == '_' ||
                   e[i] == '~' || e[i] == '%');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char tok[AGP_FORM_MAX_BYTES], ret[AGP_FORM_MAX_BYTES], tok2[AGP_FORM_MAX_BYTES],
        ret2[AGP_FORM_MAX_BYTES], etok[3 * AGP_FORM_MAX_BYTES + 1],
        eret[3 * AGP_FORM_MAX_BYTES + 1], body[6 * AGP_FORM_MAX_BYTES + 32];
    char *b = malloc(size ? size : 1);
    size_t i, ntok, nret, n;
    agp_err err;
    if (b == NULL) return 0;
    memcpy(b, data, size);
    /* the input as a return path */
    if (agp_return_path_ok(b, size)) {
        FUZZ_CHECK(size >= 1 && b[0] == '/' && (size == 1 || (b[1] != '/' && b[1] != '\\')));
        for (i = 0; i < size; i++)
            FUZZ_CHECK(b[i] > 0x20 && b[i] < 0x7f && b[i] != '\\');
    }
    err = agp_redeem_form_parse(tok, sizeof tok, ret, sizeof ret, b, size);
    if (err != AGP_OK) {
        FUZZ_CHECK(tok[0] == '\0' && ret[0] == '\0');
        free(b);
        return 0;
    }
    for (i = 0; tok[i] != '\0'; i++)
        FUZZ_CHECK((unsigned char)tok[i] >= 0x20 && tok[i] != 0x7f);
    for (i = 0; ret[i] != '\0'; i++)
        FUZZ_CHECK((unsigned char)ret[i] >= 0x20 && ret[i] != 0x7f);
    FUZZ_CHECK(agp_pct_encode(etok, sizeof etok, &ntok, tok, strlen(tok)) == AGP_OK);
    FUZZ_CHECK(agp_pct_encode(eret, sizeof eret, &nret, ret, strlen(ret)) == AGP_OK);
    check_encoded(etok, ntok);
    check_encoded(eret, nret);
    n = (size_t)snprintf(body, sizeof body, "return=%s&token=%s", eret, etok);
    if (n <= AGP_FORM_MAX_BYTES) {
        FUZZ_CHECK(agp_redeem_form_parse(tok2, sizeof tok2, ret2, sizeof ret2, body, n) == AGP_OK);
        FUZZ_CHECK(strcmp(tok, tok2) == 0 && strcmp(ret, ret2) == 0);
    }
    free(b);
    return 0;
}
