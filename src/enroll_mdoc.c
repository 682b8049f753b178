/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/enroll_mdoc.c: enrolment with an EU Proof-of-Age attestation (an
 * ISO/IEC 18013-5 mdoc, docType eu.europa.ec.av.1) presented by a wallet
 * over OpenID4VP 1.0 (response_mode direct_post, request by value, DCQL,
 * client_id prefix redirect_uri:), as the EU AV profile Annex A asks.
 *
 *   GET  /enroll/mdoc/request[?age=NN]  the authorization request (JSON),
 *                                       its av:// link and a QR code URL
 *   GET  /enroll/mdoc/qr?state=S        that link as an SVG QR code
 *   POST /enroll/mdoc/response          vp_token=...&state=S (the wallet)
 *
 * Stateless: the nonce, also sent as `state`, is
 *   agp_seal(key, "mdoc nonce", expiry, age[1]) (agepass/util.h)
 * with a key derived from the issuer's pseudonym secret, so any instance
 * can check it and none stores it. The attestation's digest is what makes
 * an answer single-use (issuer_grant remembers it until validUntil).
 * Nothing read from the attestation is logged or stored: only the age and
 * the expiry leave lib/attest_mdoc.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <qrencode.h>

#include "agepass/mdoc.h"
#include "agepass/util.h"
#include "cli.h"
#include "issuer.h"

#define NONCE_LABEL    "mdoc nonce"
#define NONCE_B64_LEN  AGP_SEAL_LEN(1) /* a sealed ticket of one byte: the age asked */
#define NONCE_TTL_S    600
#define QUERY_ID       "age"
#define URL_MAX        512
#define TRUST_FILE_MAX 64

struct mdoc_enrol {
    X509_STORE *anchors;
    char response_uri[URL_MAX], client_id[URL_MAX + 16];
    uint8_t key[32]; /* keys the nonces; secret */
};

static int add_pem_file(X509_STORE *st, const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *cert;
    int n = 0;
    if (f == NULL) {
        fprintf(stderr, "agepass: %s: cannot open\n", path);
        return CLI_USAGE;
    }
    while ((cert = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(st, cert) != 1) {
            X509_free(cert);
            fclose(f);
            fprintf(stderr, "agepass: %s: cannot add a trust anchor\n", path);
            return CLI_REJECTED;
        }
        X509_free(cert);
        n++;
    }
    fclose(f);
    if (n == 0) {
        fprintf(stderr, "agepass: %s: no PEM certificate\n", path);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/*
 * A trusted-list file: one PEM file name a line (relative to the list's
 * folder unless absolute), blank lines and lines starting with '#'
 * ignored.
 */
static int add_trusted_list(X509_STORE *st, const char *list)
{
    uint8_t *buf = NULL;
    size_t len, i, start = 0, n = 0;
    char dir[4096], path[8192];
    const char *slash = strrchr(list, '/');
    int rc = CLI_OK;
    if (cli_read(list, CLI_FILE_MAX, &buf, &len) != AGP_OK) {
        fprintf(stderr, "agepass: %s: cannot read the trusted list\n", list);
        return CLI_USAGE;
    }
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - list) : 1, slash ? list : ".");
    for (i = 0; i <= len && rc == CLI_OK; i++) {
        if (i < len && buf[i] != '\n') continue;
        size_t a = start, b = i;
        start = i + 1;
        while (a < b && isspace(buf[a]))
            a++;
        while (b > a && isspace(buf[b - 1]))
            b--;
        if (a == b || buf[a] == '#') continue;
        if (b - a > 4000 || ++n > TRUST_FILE_MAX) {
            fprintf(stderr, "agepass: %s: line too long or too many entries\n", list);
            rc = CLI_USAGE;
            break;
        }
        if (buf[a] == '/')
            snprintf(path, sizeof path, "%.*s", (int)(b - a), (const char *)buf + a);
        else
            snprintf(path, sizeof path, "%s/%.*s", dir, (int)(b - a), (const char *)buf + a);
        rc = add_pem_file(st, path);
    }
    if (rc == CLI_OK && n == 0) {
        fprintf(stderr, "agepass: %s: names no trust anchor\n", list);
        rc = CLI_USAGE;
    }
    cli_free(buf, len);
    return rc;
}

