/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agepass/rsabssa.h: RSA blind signatures, RFC 9474, on OpenSSL 3.
 *
 * The protocol, with the names of RFC 9474 §4:
 *
 *   client                              server (private key)
 *   input_msg = Prepare(msg)
 *   blinded_msg, inv = Blind(pk, input_msg)
 *                   --- blinded_msg --->
 *                                       blind_sig = BlindSign(sk, blinded_msg)
 *                   <--- blind_sig -----
 *   sig = Finalize(pk, input_msg, blind_sig, inv)
 *   anyone: Verify(pk, input_msg, sig)
 *
 * All four variants of §5 use SHA-384 and MGF1-SHA-384; they differ in the
 * PSS salt length (48 or 0) and in Prepare (32 random bytes in front of the
 * message, or the message as is). Token type 0x0002 (RFC 9578 §6) uses
 * RSABSSA-SHA384-PSS-Deterministic.
 *
 * Keys: struct agp_key holds an RSA key, public or private, and the RFC 9578
 * encoding of its public half (see agp_key_spki). Keys are immutable after
 * loading and may be shared between threads.
 */
#ifndef AGEPASS_RSABSSA_H
#define AGEPASS_RSABSSA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agepass/err.h"

/* Largest modulus accepted, in bytes (RSA-4096). */
#define AGP_RSA_MAX_LEN 512
/* Smallest modulus accepted, in bytes (RSA-2048). */
#define AGP_RSA_MIN_LEN 256
/* Random prefix length of the Randomized variants (RFC 9474 §4.1). */
#define AGP_RSABSSA_PREFIX_LEN 32
/* Largest SPKI agp_key_spki writes (RSA-4096 with PSS parameters). */
#define AGP_SPKI_MAX_LEN 600
#define AGP_SHA256_LEN   32
#define AGP_SHA384_LEN   48

enum agp_rsabssa_variant {
    AGP_RSABSSA_SHA384_PSS_RANDOMIZED = 0,
    AGP_RSABSSA_SHA384_PSSZERO_RANDOMIZED,
    AGP_RSABSSA_SHA384_PSS_DETERMINISTIC,
    AGP_RSABSSA_SHA384_PSSZERO_DETERMINISTIC
};

/* The variant's RFC name, e.g. "RSABSSA-SHA384-PSS-Randomized". */
const char *agp_rsabssa_variant_name(enum agp_rsabssa_variant v);
/* The PSS salt length in bytes: 48 or 0. */
size_t agp_rsabssa_salt_len(enum agp_rsabssa_variant v);
/* True for the Randomized variants. */
bool agp_rsabssa_is_randomized(enum agp_rsabssa_variant v);

struct agp_key;

/* Makes a new private key of bits (2048..4096, multiple of 8), e = 65537. */
AGP_MUST_USE agp_err agp_key_generate(struct agp_key **out, unsigned bits);

/*
 * Loads a private key from PEM text: PKCS#8 "PRIVATE KEY" with the
 * rsaEncryption algorithm, as OpenSSL and WebCrypto write it, or PKCS#1 "RSA
 * PRIVATE KEY". Encrypted PEM is refused, never prompted for. A PKCS#8 key
 * restricted to id-RSASSA-PSS is refused too: OpenSSL will not run the raw
 * RSA operation that BlindSign needs on it. Errors: AGP_ERR_ENCODING,
 * AGP_ERR_KEY (not RSA, wrong size, e even or 1), AGP_ERR_TOO_BIG (over
 * 16 KiB).
 */
AGP_MUST_USE agp_err agp_key_load_private_pem(struct agp_key **out, const uint8_t *pem, size_t len);

/*
 * Loads a public key from its RFC 9578 §6.5 encoding: a DER
 * SubjectPublicKeyInfo with the id-RSASSA-PSS algorithm and parameters
 * SHA-384 / MGF1-SHA-384 / salt 48, exactly as agp_key_spki writes it (any
 * other encoding of the same key would change token_key_id, so it is
 * refused). Errors: AGP_ERR_ENCODING, AGP_ERR_KEY.
 */
AGP_MUST_USE agp_err agp_key_load_spki(struct agp_key **out, const uint8_t *der, size_t len);

