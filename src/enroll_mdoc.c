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
 *   GET  /enroll/mdoc/start?wallet=1[&age=NN]  a page for a person: the QR
 *                                       code, the av:// link, waiting
 *   GET  /enroll/mdoc/wait?state=S      that page again while waiting, then
 *                                       303 to the web wallet with the grant
 *
 * Stateless: the nonce, also sent as `state`, is
 *   agp_seal(key, "mdoc nonce", expiry, age[1]) (agepass/util.h)
 * with a key derived from the issuer's pseudonym secret, so any instance
 * can check it and none stores it. The attestation's digest is what makes
 * an answer single-use (issuer_grant remembers it until validUntil).
 * Nothing read from the attestation is logged or stored: only the age and
 * the expiry leave lib/attest_mdoc.c.
 *
 * The web wallet's enrolment (/start) hands the grant back to the browser
 * that began it, while the EU wallet answers on a connection of its own
 * (another phone, cross-device; or the EU wallet app on this phone, opened
 * by the av:// link, same-device). /start makes a pickup secret P (32
 * bytes) and gives it to the browser alone, as an HttpOnly cookie; the
 * state then is
 *   agp_seal(key, "mdoc wallet nonce", expiry, age[1] || tag[15]),
 *   tag = HMAC(k_pick, "tag" || P)[0..15), k_pick = HMAC(key, "agepass mdoc pickup v1"),
 * longer than a CLI state, so each route tells the two apart. The answer
 * to such a state issues the grant and leaves it in the store
 * (agp_istore_pickup_put) under id = HMAC(k_pick, "id" || tag), sealed
 * with k_rec = HMAC(key, "agepass mdoc pickup record v1") (agepass/pickup.h),
 * until the hour boundary after the state's expiry; the EU wallet gets
 * {"redirect_uri": ".../wait?state=S"} (OpenID4VP 1.0 §8.2). /wait takes
 * the record (once) only for the cookie whose tag the state holds: whoever
 * sees the QR code, or the EU wallet itself, learns the state, never P, so
 * cannot pick the grant up; the grant leaves in a 303 to --wallet-url
 * with the grant in the fragment. This binding to the browser's session
 * is what OpenID4VP's security considerations ask of the response_code in
 * a direct_post redirect_uri (no session fixation), without a code in a URL
 * that the EU wallet, or the other phone's browser, would hold.
 *
 * The page's markup and words are files (AGP_PAGES_DIR/enrol: mdoc.html,
 * waiting.html, end.html, i18n/<lang>.txt), read and test-filled at start,
 * picked by Accept-Language (agepass/page.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <qrencode.h>

#include "agepass/directory.h"
#include "agepass/mdoc.h"
#include "agepass/page.h"
#include "agepass/pickup.h"
#include "agepass/util.h"
#include "cli.h"
#include "issuer.h"

#define NONCE_LABEL    "mdoc nonce"
#define NONCE_B64_LEN  AGP_SEAL_LEN(1) /* a sealed ticket of one byte: the age asked */
#define WALLET_LABEL   "mdoc wallet nonce"
#define TAG_LEN        15
#define WALLET_B64_LEN AGP_SEAL_LEN(1 + TAG_LEN) /* the age asked, the pickup tag */
#define NONCE_TTL_S    600
#define COOKIE         "agp_mdoc"
#define PAGE_EXTRA     16384 /* a filled page, beyond its QR code */

/* The page's files under AGP_PAGES_DIR/enrol (see deploy/pages/enrol). */
static const char *const langs[] = {"en", "fr", "de", "es", "it"};
#define NLANGS (sizeof langs / sizeof langs[0])
enum { T_PAGE, T_WAITING, T_END, NTEMPLATES };
static const char *const templates[NTEMPLATES] = {"mdoc.html", "waiting.html", "end.html"};
/* The pages that end the flow: their catalogue keys are <name>_title, <name>_text. */
static const char *const ends[] = {"expired", "invalid", "elsewhere", "refused", "error"};
#define QUERY_ID       "age"
#define URL_MAX        512
#define TRUST_FILE_MAX 64

struct mdoc_enrol {
    X509_STORE *anchors;
    char response_uri[URL_MAX], client_id[URL_MAX + 16], wait_uri[URL_MAX];
    bool secure;          /* the public URL is https: the cookie is Secure */
    uint8_t key[32];      /* keys the nonces; secret */
    uint8_t pick_key[32]; /* k_pick: pickup tags and ids; secret */
    uint8_t rec_key[32];  /* k_rec: seals the pickup records; secret */
    uint8_t *tmpl[NTEMPLATES], *text[NLANGS];
    size_t tmpl_len[NTEMPLATES], text_len[NLANGS];
    struct agp_catalog cat[NLANGS]; /* borrow text */
};

static enum MHD_Result waiting_page(struct mdoc_enrol *m, struct MHD_Connection *conn,
                                    const char *state, unsigned age, const char *cookie);
static enum MHD_Result end_page(struct mdoc_enrol *m, struct MHD_Connection *conn, unsigned status,
                                const char *name, const char *attrs, bool clear);
static agp_err render_waiting(const struct mdoc_enrol *m, size_t lang, const char *state,
                              unsigned age, char **out, size_t *len);
static agp_err render_end(const struct mdoc_enrol *m, size_t lang, const char *name,
                          const char *attrs, char **out, size_t *len);

/*
 * Reads the page's templates and catalogues from dir, and fills each
 * template with each catalogue once, so that a missing key or a broken
 * placeholder stops the issuer at start.
 */
static int load_pages(struct mdoc_enrol *m, const char *dir)
{
    char path[4096];
    size_t i, j, len;
    char *page;
    agp_err err;
    for (i = 0; i < NTEMPLATES; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, templates[i]);
        if (cli_input(path, AGP_TEMPLATE_MAX_BYTES, &m->tmpl[i], &m->tmpl_len[i]) != CLI_OK)
            return CLI_REJECTED;
        if (memchr(m->tmpl[i], '\0', m->tmpl_len[i]) != NULL)
            return cli_fail(path, AGP_ERR_ENCODING);
    }
    for (i = 0; i < NLANGS; i++) {
        snprintf(path, sizeof path, "%s/i18n/%s.txt", dir, langs[i]);
        if (cli_input(path, AGP_CATALOG_MAX_BYTES, &m->text[i], &m->text_len[i]) != CLI_OK)
            return CLI_REJECTED;
        if ((err = agp_catalog_parse(&m->cat[i], (const char *)m->text[i], m->text_len[i])) !=
            AGP_OK)
            return cli_fail(path, err);
        err = render_waiting(m, i, "S", 18, &page, &len);
        free(page);
        for (j = 0; j < sizeof ends / sizeof ends[0] && err == AGP_OK; j++) {
            err = render_end(m, i, ends[j], "", &page, &len);
            free(page);
        }
        if (err != AGP_OK) {
            fprintf(stderr,
                    "agepass: %s: the EU enrolment pages cannot be filled with i18n/%s.txt: %s (a "
                    "key missing, or a broken {{placeholder}})\n",
                    dir, langs[i], agp_err_str(err));
            return CLI_REJECTED;
        }
    }
    return CLI_OK;
}

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
    if (rc == CLI_OK) rc = load_pages(m, AGP_PAGES_DIR "/enrol");
    if (rc == CLI_OK &&
        (agp_hmac_sha256(m->pick_key, key, 32, (const uint8_t *)"agepass mdoc pickup v1", 22) !=
             AGP_OK ||
         agp_hmac_sha256(m->rec_key, key, 32, (const uint8_t *)"agepass mdoc pickup record v1",
                         29) != AGP_OK))
        rc = cli_fail("mdoc", AGP_ERR_CRYPTO);
    if (rc != CLI_OK) {
        mdoc_enrol_free(m);
        return rc;
    }
    snprintf(m->response_uri, sizeof m->response_uri, "%s/enroll/mdoc/response", public_url);
    snprintf(m->client_id, sizeof m->client_id, "redirect_uri:%s", m->response_uri);
    snprintf(m->wait_uri, sizeof m->wait_uri, "%s/enroll/mdoc/wait", public_url);
    m->secure = strncmp(public_url, "https://", 8) == 0;
    *out = m;
    return CLI_OK;
}

