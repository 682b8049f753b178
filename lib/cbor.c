/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/cbor.c: the strict CBOR reader and the small writer of
 * agepass/cbor.h (RFC 8949), over libcbor.
 *
 * Every item starts with a head (RFC 8949 §3):
 *
 *   initial byte = major type (3 high bits) | additional information (5)
 *   ai 0..23   the argument itself
 *   ai 24..27  the argument follows in 1, 2, 4 or 8 bytes, big-endian
 *   ai 28..30  reserved: not well-formed
 *   ai 31      indefinite length (types 2-5) or "break": refused here
 *
 * libcbor's streaming decoder reads one head per call (a definite string
 * with its bytes), calls back with the argument and says how many bytes it
 * read. We keep spans over the input and check what libcbor lets through:
 * longer heads than needed, bad UTF-8, floats, indefinite lengths. A count
 * never exceeds what is left of the input, so a hostile one cannot make us
 * loop or allocate: an array of n items needs n bytes at least, a map 2n.
 */
#include <string.h>

#include <cbor.h>

#include "agepass/cbor.h"
#include "internal.h"

/* What one call of cbor_stream_decode reported. */
struct head {
    bool seen; /* a callback we accept ran: not a float, break or indefinite length */
    uint8_t major;
    uint64_t arg;
    struct agp_span str; /* a string's bytes, within the input */
};

static void got(void *ctx, uint8_t major, uint64_t arg)
{
    struct head *h = ctx;
    h->seen = true;
    h->major = major;
    h->arg = arg;
}

/* One callback per integer width libcbor reports. */
#define ON(name, type, major)                                                                      \
    static void name(void *h, type v)                                                              \
    {                                                                                              \
        got(h, major, v);                                                                          \
    }
ON(on_uint8, uint8_t, AGP_CBOR_UINT)
ON(on_uint16, uint16_t, AGP_CBOR_UINT)
ON(on_uint32, uint32_t, AGP_CBOR_UINT)
ON(on_uint64, uint64_t, AGP_CBOR_UINT)
ON(on_negint8, uint8_t, AGP_CBOR_NINT)
ON(on_negint16, uint16_t, AGP_CBOR_NINT)
ON(on_negint32, uint32_t, AGP_CBOR_NINT)
ON(on_negint64, uint64_t, AGP_CBOR_NINT)
ON(on_array, size_t, AGP_CBOR_ARRAY)
ON(on_map, size_t, AGP_CBOR_MAP)
ON(on_tag, uint64_t, AGP_CBOR_TAG)
#undef ON

static void on_bstr(void *h, cbor_data p, size_t n)
{
    got(h, AGP_CBOR_BSTR, n);
    ((struct head *)h)->str = (struct agp_span){p, n};
}

static void on_tstr(void *h, cbor_data p, size_t n)
{
    got(h, AGP_CBOR_TSTR, n);
    ((struct head *)h)->str = (struct agp_span){p, n};
}

/* Simple values keep their numbers: false 20, true 21, null 22, undefined 23. */
static void on_bool(void *h, bool v)
{
    got(h, AGP_CBOR_SIMPLE, v ? 21 : 20);
}

static void on_null(void *h)
{
    got(h, AGP_CBOR_SIMPLE, 22);
}

static void on_undefined(void *h)
{
    got(h, AGP_CBOR_SIMPLE, 23);
}

/*
 * Decodes the head at r's position into h without moving r; *len is the
 * bytes it takes, for a string with the string. Floats, indefinite
 * lengths and breaks reach libcbor's empty callbacks and are refused.
 */
