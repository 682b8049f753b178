/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/authhdr.c: the PrivateToken HTTP authentication scheme, RFC 9577.
 *
 * The grammar (RFC 9110 §11.2, §11.6.1, §5.6):
 *
 *   WWW-Authenticate = #challenge
 *   challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param  = token BWS "=" BWS ( token / quoted-string )
 *   token68     = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
 *
 * A comma separates both parameters and challenges; after a comma, a token
 * followed by "=" continues the current challenge, anything else starts the
 * next one. RFC 9577 §2.1.1 names the PrivateToken parameters: challenge
 * (required), token-key (may be omitted when the client knows the key) and
 * max-age (optional); others are ignored.
 *
 * One leniency: an unquoted value may end in base64 "=" padding, which the
 * token grammar does not allow but which deployed peers write.
 *
 * Every value is bounded by the header ceiling (AGP_HEADER_MAX) and by the
 * buffer it decodes into; quoted values are unescaped into a bounded buffer.
 */
#include <string.h>

#include "agepass/authhdr.h"
#include "internal.h"

/* Longest quoted or token value we keep before decoding. */
#define VALUE_MAX (AGP_B64_ENC_LEN(AGP_CHALLENGE_MAX) + 4)

struct text {
    const char *p;
    size_t len, pos;
};

static bool is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool is_token68_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("-._~+/", c) != NULL);
}

static bool at_end(const struct text *t)
{
    return t->pos >= t->len;
}

static char peek(const struct text *t)
{
    return at_end(t) ? '\0' : t->p[t->pos];
}

static void skip_ows(struct text *t)
{
    while (!at_end(t) && (t->p[t->pos] == ' ' || t->p[t->pos] == '\t'))
        t->pos++;
}

/* A token (1*tchar) as a span of the text; empty if none. */
static struct agp_span read_token(struct text *t)
{
    struct agp_span s = {(const uint8_t *)t->p + t->pos, 0};
    while (!at_end(t) && is_tchar(t->p[t->pos])) {
        t->pos++;
        s.len++;
    }
    return s;
}

static bool span_ieq(struct agp_span s, const char *lit)
{
    size_t i, n = strlen(lit);
    if (s.len != n) return false;
    for (i = 0; i < n; i++)
        if (agp_lower((char)s.ptr[i]) != agp_lower(lit[i])) return false;
    return true;
}

/*
 * A parameter value: token or quoted-string (quoted-pair unescaped), copied
 * into out[0..cap). The whole value is always consumed, so that parsing can
 * go on after a value that is too long: that is AGP_ERR_TOO_BIG, with the
 * text positioned after the value.
 */
static agp_err read_value(struct text *t, char *out, size_t cap, size_t *out_len)
{
    size_t n = 0;
    bool overflow = false;
    *out_len = 0;
    if (peek(t) != '"') {
        struct agp_span tok = read_token(t);
        AGP_ENSURE(tok.len > 0, AGP_ERR_SYNTAX);
        /*
         * Leniency: base64 padding after an unquoted value (`challenge=AB==`)
         * is not a token, but some clients and servers write it (the
         * privacypass-ts peer does by default), and it is unambiguous.
         */
        while (peek(t) == '=') {
            t->pos++;
            tok.len++;
        }
        AGP_ENSURE(tok.len <= cap, AGP_ERR_TOO_BIG);
        memcpy(out, tok.ptr, tok.len);
        *out_len = tok.len;
        return AGP_OK;
    }
    t->pos++; /* opening quote */
    for (;;) {
        char c;
        AGP_ENSURE(!at_end(t), AGP_ERR_SYNTAX);
        c = t->p[t->pos++];
        if (c == '"') break;
        if (c == '\\') {
            AGP_ENSURE(!at_end(t), AGP_ERR_SYNTAX);
            c = t->p[t->pos++];
        }
        /* qdtext and quoted-pair: HTAB, SP, visible ASCII, obs-text */
        AGP_ENSURE(c == '\t' || ((unsigned char)c >= 0x20 && c != 0x7f), AGP_ERR_SYNTAX);
        if (n < cap)
            out[n++] = c;
        else
            overflow = true;
    }
    *out_len = overflow ? 0 : n;
    return overflow ? AGP_ERR_TOO_BIG : AGP_OK;
}