/* see issuer.h */
void mdoc_enrol_free(struct mdoc_enrol *m)
{
    if (m == NULL) return;
    X509_STORE_free(m->anchors);
    AGP_WIPE(m->key);
    AGP_WIPE(m->pick_key);
    AGP_WIPE(m->rec_key);
    for (size_t i = 0; i < NTEMPLATES; i++)
        free(m->tmpl[i]);
    for (size_t i = 0; i < NLANGS; i++)
        free(m->text[i]);
    free(m);
}

static agp_err new_nonce(const struct mdoc_enrol *m, unsigned age, int64_t now,
                         char out[NONCE_B64_LEN + 1])
{
    uint8_t a = (uint8_t)age;
    return agp_seal(out, NONCE_B64_LEN + 1, NULL, m->key, NONCE_LABEL, now + NONCE_TTL_S, &a, 1);
}

/* The pickup tag of secret p: HMAC(k_pick, "tag" || p)[0..TAG_LEN). */
static agp_err pickup_tag(const struct mdoc_enrol *m, const uint8_t p[AGP_PICKUP_SECRET_LEN],
                          uint8_t tag[TAG_LEN])
{
    uint8_t msg[3 + AGP_PICKUP_SECRET_LEN], mac[32];
    agp_err err;
    memcpy(msg, "tag", 3);
    memcpy(msg + 3, p, AGP_PICKUP_SECRET_LEN);
    err = agp_hmac_sha256(mac, m->pick_key, sizeof m->pick_key, msg, sizeof msg);
    memcpy(tag, mac, TAG_LEN);
    AGP_WIPE(msg);
    AGP_WIPE(mac);
    return err;
}

