/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/token.c: token type 0x0002 (RFC 9578 §6) and the TokenChallenge and
 * Token structures of RFC 9577 §2. Each parser quotes the structure it
 * reads; each writer applies the parser's bounds so that what we write we
 * would also accept.
 */
#include <string.h>

#include <openssl/bn.h>

#include "agepass/token.h"
#include "internal.h"

#define VARIANT AGP_RSABSSA_SHA384_PSS_DETERMINISTIC /* RFC 9578 §6 */

static bool registered_type(uint16_t t)
{
    return t == AGP_TOKEN_TYPE_VOPRF || t == AGP_TOKEN_TYPE_BLIND_RSA;
}

/*
 *= https://www.rfc-editor.org/rfc/rfc9577#section-2.1
 *#   struct {
 *#       uint16_t token_type;
 *#       opaque issuer_name<1..2^16-1>;
 *#       opaque redemption_context<0..32>;
 *#       opaque origin_info<0..2^16-1>;
 *#   } TokenChallenge;
 */
static agp_err challenge_parse_fields(struct agp_challenge *c, const uint8_t *in, size_t len)
{
    struct agp_reader r;
    memset(c, 0, sizeof *c);
    AGP_ENSURE(len <= AGP_CHALLENGE_MAX, AGP_ERR_TOO_BIG);
    agp_reader_init(&r, in, len);
    AGP_TRY(agp_read_u16(&r, &c->token_type));
    AGP_ENSURE(registered_type(c->token_type), AGP_ERR_TOKEN_TYPE);
    AGP_TRY(agp_read_vec16(&r, 1, 0xffff, &c->issuer_name));
    AGP_TRY(agp_read_vec8(&r, 0, AGP_REDEMPTION_CONTEXT_LEN, &c->redemption_context));
    /* "The redemption_context field MUST be either empty or 32 bytes" */
    AGP_ENSURE(c->redemption_context.len == 0 ||
                   c->redemption_context.len == AGP_REDEMPTION_CONTEXT_LEN,
               AGP_ERR_LENGTH);
    AGP_TRY(agp_read_vec16(&r, 0, 0xffff, &c->origin_info));
    return agp_read_end(&r);
}

/* see agepass/token.h; on failure *c is zeroed */
agp_err agp_challenge_parse(struct agp_challenge *c, const uint8_t *in, size_t len)
{
    agp_err err = challenge_parse_fields(c, in, len);
    if (err != AGP_OK) memset(c, 0, sizeof *c);
    return err;
}

/* see agepass/token.h */
agp_err agp_challenge_write(struct agp_writer *w, const struct agp_challenge *c)
{
    size_t start = w->len;
    AGP_ENSURE(registered_type(c->token_type), AGP_ERR_TOKEN_TYPE);
    AGP_ENSURE(c->issuer_name.len >= 1, AGP_ERR_LENGTH);
    AGP_ENSURE(c->redemption_context.len == 0 ||
                   c->redemption_context.len == AGP_REDEMPTION_CONTEXT_LEN,
               AGP_ERR_LENGTH);
    AGP_TRY(agp_write_u16(w, c->token_type));
    AGP_TRY(agp_write_vec16(w, c->issuer_name.ptr, c->issuer_name.len, 0xffff));
    AGP_TRY(agp_write_vec8(w, c->redemption_context.ptr, c->redemption_context.len,
                           AGP_REDEMPTION_CONTEXT_LEN));
    AGP_TRY(agp_write_vec16(w, c->origin_info.ptr, c->origin_info.len, 0xffff));
    if (w->len - start > AGP_CHALLENGE_MAX) {
        w->len = start;
        return AGP_ERR_TOO_BIG;
    }
    return AGP_OK;
}

/* see agepass/token.h */
agp_err agp_challenge_digest(uint8_t digest[AGP_SHA256_LEN], const uint8_t *in, size_t len)
{
    return agp_sha256(digest, in, len);
}

