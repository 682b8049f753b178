/*
 * lib/cbor.c: the strict CBOR reader and the small writer of
 * agepass/cbor.h (RFC 8949).
 *
 * Every item starts with a head (RFC 8949 §3):
 *
 *   initial byte = major type (3 high bits) | additional information (5)
 *   ai 0..23   the argument itself
 *   ai 24..27  the argument follows in 1, 2, 4 or 8 bytes, big-endian
 *   ai 28..30  reserved: not well-formed
 *   ai 31      indefinite length (types 2-5) or "break": refused here
 *
 * A length never exceeds what is left of the input, so a hostile count
 * cannot make us loop or allocate: an array of n items needs n bytes at
 * least, a map 2n.
 */
#include <string.h>

#include "agepass/cbor.h"
#include "internal.h"

/* see agepass/cbor.h */
agp_err agp_cbor_head(struct agp_reader *r, uint8_t *major, uint64_t *arg)
{
    uint8_t ib, b;
    unsigned ai, n, i;
    uint64_t v = 0;
    AGP_TRY(agp_read_u8(r, &ib));
    *major = (uint8_t)(ib >> 5);
    ai = ib & 0x1fu;
    if (ai < 24) {
        v = ai;
    } else {
        AGP_ENSURE(ai <= 27, AGP_ERR_ENCODING); /* reserved or indefinite */
        n = 1u << (ai - 24);
        for (i = 0; i < n; i++) {
            AGP_TRY(agp_read_u8(r, &b));
            v = v << 8 | b;
        }
        /*
         * Shortest form: the value needs this many bytes. Array and map
         * counts are exempt: cbor-x (behind @animo-id/mdoc and @auth0/mdl,
         * so behind deployed wallets) writes every map head in 3 bytes.
         * That costs nothing here: hashed items are hashed as received.
         */
        if (*major != AGP_CBOR_SIMPLE && *major != AGP_CBOR_ARRAY && *major != AGP_CBOR_MAP) {
            AGP_ENSURE(!(ai == 24 && v < 24), AGP_ERR_ENCODING);
            AGP_ENSURE(!(ai == 25 && v <= 0xff), AGP_ERR_ENCODING);
            AGP_ENSURE(!(ai == 26 && v <= 0xffff), AGP_ERR_ENCODING);
            AGP_ENSURE(!(ai == 27 && v <= 0xffffffffu), AGP_ERR_ENCODING);
        }
    }
    /* simple values: false, true, null, undefined only; no floats */
    if (*major == AGP_CBOR_SIMPLE) AGP_ENSURE(ai >= 20 && ai <= 23, AGP_ERR_ENCODING);
    *arg = v;
    return AGP_OK;
}

/* see agepass/cbor.h */
agp_err agp_cbor_peek(const struct agp_reader *r, uint8_t *major)
{
    struct agp_reader copy = *r;
    uint64_t arg;
    return agp_cbor_head(&copy, major, &arg);
}

static agp_err expect_head(struct agp_reader *r, uint8_t want, uint64_t *arg)
{
    struct agp_reader save = *r;
    uint8_t major;
    AGP_TRY(agp_cbor_head(r, &major, arg));
    if (major != want) {
        *r = save;
        return AGP_ERR_SYNTAX;
    }
    return AGP_OK;
}

/* see agepass/cbor.h */
agp_err agp_cbor_uint(struct agp_reader *r, uint64_t *out)
{
    return expect_head(r, AGP_CBOR_UINT, out);
}

/* see agepass/cbor.h */
agp_err agp_cbor_int(struct agp_reader *r, int64_t *out)
{
    uint8_t major;
    uint64_t arg;
    AGP_TRY(agp_cbor_head(r, &major, &arg));
    AGP_ENSURE(major == AGP_CBOR_UINT || major == AGP_CBOR_NINT, AGP_ERR_SYNTAX);
    AGP_ENSURE(arg <= (uint64_t)INT64_MAX, AGP_ERR_RANGE);
    /* a negative integer's argument n encodes -1 - n */
    *out = major == AGP_CBOR_UINT ? (int64_t)arg : -1 - (int64_t)arg;
    return AGP_OK;
}

