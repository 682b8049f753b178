/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agepass/mdoc.h: verification of an ISO/IEC 18013-5 mdoc presentation,
 * as the EU Age Verification profile (docType and namespace
 * "eu.europa.ec.av.1") uses it: an age provider enrols a person from a
 * Proof-of-Age attestation presented by their wallet.
 *
 * Checks, in order (ISO 18013-5 §9.1.2-9.1.3, EU AV Annex A):
 *  1. strict CBOR: a DeviceResponse with one document, or a bare
 *     IssuerSigned; tag 24 items hashed as received;
 *  2. issuerAuth: COSE_Sign1 ES256 by the document signer certificate of
 *     x5chain, which chains at `now` to one of the trust anchors (no EKU
 *     is required: issuers use different ones);
 *  3. the MSO: docType, SHA-256, validFrom <= now <= validUntil, every
 *     disclosed item's digest in valueDigests;
 *  4. device authentication over the caller's SessionTranscript:
 *     deviceSignature with the MSO's device key, or deviceMac with the
 *     reader's ephemeral key;
 *  5. the age: age_over_NN for the NN asked for, a boolean.
 * Nothing of the attestation leaves this module besides the result.
 *
 * Thread safety: agp_mdoc_verify only reads the policy; an X509_STORE may
 * be shared by threads once loaded.
 */
#ifndef AGEPASS_MDOC_H
#define AGEPASS_MDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "agepass/err.h"

#define AGP_MDOC_MAX            65536 /* largest DeviceResponse read */
#define AGP_MDOC_DOCTYPE_AV     "eu.europa.ec.av.1"
#define AGP_MDOC_DIGEST_LEN     32
#define AGP_MDOC_MAX_ITEMS      64 /* disclosed items per namespace */
#define AGP_MDOC_TRANSCRIPT_MAX 1024

struct agp_mdoc_policy {
    X509_STORE *anchors;    /* trust anchors (borrowed) */
    int64_t now;            /* seconds since the epoch: the time of every check */
    unsigned age;           /* NN of the age_over_NN that must be disclosed */
    const char *doctype;    /* NULL: eu.europa.ec.av.1 */
    const char *name_space; /* where age_over_NN is read; NULL: the doctype */
    /*
     * The SessionTranscript (its CBOR, not tagged) the device must have
     * authenticated; NULL: device authentication is not checked (only for
     * tests of bare IssuerSigned data), and result.device_authenticated is
     * false.
     */
    const uint8_t *transcript;
    size_t transcript_len;
    EVP_PKEY *reader_key; /* the reader's ephemeral private key, for deviceMac; or NULL */
};

struct agp_mdoc_result {
    unsigned age;              /* NN asked for if age_over_NN is true, else 0 */
    bool device_authenticated; /* deviceSignature or deviceMac verified */
    int64_t valid_until;       /* the MSO's validUntil */
    /* SHA-256 of the MobileSecurityObjectBytes: names this attestation */
    uint8_t digest[AGP_MDOC_DIGEST_LEN];
};

/*
 * Verifies the DeviceResponse (or bare IssuerSigned) in[0..len) under p.
 * Returns AGP_OK with out filled when every check passed; out->age is 0
 * when age_over_NN is disclosed and false. Errors (out zeroed):
 *   malformed: AGP_ERR_TRUNCATED, _TRAILING, _LENGTH, _ENCODING, _SYNTAX,
 *              _TOO_BIG (caps, depth);
 *   AGP_ERR_TOKEN_TYPE  docType other than the policy's;
 *   AGP_ERR_SIGNATURE   issuerAuth, a value digest, or device authentication;
 *   AGP_ERR_KEY         the DS certificate does not chain to an anchor, or
 *                       an unsupported algorithm or key;
 *   AGP_ERR_EXPIRED     the MSO or a certificate is not valid at now;
 *   AGP_ERR_NOT_FOUND   age_over_NN not disclosed ("no age evidence"), or
 *                       no device authentication while a transcript is given.
 */
AGP_MUST_USE agp_err agp_mdoc_verify(struct agp_mdoc_result *out, const uint8_t *in, size_t len,
                                     const struct agp_mdoc_policy *p);

/*
 * The SessionTranscript of OpenID4VP 1.0 Appendix B.2.6.1 (redirect flows):
 *   SessionTranscript = [ null, null, OpenID4VPHandover ]
 *   OpenID4VPHandover = [ "OpenID4VPHandover", bstr SHA-256(OpenID4VPHandoverInfoBytes) ]
 *   OpenID4VPHandoverInfo = [ clientId, nonce, jwkThumbprint / null, responseUri ]
 * jwk_thumbprint is NULL for an unencrypted response (direct_post). Writes
 * the CBOR into out[0..cap). Errors: AGP_ERR_TOO_BIG, AGP_ERR_CRYPTO.
 */
AGP_MUST_USE agp_err agp_mdoc_oid4vp_transcript(uint8_t *out, size_t cap, size_t *out_len,
                                                const char *client_id, const char *nonce,
                                                const uint8_t *jwk_thumbprint,
                                                const char *response_uri);

#endif