/*
 *= https://www.rfc-editor.org/rfc/rfc9578#section-6.1
 *#   struct {
 *#      uint16_t token_type = 0x0002;
 *#      uint8_t truncated_token_key_id;
 *#      uint8_t blinded_msg[Nk];
 *#   } TokenRequest;
 */
static agp_err token_request_parse_fields(struct agp_token_request *req, const uint8_t *in,
                                          size_t len)
{
    struct agp_reader r;
    memset(req, 0, sizeof *req);
    agp_reader_init(&r, in, len);
    AGP_TRY(agp_read_u16(&r, &req->token_type));
    AGP_ENSURE(req->token_type == AGP_TOKEN_TYPE_BLIND_RSA, AGP_ERR_TOKEN_TYPE);
    AGP_TRY(agp_read_u8(&r, &req->truncated_token_key_id));
    AGP_TRY(agp_read_span(&r, AGP_NK, &req->blinded_msg));
    return agp_read_end(&r);
}

/* see agepass/token.h; on failure *req is zeroed */
agp_err agp_token_request_parse(struct agp_token_request *req, const uint8_t *in, size_t len)
{
    agp_err err = token_request_parse_fields(req, in, len);
    if (err != AGP_OK) memset(req, 0, sizeof *req);
    return err;
}

/* see agepass/token.h */
agp_err agp_token_request_write(struct agp_writer *w, const struct agp_token_request *req)
{
    AGP_ENSURE(req->token_type == AGP_TOKEN_TYPE_BLIND_RSA, AGP_ERR_TOKEN_TYPE);
    AGP_ENSURE(req->blinded_msg.len == AGP_NK, AGP_ERR_LENGTH);
    AGP_ENSURE(w->cap - w->len >= AGP_TOKEN_REQUEST_LEN, AGP_ERR_TOO_BIG);
    AGP_TRY(agp_write_u16(w, req->token_type));
    AGP_TRY(agp_write_u8(w, req->truncated_token_key_id));
    return agp_write_bytes(w, req->blinded_msg.ptr, AGP_NK);
}

/*
 *= https://www.rfc-editor.org/rfc/rfc9578#section-6.2
 *#   struct {
 *#      uint8_t blind_sig[Nk];
 *#   } TokenResponse;
 */
agp_err agp_token_response_parse(struct agp_token_response *resp, const uint8_t *in, size_t len)
{
    struct agp_reader r;
    memset(resp, 0, sizeof *resp);
    agp_reader_init(&r, in, len);
    if (agp_read_span(&r, AGP_NK, &resp->blind_sig) != AGP_OK || agp_read_end(&r) != AGP_OK) {
        memset(resp, 0, sizeof *resp);
        return len < AGP_NK ? AGP_ERR_TRUNCATED : AGP_ERR_TRAILING;
    }
    return AGP_OK;
}

/* see agepass/token.h */
agp_err agp_token_response_write(struct agp_writer *w, const struct agp_token_response *resp)
{
    AGP_ENSURE(resp->blind_sig.len == AGP_NK, AGP_ERR_LENGTH);
    return agp_write_bytes(w, resp->blind_sig.ptr, AGP_NK);
}

/*
 *= https://www.rfc-editor.org/rfc/rfc9577#section-2.2
 *#   struct {
 *#       uint16_t token_type;
 *#       uint8_t nonce[32];
 *#       uint8_t challenge_digest[32];
 *#       uint8_t token_key_id[Nid];
 *#       uint8_t authenticator[Nk];
 *#   } Token;
 * with Nid = 32 and Nk = 256 for token type 0x0002 (RFC 9578 §6.3).
 */