/* The store id of the pickup of tag: HMAC(k_pick, "id" || tag). */
static agp_err pickup_id(const struct mdoc_enrol *m, const uint8_t tag[TAG_LEN],
                         uint8_t id[AGP_PICKUP_ID_LEN])
{
    uint8_t msg[2 + TAG_LEN];
    memcpy(msg, "id", 2);
    memcpy(msg + 2, tag, TAG_LEN);
    return agp_hmac_sha256(id, m->pick_key, sizeof m->pick_key, msg, sizeof msg);
}

/* A state of /start for pickup secret p. */
static agp_err new_wallet_nonce(const struct mdoc_enrol *m, unsigned age,
                                const uint8_t p[AGP_PICKUP_SECRET_LEN], int64_t now,
                                char out[WALLET_B64_LEN + 1])
{
    uint8_t data[1 + TAG_LEN];
    agp_err err;
    data[0] = (uint8_t)age;
    if ((err = pickup_tag(m, p, data + 1)) == AGP_OK)
        err = agp_seal(out, WALLET_B64_LEN + 1, NULL, m->key, WALLET_LABEL, now + NONCE_TTL_S, data,
                       sizeof data);
    AGP_WIPE(data);
    return err;
}

/* What a state says: the age asked, and for a state of /start its pickup tag and expiry. */
struct state_info {
    unsigned age;
    bool wallet;
    uint8_t tag[TAG_LEN];
    int64_t expires_at;
};

/*
 * Checks a state made by new_nonce or new_wallet_nonce (told apart by
 * their lengths, exactly): AGP_ERR_LENGTH or AGP_ERR_ENCODING,
 * AGP_ERR_SIGNATURE, AGP_ERR_EXPIRED.
 */