static agp_err decode(const struct agp_reader *r, struct head *h, size_t *len)
{
    struct cbor_callbacks cb = cbor_empty_callbacks;
    struct cbor_decoder_result res;
    struct agp_reader copy = *r;
    struct agp_span rest;
    cb.uint8 = on_uint8;
    cb.uint16 = on_uint16;
    cb.uint32 = on_uint32;
    cb.uint64 = on_uint64;
    cb.negint8 = on_negint8;
    cb.negint16 = on_negint16;
    cb.negint32 = on_negint32;
    cb.negint64 = on_negint64;
    cb.byte_string = on_bstr;
    cb.string = on_tstr;
    cb.array_start = on_array;
    cb.map_start = on_map;
    cb.tag = on_tag;
    cb.boolean = on_bool;
    cb.null = on_null;
    cb.undefined = on_undefined;
    memset(h, 0, sizeof *h);
    AGP_TRY(agp_read_span(&copy, r->len - r->pos, &rest));
    res = cbor_stream_decode(rest.ptr, rest.len, &cb, h);
    /*
     * libcbor 0.8 calls tags 6 to 20 in one byte (0xc6-0xd4) "unassigned"
     * and fails, though every tag is well-formed (RFC 8949 §3.4) and
     * COSE_Mac0 (17) and COSE_Sign1 (18) are among them: read those here.
     */
    if (res.status == CBOR_DECODER_ERROR && rest.len > 0 && rest.ptr[0] >= 0xc6 &&
        rest.ptr[0] <= 0xd4) {
        got(h, AGP_CBOR_TAG, rest.ptr[0] & 0x1fu);
        res.status = CBOR_DECODER_FINISHED;
        res.read = 1;
    }
    AGP_ENSURE(res.status != CBOR_DECODER_NEDATA, AGP_ERR_TRUNCATED);
    AGP_ENSURE(res.status == CBOR_DECODER_FINISHED && h->seen, AGP_ERR_ENCODING);
    /*
     * Shortest form: the head is as long as its argument needs. Array and
     * map counts are exempt: cbor-x (behind @animo-id/mdoc and @auth0/mdl,
     * so behind deployed wallets) writes every map head in 3 bytes. That
     * costs nothing here: hashed items are hashed as received.
     */
    if (h->major != AGP_CBOR_ARRAY && h->major != AGP_CBOR_MAP)
        AGP_ENSURE(res.read - h->str.len == agp_cbor_head_len(h->arg), AGP_ERR_ENCODING);
    *len = res.read;
    return AGP_OK;
}

/* Reads an item of major type want: its head, and a string's bytes. */
static agp_err expect(struct agp_reader *r, uint8_t want, struct head *h)
{
    struct agp_span item;
    size_t len;
    AGP_TRY(decode(r, h, &len));
    AGP_ENSURE(h->major == want, AGP_ERR_SYNTAX);
    return agp_read_span(r, len, &item);
}

/* see agepass/cbor.h */
agp_err agp_cbor_head(struct agp_reader *r, uint8_t *major, uint64_t *arg)
{
    struct agp_span head;
    struct head h;
    size_t len;
    AGP_TRY(decode(r, &h, &len));
    AGP_TRY(agp_read_span(r, len - h.str.len, &head));
    *major = h.major;
    *arg = h.arg;
    return AGP_OK;
}

/* see agepass/cbor.h */
agp_err agp_cbor_peek(const struct agp_reader *r, uint8_t *major)
{
    struct head h;
    size_t len;
    AGP_TRY(decode(r, &h, &len));
    *major = h.major;
    return AGP_OK;
}

/* see agepass/cbor.h */
agp_err agp_cbor_uint(struct agp_reader *r, uint64_t *out)
{
    struct head h;
    AGP_TRY(expect(r, AGP_CBOR_UINT, &h));
    *out = h.arg;
    return AGP_OK;
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
    struct head h;
    AGP_TRY(expect(r, AGP_CBOR_BSTR, &h));
    AGP_ENSURE(h.str.len <= max, AGP_ERR_LENGTH);
    *out = h.str;
    return AGP_OK;
}

/* see agepass/cbor.h */
agp_err agp_cbor_tstr(struct agp_reader *r, size_t max, struct agp_span *out)
{
    struct head h;
    AGP_TRY(expect(r, AGP_CBOR_TSTR, &h));
    AGP_ENSURE(h.str.len <= max, AGP_ERR_LENGTH);
    AGP_ENSURE(utf8_ok(h.str), AGP_ERR_ENCODING);
    *out = h.str;
    return AGP_OK;
}