/*
 * True if what follows is an auth-param (token BWS "=" BWS value); after a
 * comma, false means the next challenge starts.
 */
static bool param_follows(const struct text *t)
{
    struct text look = *t;
    struct agp_span name = read_token(&look);
    if (name.len == 0) return false;
    skip_ows(&look);
    if (peek(&look) != '=') return false;
    /* `abc==` is a token68 with padding: a value cannot start with "=" */
    look.pos++;
    skip_ows(&look);
    return peek(&look) == '"' || is_tchar(peek(&look));
}

/* Skips OWS and any run of empty list elements: `, ,` (RFC 9110 §5.6.1). */
static void skip_list_sep(struct text *t)
{
    for (;;) {
        skip_ows(t);
        if (peek(t) != ',') return;
        t->pos++;
    }
}

/* Values of one PrivateToken challenge, collected before they are checked. */
struct pt_params {
    char challenge[VALUE_MAX], token_key[VALUE_MAX], max_age[16];
    size_t challenge_len, token_key_len, max_age_len;
    int seen_challenge, seen_token_key, seen_max_age;
    bool bad; /* a value too long or given twice: skip this challenge */
};

static void keep_param(struct pt_params *pp, struct agp_span name, const char *v, size_t n)
{
    char *dst = NULL;
    size_t cap = 0, *len = NULL;
    int *seen = NULL;
    if (span_ieq(name, "challenge")) {
        dst = pp->challenge, cap = sizeof pp->challenge, len = &pp->challenge_len;
        seen = &pp->seen_challenge;
    } else if (span_ieq(name, "token-key")) {
        dst = pp->token_key, cap = sizeof pp->token_key, len = &pp->token_key_len;
        seen = &pp->seen_token_key;
    } else if (span_ieq(name, "max-age")) {
        dst = pp->max_age, cap = sizeof pp->max_age, len = &pp->max_age_len;
        seen = &pp->seen_max_age;
    } else {
        return; /* unknown parameters are ignored */
    }
    if (++*seen > 1 || n > cap) {
        pp->bad = true;
        return;
    }
    memcpy(dst, v, n);
    *len = n;
}