static agp_err check_state(const struct mdoc_enrol *m, const char *nonce, int64_t now,
                           struct state_info *si)
{
    uint8_t data[1 + TAG_LEN];
    size_t len = strlen(nonce);
    agp_err err;
    memset(si, 0, sizeof *si);
    si->wallet = len == WALLET_B64_LEN;
    err = si->wallet ? agp_unseal(NULL, &si->expires_at, data, sizeof data, m->key, WALLET_LABEL,
                                  nonce, len, now, NONCE_TTL_S)
                     : agp_unseal(NULL, &si->expires_at, data, 1, m->key, NONCE_LABEL, nonce, len,
                                  now, NONCE_TTL_S);
    if (err == AGP_OK && (data[0] < 1 || data[0] > 99)) err = AGP_ERR_SIGNATURE;
    if (err == AGP_OK) {
        si->age = data[0];
        if (si->wallet) memcpy(si->tag, data + 1, TAG_LEN);
    }
    AGP_WIPE(data);
    return err;
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

/*
 * link as an SVG QR code (malloc'd, *len bytes, NUL-terminated), attrs
 * added to its <svg> element; NULL if it cannot be made.
 */
static char *qr_svg(const char *link, const char *attrs, size_t *len)
{
    char *svg = NULL;
    size_t cap, n = 0, x, y;
    QRcode *code;
    int w;
    if ((code = QRcode_encodeString8bit(link, 0, QR_ECLEVEL_L)) == NULL) return NULL;
    /* one <rect> per dark module at most, 4 modules of quiet zone */
    cap = 256 + strlen(attrs) + (size_t)code->width * (size_t)code->width * 48;
    if ((svg = malloc(cap)) == NULL) goto fail;
    w = snprintf(svg, cap,
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\"%s "
                 "shape-rendering=\"crispEdges\"><rect width=\"100%%\" height=\"100%%\" "
                 "fill=\"#fff\"/>",
                 code->width + 8, code->width + 8, attrs);
    if (w < 0 || (size_t)w >= cap) goto fail;
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
    *len = n + (size_t)w;
    QRcode_free(code);
    return svg;
fail:
    QRcode_free(code);
    free(svg);
    return NULL;
}

/* see issuer.h */
enum MHD_Result mdoc_enrol_qr(struct mdoc_enrol *m, struct MHD_Connection *conn)
{
    const char *state = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "state");
    char link[4096], *svg;
    struct state_info si;
    size_t n = 0;
    json_t *req;
    enum MHD_Result ret;
    if (state == NULL || check_state(m, state, (int64_t)time(NULL), &si) != AGP_OK)
        return issuer_send(conn, MHD_HTTP_BAD_REQUEST, "bad or expired state\n", 21,
                           "text/plain; charset=utf-8");
    req = authorization_request(m, state, si.age);
    if (req == NULL || !invocation_link(link, sizeof link, req)) {
        json_decref(req);
        return issuer_send(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "", 0, NULL);
    }
    json_decref(req);
    if ((svg = qr_svg(link, "", &n)) == NULL)
        return issuer_send(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "", 0, NULL);
    ret = issuer_send(conn, MHD_HTTP_OK, svg, n, "image/svg+xml");
    free(svg);
    return ret;
}

