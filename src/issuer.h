/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/issuer.h: what the issuer's enrolment modules (src/enroll_*.c) share
 * with the service in src/issuer.c.
 *
 * An enrolment module checks one kind of evidence (a dev declaration, an
 * OpenID Connect ID token, an EU attestation) and ends with either
 * issuer_refuse_enrol (a reason counted in the metrics) or issuer_grant
 * (an issuance grant for the age proven). Nothing a module reads from the
 * evidence is kept: issuer_grant receives an age, a subject to pseudonymise
 * or a digest to remember, and an expiry.
 */
#ifndef AGEPASS_SRC_ISSUER_H
#define AGEPASS_SRC_ISSUER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "agepass/istore.h"

#define ISSUER_UPLOAD_MAX 16384 /* largest request body any route reads */

enum enrol_refusal { ER_UNDER_AGE, ER_INVALID, ER_EXPIRED, ER_REUSED, ER_OVER_QUOTA, ER_COUNT };

/*
 * Where an enrolment's evidence came from: the `source` label of the
 * enrolment metrics. ES_OIDC + i is the i-th --oidc-provider (its name);
 * ES_OIDC_UNKNOWN an OpenID Connect callback whose provider cannot be
 * told (several providers, and no state of ours).
 */
#define ENROL_OIDC_MAX 8
enum enrol_source {
    ES_DEV,
    ES_MDOC,
    ES_OIDC_UNKNOWN,
    ES_OIDC,
    ES_COUNT = ES_OIDC + ENROL_OIDC_MAX
};

struct service;

/* A request body being received. */
struct upload {
    char buf[ISSUER_UPLOAD_MAX];
    size_t len;
    bool too_big;
    int64_t started_us; /* metrics_now_us() when the head was in: the latency histogram */
};

/* What a module learnt from evidence it accepted. */
struct issuer_evidence {
    unsigned age; /* the person is at least this old */
    /*
     * A stable subject (OIDC: source = the provider's issuer URL, subject =
     * `sub`): the person's pseudonym is a keyed hash of both, so the caps
     * follow the person across enrolments. NULL source: evidence with no
     * stable subject, accepted once: `digest` is remembered until
     * `expires_at`, and the grant is for one batch.
     */
    const char *source;
    const char *subject;
    const uint8_t *digest; /* 32 bytes, when source is NULL */
    int64_t expires_at;
    enum enrol_source from; /* for the metrics */
    /*
     * The web wallet began this enrolment (the dev form's ?wallet=1, an
     * OpenID Connect state made with the wallet key): a browser's grant
     * page then sends the grant back to --wallet-url, if one is set.
     */
    bool to_wallet;
};

/* Sends body with status and content type; Cache-Control: no-store. */
enum MHD_Result issuer_send(struct MHD_Connection *conn, unsigned status, const void *body,
                            size_t len, const char *ctype);
/* Counts the refusal for its source, logs its reason, answers {"error": reason} with status. */
enum MHD_Result issuer_refuse_enrol(struct MHD_Connection *conn, enum enrol_source from,
                                    enum enrol_refusal why, unsigned status);
/*
 * Turns accepted evidence into a grant for the highest age class it
 * covers (403 under_age if none), applying the one-use rule for evidence
 * without a subject (409 reused_evidence), and answers it as JSON when the
 * client accepts application/json, as a small HTML page otherwise.
 */
enum MHD_Result issuer_grant(struct service *s, struct MHD_Connection *conn,
                             const struct issuer_evidence *ev);
/* A grant made by issuer_grant_mint, not yet given to anyone. */
#define ISSUER_GRANT_LEN 43 /* its bearer value: 32 random bytes, unpadded base64url */
struct issuer_minted {
    char grant[ISSUER_GRANT_LEN + 4]; /* NUL-terminated; secret */
    unsigned age, tokens;
    int64_t expires_at;
};
enum issuer_mint { IM_OK, IM_REFUSED, IM_UNAVAILABLE };
/*
 * issuer_grant without the answer, for a module that hands the grant over
 * later (src/enroll_mdoc.c, the pickup): IM_OK with *out made and counted
 * as an enrolment; IM_REFUSED with the reason and HTTP status in *why and
 * *status, not yet counted (answer with issuer_refuse_enrol);
 * IM_UNAVAILABLE when the store failed (answer 503). The caller wipes
 * out->grant.
 */