/* max-age = 1*DIGIT, at most AGP_MAX_AGE_MAX. */
static agp_err parse_max_age(const char *s, size_t n, uint32_t *out)
{
    uint64_t v = 0;
    size_t i;
    AGP_ENSURE(n > 0 && n <= 10, AGP_ERR_ENCODING);
    for (i = 0; i < n; i++) {
        AGP_ENSURE(s[i] >= '0' && s[i] <= '9', AGP_ERR_ENCODING);
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    AGP_ENSURE(v <= AGP_MAX_AGE_MAX, AGP_ERR_RANGE);
    *out = (uint32_t)v;
    return AGP_OK;
}

/* Checks a collected challenge and fills item; any error means: skip it. */
static agp_err check_pt(const struct pt_params *pp, struct agp_www_challenge *item)
{
    struct agp_challenge c;
    memset(item, 0, sizeof *item);
    AGP_ENSURE(!pp->bad && pp->seen_challenge == 1, AGP_ERR_SYNTAX);
    AGP_TRY(agp_b64url_decode(item->challenge, sizeof item->challenge, &item->challenge_len,
                              pp->challenge, pp->challenge_len));
    AGP_TRY(agp_challenge_parse(&c, item->challenge, item->challenge_len));
    item->token_type = c.token_type;
    if (pp->seen_token_key) {
        AGP_TRY(agp_b64url_decode(item->token_key, sizeof item->token_key, &item->token_key_len,
                                  pp->token_key, pp->token_key_len));
        AGP_ENSURE(item->token_key_len > 0, AGP_ERR_LENGTH);
    }
    if (pp->seen_max_age) {
        AGP_TRY(parse_max_age(pp->max_age, pp->max_age_len, &item->max_age));
        item->has_max_age = true;
    }
    return AGP_OK;
}

/*
 * Reads the parameters of one challenge, after its scheme. For a
 * PrivateToken challenge (pp != NULL) they are collected in pp.
 */
static agp_err read_params(struct text *t, struct pt_params *pp)
{
    char value[VALUE_MAX];
    size_t vlen, comma;
    agp_err err;

    if (peek(t) != ' ') return AGP_OK; /* scheme alone */
    skip_ows(t);
    if (!param_follows(t)) {
        /* token68, or nothing before the next comma */
        while (is_token68_char(peek(t)))
            t->pos++;
        while (peek(t) == '=')
            t->pos++;
        skip_ows(t);
        AGP_ENSURE(at_end(t) || peek(t) == ',', AGP_ERR_SYNTAX);
        if (pp) pp->bad = true; /* PrivateToken takes parameters, not token68 */
        return AGP_OK;
    }
    for (;;) {
        struct agp_span name = read_token(t);
        AGP_ENSURE(name.len > 0, AGP_ERR_SYNTAX);
        skip_ows(t);
        AGP_ENSURE(peek(t) == '=', AGP_ERR_SYNTAX);
        t->pos++;
        skip_ows(t);
        err = read_value(t, value, sizeof value, &vlen);
        if (err == AGP_ERR_TOO_BIG) {
            /* over our ceiling: this challenge is unusable, the header may not be */
            if (pp) pp->bad = true;
        } else if (err != AGP_OK) {
            return err;
        } else if (pp) {
            keep_param(pp, name, value, vlen);
        }
        skip_ows(t);
        if (at_end(t)) return AGP_OK;
        AGP_ENSURE(peek(t) == ',', AGP_ERR_SYNTAX);
        comma = t->pos;
        skip_list_sep(t);
        if (at_end(t)) return AGP_OK;
        if (!param_follows(t)) {
            t->pos = comma; /* the comma ends this challenge: leave it to the caller */
            return AGP_OK;
        }
    }
}

/* see agepass/authhdr.h */
agp_err agp_www_auth_parse(struct agp_www_auth *out, const char *value, size_t len)
{
    out->count = 0;
    return agp_www_auth_parse_more(out, value, len);
}

/* see agepass/authhdr.h */
agp_err agp_www_auth_parse_more(struct agp_www_auth *out, const char *value, size_t len)
{
    struct text t = {value, len, 0};
    struct pt_params pp;
    agp_err err = AGP_OK;

    AGP_ENSURE(out->count <= AGP_AUTH_MAX_CHALLENGES, AGP_ERR_ARG);
    AGP_ENSURE(len <= AGP_HEADER_MAX, AGP_ERR_TOO_BIG);
    skip_list_sep(&t);
    while (!at_end(&t)) {
        struct agp_span scheme = read_token(&t);
        bool is_pt = span_ieq(scheme, "PrivateToken");
        if (scheme.len == 0) {
            err = AGP_ERR_SYNTAX;
            break;
        }
        memset(&pp, 0, sizeof pp);
        err = read_params(&t, is_pt ? &pp : NULL);
        if (err != AGP_OK) break;
        if (is_pt && out->count < AGP_AUTH_MAX_CHALLENGES &&
            check_pt(&pp, &out->items[out->count]) == AGP_OK)
            out->count++;
        skip_ows(&t);
        if (!at_end(&t) && peek(&t) != ',') {
            err = AGP_ERR_SYNTAX;
            break;
        }
        skip_list_sep(&t);
    }
    agp_wipe(&pp, sizeof pp);
    return err;
}

/* Appends `name="b64url(bytes)"` to out. */
static agp_err add_b64_param(char *out, size_t cap, size_t *len, const char *name,
                             const uint8_t *bytes, size_t n)
{
    size_t name_len = strlen(name), enc_len;
    AGP_ENSURE(cap > *len && name_len + 2 <= cap - *len, AGP_ERR_TOO_BIG);
    memcpy(out + *len, name, name_len);
    out[*len + name_len] = '=';
    out[*len + name_len + 1] = '"';
    AGP_TRY(agp_b64url_encode(out + *len + name_len + 2, cap - *len - name_len - 2, &enc_len, bytes,
                              n));
    AGP_ENSURE(cap - *len - name_len - 2 - enc_len >= 2, AGP_ERR_TOO_BIG);
    out[*len + name_len + 2 + enc_len] = '"';
    *len += name_len + 3 + enc_len;
    out[*len] = '\0';
    return AGP_OK;
}

static agp_err add_literal(char *out, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);
    AGP_ENSURE(cap > *len && n < cap - *len, AGP_ERR_TOO_BIG);
    memcpy(out + *len, s, n + 1);
    *len += n;
    return AGP_OK;
}

