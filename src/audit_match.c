/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/audit_match.c: the two things `agepass audit` reads in a site's
 * answers (see audit_match.h): its session cookie, and whether a body
 * shows the protected page. Kept apart from src/audit.c so that the unit
 * test and the fuzz target build them without the rest of the program.
 */
#include <stdio.h>
#include <string.h>

#include "audit_match.h"

/* see audit_match.h */
bool audit_find_cookie(const char *set_cookie, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    const char *p = set_cookie;
    if (cap > 0) out[0] = '\0';
    if (n == 0 || strcspn(name, "=;, \t") != n) return false; /* not a cookie name */
    while (p != NULL && *p != '\0') {
        while (*p == ' ' || *p == ',')
            p++;
        if (strncmp(p, name, n) == 0 && p[n] == '=') {
            size_t len = strcspn(p, ";,");
            if (len <= n + 1 || len >= cap) return false;
            memcpy(out, p, len);
            out[len] = '\0';
            return true;
        }
        /* the next field starts after ", " outside attributes: skip to it */
        p = strstr(p, ", ");
    }
    return false;
}

/* True if hay[0..hlen) holds needle[0..nlen) (nlen > 0). */
static bool holds(const uint8_t *hay, size_t hlen, const uint8_t *needle, size_t nlen)
{
    const uint8_t *p = hay, *end = hay + hlen;
    while (nlen <= (size_t)(end - p)) {
        const uint8_t *q = memchr(p, needle[0], (size_t)(end - p) - nlen + 1);
        if (q == NULL) return false;
        if (memcmp(q, needle, nlen) == 0) return true;
        p = q + 1;
    }
    return false;
}

/* see audit_match.h */
bool audit_shows_page(const uint8_t *body, size_t len, const uint8_t *page, size_t page_len,
                      char *why, size_t cap)
{
    size_t pos = 0, lines = 0, total = 0, found = 0;
    if (page_len == 0 || len == 0) return false;
    if (holds(body, len, page, page_len)) {
        snprintf(why, cap, "holds the whole page (%zu bytes)", page_len);
        return true;
    }
    while (pos < page_len && lines < AUDIT_LINES_MAX) {
        const uint8_t *nl = memchr(page + pos, '\n', page_len - pos);
        size_t end = nl ? (size_t)(nl - page) : page_len, s = pos, e = end;
        while (s < e && (page[s] == ' ' || page[s] == '\t'))
            s++;
        while (e > s && (page[e - 1] == ' ' || page[e - 1] == '\t' || page[e - 1] == '\r'))
            e--;
        if (e - s >= AUDIT_LINE_MIN) {
            lines++;
            total += e - s;
            if (holds(body, len, page + s, e - s)) found += e - s;
        }
        pos = end + 1;
    }
    if (total > 0 && found * 2 > total) {
        snprintf(why, cap, "holds %zu of the page's %zu bytes of text lines", found, total);
        return true;
    }
    return false;
}