static agp_err token_parse_fields(struct agp_token *tok, const uint8_t *in, size_t len)
{
    struct agp_reader r;
    memset(tok, 0, sizeof *tok);
    agp_reader_init(&r, in, len);
    AGP_TRY(agp_read_u16(&r, &tok->token_type));
    AGP_ENSURE(tok->token_type == AGP_TOKEN_TYPE_BLIND_RSA, AGP_ERR_TOKEN_TYPE);
    AGP_TRY(agp_read_span(&r, AGP_NONCE_LEN, &tok->nonce));
    AGP_TRY(agp_read_span(&r, AGP_SHA256_LEN, &tok->challenge_digest));
    AGP_TRY(agp_read_span(&r, AGP_SHA256_LEN, &tok->token_key_id));
    AGP_TRY(agp_read_span(&r, AGP_NK, &tok->authenticator));
    AGP_TRY(agp_read_end(&r));
    tok->token_input.ptr = in;
    tok->token_input.len = AGP_TOKEN_INPUT_LEN;
    return AGP_OK;
}

/* see agepass/token.h; on failure *tok is zeroed */
agp_err agp_token_parse(struct agp_token *tok, const uint8_t *in, size_t len)
{
    agp_err err = token_parse_fields(tok, in, len);
    if (err != AGP_OK) memset(tok, 0, sizeof *tok);
    return err;
}

/* see agepass/token.h */
agp_err agp_token_write(struct agp_writer *w, const struct agp_token *tok)
{
    AGP_ENSURE(tok->token_type == AGP_TOKEN_TYPE_BLIND_RSA, AGP_ERR_TOKEN_TYPE);
    AGP_ENSURE(tok->nonce.len == AGP_NONCE_LEN && tok->challenge_digest.len == AGP_SHA256_LEN &&
                   tok->token_key_id.len == AGP_SHA256_LEN && tok->authenticator.len == AGP_NK,
               AGP_ERR_LENGTH);
    AGP_ENSURE(w->cap - w->len >= AGP_TOKEN_LEN, AGP_ERR_TOO_BIG);
    AGP_TRY(agp_write_u16(w, tok->token_type));
    AGP_TRY(agp_write_bytes(w, tok->nonce.ptr, AGP_NONCE_LEN));
    AGP_TRY(agp_write_bytes(w, tok->challenge_digest.ptr, AGP_SHA256_LEN));
    AGP_TRY(agp_write_bytes(w, tok->token_key_id.ptr, AGP_SHA256_LEN));
    return agp_write_bytes(w, tok->authenticator.ptr, AGP_NK);
}

/* see agepass/token.h */
void agp_token_state_clear(struct agp_token_state *st)
{
    agp_wipe(st, sizeof *st);
}

/* RFC 9578 fixes the modulus at 2048 bits for type 0x0002. */
static agp_err check_key(const struct agp_key *key)
{
    return agp_key_len(key) == AGP_NK ? AGP_OK : AGP_ERR_KEY;
}

/* see agepass/token.h */
agp_err agp_token_begin(const struct agp_key *pk, uint8_t request[AGP_TOKEN_REQUEST_LEN],
                        struct agp_token_state *st, const uint8_t *challenge, size_t challenge_len)
{
    agp_err err;
    struct agp_challenge c;
    struct agp_writer w;
    const uint8_t *key_id = agp_key_id(pk);

