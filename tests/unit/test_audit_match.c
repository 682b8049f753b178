/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_audit_match.c: what `agepass audit` reads in a site's
 * answers (src/audit_match.c): the session cookie among Set-Cookie fields
 * (only a whole name at a field's start, never an empty or oversized
 * value), and whether a body shows the protected page.
 */
#include <string.h>

#include "audit_match.h"
#include "test.h"

#define U(s) ((const uint8_t *)(s))

static bool shows(const char *body, const char *page)
{
    char why[160];
    return audit_shows_page(U(body), strlen(body), U(page), strlen(page), why, sizeof why);
}

int main(void)
{
    char out[64], why[160];
    static const char page[] = "<!doctype html>\n<title>Shop</title>\n<h1>Adults only</h1>\n"
                               "<p>The protected text of this page, line one.</p>\n"
                               "<p>And line two of the protected text.</p>\n";

    /* the cookie */
    EXPECT(audit_find_cookie("agepass_session=abc; HttpOnly", "agepass_session", out, sizeof out));
    EXPECT(strcmp(out, "agepass_session=abc") == 0);
    EXPECT(audit_find_cookie("a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT, agepass_session=xyz; "
                             "Secure",
                             "agepass_session", out, sizeof out));
    EXPECT(strcmp(out, "agepass_session=xyz") == 0);
    EXPECT(audit_find_cookie("s=v", "s", out, sizeof out) && strcmp(out, "s=v") == 0);
    /* fields are joined with ", "; a bare ',' is inside one field */
    EXPECT(!audit_find_cookie("s=v,t=w", "t", out, sizeof out));
    EXPECT(audit_find_cookie("s=v,t=w", "s", out, sizeof out) && strcmp(out, "s=v") == 0);
    /* not a cookie of that name */
    EXPECT(!audit_find_cookie("xagepass_session=abc", "agepass_session", out, sizeof out));
    EXPECT(out[0] == '\0');
    EXPECT(!audit_find_cookie("agepass_sessionx=abc", "agepass_session", out, sizeof out));
    EXPECT(!audit_find_cookie("agepass_session", "agepass_session", out, sizeof out));
    EXPECT(!audit_find_cookie("other=1; Path=/agepass_session=abc", "agepass_session", out,
                              sizeof out));
    EXPECT(!audit_find_cookie("", "agepass_session", out, sizeof out));
    EXPECT(!audit_find_cookie("=abc", "", out, sizeof out));
    /* a name that is no cookie name (found by the fuzzer: "1, " matched "1, =0,") */
    EXPECT(!audit_find_cookie("0, 1, =0,sd", "1, ", out, sizeof out) && out[0] == '\0');
    EXPECT(!audit_find_cookie("a;=b", "a;", out, sizeof out));
    EXPECT(!audit_find_cookie("a==b", "a=", out, sizeof out));
    /* empty value, value too long for out */
    EXPECT(!audit_find_cookie("agepass_session=; Max-Age=0", "agepass_session", out, sizeof out));
    EXPECT(!audit_find_cookie("s=0123456789", "s", out, 12) && out[0] == '\0');
    EXPECT(audit_find_cookie("s=0123456789", "s", out, 13));
    EXPECT(!audit_find_cookie("s=v", "s", out, 0));

    /* the page */
    EXPECT(shows(page, page));
    EXPECT(shows("<html>before</html>"
                 "ADULT CONTENT 7f3a\n"
                 "after",
                 "ADULT CONTENT 7f3a\n"));
    /* the two text lines, in another layout: 2 of 4 lines, but most bytes */
    EXPECT(shows("<p>The protected text of this page, line one.</p><p>And line two of the "
                 "protected text.</p>",
                 page));
    /* boilerplate alone (the doctype and title lines) is not the page */
    EXPECT(!shows("<!doctype html>\n<title>Shop</title>\n<h1>Age check required</h1>\n", page));
    EXPECT(!shows("Age check required\n", page));
    /* empty inputs show nothing; lines shorter than AUDIT_LINE_MIN do not count */
    EXPECT(!audit_shows_page(U("x"), 1, U(""), 0, why, sizeof why));
    EXPECT(!audit_shows_page(U(""), 0, U(page), strlen(page), why, sizeof why));
    EXPECT(!shows("a\nb\n", "a\nb\nc\nd\n"));
    EXPECT(shows("abc", "abc")); /* whole page, however short */
    /* the reason is written */
    EXPECT(audit_shows_page(U(page), strlen(page), U(page), strlen(page), why, sizeof why) &&
           strstr(why, "whole page") != NULL);
    /* a body that is a prefix of the page, cut before its end: not whole, most lines */
    EXPECT(shows("<p>The protected text of this page, line one.</p>\n<p>And line two of the "
                 "protected",
                 page) == false);
    TEST_END();
}