/* see issuer.h */
int mdoc_enrol_new(struct mdoc_enrol **out, const char *const *pem_files, size_t npem,
                   const char *trusted_list, const char *public_url, const uint8_t key[32])
{
    struct mdoc_enrol *m;
    size_t i;
    int rc = CLI_OK;
    *out = NULL;
    if ((m = calloc(1, sizeof *m)) == NULL || (m->anchors = X509_STORE_new()) == NULL) {
        free(m);
        return cli_fail("mdoc", AGP_ERR_NOMEM);
    }
    for (i = 0; i < npem && rc == CLI_OK; i++)
        rc = add_pem_file(m->anchors, pem_files[i]);
    if (rc == CLI_OK && trusted_list != NULL) rc = add_trusted_list(m->anchors, trusted_list);
    memcpy(m->key, key, sizeof m->key);
    if (rc != CLI_OK) {
        mdoc_enrol_free(m);
        return rc;
    }
    snprintf(m->response_uri, sizeof m->response_uri, "%s/enroll/mdoc/response", public_url);
    snprintf(m->client_id, sizeof m->client_id, "redirect_uri:%s", m->response_uri);
    *out = m;
    return CLI_OK;
}

/* see issuer.h */
void mdoc_enrol_free(struct mdoc_enrol *m)
{
    if (m == NULL) return;
    X509_STORE_free(m->anchors);
    AGP_WIPE(m->key);
    free(m);
}

static agp_err new_nonce(const struct mdoc_enrol *m, unsigned age, int64_t now,
                         char out[NONCE_B64_LEN + 1])
{
    uint8_t a = (uint8_t)age;
    return agp_seal(out, NONCE_B64_LEN + 1, NULL, m->key, NONCE_LABEL, now + NONCE_TTL_S, &a, 1);
}

/*
 * Checks a nonce made by new_nonce: AGP_ERR_LENGTH or AGP_ERR_ENCODING,
 * AGP_ERR_SIGNATURE, AGP_ERR_EXPIRED.
 */
static agp_err check_nonce(const struct mdoc_enrol *m, const char *nonce, int64_t now,
                           unsigned *age)
{
    uint8_t a;
    agp_err err =
        agp_unseal(NULL, NULL, &a, 1, m->key, NONCE_LABEL, nonce, strlen(nonce), now, NONCE_TTL_S);
    if (err != AGP_OK) return err;
    *age = a;
    return a >= 1 && a <= 99 ? AGP_OK : AGP_ERR_SIGNATURE;
}

/*
 * OpenID4VP 1.0 §5 (authorization request) and §6 (DCQL): one mso_mdoc
 * credential query, id "age", docType eu.europa.ec.av.1, one claim
 * age_over_NN. The caller frees the result with json_decref.
 */
static json_t *authorization_request(const struct mdoc_enrol *m, const char *nonce, unsigned age)
{
    char claim[16];
    snprintf(claim, sizeof claim, "age_over_%02u", age);
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:[{s:s, s:s, s:{s:s}, s:[{s:[s,s], s:b}]}]},"
        " s:{s:{s:{s:[i], s:[i]}}}}",
        "response_type", "vp_token", "response_mode", "direct_post", "client_id", m->client_id,
        "response_uri", m->response_uri, "nonce", nonce, "state", nonce, "dcql_query",
        "credentials", "id", QUERY_ID, "format", "mso_mdoc", "meta", "doctype_value",
        AGP_MDOC_DOCTYPE_AV, "claims", "path", AGP_MDOC_DOCTYPE_AV, claim, "intent_to_retain", 0,
        "client_metadata", "vp_formats_supported", "mso_mdoc", "issuerauth_alg_values", -7,
        "deviceauth_alg_values", -7);
}

/* The av:// invocation link: the request's parameters, JSON ones as text. */
static bool invocation_link(char *out, size_t cap, json_t *req)
{
    const char *k;
    json_t *v;
    size_t pos;
    bool first = true, ok = true;
    if (cap < 8) return false;
    memcpy(out, "av://?", 7);
    pos = 6;
    json_object_foreach(req, k, v)
    {
        char *text = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        const char *val = json_is_string(v) ? json_string_value(v) : text;
        if (val == NULL) return false;
        if (!first) {
            if (cap - pos < 2)
                ok = false;
            else
                out[pos++] = '&';
        }
        first = false;
        ok = ok && cli_url_append(out, cap, &pos, k);
        if (ok && cap - pos >= 2)
            out[pos++] = '=';
        else
            ok = false;
        ok = ok && cli_url_append(out, cap, &pos, val);
        free(text);
        if (!ok) return false;
    }
    return true;
}

static unsigned query_age(struct MHD_Connection *conn)
{
    const char *a = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "age");
    uint64_t v;
    if (a == NULL) return 18; /* R43: age_over_18 is in every PoA */
    if (!cli_parse_uint(a, 99, &v) || v == 0) return 0;
    return (unsigned)v;
}