/* The wallet's direct_post form (application/x-www-form-urlencoded). */
struct form {
    char state[WALLET_B64_LEN + 2];
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

/*
 * The answer to a state of /start, once the attestation is verified: the
 * grant (or an under-age refusal, so that the waiting page can say so) is
 * left for the browser that holds the pickup secret, and the EU wallet is
 * sent there (OpenID4VP 1.0 §8.2: 200, {"redirect_uri": ...}).
 */
static enum MHD_Result leave_for_pickup(struct mdoc_enrol *m, struct service *s,
                                        struct MHD_Connection *conn,
                                        const struct issuer_evidence *ev,
                                        const struct state_info *si, const char *state, int64_t now)
{
    struct issuer_minted g;
    struct agp_pickup p = {0};
    uint8_t id[AGP_PICKUP_ID_LEN], rec[AGP_PICKUP_RECORD_LEN];
    enum enrol_refusal why = ER_INVALID;
    unsigned status = 0;
    enum issuer_mint r = issuer_grant_mint(s, ev, &g, &why, &status);
    char body[URL_MAX + 128];
    enum MHD_Result ret;
    agp_err err = AGP_OK;

    if (r == IM_UNAVAILABLE) return issuer_send(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "", 0, NULL);
    if (r == IM_REFUSED && why != ER_UNDER_AGE)
        return issuer_refuse_enrol(conn, ES_MDOC, why, status);
    if (r == IM_OK) {
        p.kind = AGP_PICKUP_GRANT;
        p.age = g.age;
        p.tokens = g.tokens;
        p.expires_at = g.expires_at;
        memcpy(p.grant, g.grant, sizeof p.grant);
    } else {
        p.kind = AGP_PICKUP_UNDER_AGE;
    }
    if ((err = pickup_id(m, si->tag, id)) == AGP_OK &&
        (err = agp_pickup_seal(rec, m->rec_key, id, &p)) == AGP_OK)
        err = agp_istore_pickup_put(issuer_store(s), id, rec, sizeof rec,
                                    issuer_hour_ceil(si->expires_at), now);
    AGP_WIPE(g.grant);
    agp_wipe(&p, sizeof p);
    AGP_WIPE(rec);
    if (err == AGP_ERR_REPLAY) { /* another answer for this state got there first */
        fprintf(stderr, "agepass issuer: mdoc enrolment: a second answer for one pickup\n");
        return issuer_refuse_enrol(conn, ES_MDOC, ER_REUSED, MHD_HTTP_CONFLICT);
    }
    if (err != AGP_OK) {
        fprintf(stderr, "agepass issuer: mdoc enrolment: cannot leave the grant for pickup: %s\n",
                agp_err_str(err));
        return issuer_send(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "", 0, NULL);
    }
    if (r == IM_REFUSED) return issuer_refuse_enrol(conn, ES_MDOC, why, status);
    snprintf(body, sizeof body, "{\"redirect_uri\":\"%s?state=%s\"}\n", m->wait_uri, state);
    ret = issuer_send(conn, MHD_HTTP_OK, body, strlen(body), "application/json");
    return ret;
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
    struct state_info si;
    enum MHD_Result ret;
    agp_err err;
    int64_t now = (int64_t)time(NULL);

    if (up->too_big)
        return issuer_refuse_enrol(conn, ES_MDOC, ER_INVALID, MHD_HTTP_CONTENT_TOO_LARGE);
    if ((f.vp_token = malloc(ISSUER_UPLOAD_MAX)) == NULL || (resp = malloc(AGP_MDOC_MAX)) == NULL) {
        err = AGP_ERR_NOMEM;
        goto refuse;
    }
    err = AGP_ERR_SYNTAX;
    if (!read_form(conn, up, &f) || f.states != 1) goto refuse;
    if ((err = check_state(m, f.state, now, &si)) != AGP_OK) goto refuse;
    err = AGP_ERR_SYNTAX;
    if (f.vps != 1) goto refuse;
    if ((err = read_vp_token(f.vp_token, resp, AGP_MDOC_MAX, &resp_len)) != AGP_OK) goto refuse;
    if ((err = agp_mdoc_oid4vp_transcript(transcript, sizeof transcript, &tlen, m->client_id,
                                          f.state, NULL, m->response_uri)) != AGP_OK)
        goto refuse;
    p.anchors = m->anchors;
    p.now = now;
    p.age = si.age;
    p.transcript = transcript;
    p.transcript_len = tlen;
    if ((err = agp_mdoc_verify(&res, resp, resp_len, &p)) != AGP_OK) goto refuse;
    ev.age = res.age;
    ev.source = NULL;
    ev.from = ES_MDOC;
    ev.digest = res.digest;
    ev.expires_at = res.valid_until;
    if (si.wallet)
        ret = leave_for_pickup(m, s, conn, &ev, &si, f.state, now);
    else
        ret = issuer_grant(s, conn, &ev);
    goto out;
refuse:
    ret = refuse_mdoc(conn, err);
out:
    if (resp != NULL) agp_wipe(resp, AGP_MDOC_MAX);
    free(resp);
    free(f.vp_token);
    agp_wipe(&si, sizeof si);
    return ret;
}

/* ---- the page for a person: /start and /wait ----------------------------- */

/* The catalogue the request's Accept-Language prefers (English when none fits). */
static size_t lang_of(struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Language");
    size_t pick = 0;
    if (h == NULL || agp_accept_language_pick(&pick, h, strlen(h), langs, NLANGS) != AGP_OK)
        pick = 0;
    return pick;
}

/* The text of key in catalogue lang, as a NUL-terminated copy in out (cap), or "". */
static const char *say(const struct mdoc_enrol *m, size_t lang, const char *key, char *out,
                       size_t cap)
{
    const struct agp_span *v = agp_catalog_get(&m->cat[lang], key, strlen(key));
    out[0] = '\0';
    if (v != NULL && v->len < cap) {
        memcpy(out, v->ptr, v->len);
        out[v->len] = '\0';
    }
    return out;
}

/*
 * Fills the outer template (mdoc.html) around body, in language lang,
 * titled title; refresh, if not NULL, is the page to load again in 2 s.
 * *out is malloc'd.
 */
static agp_err render_page(const struct mdoc_enrol *m, size_t lang, const char *title,
                           const char *refresh, const char *body, char **out, size_t *len)
{
    char meta[URL_MAX + 256];
    size_t cap = strlen(body) + PAGE_EXTRA, n = 0;
    agp_err err = AGP_OK;
    *out = NULL;
    meta[0] = '\0';
    if (refresh != NULL) {
        struct agp_page_var u = {"u", refresh, strlen(refresh), false};
        static const char t[] = "<meta http-equiv=\"refresh\" content=\"2;url={{u}}\">\n";
        err = agp_page_render(meta, sizeof meta, &n, t, sizeof t - 1, &m->cat[lang], &u, 1);
    }
    if (err == AGP_OK && (*out = malloc(cap)) == NULL) err = AGP_ERR_NOMEM;
    if (err == AGP_OK) {
        struct agp_page_var v[] = {{"lang", langs[lang], strlen(langs[lang]), false},
                                   {"title", title, strlen(title), false},
                                   {"heading", title, strlen(title), false},
                                   {"refresh", meta, strlen(meta), true},
                                   {"body", body, strlen(body), true}};
        err = agp_page_render(*out, cap, len, (const char *)m->tmpl[T_PAGE], m->tmpl_len[T_PAGE],
                              &m->cat[lang], v, sizeof v / sizeof v[0]);
    }
    if (err != AGP_OK) {
        free(*out);
        *out = NULL;
    }
    return err;
}

/* The waiting page for state: the QR code and the av:// link, re-polling /wait. */
static agp_err render_waiting(const struct mdoc_enrol *m, size_t lang, const char *state,
                              unsigned age, char **out, size_t *len)
{
    char link[4096], wait[URL_MAX + 128], a[8], heading[AGP_CATALOG_VALUE_MAX + 1], *svg = NULL,
                                                                                    *body = NULL;
    size_t svg_len = 0, cap, n = 0;
    json_t *req = authorization_request(m, state, age);
    agp_err err = AGP_ERR_INTERNAL;

    *out = NULL;
    if (req == NULL || !invocation_link(link, sizeof link, req)) goto out;
    if ((svg =
             qr_svg(link, " width=\"320\" height=\"320\" role=\"img\" aria-labelledby=\"qr-text\"",
                    &svg_len)) == NULL)
        goto out;
    snprintf(wait, sizeof wait, "/enroll/mdoc/wait?state=%s", state);
    snprintf(a, sizeof a, "%u", age);
    cap = svg_len + 2 * strlen(link) + PAGE_EXTRA;
    err = AGP_ERR_NOMEM;
    if ((body = malloc(cap)) == NULL) goto out;
    {
        const char *w = issuer_wallet_url();
        struct agp_page_var v[] = {{"age", a, strlen(a), false},
                                   {"qr", svg, svg_len, true},
                                   {"link", link, strlen(link), false},
                                   {"wallet", w, strlen(w), false}};
        err = agp_page_render(body, cap, &n, (const char *)m->tmpl[T_WAITING],
                              m->tmpl_len[T_WAITING], &m->cat[lang], v, sizeof v / sizeof v[0]);
    }
    if (err == AGP_OK)
        err = render_page(m, lang, say(m, lang, "heading", heading, sizeof heading), wait, body,
                          out, len);
out:
    json_decref(req);
    free(svg);
    free(body);
    return err;
}

/* A page that ends the flow: the catalogue's <name>_title and <name>_text, no refresh. */
static agp_err render_end(const struct mdoc_enrol *m, size_t lang, const char *name,
                          const char *attrs, char **out, size_t *len)
{
    char key[AGP_CATALOG_KEY_MAX + 1], title[AGP_CATALOG_VALUE_MAX + 1],
        text[AGP_CATALOG_VALUE_MAX + 1], id[AGP_CATALOG_KEY_MAX + 16], body[PAGE_EXTRA];
    const char *w = issuer_wallet_url();
    size_t n = 0;
    agp_err err;
    *out = NULL;
    snprintf(key, sizeof key, "%s_title", name);
    say(m, lang, key, title, sizeof title);
    snprintf(key, sizeof key, "%s_text", name);
    say(m, lang, key, text, sizeof text);
    if (title[0] == '\0' || text[0] == '\0') return AGP_ERR_NOT_FOUND;
    snprintf(id, sizeof id, "agepass-%s", name);
    {
        struct agp_page_var v[] = {{"end_id", id, strlen(id), false},
                                   {"end_attrs", attrs, strlen(attrs), true},
                                   {"end_text", text, strlen(text), false},
                                   {"wallet", w, strlen(w), false}};
        err = agp_page_render(body, sizeof body, &n, (const char *)m->tmpl[T_END],
                              m->tmpl_len[T_END], &m->cat[lang], v, sizeof v / sizeof v[0]);
    }
    return err == AGP_OK ? render_page(m, lang, title, NULL, body, out, len) : err;
}

/* The cookie that holds the pickup secret (value "" and Max-Age=0: cleared). */
static void cookie_header(const struct mdoc_enrol *m, const char *value, char *out, size_t cap)
{
    snprintf(out, cap, COOKIE "=%s; Path=/enroll/mdoc; Max-Age=%d; HttpOnly; SameSite=Lax%s", value,
             value[0] ? NONCE_TTL_S : 0, m->secure ? "; Secure" : "");
}

/*
 * Sends a filled page (takes page, frees it): no script, no style sheet,
 * nothing from elsewhere (the CSP allows nothing to load), no referrer;
 * cookie: a Set-Cookie value, or NULL.
 */
static enum MHD_Result send_page(struct MHD_Connection *conn, unsigned status, char *page,
                                 size_t len, const char *cookie)
{
    struct MHD_Response *r;
    enum MHD_Result ret;
    if (page == NULL) return issuer_send(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "", 0, NULL);
    r = MHD_create_response_from_buffer(len, page, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(page);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Vary", "Accept-Language");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; base-uri 'none'; form-action 'none'; "
                            "frame-ancestors 'none'");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (cookie != NULL) MHD_add_response_header(r, "Set-Cookie", cookie);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result waiting_page(struct mdoc_enrol *m, struct MHD_Connection *conn,
                                    const char *state, unsigned age, const char *cookie)
{
    char *page = NULL;
    size_t len = 0;
    (void)render_waiting(m, lang_of(conn), state, age, &page, &len);
    return send_page(conn, MHD_HTTP_OK, page, len, cookie);
}

static enum MHD_Result end_page(struct mdoc_enrol *m, struct MHD_Connection *conn, unsigned status,
                                const char *name, const char *attrs, bool clear)
{
    char *page = NULL, cookie[256];
    size_t len = 0;
    (void)render_end(m, lang_of(conn), name, attrs, &page, &len);
    if (clear) cookie_header(m, "", cookie, sizeof cookie);
    return send_page(conn, status, page, len, clear ? cookie : NULL);
}

/* see issuer.h */
enum MHD_Result mdoc_enrol_start(struct mdoc_enrol *m, struct MHD_Connection *conn)
{
    char state[WALLET_B64_LEN + 1], value[AGP_PICKUP_COOKIE_LEN + 1], cookie[256];
    uint8_t p[AGP_PICKUP_SECRET_LEN];
    unsigned age = query_age(conn);
    enum MHD_Result ret;
    agp_err err;

    if (!issuer_from_wallet(conn)) {
        static const char msg[] =
            "/enroll/mdoc/start is the web wallet's way in (?wallet=1, with --wallet-url or "
            "--wallet-dir); a client uses GET /enroll/mdoc/request\n";
        return issuer_send(conn, MHD_HTTP_NOT_FOUND, msg, sizeof msg - 1,
                           "text/plain; charset=utf-8");
    }
    if (age == 0) return issuer_refuse_enrol(conn, ES_MDOC, ER_INVALID, MHD_HTTP_BAD_REQUEST);
    err = agp_random(p, sizeof p);
    if (err == AGP_OK) err = new_wallet_nonce(m, age, p, (int64_t)time(NULL), state);
    if (err == AGP_OK) err = agp_b64url_encode_nopad(value, sizeof value, NULL, p, sizeof p);
    AGP_WIPE(p);
    if (err != AGP_OK) {
        AGP_WIPE(value);
        return issuer_send(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "", 0, NULL);
    }
    cookie_header(m, value, cookie, sizeof cookie);
    AGP_WIPE(value);
    ret = waiting_page(m, conn, state, age, cookie);
    AGP_WIPE(cookie);
    return ret;
}

/* Counts the cookies named COOKIE (MHD gives the first one only). */
static enum MHD_Result count_cookie(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind, (void)value;
    if (strcmp(key, COOKIE) == 0) (*(unsigned *)cls)++;
    return MHD_YES;
}

/*
 * Whether the request holds exactly one pickup cookie whose secret has the
 * tag the state holds (compared in constant time).
 */
static bool holds_pickup(const struct mdoc_enrol *m, struct MHD_Connection *conn,
                         const uint8_t tag[TAG_LEN])
{
    const char *v = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, COOKIE);
    uint8_t p[AGP_PICKUP_SECRET_LEN], mine[TAG_LEN];
    unsigned count = 0;
    bool ok;
    MHD_get_connection_values(conn, MHD_COOKIE_KIND, count_cookie, &count);
    if (v == NULL || count != 1 || agp_pickup_cookie_parse(p, v, strlen(v)) != AGP_OK) return false;
    ok = pickup_tag(m, p, mine) == AGP_OK && agp_ct_eq(mine, tag, TAG_LEN);
    AGP_WIPE(p);
    AGP_WIPE(mine);
    return ok;
}

/* 303 to the web wallet with the grant in the fragment (sent to no server); clears the cookie. */
static enum MHD_Result to_wallet(struct mdoc_enrol *m, struct MHD_Connection *conn,
                                 const struct agp_pickup *p, int64_t now)
{
    char url[AGP_URI_MAX + 160], cookie[256];
    struct MHD_Response *r;
    enum MHD_Result ret;
    snprintf(url, sizeof url, "%s#grant=%s&age=%u&tokens=%u&expires_in=%lld", issuer_wallet_url(),
             p->grant, p->age, p->tokens, (long long)(p->expires_at - now));
    cookie_header(m, "", cookie, sizeof cookie);
    r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        AGP_WIPE(url);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Location", url);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Set-Cookie", cookie);
    ret = MHD_queue_response(conn, MHD_HTTP_SEE_OTHER, r);
    MHD_destroy_response(r);
    AGP_WIPE(url);
    return ret;
}

