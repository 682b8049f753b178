/* SPDX-License-Identifier: Apache-2.0 */
/* Target: agp_accept_language_pick */
/*
 * tests/fuzz/fuzz_accept_language.c: the Accept-Language reader behind the
 * age-check page's language.
 *
 * Oracle: no crash, no read past the input (copied to a buffer of its exact
 * size); the pick is always an index of the list, 0 on any error; a header
 * that is accepted stays accepted, with the same pick, when a ", " and an
 * unknown language range of q=0 are appended (it can never win), and
 * longer than the ceiling it is refused as too big.
 */
#include <string.h>

#include "agepass/page.h"
#include "fuzz.h"

static const char *const langs[] = {"en", "fr", "de", "es", "it"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char tail[] = ", xx;q=0";
    size_t pick = 99, again = 99;
    char *h = malloc(size + sizeof tail);
    agp_err err;
    if (h == NULL) return 0;
    memcpy(h, data, size);
    err = agp_accept_language_pick(&pick, h, size, langs, 5);
    FUZZ_CHECK(pick < 5);
    if (err != AGP_OK) FUZZ_CHECK(pick == 0);
    if (size > AGP_ACCEPT_LANGUAGE_MAX) FUZZ_CHECK(err == AGP_ERR_TOO_BIG);
    if (err == AGP_OK && size + sizeof tail - 1 <= AGP_ACCEPT_LANGUAGE_MAX) {
        agp_err err2;
        memcpy(h + size, tail, sizeof tail - 1);
        err2 = agp_accept_language_pick(&again, h, size + sizeof tail - 1, langs, 5);
        /* one more range may pass the range ceiling, nothing else changes */
        FUZZ_CHECK(err2 == AGP_ERR_TOO_BIG || (err2 == AGP_OK && again == pick));
    }
    free(h);
    return 0;
}