/* see agepass/cbor.h */
agp_err agp_cbor_array(struct agp_reader *r, size_t max, size_t *count)
{
    struct head h;
    AGP_TRY(expect(r, AGP_CBOR_ARRAY, &h));
    AGP_ENSURE(h.arg <= max, AGP_ERR_LENGTH);
    AGP_ENSURE(h.arg <= r->len - r->pos, AGP_ERR_TRUNCATED);
    *count = (size_t)h.arg;
    return AGP_OK;
}

/* see agepass/cbor.h */
agp_err agp_cbor_map(struct agp_reader *r, size_t max, size_t *count)
{
    struct head h;
    AGP_TRY(expect(r, AGP_CBOR_MAP, &h));
    AGP_ENSURE(h.arg <= max, AGP_ERR_LENGTH);
    AGP_ENSURE(h.arg <= (r->len - r->pos) / 2, AGP_ERR_TRUNCATED);
    *count = (size_t)h.arg;
    return AGP_OK;
}

/* see agepass/cbor.h */
agp_err agp_cbor_tag(struct agp_reader *r, uint64_t *tag)
{
    struct head h;
    AGP_TRY(expect(r, AGP_CBOR_TAG, &h));
    *tag = h.arg;
    return AGP_OK;
}

/* see agepass/cbor.h */
agp_err agp_cbor_bool(struct agp_reader *r, bool *out)
{
    struct head h;
    AGP_TRY(expect(r, AGP_CBOR_SIMPLE, &h));
    AGP_ENSURE(h.arg == 20 || h.arg == 21, AGP_ERR_SYNTAX);
    *out = h.arg == 21;
    return AGP_OK;
}

/* see agepass/cbor.h */
agp_err agp_cbor_null(struct agp_reader *r)
{
    struct head h;
    AGP_TRY(expect(r, AGP_CBOR_SIMPLE, &h));
    AGP_ENSURE(h.arg == 22, AGP_ERR_SYNTAX);
    return AGP_OK;
}

static agp_err skip(struct agp_reader *r, unsigned depth)
{
    struct agp_span item;
    struct head h;
    uint64_t n, i;
    size_t len;
    AGP_ENSURE(depth > 0, AGP_ERR_TOO_BIG);
    AGP_TRY(decode(r, &h, &len));
    AGP_TRY(agp_read_span(r, len, &item));
    switch (h.major) {
    case AGP_CBOR_TSTR: return utf8_ok(h.str) ? AGP_OK : AGP_ERR_ENCODING;
    case AGP_CBOR_ARRAY:
    case AGP_CBOR_MAP:
        AGP_ENSURE(h.arg <= r->len - r->pos, AGP_ERR_TRUNCATED);
        n = h.major == AGP_CBOR_MAP ? 2 * h.arg : h.arg; /* h.arg < 2^63: it fits the input */
        for (i = 0; i < n; i++)
            AGP_TRY(skip(r, depth - 1));
        return AGP_OK;
    case AGP_CBOR_TAG: return skip(r, depth - 1);
    default: return AGP_OK; /* integers, byte strings and simple values: read whole */
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
    uint8_t head[9];
    size_t n = 0;
    switch (major) {
    case AGP_CBOR_UINT: n = cbor_encode_uint(arg, head, sizeof head); break;
    case AGP_CBOR_NINT: n = cbor_encode_negint(arg, head, sizeof head); break;
    case AGP_CBOR_BSTR: n = cbor_encode_bytestring_start((size_t)arg, head, sizeof head); break;
    case AGP_CBOR_TSTR: n = cbor_encode_string_start((size_t)arg, head, sizeof head); break;
    case AGP_CBOR_ARRAY: n = cbor_encode_array_start((size_t)arg, head, sizeof head); break;
    case AGP_CBOR_MAP: n = cbor_encode_map_start((size_t)arg, head, sizeof head); break;
    case AGP_CBOR_TAG: n = cbor_encode_tag(arg, head, sizeof head); break;
    case AGP_CBOR_SIMPLE:
        if (arg < 24) n = cbor_encode_ctrl((uint8_t)arg, head, sizeof head);
        break;
    }
    /* libcbor writes the shortest head; a size_t narrower than arg would shorten it */
    AGP_ENSURE(n == agp_cbor_head_len(arg), AGP_ERR_ARG);
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
