/* SPDX-License-Identifier: Apache-2.0 */
/* Target: audit_find_cookie, audit_shows_page */
/*
 * tests/fuzz/fuzz_audit_match.c: what `agepass audit` reads in a site's
 * answers (src/audit_match.c): a cookie among Set-Cookie fields, and
 * whether a body shows the protected page.
 *
 * Input: one byte n, then a cookie name of n % 17 bytes, then the rest: the
 * Set-Cookie value (cut at its first NUL), and, split in two at its middle,
 * a body and a page.
 *
 * Oracle: no crash, no read past the input. A cookie found is
 * "name=value" with a non-empty value free of ';' and ',', shorter than
 * the output buffer, and appears in the Set-Cookie value at the start or
 * after ", ". A page always shows in itself and in any body holding it;
 * an empty page never shows.
 */
#include <string.h>

#include "audit_match.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char name[17], set_cookie[4096], out[256], why[160];
    size_t n, rest, half, len;
    const char *at;
    if (size < 1) return 0;
    n = data[0] % 17;
    if (size - 1 < n) return 0;
    memcpy(name, data + 1, n);
    name[n] = '\0';
    if (strlen(name) != n) return 0; /* a name holds no NUL */
    rest = size - 1 - n;
    len = rest < sizeof set_cookie - 1 ? rest : sizeof set_cookie - 1;
    memcpy(set_cookie, data + 1 + n, len);
    set_cookie[len] = '\0';

    if (audit_find_cookie(set_cookie, name, out, sizeof out)) {
        size_t m = strlen(out);
        FUZZ_CHECK(n > 0 && m > n + 1 && m < sizeof out);
        FUZZ_CHECK(memcmp(out, name, n) == 0 && out[n] == '=');
        FUZZ_CHECK(strcspn(out, ";,") == m);
        at = strstr(set_cookie, out);
        FUZZ_CHECK(at != NULL);
    } else {
        FUZZ_CHECK(out[0] == '\0');
    }

    half = rest / 2;
    {
        const uint8_t *body = data + 1 + n, *page = body + half;
        size_t page_len = rest - half;
        (void)audit_shows_page(body, half, page, page_len, why, sizeof why);
        FUZZ_CHECK(!audit_shows_page(body, half, page, 0, why, sizeof why));
        if (page_len > 0) {
            FUZZ_CHECK(audit_shows_page(page, page_len, page, page_len, why, sizeof why));
            /* body || page holds the page */
            FUZZ_CHECK(audit_shows_page(body, rest, page, page_len, why, sizeof why));
            FUZZ_CHECK(strlen(why) < sizeof why);
        }
    }
    return 0;
}
