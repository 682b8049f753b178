/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/audit_match.h: what `agepass audit` reads in a site's answers
 * (src/audit_match.c): its session cookie among the Set-Cookie fields, and
 * whether a body shows the protected page. Both read untrusted bytes and
 * are bounded by their inputs; both are reentrant.
 */
#ifndef AGEPASS_SRC_AUDIT_MATCH_H
#define AGEPASS_SRC_AUDIT_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lines of the page compared with a body, and the shortest that counts. */
#define AUDIT_LINES_MAX 512
#define AUDIT_LINE_MIN  8

/*
 * The cookie name among the Set-Cookie field values of set_cookie (several
 * fields joined with ", ", as cli_http keeps them), copied into out as
 * "name=value", NUL-terminated. The name must start a field (after ", "
 * or at the start), be followed by '=', and the value runs to the first
 * ';' or ',' (neither is a cookie-octet, RFC 6265 §4.1.1). False if the
 * cookie is absent, its value empty, name is empty or holds '=', ';',
 * ',', a space or a tab, or "name=value" does not fit in out[0..cap); out
 * is then "" (when cap > 0).
 */
bool audit_find_cookie(const char *set_cookie, const char *name, char *out, size_t cap);

/*
 * Whether body[0..len) shows page[0..page_len): holds it whole, or holds
 * lines of it (trimmed of spaces and tabs, at least AUDIT_LINE_MIN bytes,
 * the first AUDIT_LINES_MAX such lines) making more than half of the
 * bytes of those lines. An empty page or body shows nothing. When it
 * does, says how much in why[0..cap) (NUL-terminated).
 */
bool audit_shows_page(const uint8_t *body, size_t len, const uint8_t *page, size_t page_len,
                      char *why, size_t cap);

#endif