/* see issuer.h */
enum MHD_Result mdoc_enrol_request(struct mdoc_enrol *m, struct MHD_Connection *conn)
{
    char nonce[NONCE_B64_LEN + 1], link[4096], qr[128];
    unsigned age = query_age(conn);
    json_t *req, *body;
    char *text;
    enum MHD_Result ret;
    if (age == 0) return issuer_refuse_enrol(conn, ES_MDOC, ER_INVALID, MHD_HTTP_BAD_REQUEST);
    if (new_nonce(m, age, (int64_t)time(NULL), nonce) != AGP_OK)
        return issuer_send(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "", 0, NULL);
    req = authorization_request(m, nonce, age);
    if (req == NULL || !invocation_link(link, sizeof link, req)) {
        json_decref(req);
        return issuer_send(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "", 0, NULL);
    }
    snprintf(qr, sizeof qr, "/enroll/mdoc/qr?state=%s", nonce);
    body = json_pack("{s:o, s:s, s:s}", "request", req, "invocation", link, "qr", qr);
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL) return issuer_send(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "", 0, NULL);
    ret = issuer_send(conn, MHD_HTTP_OK, text, strlen(text), "application/json");
    free(text);
    return ret;
}

/* see issuer.h */
enum MHD_Result mdoc_enrol_qr(struct mdoc_enrol *m, struct MHD_Connection *conn)
{
    const char *state = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "state");
    char link[4096], *svg = NULL;
    size_t cap, n = 0, x, y;
    unsigned age;
    QRcode *code;
    json_t *req;
    enum MHD_Result ret;
    int w;
    if (state == NULL || check_nonce(m, state, (int64_t)time(NULL), &age) != AGP_OK)
        return issuer_send(conn, MHD_HTTP_BAD_REQUEST, "bad or expired state\n", 21,
                           "text/plain; charset=utf-8");
    req = authorization_request(m, state, age);
    if (req == NULL || !invocation_link(link, sizeof link, req)) {
        json_decref(req);
        return issuer_send(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "", 0, NULL);
    }
    json_decref(req);
    if ((code = QRcode_encodeString8bit(link, 0, QR_ECLEVEL_L)) == NULL)
        return issuer_send(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "", 0, NULL);
    /* one <rect> per dark module at most, 4 modules of quiet zone */
    cap = 256 + (size_t)code->width * (size_t)code->width * 48;
    if ((svg = malloc(cap)) == NULL) goto fail;
    w = snprintf(svg, cap,
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                 "shape-rendering=\"crispEdges\"><rect width=\"100%%\" height=\"100%%\" "
                 "fill=\"#fff\"/>",
                 code->width + 8, code->width + 8);
    if (w < 0) goto fail;
    n = (size_t)w;
    for (y = 0; y < (size_t)code->width; y++)
        for (x = 0; x < (size_t)code->width; x++)
            if (code->data[y * (size_t)code->width + x] & 1) {
                w = snprintf(svg + n, cap - n,
                             "<rect x=\"%zu\" y=\"%zu\" width=\"1\" height=\"1\"/>", x + 4, y + 4);
                if (w < 0 || (size_t)w >= cap - n) goto fail;
                n += (size_t)w;
            }
    w = snprintf(svg + n, cap - n, "</svg>\n");
    if (w < 0 || (size_t)w >= cap - n) goto fail;
    n += (size_t)w;
    QRcode_free(code);
    ret = issuer_send(conn, MHD_HTTP_OK, svg, n, "image/svg+xml");
    free(svg);
    return ret;
fail:
    QRcode_free(code);
    free(svg);
    return issuer_send(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "", 0, NULL);
}

/* The wallet's direct_post form (application/x-www-form-urlencoded). */
struct form {
    char state[NONCE_B64_LEN + 2];
    char *vp_token; /* ISSUER_UPLOAD_MAX bytes */
    size_t state_len, vp_len;
    unsigned states, vps; /* how many times each field came */
    bool bad;
};

/* libmicrohttpd's post processor hands each field over, maybe in pieces. */
static enum MHD_Result form_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *filename, const char *ctype, const char *enc,
                                  const char *data, uint64_t off, size_t size)
{
    struct form *f = cls;
    char *dst;
    size_t cap, *len;
    (void)kind, (void)filename, (void)ctype, (void)enc;
    if (strcmp(key, "state") == 0) {
        dst = f->state, cap = sizeof f->state, len = &f->state_len;
        if (off == 0) f->states++;
    } else if (strcmp(key, "vp_token") == 0) {
        dst = f->vp_token, cap = ISSUER_UPLOAD_MAX, len = &f->vp_len;
        if (off == 0) f->vps++;
    } else {
        return MHD_YES; /* other fields are not ours */
    }
    if (off != *len || size >= cap - *len || (size > 0 && memchr(data, '\0', size) != NULL)) {
        f->bad = true;
        return MHD_NO;
    }
    memcpy(dst + *len, data, size);
    *len += size;
    dst[*len] = '\0';
    return MHD_YES;
}

