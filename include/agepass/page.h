/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agepass/page.h: what the verifier needs to render the age-check page a
 * person sees instead of a protected page, and to take the web wallet's
 * answer back (POST /_agepass/redeem):
 *  - the Accept-Language header (RFC 9110 §12.5.4), to pick a language;
 *  - a message catalogue (one file per language) of `key=value` lines;
 *  - an HTML template with `{{name}}` placeholders, filled from variables
 *    and the catalogue, every value HTML-escaped unless marked raw;
 *  - the redemption form (application/x-www-form-urlencoded, exactly the
 *    fields `token` and `return`), and the return path it names, which
 *    must stay on this site (no open redirect).
 * Every reader is strict and bounded. Nothing here allocates.
 * Thread safety: reentrant.
 */
#ifndef AGEPASS_PAGE_H
#define AGEPASS_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agepass/buf.h"
#include "agepass/err.h"

#define AGP_ACCEPT_LANGUAGE_MAX        1024 /* bytes of header read at most */
#define AGP_ACCEPT_LANGUAGE_MAX_RANGES 32
#define AGP_CATALOG_MAX_BYTES          65536
#define AGP_CATALOG_MAX_ENTRIES        64
#define AGP_CATALOG_KEY_MAX            32
#define AGP_CATALOG_VALUE_MAX          1024
#define AGP_TEMPLATE_MAX_BYTES         65536
#define AGP_RETURN_PATH_MAX            2048
#define AGP_FORM_MAX_BYTES             4096

/*
 * Picks from langs[0..n) (lower-case primary tags such as "fr") the one the
 * Accept-Language value header[0..len) prefers: the highest q above 0 whose
 * primary subtag matches, the first listed on a tie; "*" stands for
 * langs[0]. Writes its index to *pick (0 on any error).
 *
 *= https://www.rfc-editor.org/rfc/rfc9110#section-12.5.4
 *#   Accept-Language = #( language-range [ weight ] )
 *#   language-range  = <language-range, see [RFC4647], Section 2.1>
 *
 * Errors: AGP_ERR_TOO_BIG (longer than AGP_ACCEPT_LANGUAGE_MAX, or more
 * than AGP_ACCEPT_LANGUAGE_MAX_RANGES ranges), AGP_ERR_SYNTAX (not that
 * grammar), AGP_ERR_NOT_FOUND (no language of langs is acceptable).
 */
AGP_MUST_USE agp_err agp_accept_language_pick(size_t *pick, const char *header, size_t len,
                                              const char *const *langs, size_t n);

struct agp_catalog_entry {
    struct agp_span key, value; /* borrowed from the text parsed */
};

struct agp_catalog {
    size_t count;
    struct agp_catalog_entry entries[AGP_CATALOG_MAX_ENTRIES];
};

/*
 * Parses a message catalogue text[0..len), which c then borrows. Lines end
 * with LF (the last one too); a line is empty, a comment (`#` first), or
 * `key=value`: key of 1..AGP_CATALOG_KEY_MAX characters [a-z0-9_], value of
 * 1..AGP_CATALOG_VALUE_MAX bytes of UTF-8 (shortest form, no surrogates)
 * without control characters. A key appears once.
 * Errors: AGP_ERR_TOO_BIG, AGP_ERR_LENGTH (key or value size, too many
 * entries), AGP_ERR_SYNTAX (line shape, duplicate key, missing final LF),
 * AGP_ERR_ENCODING (not UTF-8, a control character).
 */
AGP_MUST_USE agp_err agp_catalog_parse(struct agp_catalog *c, const char *text, size_t len);

/* The value of key in c, or NULL. */
const struct agp_span *agp_catalog_get(const struct agp_catalog *c, const char *key, size_t len);

/* A value the template may name; value[0..len) is escaped unless raw. */
struct agp_page_var {
    const char *name;
    const char *value;
    size_t len;
    bool raw; /* already HTML (made from a template) */
};

/*
 * Fills the template tmpl[0..tmpl_len) into out[0..cap): each `{{name}}`
 * (name as a catalogue key) becomes the variable of that name, else the
 * catalogue's value, HTML-escaped (& < > " '). Writes the length to *len
 * and a NUL after it.
 * Errors: AGP_ERR_TOO_BIG (template or output), AGP_ERR_SYNTAX (a `{{`
 * not closed by a name and `}}`), AGP_ERR_NOT_FOUND (a name neither a
 * variable nor in the catalogue). On error *len is 0 and out is "".
 */
AGP_MUST_USE agp_err agp_page_render(char *out, size_t cap, size_t *len, const char *tmpl,
                                     size_t tmpl_len, const struct agp_catalog *cat,
                                     const struct agp_page_var *vars, size_t nvars);

/*
 * True when p[0..len) is a path of this site a redirect may name: it starts
 * with one `/` (not `//`, not `/\`), is at most AGP_RETURN_PATH_MAX bytes of
 * printable ASCII without space or backslash, and its percent signs start
 * %XX escapes that decode to neither `/`, `\` nor a control character when
 * they come first (so `/%2F%2Fevil` is refused too).
 */
bool agp_return_path_ok(const char *p, size_t len);

/*
 * Reads the redemption form body[0..len): exactly the fields `token` and
 * `return`, once each, in either order, percent-decoded (`+` is a space)
 * into token[0..token_cap) and ret[0..ret_cap), each NUL-terminated.
 * Values may not hold a control character once decoded. The return path
 * is NOT checked here: see agp_return_path_ok.
 * Errors: AGP_ERR_TOO_BIG (body above AGP_FORM_MAX_BYTES, a value above its
 * buffer), AGP_ERR_SYNTAX (another field, one twice or missing, no `=`),
 * AGP_ERR_ENCODING (a bad % escape, a control character). On error both
 * outputs are "".
 */
AGP_MUST_USE agp_err agp_redeem_form_parse(char *token, size_t token_cap, char *ret, size_t ret_cap,
                                           const char *body, size_t len);

/*
 * Percent-encodes in[0..len) into out[0..cap) (all but RFC 3986 unreserved
 * characters), NUL-terminated, for a URL fragment's values.
 * Errors: AGP_ERR_TOO_BIG.
 */
AGP_MUST_USE agp_err agp_pct_encode(char *out, size_t cap, size_t *out_len, const char *in,
                                    size_t len);

#endif
