/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/page.c: the text readers and the template filler behind the
 * verifier's age-check page and its redemption route (agepass/page.h).
 * Each reader walks its input once with an index checked against the
 * length before every read, and refuses anything the grammar does not
 * allow rather than guessing.
 */
#include <string.h>

#include "agepass/page.h"
#include "internal.h"

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int hex_value(char c)
{
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void skip_ows(const char *h, size_t len, size_t *i)
{
    while (*i < len && (h[*i] == ' ' || h[*i] == '\t'))
        (*i)++;
}

/*
 *= https://www.rfc-editor.org/rfc/rfc9110#section-12.4.2
 *#   qvalue = ( "0" [ "." 0*3DIGIT ] )
 *#          / ( "1" [ "." 0*3("0") ] )
 * In thousandths: 0..1000.
 */
static agp_err read_qvalue(const char *h, size_t len, size_t *i, unsigned *q)
{
    unsigned digits = 0, frac = 0;
    AGP_ENSURE(*i < len && (h[*i] == '0' || h[*i] == '1'), AGP_ERR_SYNTAX);
    *q = h[*i] == '1' ? 1000 : 0;
    (*i)++;
    if (*i < len && h[*i] == '.') {
        (*i)++;
        while (*i < len && is_digit(h[*i]) && digits < 3) {
            frac = frac * 10 + (unsigned)(h[*i] - '0');
            digits++;
            (*i)++;
        }
        AGP_ENSURE(*i >= len || !is_digit(h[*i]), AGP_ERR_SYNTAX); /* a 4th digit */
        while (digits++ < 3)
            frac *= 10;
        AGP_ENSURE(*q == 0 || frac == 0, AGP_ERR_SYNTAX); /* 1.5 */
        *q += frac;
    }
    return AGP_OK;
}

/*
 *= https://www.rfc-editor.org/rfc/rfc4647#section-2.1
 *#   language-range   = (1*8ALPHA *("-" 1*8alphanum)) / "*"
 * Sets [*start, *primary_end) to the primary subtag ("*" for the wildcard).
 */
static agp_err read_range(const char *h, size_t len, size_t *i, size_t *start, size_t *primary_end)
{
    size_t n = 0;
    *start = *i;
    if (*i < len && h[*i] == '*') {
        (*i)++;
        *primary_end = *i;
        return AGP_OK;
    }
    while (*i < len && is_alpha(h[*i]) && n < 8)
        (*i)++, n++;
    AGP_ENSURE(n > 0 && (*i >= len || !is_alpha(h[*i])), AGP_ERR_SYNTAX);
    *primary_end = *i;
    while (*i < len && h[*i] == '-') {
        (*i)++;
        n = 0;
        while (*i < len && (is_alpha(h[*i]) || is_digit(h[*i])) && n < 8)
            (*i)++, n++;
        AGP_ENSURE(n > 0 && (*i >= len || !(is_alpha(h[*i]) || is_digit(h[*i]))), AGP_ERR_SYNTAX);
    }
    return AGP_OK;
}

static agp_err pick_language(size_t *pick, const char *header, size_t len, const char *const *langs,
                             size_t n)
{
    size_t i = 0, ranges = 0, k;
    unsigned best_q = 0;
    bool found = false;

    *pick = 0;
    AGP_ENSURE(len <= AGP_ACCEPT_LANGUAGE_MAX, AGP_ERR_TOO_BIG);
    for (;;) {
        size_t start, primary_end;
        unsigned q = 1000;
        /* empty list elements are allowed (RFC 9110 §5.6.1.2) */
        while (i < len && (header[i] == ' ' || header[i] == '\t' || header[i] == ','))
            i++;
        if (i >= len) break;
        AGP_ENSURE(++ranges <= AGP_ACCEPT_LANGUAGE_MAX_RANGES, AGP_ERR_TOO_BIG);
        AGP_TRY(read_range(header, len, &i, &start, &primary_end));
        skip_ows(header, len, &i);
        if (i < len && header[i] == ';') {
            i++;
            skip_ows(header, len, &i);
            AGP_ENSURE(len - i >= 2 && lower(header[i]) == 'q' && header[i + 1] == '=',
                       AGP_ERR_SYNTAX);
            i += 2;
            AGP_TRY(read_qvalue(header, len, &i, &q));
            skip_ows(header, len, &i);
        }
        AGP_ENSURE(i >= len || header[i] == ',', AGP_ERR_SYNTAX);
        if (q == 0 || (found && q <= best_q)) continue;
        for (k = 0; k < n; k++) {
            size_t plen = primary_end - start, j;
            bool same = header[start] == '*' ? k == 0 : strlen(langs[k]) == plen;
            for (j = 0; same && header[start] != '*' && j < plen; j++)
                same = lower(header[start + j]) == langs[k][j];
            if (same) {
                *pick = k;
                best_q = q;
                found = true;
                break;
            }
        }
    }
    return found ? AGP_OK : AGP_ERR_NOT_FOUND;
}

/* see agepass/page.h */
agp_err agp_accept_language_pick(size_t *pick, const char *header, size_t len,
                                 const char *const *langs, size_t n)
{
    agp_err err = pick_language(pick, header, len, langs, n);
    if (err != AGP_OK) *pick = 0; /* a range read before the error does not count */
    return err;
}

/* Length of the UTF-8 character at p[0..n) in shortest form, 0 if none. */
static size_t utf8_char(const uint8_t *p, size_t n)
{
    uint32_t cp;
    size_t need, j;
    if (p[0] < 0x80) return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        need = 2, cp = p[0] & 0x1fu;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        need = 3, cp = p[0] & 0x0fu;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        need = 4, cp = p[0] & 0x07u;
    else
        return 0;
    if (n < need) return 0;
    for (j = 1; j < need; j++) {
        if ((p[j] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (p[j] & 0x3fu);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
    if (cp >= 0xd800 && cp <= 0xdfff) return 0;
    return need;
}

static bool key_char(char c)
{
    return (c >= 'a' && c <= 'z') || is_digit(c) || c == '_';
}

/* see agepass/page.h */
agp_err agp_catalog_parse(struct agp_catalog *c, const char *text, size_t len)
{
    const uint8_t *u = (const uint8_t *)text;
    size_t i = 0, j;
    agp_err err = AGP_ERR_SYNTAX;

    memset(c, 0, sizeof *c);
    if (len > AGP_CATALOG_MAX_BYTES) return AGP_ERR_TOO_BIG;
    while (i < len) {
        size_t start = i, key_len, vstart, vlen;
        struct agp_catalog_entry *e;
        if (text[i] == '\n') { /* empty line */
            i++;
            continue;
        }
        if (text[i] == '#') { /* comment: any UTF-8 up to LF */
            while (i < len && text[i] != '\n') {
                size_t w = utf8_char(u + i, len - i);
                err = AGP_ERR_ENCODING;
                if (w == 0 || (w == 1 && (u[i] < 0x20 || u[i] == 0x7f) && u[i] != '\t')) goto fail;
                i += w;
            }
            err = AGP_ERR_SYNTAX;
            if (i >= len) goto fail; /* no final LF */
            i++;
            continue;
        }
        while (i < len && key_char(text[i]))
            i++;
        key_len = i - start;
        err = AGP_ERR_LENGTH;
        if (key_len == 0 || key_len > AGP_CATALOG_KEY_MAX) goto fail;
        err = AGP_ERR_SYNTAX;
        if (i >= len || text[i] != '=') goto fail;
        vstart = ++i;
        while (i < len && text[i] != '\n') {
            size_t w = utf8_char(u + i, len - i);
            err = AGP_ERR_ENCODING;
            if (w == 0 || (w == 1 && (u[i] < 0x20 || u[i] == 0x7f))) goto fail;
            i += w;
        }
        vlen = i - vstart;
        err = AGP_ERR_SYNTAX;
        if (i >= len) goto fail; /* no final LF */
        i++;
        err = AGP_ERR_LENGTH;
        if (vlen == 0 || vlen > AGP_CATALOG_VALUE_MAX || c->count >= AGP_CATALOG_MAX_ENTRIES)
            goto fail;
        err = AGP_ERR_SYNTAX;
        for (j = 0; j < c->count; j++)
            if (c->entries[j].key.len == key_len &&
                memcmp(c->entries[j].key.ptr, text + start, key_len) == 0)
                goto fail;
        e = &c->entries[c->count++];
        e->key = (struct agp_span){u + start, key_len};
        e->value = (struct agp_span){u + vstart, vlen};
    }
    return AGP_OK;
fail:
    memset(c, 0, sizeof *c);
    return err;
}

/* see agepass/page.h */
const struct agp_span *agp_catalog_get(const struct agp_catalog *c, const char *key, size_t len)
{
    size_t i;
    for (i = 0; i < c->count; i++)
        if (c->entries[i].key.len == len && memcmp(c->entries[i].key.ptr, key, len) == 0)
            return &c->entries[i].value;
    return NULL;
}

struct out {
    char *p;
    size_t cap, len; /* cap keeps a byte for the NUL */
};

static agp_err put(struct out *o, const char *s, size_t n)
{
    AGP_ENSURE(n < o->cap - o->len, AGP_ERR_TOO_BIG);
    memcpy(o->p + o->len, s, n);
    o->len += n;
    return AGP_OK;
}

static agp_err put_escaped(struct out *o, const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        switch (s[i]) {
        case '&': AGP_TRY(put(o, "&amp;", 5)); break;
        case '<': AGP_TRY(put(o, "&lt;", 4)); break;
        case '>': AGP_TRY(put(o, "&gt;", 4)); break;
        case '"': AGP_TRY(put(o, "&quot;", 6)); break;
        case '\'': AGP_TRY(put(o, "&#39;", 5)); break;
        default: AGP_TRY(put(o, s + i, 1));
        }
    }
    return AGP_OK;
}

static agp_err render(struct out *o, const char *t, size_t n, const struct agp_catalog *cat,
                      const struct agp_page_var *vars, size_t nvars)
{
    size_t i = 0;
    AGP_ENSURE(n <= AGP_TEMPLATE_MAX_BYTES, AGP_ERR_TOO_BIG);
    while (i < n) {
        size_t start, name_len, k;
        const struct agp_span *v;
        bool done = false;
        if (!(t[i] == '{' && n - i >= 2 && t[i + 1] == '{')) {
            AGP_TRY(put(o, t + i, 1));
            i++;
            continue;
        }
        start = i += 2;
        while (i < n && key_char(t[i]))
            i++;
        name_len = i - start;
        AGP_ENSURE(name_len > 0 && name_len <= AGP_CATALOG_KEY_MAX, AGP_ERR_SYNTAX);
        AGP_ENSURE(n - i >= 2 && t[i] == '}' && t[i + 1] == '}', AGP_ERR_SYNTAX);
        i += 2;
        for (k = 0; k < nvars && !done; k++) {
            if (strlen(vars[k].name) != name_len || memcmp(vars[k].name, t + start, name_len) != 0)
                continue;
            AGP_TRY(vars[k].raw ? put(o, vars[k].value, vars[k].len)
                                : put_escaped(o, vars[k].value, vars[k].len));
            done = true;
        }
        if (done) continue;
        v = agp_catalog_get(cat, t + start, name_len);
        AGP_ENSURE(v != NULL, AGP_ERR_NOT_FOUND);
        AGP_TRY(put_escaped(o, (const char *)v->ptr, v->len));
    }
    return AGP_OK;
}

/* see agepass/page.h */
agp_err agp_page_render(char *out, size_t cap, size_t *len, const char *tmpl, size_t tmpl_len,
                        const struct agp_catalog *cat, const struct agp_page_var *vars,
                        size_t nvars)
{
    struct out o = {out, cap, 0};
    agp_err err;
    *len = 0;
    AGP_ENSURE(cap > 0, AGP_ERR_TOO_BIG);
    err = render(&o, tmpl, tmpl_len, cat, vars, nvars);
    if (err != AGP_OK) o.len = 0;
    out[o.len] = '\0';
    *len = o.len;
    return err;
}

/* see agepass/page.h */
bool agp_return_path_ok(const char *p, size_t len)
{
    size_t i;
    if (len == 0 || len > AGP_RETURN_PATH_MAX || p[0] != '/') return false;
    if (len > 1 && (p[1] == '/' || p[1] == '\\')) return false;
    for (i = 0; i < len; i++) {
        int hi, lo, c;
        if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f || p[i] == '\\')
            return false;
        if (p[i] != '%') continue;
        if (len - i < 3 || (hi = hex_value(p[i + 1])) < 0 || (lo = hex_value(p[i + 2])) < 0)
            return false;
        c = hi * 16 + lo;
        if (c < 0x20 || c == 0x7f) return false;
        if (i == 1 && (c == '/' || c == '\\')) return false;
    }
    return true;
}

/* Decodes one form value v[0..n) into out[0..cap), NUL-terminated. */
static agp_err form_value(char *out, size_t cap, const char *v, size_t n)
{
    size_t i, o = 0;
    for (i = 0; i < n; i++) {
        int c = (unsigned char)v[i], hi, lo;
        if (c == '+')
            c = ' ';
        else if (c == '%') {
            AGP_ENSURE(n - i >= 3, AGP_ERR_ENCODING);
            hi = hex_value(v[i + 1]);
            lo = hex_value(v[i + 2]);
            AGP_ENSURE(hi >= 0 && lo >= 0, AGP_ERR_ENCODING);
            c = hi * 16 + lo;
            i += 2;
        } else {
            AGP_ENSURE(c > 0x20 && c < 0x7f && c != '=', AGP_ERR_ENCODING); /* raw: printable */
        }
        AGP_ENSURE(c >= 0x20 && c != 0x7f, AGP_ERR_ENCODING);
        AGP_ENSURE(o < cap - 1, AGP_ERR_TOO_BIG);
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return AGP_OK;
}

static agp_err form_parse(char *token, size_t token_cap, char *ret, size_t ret_cap,
                          const char *body, size_t len)
{
    size_t i = 0;
    bool have_token = false, have_ret = false;
    AGP_ENSURE(len <= AGP_FORM_MAX_BYTES, AGP_ERR_TOO_BIG);
    AGP_ENSURE(len > 0, AGP_ERR_SYNTAX);
    while (i <= len) {
        size_t start = i, eq, end;
        while (i < len && body[i] != '&')
            i++;
        end = i;
        for (eq = start; eq < end && body[eq] != '='; eq++)
            continue;
        AGP_ENSURE(eq < end, AGP_ERR_SYNTAX);
        if (eq - start == 5 && memcmp(body + start, "token", 5) == 0 && !have_token) {
            AGP_TRY(form_value(token, token_cap, body + eq + 1, end - eq - 1));
            have_token = true;
        } else if (eq - start == 6 && memcmp(body + start, "return", 6) == 0 && !have_ret) {
            AGP_TRY(form_value(ret, ret_cap, body + eq + 1, end - eq - 1));
            have_ret = true;
        } else {
            return AGP_ERR_SYNTAX;
        }
        i = end + 1; /* past the '&', or past the end */
    }
    AGP_ENSURE(have_token && have_ret, AGP_ERR_SYNTAX);
    return AGP_OK;
}

/* see agepass/page.h */
agp_err agp_redeem_form_parse(char *token, size_t token_cap, char *ret, size_t ret_cap,
                              const char *body, size_t len)
{
    agp_err err;
    AGP_ENSURE(token_cap > 0 && ret_cap > 0, AGP_ERR_ARG);
    token[0] = ret[0] = '\0';
    err = form_parse(token, token_cap, ret, ret_cap, body, len);
    if (err != AGP_OK) token[0] = ret[0] = '\0';
    return err;
}

/* see agepass/page.h */
agp_err agp_pct_encode(char *out, size_t cap, size_t *out_len, const char *in, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i, o = 0;
    *out_len = 0;
    AGP_ENSURE(cap > 0, AGP_ERR_TOO_BIG);
    out[0] = '\0';
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        bool keep =
            is_alpha((char)c) || is_digit((char)c) || c == '-' || c == '.' || c == '_' || c == '~';
        size_t w = keep ? 1 : 3;
        if (w >= cap - o) {
            out[0] = '\0';
            return AGP_ERR_TOO_BIG;
        }
        if (keep) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    *out_len = o;
    return AGP_OK;
}
