/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agepass/buf.h: bounds-checked reading and writing of wire data.
 *
 * A reader walks a borrowed byte string; every read either succeeds in full
 * or fails with AGP_ERR_TRUNCATED and leaves the reader where it was. A
 * writer appends to a caller-owned buffer of fixed capacity and fails with
 * AGP_ERR_TOO_BIG rather than overflow. All multi-byte integers are
 * big-endian (network order), as in RFC 8446 §3 presentation language.
 *
 * Thread safety: a reader or writer is used by one thread at a time.
 */
#ifndef AGEPASS_BUF_H
#define AGEPASS_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "agepass/err.h"

/* A borrowed byte string: the memory belongs to someone else. */
struct agp_span {
    const uint8_t *ptr;
    size_t len;
};

struct agp_reader {
    const uint8_t *ptr;
    size_t len, pos;
};

struct agp_writer {
    uint8_t *ptr;
    size_t cap, len;
};

/* Starts a reader over ptr[0..len); borrows ptr. */
void agp_reader_init(struct agp_reader *r, const uint8_t *ptr, size_t len);
AGP_MUST_USE agp_err agp_read_u8(struct agp_reader *r, uint8_t *out);
AGP_MUST_USE agp_err agp_read_u16(struct agp_reader *r, uint16_t *out);
/* Exactly n bytes, as a span into the input. */
AGP_MUST_USE agp_err agp_read_span(struct agp_reader *r, size_t n, struct agp_span *out);
/* Exactly n bytes, copied to out. */
AGP_MUST_USE agp_err agp_read_bytes(struct agp_reader *r, uint8_t *out, size_t n);
/*
 * opaque x<min..max> with a one- or two-byte length prefix. A length outside
 * [min, max] is AGP_ERR_LENGTH; a length past the end is AGP_ERR_TRUNCATED.
 */
AGP_MUST_USE agp_err agp_read_vec8(struct agp_reader *r, size_t min, size_t max,
                                   struct agp_span *out);
AGP_MUST_USE agp_err agp_read_vec16(struct agp_reader *r, size_t min, size_t max,
                                    struct agp_span *out);
/* The bytes read since position start (a span into the input). */
void agp_reader_since(const struct agp_reader *r, size_t start, struct agp_span *out);
/* AGP_OK if every byte was read, AGP_ERR_TRAILING otherwise. */
AGP_MUST_USE agp_err agp_read_end(const struct agp_reader *r);

/* Starts an empty writer over ptr[0..cap); borrows ptr. */
void agp_writer_init(struct agp_writer *w, uint8_t *ptr, size_t cap);
AGP_MUST_USE agp_err agp_write_u8(struct agp_writer *w, uint8_t v);
AGP_MUST_USE agp_err agp_write_u16(struct agp_writer *w, uint16_t v);
AGP_MUST_USE agp_err agp_write_bytes(struct agp_writer *w, const uint8_t *p, size_t n);
/* Writes a length prefix then p; AGP_ERR_LENGTH if n is above max. */
AGP_MUST_USE agp_err agp_write_vec8(struct agp_writer *w, const uint8_t *p, size_t n, size_t max);
AGP_MUST_USE agp_err agp_write_vec16(struct agp_writer *w, const uint8_t *p, size_t n, size_t max);

#endif