    memset(request, 0, AGP_TOKEN_REQUEST_LEN);
    agp_token_state_clear(st);
    if ((err = check_key(pk)) != AGP_OK) return err;
    if ((err = agp_challenge_parse(&c, challenge, challenge_len)) != AGP_OK) return err;
    if (c.token_type != AGP_TOKEN_TYPE_BLIND_RSA) return AGP_ERR_TOKEN_TYPE;
    /*
     *= https://www.rfc-editor.org/rfc/rfc9578#section-6.1
     *#   token_input = concat(0x0002, nonce, challenge_digest, token_key_id)
     */
    agp_writer_init(&w, st->token_input, sizeof st->token_input);
    if ((err = agp_write_u16(&w, AGP_TOKEN_TYPE_BLIND_RSA)) != AGP_OK) goto out;
    if ((err = agp_random(st->token_input + w.len, AGP_NONCE_LEN)) != AGP_OK) goto out;
    w.len += AGP_NONCE_LEN;
    if ((err = agp_challenge_digest(st->token_input + w.len, challenge, challenge_len)) != AGP_OK)
        goto out;
    w.len += AGP_SHA256_LEN;
    if ((err = agp_write_bytes(&w, key_id, AGP_SHA256_LEN)) != AGP_OK) goto out;
    /* blinded_msg, blind_inv = Blind(pkI, PrepareIdentity(token_input)) */
    err = agp_rsabssa_blind(pk, VARIANT, request + 3, st->inv, st->token_input, AGP_TOKEN_INPUT_LEN,
                            NULL, NULL);
    if (err != AGP_OK) goto out;
    request[0] = (uint8_t)(AGP_TOKEN_TYPE_BLIND_RSA >> 8);
    request[1] = (uint8_t)AGP_TOKEN_TYPE_BLIND_RSA;
    request[2] = key_id[AGP_SHA256_LEN - 1]; /* truncated_token_key_id: the last byte */
out:
    if (err != AGP_OK) {
        memset(request, 0, AGP_TOKEN_REQUEST_LEN);
        agp_token_state_clear(st);
    }
    return err;
}

/* see agepass/token.h */
agp_err agp_token_issue(const struct agp_key *sk, uint8_t response[AGP_TOKEN_RESPONSE_LEN],
                        const uint8_t *request, size_t request_len)
{
    struct agp_token_request req;
    memset(response, 0, AGP_TOKEN_RESPONSE_LEN);
    AGP_TRY(check_key(sk));
    AGP_TRY(agp_token_request_parse(&req, request, request_len));
    AGP_ENSURE(req.truncated_token_key_id == agp_key_id(sk)[AGP_SHA256_LEN - 1], AGP_ERR_KEY_ID);
    return agp_rsabssa_blind_sign(sk, response, req.blinded_msg.ptr);
}

/* see agepass/token.h */
agp_err agp_token_request_check(const struct agp_key *sk, const uint8_t *request,
                                size_t request_len)
{
    struct agp_token_request req;
    uint8_t n[AGP_NK]; /* the modulus: public */
    AGP_TRY(check_key(sk));
    AGP_TRY(agp_token_request_parse(&req, request, request_len));
    AGP_ENSURE(req.truncated_token_key_id == agp_key_id(sk)[AGP_SHA256_LEN - 1], AGP_ERR_KEY_ID);
    AGP_ENSURE(BN_bn2binpad(sk->n, n, (int)sizeof n) == (int)sizeof n, AGP_ERR_CRYPTO);
    /* both AGP_NK bytes, big-endian: bytewise order is numeric order */
    AGP_ENSURE(memcmp(req.blinded_msg.ptr, n, sizeof n) < 0, AGP_ERR_RANGE);
    return AGP_OK;
}

/* see agepass/token.h */
agp_err agp_token_finish(const struct agp_key *pk, uint8_t token[AGP_TOKEN_LEN],
                         const struct agp_token_state *st, const uint8_t *response,
                         size_t response_len)
{
    struct agp_token_response resp;
    agp_err err;
    memset(token, 0, AGP_TOKEN_LEN);
    AGP_TRY(check_key(pk));
    AGP_TRY(agp_token_response_parse(&resp, response, response_len));
    /* the state must belong to this key */
    AGP_ENSURE(memcmp(st->token_input + 2 + AGP_NONCE_LEN + AGP_SHA256_LEN, agp_key_id(pk),
                      AGP_SHA256_LEN) == 0,
               AGP_ERR_KEY_ID);
    /* authenticator = Finalize(pkI, token_input, blind_sig, blind_inv) */
    err = agp_rsabssa_finalize(pk, VARIANT, token + AGP_TOKEN_INPUT_LEN, resp.blind_sig.ptr,
                               st->inv, st->token_input, AGP_TOKEN_INPUT_LEN);
    if (err != AGP_OK) {
        memset(token, 0, AGP_TOKEN_LEN);
        return err;
    }
    memcpy(token, st->token_input, AGP_TOKEN_INPUT_LEN);
    return AGP_OK;
}

