/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/batch.c: the BatchTokenRequest and BatchTokenResponse of
 * draft-ietf-privacypass-batched-tokens-06 §6 ("Arbitrary Batched Token
 * Issuance"), restricted to token type 0x0002 and AGP_BATCH_MAX elements.
 * Each parser quotes the structure it reads; each writer applies the
 * parser's bounds, so what we write we would also accept.
 */
#include <string.h>

#include "agepass/batch.h"
#include "internal.h"

/*
 *= https://datatracker.ietf.org/doc/html/draft-ietf-privacypass-batched-tokens-06#section-4.2
 *#   ... a variable-size length using a variable-length integer encoding
 *#   based on the one described in Section 16 of RFC 9000. They differ
 *#   only in that the one here requires a minimum-size encoding.
 * RFC 9000 §16: the two high bits of the first byte give the encoded
 * length, 1, 2, 4 or 8 bytes; the rest is the value, big-endian.
 */
static agp_err read_varint(struct agp_reader *r, uint64_t *out)
{
    uint8_t b;
    size_t n, i;
    uint64_t v;
    *out = 0;
    AGP_TRY(agp_read_u8(r, &b));
    n = (size_t)1 << (b >> 6);
    v = b & 0x3f;
    for (i = 1; i < n; i++) {
        AGP_TRY(agp_read_u8(r, &b));
        v = v << 8 | b;
    }
    /* the shortest encoding: the value would not fit in the next shorter one */
    AGP_ENSURE(n == 1 || v >= (uint64_t)1 << (8 * (n / 2) - 2), AGP_ERR_ENCODING);
    *out = v;
    return AGP_OK;
}

/* Our vectors stay below 2^14: one byte up to 63, two bytes above. */
static agp_err write_varint(struct agp_writer *w, size_t v)
{
    AGP_ENSURE(v < 16384, AGP_ERR_LENGTH);
    if (v < 64) return agp_write_u8(w, (uint8_t)v);
    return agp_write_u16(w, (uint16_t)(0x4000 | v));
}

/* Reads a `<V>` vector of at most max bytes into *out. */
static agp_err read_vector(struct agp_reader *r, size_t max, struct agp_span *out)
{
    uint64_t n;
    AGP_TRY(read_varint(r, &n));
    AGP_ENSURE(n <= max, AGP_ERR_TOO_BIG);
    return agp_read_span(r, (size_t)n, out);
}

/*
 *= https://datatracker.ietf.org/doc/html/draft-ietf-privacypass-batched-tokens-06#section-6.1
 *#   struct {
 *#      uint16_t token_type;
 *#      select (token_type) {
 *#         case (0x0002): (Type Blind RSA (2048-bit), RFC 9578)
 *#            uint8_t truncated_token_key_id;
 *#            uint8_t blinded_msg[Nk];
 *#      }
 *#   } TokenRequest;
 *#
 *#   struct {
 *#     TokenRequest token_requests<V>;
 *#   } BatchTokenRequest
 */
static agp_err batch_request_parse_fields(struct agp_batch_request *b, const uint8_t *in,
                                          size_t len)
{
    struct agp_reader r, v;
    struct agp_span vec;
    agp_reader_init(&r, in, len);
    AGP_TRY(read_vector(&r, AGP_BATCH_MAX * AGP_TOKEN_REQUEST_LEN, &vec));
    AGP_TRY(agp_read_end(&r));
    AGP_ENSURE(vec.len > 0, AGP_ERR_LENGTH);
    agp_reader_init(&v, vec.ptr, vec.len);
    while (v.pos < v.len) {
        struct agp_reader e = v;
        uint16_t type;
        /*
         * Every TokenRequest starts with its token type, which sizes the
         * rest: refuse other types by it, then a cut element by its length.
         */
        AGP_ENSURE(agp_read_u16(&e, &type) == AGP_OK, AGP_ERR_LENGTH);
        AGP_ENSURE(type == AGP_TOKEN_TYPE_BLIND_RSA, AGP_ERR_TOKEN_TYPE);
        AGP_ENSURE(v.len - v.pos >= AGP_TOKEN_REQUEST_LEN, AGP_ERR_LENGTH);
        AGP_ENSURE(b->count < AGP_BATCH_MAX, AGP_ERR_TOO_BIG);
        AGP_TRY(agp_read_span(&v, AGP_TOKEN_REQUEST_LEN, &b->raw[b->count]));
        AGP_TRY(
            agp_token_request_parse(&b->req[b->count], b->raw[b->count].ptr, b->raw[b->count].len));
        b->count++;
    }
    return AGP_OK;
}

/* see agepass/batch.h; on failure *b is zeroed */
agp_err agp_batch_request_parse(struct agp_batch_request *b, const uint8_t *in, size_t len)
{
    agp_err err;
    memset(b, 0, sizeof *b);
    err = batch_request_parse_fields(b, in, len);
    if (err != AGP_OK) memset(b, 0, sizeof *b);
    return err;
}

/* see agepass/batch.h */
agp_err agp_batch_request_write(struct agp_writer *w, const struct agp_batch_request *b)
{
    size_t start = w->len, i;
    agp_err err = AGP_OK;
    AGP_ENSURE(b->count >= 1, AGP_ERR_LENGTH);
    AGP_ENSURE(b->count <= AGP_BATCH_MAX, AGP_ERR_TOO_BIG);
    err = write_varint(w, b->count * AGP_TOKEN_REQUEST_LEN);
    for (i = 0; i < b->count && err == AGP_OK; i++)
        err = agp_token_request_write(w, &b->req[i]);
    if (err != AGP_OK) w->len = start;
    return err;
}

/*
 *= https://datatracker.ietf.org/doc/html/draft-ietf-privacypass-batched-tokens-06#section-6.2
 *#   struct {
 *#     uint16_t token_type;
 *#     select (token_type) {
 *#       case (0x0002): (Type Blind RSA (2048-bit), RFC 9578)
 *#         uint8_t blind_sig[Nk];
 *#     }
 *#   } TokenResponse;
 *#
 *#   struct {
 *#     optional<TokenResponse> token_response; (Defined by token_type)
 *#   } OptionalTokenResponse;
 *#
 *#   struct {
 *#     OptionalTokenResponse token_responses<V>;
 *#   } BatchTokenResponse
 *
 *= https://datatracker.ietf.org/doc/html/draft-ietf-privacypass-batched-tokens-06#section-4.1
 *#   An optional value is encoded with a presence-signaling octet, followed
 *#   by the value itself if present.  When decoding, a presence octet with
 *#   a value other than 0 or 1 MUST be rejected as malformed.
 */
static agp_err batch_response_parse_fields(struct agp_batch_response *b, const uint8_t *in,
                                           size_t len)
{
    struct agp_reader r, v;
    struct agp_span vec;
    agp_reader_init(&r, in, len);
    AGP_TRY(read_vector(&r, AGP_BATCH_MAX * AGP_OPT_TOKEN_RESPONSE_LEN, &vec));
    AGP_TRY(agp_read_end(&r));
    AGP_ENSURE(vec.len > 0, AGP_ERR_LENGTH);
    agp_reader_init(&v, vec.ptr, vec.len);
    while (v.pos < v.len) {
        uint8_t present;
        uint16_t type;
        AGP_ENSURE(b->count < AGP_BATCH_MAX, AGP_ERR_TOO_BIG);
        AGP_TRY(agp_read_u8(&v, &present));
        AGP_ENSURE(present <= 1, AGP_ERR_ENCODING);
        if (present == 1) {
            AGP_TRY(agp_read_u16(&v, &type));
            AGP_ENSURE(type == AGP_TOKEN_TYPE_BLIND_RSA, AGP_ERR_TOKEN_TYPE);
            AGP_TRY(agp_read_span(&v, AGP_NK, &b->blind_sig[b->count]));
        }
        b->count++;
    }
    return AGP_OK;
}

/* see agepass/batch.h; on failure *b is zeroed */
agp_err agp_batch_response_parse(struct agp_batch_response *b, const uint8_t *in, size_t len)
{
    agp_err err;
    memset(b, 0, sizeof *b);
    err = batch_response_parse_fields(b, in, len);
    if (err != AGP_OK) memset(b, 0, sizeof *b);
    return err;
}

/* see agepass/batch.h */
agp_err agp_batch_response_write(struct agp_writer *w, const struct agp_batch_response *b)
{
    size_t start = w->len, total = 0, i;
    agp_err err;
    AGP_ENSURE(b->count >= 1, AGP_ERR_LENGTH);
    AGP_ENSURE(b->count <= AGP_BATCH_MAX, AGP_ERR_TOO_BIG);
    for (i = 0; i < b->count; i++) {
        AGP_ENSURE(b->blind_sig[i].len == 0 || b->blind_sig[i].len == AGP_NK, AGP_ERR_LENGTH);
        total += b->blind_sig[i].len == 0 ? 1 : AGP_OPT_TOKEN_RESPONSE_LEN;
    }
    err = write_varint(w, total);
    for (i = 0; i < b->count && err == AGP_OK; i++) {
        if (b->blind_sig[i].len == 0) {
            err = agp_write_u8(w, 0);
            continue;
        }
        err = agp_write_u8(w, 1);
        if (err == AGP_OK) err = agp_write_u16(w, AGP_TOKEN_TYPE_BLIND_RSA);
        if (err == AGP_OK) err = agp_write_bytes(w, b->blind_sig[i].ptr, AGP_NK);
    }
    if (err != AGP_OK) w->len = start;
    return err;
}
