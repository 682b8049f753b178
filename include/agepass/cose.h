/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agepass/cose.h: COSE_Sign1 with ES256 and COSE_Mac0 with HMAC 256/256
 * (RFC 9052, RFC 9053), the two COSE structures of ISO/IEC 18013-5, and
 * COSE_Key for P-256 public keys.
 *
 * A parsed message holds spans into the caller's input (borrowed). The
 * payload may be detached (nil on the wire): the verifier then passes it
 * as a list of parts, hashed one after the other, so that a payload the
 * caller builds (ISO's DeviceAuthenticationBytes) need not be copied.
 *
 * Thread safety: pure functions; EVP_PKEY arguments are only read.
 */
#ifndef AGEPASS_COSE_H
#define AGEPASS_COSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "agepass/buf.h"
#include "agepass/err.h"

#define AGP_COSE_ALG_ES256       (-7) /* RFC 9053 §2.1 */
#define AGP_COSE_ALG_HMAC256     5    /* RFC 9053 §3.1, HMAC 256/256 */
#define AGP_COSE_HDR_ALG         1
#define AGP_COSE_HDR_X5CHAIN     33 /* RFC 9360 §2 */
#define AGP_COSE_X5CHAIN_MAX     4
#define AGP_COSE_CERT_MAX        8192
#define AGP_COSE_PAYLOAD_MAX     65536
#define AGP_COSE_ES256_SIG_LEN   64 /* r || s, 32 bytes each (RFC 9053 §2.1) */
#define AGP_COSE_HMAC256_TAG_LEN 32

struct agp_cose_msg {
    struct agp_span protected_hdr; /* the serialized protected header map */
    struct agp_span payload;       /* empty and detached = true when nil */
    bool detached;
    struct agp_span sig;                           /* signature (Sign1) or tag (Mac0) */
    int64_t alg;                                   /* from the protected header */
    struct agp_span x5chain[AGP_COSE_X5CHAIN_MAX]; /* DER certificates, leaf first */
    size_t x5chain_len;
};

/*
 * Reads one COSE_Sign1 (mac = false) or COSE_Mac0 (mac = true) from r,
 * untagged or with its tag (18 or 17). The alg header must be in the
 * protected bucket; x5chain may be in either. Errors: malformed CBOR,
 * AGP_ERR_SYNTAX (shape), AGP_ERR_LENGTH (size caps).
 */
AGP_MUST_USE agp_err agp_cose_parse(struct agp_cose_msg *m, struct agp_reader *r, bool mac);

/*
 * Verifies an ES256 COSE_Sign1 with pub (a P-256 key) over its
 * Sig_structure (RFC 9052 §4.4) with an empty external_aad. For a detached
 * payload, parts[0..nparts) are the payload; otherwise nparts must be 0.
 * Errors: AGP_ERR_KEY (not P-256 or alg not ES256), AGP_ERR_SIGNATURE.
 */
AGP_MUST_USE agp_err agp_cose_sign1_verify(const struct agp_cose_msg *m, EVP_PKEY *pub,
                                           const struct agp_span *parts, size_t nparts);

/*
 * Verifies a COSE_Mac0 with alg HMAC 256/256 over its MAC_structure
 * (RFC 9052 §6.3) with key[0..32), comparing in constant time. Payload as
 * for agp_cose_sign1_verify. Errors: AGP_ERR_KEY, AGP_ERR_SIGNATURE.
 */
AGP_MUST_USE agp_err agp_cose_mac0_verify(const struct agp_cose_msg *m, const uint8_t key[32],
                                          const struct agp_span *parts, size_t nparts);

/*
 * Reads a COSE_Key (RFC 9053 §7.1.1: kty 2 = EC2, crv 1 = P-256, x and y
 * of 32 bytes) into a new public key the caller frees with EVP_PKEY_free.
 * Errors: malformed CBOR, AGP_ERR_KEY (other curve, point not on it).
 */
AGP_MUST_USE agp_err agp_cose_key_p256(EVP_PKEY **out, struct agp_span cose_key);

/* A P-256 public key from its 32-byte coordinates. Errors: AGP_ERR_KEY. */
AGP_MUST_USE agp_err agp_p256_public(EVP_PKEY **out, const uint8_t x[32], const uint8_t y[32]);

#endif
