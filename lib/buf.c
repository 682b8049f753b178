/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/buf.c: the only file that does pointer arithmetic on wire data.
 * Every check compares n with what is left (len - pos), never pos + n with
 * len, so no sum can overflow.
 */
#include <string.h>

#include "internal.h"

/* see agepass/buf.h */
void agp_reader_init(struct agp_reader *r, const uint8_t *ptr, size_t len)
{
    r->ptr = ptr;
    r->len = ptr ? len : 0;
    r->pos = 0;
}

/* see agepass/buf.h */
agp_err agp_read_span(struct agp_reader *r, size_t n, struct agp_span *out)
{
    AGP_ENSURE(n <= r->len - r->pos, AGP_ERR_TRUNCATED);
    out->ptr = r->ptr + r->pos;
    out->len = n;
    r->pos += n;
    return AGP_OK;
}

/* see agepass/buf.h */
void agp_reader_since(const struct agp_reader *r, size_t start, struct agp_span *out)
{
    out->ptr = r->ptr + start;
    out->len = start <= r->pos ? r->pos - start : 0;
}

/* see agepass/buf.h */
agp_err agp_read_bytes(struct agp_reader *r, uint8_t *out, size_t n)
{
    struct agp_span s;
    AGP_TRY(agp_read_span(r, n, &s));
    if (n > 0) memcpy(out, s.ptr, n);
    return AGP_OK;
}

/* see agepass/buf.h */
agp_err agp_read_u8(struct agp_reader *r, uint8_t *out)
{
    struct agp_span s;
    AGP_TRY(agp_read_span(r, 1, &s));
    *out = s.ptr[0];
    return AGP_OK;
}

/* see agepass/buf.h */
agp_err agp_read_u16(struct agp_reader *r, uint16_t *out)
{
    struct agp_span s;
    AGP_TRY(agp_read_span(r, 2, &s));
    *out = (uint16_t)((unsigned)s.ptr[0] << 8 | s.ptr[1]);
    return AGP_OK;
}

static agp_err read_vec(struct agp_reader *r, size_t n, size_t min, size_t max,
                        struct agp_span *out)
{
    AGP_ENSURE(n >= min && n <= max, AGP_ERR_LENGTH);
    return agp_read_span(r, n, out);
}

/* see agepass/buf.h */
agp_err agp_read_vec8(struct agp_reader *r, size_t min, size_t max, struct agp_span *out)
{
    struct agp_reader save = *r;
    uint8_t n;
    agp_err err;
    AGP_TRY(agp_read_u8(r, &n));
    err = read_vec(r, n, min, max, out);
    if (err != AGP_OK) *r = save;
    return err;
}

/* see agepass/buf.h */
agp_err agp_read_vec16(struct agp_reader *r, size_t min, size_t max, struct agp_span *out)
{
    struct agp_reader save = *r;
    uint16_t n;
    agp_err err;
    AGP_TRY(agp_read_u16(r, &n));
    err = read_vec(r, n, min, max, out);
    if (err != AGP_OK) *r = save;
    return err;
}

/* see agepass/buf.h */
agp_err agp_read_end(const struct agp_reader *r)
{
    return r->pos == r->len ? AGP_OK : AGP_ERR_TRAILING;
}

/* see agepass/buf.h */
void agp_writer_init(struct agp_writer *w, uint8_t *ptr, size_t cap)
{
    w->ptr = ptr;
    w->cap = ptr ? cap : 0;
    w->len = 0;
}

/* see agepass/buf.h */
agp_err agp_write_bytes(struct agp_writer *w, const uint8_t *p, size_t n)
{
    AGP_ENSURE(n <= w->cap - w->len, AGP_ERR_TOO_BIG);
    if (n > 0) memcpy(w->ptr + w->len, p, n);
    w->len += n;
    return AGP_OK;
}

/* see agepass/buf.h */
agp_err agp_write_u8(struct agp_writer *w, uint8_t v)
{
    return agp_write_bytes(w, &v, 1);
}

/* see agepass/buf.h */
agp_err agp_write_u16(struct agp_writer *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return agp_write_bytes(w, b, 2);
}

/* see agepass/buf.h */
agp_err agp_write_vec8(struct agp_writer *w, const uint8_t *p, size_t n, size_t max)
{
    AGP_ENSURE(n <= max && n <= 0xff, AGP_ERR_LENGTH);
    AGP_ENSURE(1 <= w->cap - w->len && n <= w->cap - w->len - 1, AGP_ERR_TOO_BIG);
    AGP_TRY(agp_write_u8(w, (uint8_t)n));
    return agp_write_bytes(w, p, n);
}

/* see agepass/buf.h */
agp_err agp_write_vec16(struct agp_writer *w, const uint8_t *p, size_t n, size_t max)
{
    AGP_ENSURE(n <= max && n <= 0xffff, AGP_ERR_LENGTH);
    AGP_ENSURE(2 <= w->cap - w->len && n <= w->cap - w->len - 2, AGP_ERR_TOO_BIG);
    AGP_TRY(agp_write_u16(w, (uint16_t)n));
    return agp_write_bytes(w, p, n);
}