static agp_err add_challenge(char *out, size_t cap, size_t *len, const uint8_t *challenge,
                             size_t challenge_len, const uint8_t *token_key, size_t token_key_len,
                             long max_age)
{
    struct agp_challenge c;
    AGP_TRY(agp_challenge_parse(&c, challenge, challenge_len));
    AGP_ENSURE(token_key_len <= AGP_TOKEN_KEY_MAX, AGP_ERR_LENGTH);
    AGP_ENSURE(max_age < 0 || (unsigned long)max_age <= AGP_MAX_AGE_MAX, AGP_ERR_RANGE);
    if (*len > 0) AGP_TRY(add_literal(out, cap, len, ", "));
    AGP_TRY(add_literal(out, cap, len, "PrivateToken "));
    AGP_TRY(add_b64_param(out, cap, len, "challenge", challenge, challenge_len));
    if (token_key_len > 0) {
        AGP_TRY(add_literal(out, cap, len, ", "));
        AGP_TRY(add_b64_param(out, cap, len, "token-key", token_key, token_key_len));
    }
    if (max_age >= 0) {
        char num[24];
        size_t i = sizeof num - 1;
        unsigned long v = (unsigned long)max_age;
        num[i] = '\0';
        do {
            num[--i] = (char)('0' + v % 10);
            v /= 10;
        } while (v > 0);
        AGP_TRY(add_literal(out, cap, len, ", max-age=\""));
        AGP_TRY(add_literal(out, cap, len, num + i));
        AGP_TRY(add_literal(out, cap, len, "\""));
    }
    return AGP_OK;
}

/* see agepass/authhdr.h */
agp_err agp_www_auth_add(char *out, size_t cap, size_t *len, const uint8_t *challenge,
                         size_t challenge_len, const uint8_t *token_key, size_t token_key_len,
                         long max_age)
{
    size_t start = *len;
    agp_err err =
        add_challenge(out, cap, len, challenge, challenge_len, token_key, token_key_len, max_age);
    if (err != AGP_OK) {
        *len = start;
        if (cap > start) out[start] = '\0';
    }
    return err;
}

/* see agepass/authhdr.h */
agp_err agp_authorization_parse(uint8_t *token, size_t cap, size_t *token_len, const char *value,
                                size_t len)
{
    struct text t = {value, len, 0};
    char v[VALUE_MAX];
    size_t vlen = 0;
    int seen = 0;
    agp_err err = AGP_OK;

    *token_len = 0;
    AGP_ENSURE(len <= AGP_HEADER_MAX, AGP_ERR_TOO_BIG);
    skip_ows(&t);
    AGP_ENSURE(span_ieq(read_token(&t), "PrivateToken"), AGP_ERR_SYNTAX);
    AGP_ENSURE(peek(&t) == ' ', AGP_ERR_SYNTAX);
    skip_ows(&t);
    /* credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ] */
    for (;;) {
        char tmp[VALUE_MAX];
        size_t tlen;
        struct agp_span name = read_token(&t);
        AGP_ENSURE(name.len > 0, AGP_ERR_SYNTAX);
        skip_ows(&t);
        AGP_ENSURE(peek(&t) == '=', AGP_ERR_SYNTAX);
        t.pos++;
        skip_ows(&t);
        AGP_TRY(read_value(&t, tmp, sizeof tmp, &tlen));
        if (span_ieq(name, "token")) {
            AGP_ENSURE(++seen == 1, AGP_ERR_SYNTAX);
            memcpy(v, tmp, tlen);
            vlen = tlen;
        }
        skip_ows(&t);
        if (at_end(&t)) break;
        AGP_ENSURE(peek(&t) == ',', AGP_ERR_SYNTAX);
        skip_list_sep(&t);
        if (at_end(&t)) break;
    }
    AGP_ENSURE(seen == 1, AGP_ERR_SYNTAX);
    err = agp_b64url_decode(token, cap, token_len, v, vlen);
    return err;
}

/* see agepass/authhdr.h */
agp_err agp_authorization_write(char *out, size_t cap, size_t *len, const uint8_t *token,
                                size_t token_len)
{
    agp_err err;
    *len = 0;
    err = add_literal(out, cap, len, "PrivateToken ");
    if (err == AGP_OK) err = add_b64_param(out, cap, len, "token", token, token_len);
    if (err != AGP_OK) {
        *len = 0;
        if (cap > 0) out[0] = '\0';
    }
    return err;
}