static agp_err read_string(struct agp_reader *r, uint8_t want, size_t max, struct agp_span *out)
{
    uint64_t n;
    AGP_TRY(expect_head(r, want, &n));
    AGP_ENSURE(n <= max, AGP_ERR_LENGTH);
    return agp_read_span(r, (size_t)n, out);
}

/* RFC 3629 §4: well-formed UTF-8, no overlongs, no surrogates, <= U+10FFFF. */
static bool utf8_ok(struct agp_span s)
{
    size_t i = 0, k, n;
    while (i < s.len) {
        uint8_t c = s.ptr[i];
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, cp = c & 0x1fu;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, cp = c & 0x0fu;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, cp = c & 0x07u;
        else
            return false;
        if (n > s.len - i - 1) return false;
        for (k = 1; k <= n; k++) {
            if ((s.ptr[i + k] & 0xc0u) != 0x80u) return false;
            cp = cp << 6 | (s.ptr[i + k] & 0x3fu);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

/* see agepass/cbor.h */
agp_err agp_cbor_bstr(struct agp_reader *r, size_t max, struct agp_span *out)
{
    return read_string(r, AGP_CBOR_BSTR, max, out);
}

/* see agepass/cbor.h */
agp_err agp_cbor_tstr(struct agp_reader *r, size_t max, struct agp_span *out)
{
    AGP_TRY(read_string(r, AGP_CBOR_TSTR, max, out));
    AGP_ENSURE(utf8_ok(*out), AGP_ERR_ENCODING);
    return AGP_OK;
}

/* see agepass/cbor.h */
agp_err agp_cbor_array(struct agp_reader *r, size_t max, size_t *count)
{
    uint64_t n;
    AGP_TRY(expect_head(r, AGP_CBOR_ARRAY, &n));
    AGP_ENSURE(n <= max, AGP_ERR_LENGTH);
    AGP_ENSURE(n <= r->len - r->pos, AGP_ERR_TRUNCATED);
    *count = (size_t)n;
    return AGP_OK;
}

/* see agepass/cbor.h */
agp_err agp_cbor_map(struct agp_reader *r, size_t max, size_t *count)
{
    uint64_t n;
    AGP_TRY(expect_head(r, AGP_CBOR_MAP, &n));
    AGP_ENSURE(n <= max, AGP_ERR_LENGTH);
    AGP_ENSURE(n <= (r->len - r->pos) / 2, AGP_ERR_TRUNCATED);
    *count = (size_t)n;
    return AGP_OK;
}

/* see agepass/cbor.h */
agp_err agp_cbor_tag(struct agp_reader *r, uint64_t *tag)
{
    return expect_head(r, AGP_CBOR_TAG, tag);
}

/* see agepass/cbor.h */
agp_err agp_cbor_bool(struct agp_reader *r, bool *out)
{
    uint64_t v;
    AGP_TRY(expect_head(r, AGP_CBOR_SIMPLE, &v));
    AGP_ENSURE(v == 20 || v == 21, AGP_ERR_SYNTAX);
    *out = v == 21;
    return AGP_OK;
}

/* see agepass/cbor.h */
agp_err agp_cbor_null(struct agp_reader *r)
{
    uint64_t v;
    AGP_TRY(expect_head(r, AGP_CBOR_SIMPLE, &v));
    AGP_ENSURE(v == 22, AGP_ERR_SYNTAX);
    return AGP_OK;
}

static agp_err skip(struct agp_reader *r, unsigned depth)
{
    uint8_t major;
    uint64_t arg, i;
    struct agp_span s;
    AGP_ENSURE(depth > 0, AGP_ERR_TOO_BIG);
    AGP_TRY(agp_cbor_head(r, &major, &arg));
    switch (major) {
    case AGP_CBOR_BSTR:
    case AGP_CBOR_TSTR:
        AGP_ENSURE(arg <= r->len - r->pos, AGP_ERR_TRUNCATED);
        AGP_TRY(agp_read_span(r, (size_t)arg, &s));
        if (major == AGP_CBOR_TSTR) AGP_ENSURE(utf8_ok(s), AGP_ERR_ENCODING);
        return AGP_OK;
    case AGP_CBOR_ARRAY:
    case AGP_CBOR_MAP:
        AGP_ENSURE(arg <= r->len - r->pos, AGP_ERR_TRUNCATED);
        if (major == AGP_CBOR_MAP) arg *= 2; /* arg < 2^63: it fits the input */
        for (i = 0; i < arg; i++)
            AGP_TRY(skip(r, depth - 1));
        return AGP_OK;
    case AGP_CBOR_TAG: return skip(r, depth - 1);
    default: return AGP_OK; /* integers and simple values: the head is all */
    }
}

/* see agepass/cbor.h */
agp_err agp_cbor_item(struct agp_reader *r, unsigned depth, struct agp_span *out)
{
    size_t start = r->pos;
    AGP_TRY(skip(r, depth));
    agp_reader_since(r, start, out);
    return AGP_OK;
}

/*
 * see agepass/cbor.h
 *
 *   RFC 8949 §3.4.5.1: Tag number 24 (CBOR data item) can be used to tag
 *   the embedded byte string as a single data item encoded in CBOR format.
 */
agp_err agp_cbor_embedded(struct agp_reader *r, size_t max, unsigned depth, struct agp_span *whole,
                          struct agp_span *inner)
{
    size_t start = r->pos;
    struct agp_reader in;
    struct agp_span item;
    uint64_t tag;
    AGP_TRY(agp_cbor_tag(r, &tag));
    AGP_ENSURE(tag == 24, AGP_ERR_SYNTAX);
    AGP_TRY(agp_cbor_bstr(r, max, inner));
    agp_reader_since(r, start, whole);
    agp_reader_init(&in, inner->ptr, inner->len);
    AGP_TRY(agp_cbor_item(&in, depth, &item));
    return agp_read_end(&in);
}

/* see agepass/cbor.h */
bool agp_span_is(struct agp_span s, const char *str)
{
    size_t n = strlen(str);
    return s.len == n && (n == 0 || memcmp(s.ptr, str, n) == 0);
}

/* see agepass/cbor.h */
size_t agp_cbor_head_len(uint64_t arg)
{
    if (arg < 24) return 1;
    if (arg <= 0xff) return 2;
    if (arg <= 0xffff) return 3;
    if (arg <= 0xffffffffu) return 5;
    return 9;
}

/* see agepass/cbor.h */
agp_err agp_cbor_put_head(struct agp_writer *w, uint8_t major, uint64_t arg)
{
    size_t n = agp_cbor_head_len(arg), i;
    uint8_t head[9];
    unsigned ai = n == 1 ? (unsigned)arg : n == 2 ? 24u : n == 3 ? 25u : n == 5 ? 26u : 27u;
    head[0] = (uint8_t)((unsigned)major << 5 | ai);
    for (i = 1; i < n; i++)
        head[i] = (uint8_t)(arg >> (8 * (n - 1 - i)));
    return agp_write_bytes(w, head, n);
}

/* see agepass/cbor.h */
agp_err agp_cbor_put_bstr(struct agp_writer *w, const uint8_t *p, size_t n)
{
    AGP_TRY(agp_cbor_put_head(w, AGP_CBOR_BSTR, n));
    return agp_write_bytes(w, p, n);
}

/* see agepass/cbor.h */
agp_err agp_cbor_put_tstr(struct agp_writer *w, const char *s, size_t n)
{
    AGP_TRY(agp_cbor_put_head(w, AGP_CBOR_TSTR, n));
    return agp_write_bytes(w, (const uint8_t *)s, n);
}