/* Frees key; NULL is fine. */
void agp_key_free(struct agp_key *key);

/* True if key holds the private half. */
bool agp_key_is_private(const struct agp_key *key);
/* Modulus length in bytes (kLen of RFC 9474). */
size_t agp_key_len(const struct agp_key *key);
/* The RFC 9578 SPKI of the public half; borrowed, lives as long as key. */
const uint8_t *agp_key_spki(const struct agp_key *key, size_t *len);
/* token_key_id = SHA-256(SPKI), RFC 9578 §6.5; borrowed. */
const uint8_t *agp_key_id(const struct agp_key *key);

/*
 * Writes the private key as PEM PKCS#8 with the rsaEncryption algorithm,
 * which both OpenSSL and WebCrypto import. *out is malloc'd and the caller
 * frees it with agp_wipe then free. Errors: AGP_ERR_KEY if key is public.
 */
AGP_MUST_USE agp_err agp_key_private_pem(const struct agp_key *key, char **out, size_t *out_len);

/*
 * Prepare (RFC 9474 §4.1): input_msg = prefix || msg for the Randomized
 * variants (prefix 32 random bytes), msg otherwise. out has room for
 * msg_len + 32; *out_len gets the length.
 */
AGP_MUST_USE agp_err agp_rsabssa_prepare(enum agp_rsabssa_variant v, uint8_t *out, size_t out_cap,
                                         size_t *out_len, const uint8_t *msg, size_t msg_len);

/*
 * Blind (RFC 9474 §4.2). Writes blinded_msg and inv, each agp_key_len(pk)
 * bytes. inv is secret: the caller keeps it for Finalize and wipes it.
 * salt and r are normally NULL (drawn at random); tests pass the RFC's
 * values: salt of agp_rsabssa_salt_len(v) bytes and r of agp_key_len(pk)
 * bytes, big-endian. Errors: AGP_ERR_RANGE (the encoded message shares a
 * factor with n, or r is not invertible), AGP_ERR_LENGTH, AGP_ERR_RANDOM.
 * On error the outputs are zero.
 */
AGP_MUST_USE agp_err agp_rsabssa_blind(const struct agp_key *pk, enum agp_rsabssa_variant v,
                                       uint8_t *blinded_msg, uint8_t *inv, const uint8_t *input_msg,
                                       size_t input_len, const uint8_t *salt, const uint8_t *r);

/*
 * BlindSign (RFC 9474 §4.3): blind_sig = blinded_msg^d mod n, using
 * OpenSSL's RSA private operation (CRT, base blinding, constant time), then
 * the RFC's check that blind_sig^e = blinded_msg. Both buffers are
 * agp_key_len(sk) bytes. Errors: AGP_ERR_KEY (public key), AGP_ERR_RANGE
 * (blinded_msg not below n), AGP_ERR_CRYPTO (the check failed: a fault).
 */
AGP_MUST_USE agp_err agp_rsabssa_blind_sign(const struct agp_key *sk, uint8_t *blind_sig,
                                            const uint8_t *blinded_msg);

/*
 * Finalize (RFC 9474 §4.4): sig = blind_sig * inv mod n, then Verify. All
 * three buffers are agp_key_len(pk) bytes. Errors: AGP_ERR_RANGE,
 * AGP_ERR_SIGNATURE (the server signed something else). On error sig is 0.
 */
AGP_MUST_USE agp_err agp_rsabssa_finalize(const struct agp_key *pk, enum agp_rsabssa_variant v,
                                          uint8_t *sig, const uint8_t *blind_sig,
                                          const uint8_t *inv, const uint8_t *input_msg,
                                          size_t input_len);

/*
 * Verify (RFC 9474 §4.5): RSASSA-PSS-VERIFY with SHA-384, MGF1-SHA-384 and
 * the variant's salt length. sig is agp_key_len(pk) bytes.
 * Errors: AGP_ERR_SIGNATURE.
 */
AGP_MUST_USE agp_err agp_rsabssa_verify(const struct agp_key *pk, enum agp_rsabssa_variant v,
                                        const uint8_t *sig, const uint8_t *input_msg,
                                        size_t input_len);

#endif