enum issuer_mint issuer_grant_mint(struct service *s, const struct issuer_evidence *ev,
                                   struct issuer_minted *out, enum enrol_refusal *why,
                                   unsigned *status);
/* --wallet-url (or the one --wallet-dir implies), "" if none: where a grant goes back to. */
const char *issuer_wallet_url(void);

/*
 * True when the request carries ?wallet=1 and the issuer has a web wallet
 * (--wallet-url or --wallet-dir): an enrolment the wallet begins.
 */
bool issuer_from_wallet(struct MHD_Connection *conn);

/*
 * Enrolment with an EU Proof-of-Age mdoc over OpenID4VP (src/enroll_mdoc.c).
 * mdoc_enrol_new loads the trust anchors (PEM files, and/or a trusted-list
 * file naming PEM files one a line); key (32 bytes, derived from the
 * pseudonym secret) keys the nonces; public_url is the issuer's external base URL
 * (checked by issuer.c, no final '/'). Returns
 * CLI_OK or a CLI_ exit code after printing why.
 */
struct mdoc_enrol;
int mdoc_enrol_new(struct mdoc_enrol **out, const char *const *pem_files, size_t npem,
                   const char *trusted_list, const char *public_url, const uint8_t key[32]);
void mdoc_enrol_free(struct mdoc_enrol *m);
/* GET /enroll/mdoc/request[?age=NN], GET /enroll/mdoc/qr?state=S, POST /enroll/mdoc/response */
enum MHD_Result mdoc_enrol_request(struct mdoc_enrol *m, struct MHD_Connection *conn);
/*
 * GET /enroll/mdoc/start?wallet=1[&age=NN]: the page for a person (QR code,
 * av:// link, waiting), with the pickup cookie; GET /enroll/mdoc/wait?state=S:
 * the same page while waiting, then 303 to the web wallet with the grant.
 */
enum MHD_Result mdoc_enrol_start(struct mdoc_enrol *m, struct MHD_Connection *conn);
enum MHD_Result mdoc_enrol_wait(struct mdoc_enrol *m, struct service *s,
                                struct MHD_Connection *conn);
enum MHD_Result mdoc_enrol_qr(struct mdoc_enrol *m, struct MHD_Connection *conn);
enum MHD_Result mdoc_enrol_response(struct mdoc_enrol *m, struct service *s,
                                    struct MHD_Connection *conn, const struct upload *up);

/* The issuer's store (for modules that remember used evidence themselves). */
struct agp_istore *issuer_store(struct service *s);

/*
 * The first hour boundary at or after t: what the store is given of a
 * grant's or an evidence's expiry, so that it tells no enrolment's minute
 * (docs/privacy.md).
 */
int64_t issuer_hour_ceil(int64_t t);

/* ---- src/enroll_oidc.c: OpenID Connect --------------------------------- */

/* Options of `issuer serve` for OpenID Connect. */
struct enroll_oidc_config {
    const char *const *providers; /* --oidc-provider values (ISSUER_URL,client_id=...) */
    size_t count;                 /* how many (0: no OpenID Connect enrolment) */
    const char *public_url;       /* --public-url, checked, no final '/': redirect_uri is
                                     <it>/enroll/oidc/callback */
};

/*
 * With cfg->count > 0: parses each --oidc-provider, reads its client
 * secret, fetches its discovery document and JWKS, and makes *out; key (32
 * bytes, derived from the pseudonym secret) keys the flow's states, one
 * subkey per provider. Without providers, *out is NULL (no OpenID Connect
 * enrolment). CLI_OK, CLI_USAGE or CLI_REJECTED.
 */
struct oidc_enrol;
int oidc_enrol_new(struct oidc_enrol **out, const struct enroll_oidc_config *cfg,
                   const uint8_t key[32]);
void oidc_enrol_free(struct oidc_enrol *o);
/* How many providers o has (0 for NULL), and the configured name of the i-th. */
size_t oidc_enrol_count(const struct oidc_enrol *o);
const char *oidc_enrol_name(const struct oidc_enrol *o, size_t i);
/* GET /enroll/oidc/start and GET /enroll/oidc/callback (see src/enroll_oidc.c). */
enum MHD_Result oidc_enrol_start(const struct oidc_enrol *o, struct MHD_Connection *conn);
enum MHD_Result oidc_enrol_callback(struct oidc_enrol *o, struct service *s,
                                    struct MHD_Connection *conn);

#endif