/* see agepass/token.h */
agp_err agp_token_verify(const struct agp_key *pk, const struct agp_token *tok,
                         const uint8_t challenge_digest[AGP_SHA256_LEN])
{
    AGP_ENSURE(tok->token_type == AGP_TOKEN_TYPE_BLIND_RSA, AGP_ERR_TOKEN_TYPE);
    AGP_TRY(check_key(pk));
    /* token_key_id and challenge_digest are public values */
    AGP_ENSURE(tok->token_key_id.len == AGP_SHA256_LEN &&
                   memcmp(tok->token_key_id.ptr, agp_key_id(pk), AGP_SHA256_LEN) == 0,
               AGP_ERR_KEY_ID);
    AGP_ENSURE(tok->challenge_digest.len == AGP_SHA256_LEN &&
                   memcmp(tok->challenge_digest.ptr, challenge_digest, AGP_SHA256_LEN) == 0,
               AGP_ERR_CHALLENGE);
    AGP_ENSURE(tok->token_input.len == AGP_TOKEN_INPUT_LEN && tok->authenticator.len == AGP_NK,
               AGP_ERR_LENGTH);
    return agp_rsabssa_verify(pk, VARIANT, tok->authenticator.ptr, tok->token_input.ptr,
                              AGP_TOKEN_INPUT_LEN);
}

static const uint8_t state_magic[4] = {'A', 'G', 'P', 'S'};
#define STATE_VERSION 1

/* see agepass/token.h (ClientState) */
agp_err agp_token_state_parse(struct agp_token_state *st, struct agp_span *token_key,
                              const uint8_t *in, size_t len)
{
    struct agp_reader r;
    struct agp_span magic;
    uint8_t version;
    agp_err err;
    agp_token_state_clear(st);
    token_key->ptr = NULL;
    token_key->len = 0;
    agp_reader_init(&r, in, len);
    AGP_TRY(agp_read_span(&r, sizeof state_magic, &magic));
    AGP_ENSURE(memcmp(magic.ptr, state_magic, sizeof state_magic) == 0, AGP_ERR_ENCODING);
    AGP_TRY(agp_read_u8(&r, &version));
    AGP_ENSURE(version == STATE_VERSION, AGP_ERR_ENCODING);
    err = agp_read_bytes(&r, st->token_input, AGP_TOKEN_INPUT_LEN);
    if (err == AGP_OK) err = agp_read_bytes(&r, st->inv, AGP_NK);
    if (err == AGP_OK) err = agp_read_vec16(&r, 1, AGP_SPKI_MAX_LEN, token_key);
    if (err == AGP_OK) err = agp_read_end(&r);
    if (err != AGP_OK) {
        agp_token_state_clear(st);
        token_key->ptr = NULL;
        token_key->len = 0;
    }
    return err;
}

/* see agepass/token.h */
agp_err agp_token_state_write(struct agp_writer *w, const struct agp_token_state *st,
                              const struct agp_key *pk)
{
    size_t spki_len;
    const uint8_t *spki = agp_key_spki(pk, &spki_len);
    AGP_TRY(agp_write_bytes(w, state_magic, sizeof state_magic));
    AGP_TRY(agp_write_u8(w, STATE_VERSION));
    AGP_TRY(agp_write_bytes(w, st->token_input, AGP_TOKEN_INPUT_LEN));
    AGP_TRY(agp_write_bytes(w, st->inv, AGP_NK));
    return agp_write_vec16(w, spki, spki_len, AGP_SPKI_MAX_LEN);
}