/* see issuer.h */
enum MHD_Result mdoc_enrol_wait(struct mdoc_enrol *m, struct service *s,
                                struct MHD_Connection *conn)
{
    const char *state = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "state");
    uint8_t id[AGP_PICKUP_ID_LEN], rec[AGP_PICKUP_MAX];
    struct state_info si;
    struct agp_pickup p;
    int64_t now = (int64_t)time(NULL);
    size_t len = 0;
    enum MHD_Result ret;
    agp_err err;

    err = state == NULL ? AGP_ERR_SYNTAX : check_state(m, state, now, &si);
    if (err == AGP_ERR_EXPIRED) return end_page(m, conn, MHD_HTTP_GONE, "expired", "", true);
    if (err != AGP_OK || !si.wallet)
        return end_page(m, conn, MHD_HTTP_BAD_REQUEST, "invalid", "", false);
    if (!holds_pickup(m, conn, si.tag)) {
        agp_wipe(&si, sizeof si);
        return end_page(m, conn, MHD_HTTP_FORBIDDEN, "elsewhere", "", false);
    }
    if ((err = pickup_id(m, si.tag, id)) == AGP_OK)
        err = agp_istore_pickup_take(issuer_store(s), id, now, rec, sizeof rec, &len);
    if (err == AGP_ERR_NOT_FOUND) {
        ret = waiting_page(m, conn, state, si.age, NULL);
        agp_wipe(&si, sizeof si);
        return ret;
    }
    agp_wipe(&si, sizeof si);
    if (err == AGP_OK) err = agp_pickup_open(&p, m->rec_key, id, rec, len);
    AGP_WIPE(rec);
    if (err != AGP_OK) {
        fprintf(stderr, "agepass issuer: mdoc pickup: %s\n", agp_err_str(err));
        return end_page(m, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "error", "", false);
    }
    if (p.kind == AGP_PICKUP_UNDER_AGE) {
        ret = end_page(m, conn, MHD_HTTP_FORBIDDEN, "refused", " data-reason=\"under_age\"", true);
    } else if (p.expires_at <= now) {
        ret = end_page(m, conn, MHD_HTTP_GONE, "expired", "", true);
    } else {
        ret = to_wallet(m, conn, &p, now);
    }
    agp_wipe(&p, sizeof p);
    return ret;
}