/* Reads the form into f: false unless it parses and holds each field at most once. */
static bool read_form(struct MHD_Connection *conn, const struct upload *up, struct form *f)
{
    struct MHD_PostProcessor *pp = MHD_create_post_processor(conn, 1024, form_field, f);
    bool ok;
    if (pp == NULL) return false; /* not application/x-www-form-urlencoded */
    ok = MHD_post_process(pp, up->buf, up->len) == MHD_YES;
    ok = MHD_destroy_post_processor(pp) == MHD_YES && ok;
    return ok && !f->bad && f->states <= 1 && f->vps <= 1;
}

static enum MHD_Result refuse_mdoc(struct MHD_Connection *conn, agp_err err)
{
    fprintf(stderr, "agepass issuer: mdoc enrolment: %s\n", agp_err_str(err));
    switch (err) {
    case AGP_ERR_EXPIRED: return issuer_refuse_enrol(conn, ES_MDOC, ER_EXPIRED, MHD_HTTP_FORBIDDEN);
    case AGP_ERR_NOMEM:
    case AGP_ERR_CRYPTO:
    case AGP_ERR_INTERNAL:
    case AGP_ERR_RANDOM: return issuer_send(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "", 0, NULL);
    default: break;
    }
    return issuer_refuse_enrol(conn, ES_MDOC, ER_INVALID,
                               agp_err_kind(err) == AGP_KIND_MALFORMED
                                   ? MHD_HTTP_BAD_REQUEST
                                   : MHD_HTTP_UNPROCESSABLE_CONTENT);
}

/*
 * OpenID4VP 1.0 §8.1: vp_token = { "<credential query id>": [ presentation, ... ] };
 * for mso_mdoc (Appendix B.2) a presentation is a base64url DeviceResponse.
 * One query ("age"), one presentation.
 */
static agp_err read_vp_token(const char *text, uint8_t *out, size_t cap, size_t *len)
{
    json_error_t jerr;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr), *arr, *item;
    const char *s;
    agp_err err = AGP_ERR_SYNTAX;
    if (!json_is_object(root) || json_object_size(root) != 1) goto out;
    arr = json_object_get(root, QUERY_ID);
    if (!json_is_array(arr) || json_array_size(arr) != 1) goto out;
    item = json_array_get(arr, 0);
    if (!json_is_string(item)) goto out;
    s = json_string_value(item);
    err = agp_b64url_decode(out, cap, len, s, json_string_length(item));
out:
    json_decref(root);
    return err;
}

/* see issuer.h */
enum MHD_Result mdoc_enrol_response(struct mdoc_enrol *m, struct service *s,
                                    struct MHD_Connection *conn, const struct upload *up)
{
    struct form f = {0};
    uint8_t *resp = NULL, transcript[AGP_MDOC_TRANSCRIPT_MAX];
    size_t resp_len = 0, tlen;
    struct agp_mdoc_policy p = {0};
    struct agp_mdoc_result res;
    struct issuer_evidence ev = {0};
    enum MHD_Result ret;
    agp_err err;
    int64_t now = (int64_t)time(NULL);
    unsigned age;

    if (up->too_big)
        return issuer_refuse_enrol(conn, ES_MDOC, ER_INVALID, MHD_HTTP_CONTENT_TOO_LARGE);
    if ((f.vp_token = malloc(ISSUER_UPLOAD_MAX)) == NULL || (resp = malloc(AGP_MDOC_MAX)) == NULL) {
        err = AGP_ERR_NOMEM;
        goto refuse;
    }
    err = AGP_ERR_SYNTAX;
    if (!read_form(conn, up, &f) || f.states != 1) goto refuse;
    if ((err = check_nonce(m, f.state, now, &age)) != AGP_OK) goto refuse;
    err = AGP_ERR_SYNTAX;
    if (f.vps != 1) goto refuse;
    if ((err = read_vp_token(f.vp_token, resp, AGP_MDOC_MAX, &resp_len)) != AGP_OK) goto refuse;
    if ((err = agp_mdoc_oid4vp_transcript(transcript, sizeof transcript, &tlen, m->client_id,
                                          f.state, NULL, m->response_uri)) != AGP_OK)
        goto refuse;
    p.anchors = m->anchors;
    p.now = now;
    p.age = age;
    p.transcript = transcript;
    p.transcript_len = tlen;
    if ((err = agp_mdoc_verify(&res, resp, resp_len, &p)) != AGP_OK) goto refuse;
    ev.age = res.age;
    ev.source = NULL;
    ev.from = ES_MDOC;
    ev.digest = res.digest;
    ev.expires_at = res.valid_until;
    ret = issuer_grant(s, conn, &ev);
    goto out;
refuse:
    ret = refuse_mdoc(conn, err);
out:
    if (resp != NULL) agp_wipe(resp, AGP_MDOC_MAX);
    free(resp);
    free(f.vp_token);
    return ret;
}
