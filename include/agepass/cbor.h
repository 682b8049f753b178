/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agepass/cbor.h: a strict reader and a small writer for CBOR (RFC 8949),
 * enough for ISO/IEC 18013-5 mdoc and COSE (RFC 9052).
 *
 * libcbor decodes and encodes: its streaming decoder reads one head at a
 * time and its encoders write the shortest heads. agepass keeps no tree,
 * only spans over the input, so whoever hashes an item (tag 24, COSE
 * payloads) hashes the exact bytes received.
 *
 * Strict means: definite lengths only, every head but array and map
 * counts in its shortest form (RFC 8949 §4.2.1, "preferred
 * serialization"; deployed encoders write longer map heads), no reserved
 * additional information (28-30), text strings valid UTF-8, simple values
 * limited to false, true, null and undefined, every length at most what
 * is left of the input, nesting at most AGP_CBOR_MAX_DEPTH.
 *
 * Thread safety: pure functions over caller-owned readers and writers.
 */
#ifndef AGEPASS_CBOR_H
#define AGEPASS_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agepass/buf.h"
#include "agepass/err.h"

#define AGP_CBOR_MAX_DEPTH 16

enum agp_cbor_major {
    AGP_CBOR_UINT = 0,
    AGP_CBOR_NINT = 1,
    AGP_CBOR_BSTR = 2,
    AGP_CBOR_TSTR = 3,
    AGP_CBOR_ARRAY = 4,
    AGP_CBOR_MAP = 5,
    AGP_CBOR_TAG = 6,
    AGP_CBOR_SIMPLE = 7
};

/*
 * Reads one head: major type and argument; r moves past the head only,
 * but a string's head is read only if the whole string is there. Errors:
 * AGP_ERR_TRUNCATED, AGP_ERR_ENCODING (indefinite length, break, reserved
 * value, a longer head than needed for an integer, string or tag, a simple
 * value other than 20-23 or a float). On any error r does not move.
 */
AGP_MUST_USE agp_err agp_cbor_head(struct agp_reader *r, uint8_t *major, uint64_t *arg);
/* The major type of the next item, without consuming it (errors as above). */
AGP_MUST_USE agp_err agp_cbor_peek(const struct agp_reader *r, uint8_t *major);

/*
 * Typed reads; a wrong type is AGP_ERR_SYNTAX, a length above max
 * AGP_ERR_LENGTH, a string cut short AGP_ERR_TRUNCATED whatever its length.
 */
AGP_MUST_USE agp_err agp_cbor_uint(struct agp_reader *r, uint64_t *out);
AGP_MUST_USE agp_err agp_cbor_int(struct agp_reader *r, int64_t *out);
AGP_MUST_USE agp_err agp_cbor_bstr(struct agp_reader *r, size_t max, struct agp_span *out);
AGP_MUST_USE agp_err agp_cbor_tstr(struct agp_reader *r, size_t max, struct agp_span *out);
AGP_MUST_USE agp_err agp_cbor_array(struct agp_reader *r, size_t max, size_t *count);
AGP_MUST_USE agp_err agp_cbor_map(struct agp_reader *r, size_t max, size_t *count);
AGP_MUST_USE agp_err agp_cbor_tag(struct agp_reader *r, uint64_t *tag);
AGP_MUST_USE agp_err agp_cbor_bool(struct agp_reader *r, bool *out);
AGP_MUST_USE agp_err agp_cbor_null(struct agp_reader *r);

/*
 * Reads one whole well-formed item of at most `depth` levels of nesting
 * (AGP_ERR_TOO_BIG past it) and returns its encoded bytes.
 */
AGP_MUST_USE agp_err agp_cbor_item(struct agp_reader *r, unsigned depth, struct agp_span *out);

/*
 * Reads #6.24(bstr .cbor X) (RFC 8949 §3.4.5.1, "encoded CBOR data item"):
 * `whole` is the tag and the byte string as received (what ISO 18013-5
 * hashes), `inner` the embedded item, itself checked to be one well-formed
 * item of at most `depth` levels with nothing after it.
 */
AGP_MUST_USE agp_err agp_cbor_embedded(struct agp_reader *r, size_t max, unsigned depth,
                                       struct agp_span *whole, struct agp_span *inner);

/* True if s holds exactly the bytes of the NUL-terminated str. */
bool agp_span_is(struct agp_span s, const char *str);

/*
 * Writers: shortest heads, definite lengths. AGP_ERR_TOO_BIG when w is
 * full, AGP_ERR_ARG for a simple value above 23 or an unknown major type.
 */
AGP_MUST_USE agp_err agp_cbor_put_head(struct agp_writer *w, uint8_t major, uint64_t arg);
AGP_MUST_USE agp_err agp_cbor_put_bstr(struct agp_writer *w, const uint8_t *p, size_t n);
AGP_MUST_USE agp_err agp_cbor_put_tstr(struct agp_writer *w, const char *s, size_t n);
/* Bytes of a head for arg (1, 2, 3, 5 or 9). */
size_t agp_cbor_head_len(uint64_t arg);

#endif
