/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/enroll_oidc.c: enrolment with OpenID Connect (OpenID Connect Core 1.0
 * §3.1, authorization code flow; RFC 7636 PKCE with S256).
 *
 *   GET /enroll/oidc/start     ?provider=NAME (optional with one provider): 302
 *                              to that provider's authorization endpoint
 *                              ({"authorize_url": ...} for Accept: application/json);
 *                              with several providers and no name, their list
 *   GET /enroll/oidc/callback  ?code=&state=: the code is exchanged at the token
 *                              endpoint (client_secret_basic, code_verifier), the
 *                              ID token verified (lib/attest_oidc.c), its
 *                              birthdate turned into an age, and issuer_grant
 *                              answers with a grant.
 *
 * The flow keeps no server-side session, so several issuer instances that
 * share the pseudonym secret can serve it (agp_oidc_flow_new: state = rnd
 * || expiry || MAC, nonce and PKCE verifier derived from rnd), keyed with
 * k = HMAC(pseudonym-secret, "oidc-state"), never the secret itself. Each
 * provider (--oidc-provider, up to PROVIDERS_MAX) has its own subkey
 * k_p = HMAC(k, "agepass oidc provider v1" || 0 || name): the state's MAC,
 * nonce and PKCE verifier are made with it, so the callback learns the
 * provider from the key that opens the state, and a state begun with one
 * provider cannot be finished with another's code, ID token or iss. An
 * enrolment the web wallet begins (?wallet=1) has its state, nonce and
 * verifier made with a second subkey, k_pw = HMAC(k_p, "agepass oidc
 * wallet v1"): the callback knows from the key that opens the state that
 * the grant goes back to the wallet, while the state itself looks like any
 * other (same length, random to whoever lacks the key), so the provider
 * cannot tell wallet users apart, nor forge or guess a wallet state. A
 * used state is remembered (agp_istore_evidence_once) until it expires, so
 * a replayed callback is reused_evidence. The discovery document, the
 * token response and the ID token are parsed in lib/attest_oidc.c.
 *
 * Nothing the provider says about the person is logged or stored: the
 * pseudonym of (issuer URL, sub) is the only trace, made by issuer_grant.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "agepass/oidc.h"
#include "agepass/util.h"
#include "cli.h"
#include "issuer.h"

#define STATE_TTL_S    600 /* the person has ten minutes to log in */
#define SKEW_S         120
#define JWKS_REFETCH   60 /* at most one JWKS refetch a minute */
#define HTTP_TIMEOUT   10000
#define DISCOVERY_MAX  65536
#define TOKEN_RESP_MAX (2 * AGP_OIDC_TOKEN_MAX + 8192) /* id_token, access token, refresh token */
#define URL_MAX        2048
#define CODE_MAX       1024
#define SCOPE_MAX      256
#define CLIENT_ID_MAX  256
#define PROVIDERS_MAX  ENROL_OIDC_MAX /* one `source` label each */
#define NAME_MAX_LEN   32

/* One --oidc-provider. */
struct provider {
    char name[NAME_MAX_LEN + 1], issuer[URL_MAX], client_id[CLIENT_ID_MAX], secret[1024],
        scope[SCOPE_MAX];
    struct agp_oidc_provider op;
    uint8_t key[32];        /* k_p: keys its states, nonces and verifiers */
    uint8_t wallet_key[32]; /* k_pw: the same, for an enrolment the web wallet began */
    pthread_mutex_t lock;   /* guards jwks, jwks_len, refetched_at */
    char *jwks;
    size_t jwks_len;
    int64_t refetched_at; /* last refetch for an unknown kid (0: none yet) */
};

struct oidc_enrol {
    char redirect_uri[URL_MAX]; /* one for every provider */
    struct provider p[PROVIDERS_MAX];
    size_t n;
};

/* ---- setup --------------------------------------------------------------- */

static agp_err fetch_jwks(struct provider *o)
{
    uint8_t *body = NULL;
    size_t len = 0;
    long status = 0;
    agp_err err =
        cli_http_get(o->op.jwks_uri, AGP_OIDC_JWKS_MAX, HTTP_TIMEOUT, &body, &len, &status);
    if (err == AGP_OK && status != 200) err = AGP_ERR_IO;
    pthread_mutex_lock(&o->lock);
    if (err == AGP_OK) {
        free(o->jwks);
        o->jwks = (char *)body;
        o->jwks_len = len;
        body = NULL;
    }
    pthread_mutex_unlock(&o->lock);
    free(body);
    return err;
}

/* Fetches and reads the provider's discovery document, then its JWKS. */
static int discover(struct provider *o)
{
    char url[URL_MAX + 64];
    uint8_t *body = NULL;
    size_t len = 0, n = strlen(o->issuer);
    long status = 0;
    agp_err err;
    int rc = CLI_REJECTED;

    if (n > 0 && o->issuer[n - 1] == '/') n--;
    snprintf(url, sizeof url, "%.*s/.well-known/openid-configuration", (int)n, o->issuer);
    err = cli_http_get(url, DISCOVERY_MAX, HTTP_TIMEOUT, &body, &len, &status);
    if (err != AGP_OK || status != 200) {
        fprintf(stderr, "agepass: %s: %s (HTTP %ld)\n", url,
                err != AGP_OK ? agp_err_str(err) : "no discovery document", status);
        goto out;
    }
    if ((err = agp_oidc_discovery_parse(&o->op, (const char *)body, len, o->issuer)) != AGP_OK) {
        fprintf(stderr, "agepass: %s: %s\n", url,
                err == AGP_ERR_CHALLENGE ? "names another issuer"
                : err == AGP_ERR_RANGE   ? "an endpoint is not https (http only on loopback)"
                                         : agp_err_str(err));
        goto out;
    }
    /* the endpoints by the same parser as every other URL (no userinfo) */
    if (!cli_url_safe(o->op.authorization_endpoint, AGP_OIDC_URL_MAX) ||
        !cli_url_safe(o->op.token_endpoint, AGP_OIDC_URL_MAX) ||
        !cli_url_safe(o->op.jwks_uri, AGP_OIDC_URL_MAX) ||
        (o->op.userinfo_endpoint[0] != '\0' &&
         !cli_url_safe(o->op.userinfo_endpoint, AGP_OIDC_URL_MAX))) {
        fprintf(stderr, "agepass: %s: an endpoint is not an https URL (http only on loopback)\n",
                url);
        goto out;
    }
    if ((err = fetch_jwks(o)) != AGP_OK) {
        fprintf(stderr, "agepass: %s: %s\n", o->op.jwks_uri, agp_err_str(err));
        goto out;
    }
    rc = CLI_OK;
out:
    free(body);
    return rc;
}

/*
 * ISSUER_URL,client_id=ID,secret_file=FILE[,scope=S][,name=NAME] into p
 * (all but the secret, read by provider_new). CLI_USAGE if it is not one.
 */
static int parse_provider(struct provider *p, const char *spec, const char **secret_file, char *buf,
                          size_t cap)
{
    char *next = buf, *field;
    const char *url, *v;
    if (strlen(spec) >= cap) return CLI_USAGE;
    memcpy(buf, spec, strlen(spec) + 1);
    url = cli_next_field(&next);
    *secret_file = NULL;
    if (!cli_url_safe(url, URL_MAX - 1)) return CLI_USAGE;
    snprintf(p->issuer, sizeof p->issuer, "%s", url);
    snprintf(p->scope, sizeof p->scope, "openid birthdate");
    while ((field = cli_next_field(&next)) != NULL) {
        if ((v = cli_field_value(field, "client_id=")) != NULL && v[0] != '\0' &&
            strlen(v) < sizeof p->client_id && p->client_id[0] == '\0')
            memcpy(p->client_id, v, strlen(v) + 1);
        else if ((v = cli_field_value(field, "secret_file=")) != NULL && v[0] != '\0' &&
                 *secret_file == NULL)
            *secret_file = v;
        else if ((v = cli_field_value(field, "scope=")) != NULL && v[0] != '\0' &&
                 strlen(v) < sizeof p->scope)
            memcpy(p->scope, v, strlen(v) + 1);
        else if ((v = cli_field_value(field, "name=")) != NULL && v[0] != '\0' &&
                 strlen(v) <= NAME_MAX_LEN && p->name[0] == '\0')
            memcpy(p->name, v, strlen(v) + 1);
        else
            return CLI_USAGE;
    }
    if (p->client_id[0] == '\0' || *secret_file == NULL) return CLI_USAGE;
    if (p->name[0] == '\0' && !cli_url_host(p->issuer, p->name, sizeof p->name)) return CLI_USAGE;
    if (strspn(p->name, "abcdefghijklmnopqrstuvwxyz0123456789.-") != strlen(p->name))
        return CLI_USAGE;
    return CLI_OK;
}

/* One provider from its --oidc-provider spec; k is the module key. */
static int provider_new(struct provider *p, const char *spec, const uint8_t k[32])
{
    static const char label[] = "agepass oidc provider v1"; /* with its NUL */
    static const char wallet_label[] = "agepass oidc wallet v1";
    uint8_t msg[sizeof label + NAME_MAX_LEN], *buf = NULL;
    char copy[3 * URL_MAX];
    const char *secret_file;
    size_t len = 0;
    int rc;

    pthread_mutex_init(&p->lock, NULL);
    if (parse_provider(p, spec, &secret_file, copy, sizeof copy) != CLI_OK) {
        fprintf(stderr, "agepass: --oidc-provider takes ISSUER_URL,client_id=ID,secret_file=FILE"
                        "[,scope=S][,name=NAME]: an https URL (http only on loopback), a client "
                        "id of up to 255 characters, a name of [a-z0-9.-] up to 32 (default: the "
                        "URL's host)\n");
        return CLI_USAGE;
    }
    if ((rc = cli_private_file(secret_file)) != CLI_OK ||
        (rc = cli_input(secret_file, sizeof p->secret - 1, &buf, &len)) != CLI_OK)
        return rc;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    if (len == 0 || memchr(buf, '\0', len) != NULL) {
        cli_free(buf, len);
        return cli_fail(secret_file, AGP_ERR_SYNTAX);
    }
    memcpy(p->secret, buf, len);
    p->secret[len] = '\0';
    cli_free(buf, len);
    memcpy(msg, label, sizeof label);
    memcpy(msg + sizeof label, p->name, strlen(p->name));
    if (agp_hmac_sha256(p->key, k, 32, msg, sizeof label + strlen(p->name)) != AGP_OK ||
        agp_hmac_sha256(p->wallet_key, p->key, sizeof p->key, (const uint8_t *)wallet_label,
                        sizeof wallet_label - 1) != AGP_OK)
        return cli_fail("oidc", AGP_ERR_CRYPTO);
    return discover(p);
}

/* see issuer.h */
int oidc_enrol_new(struct oidc_enrol **out, const struct enroll_oidc_config *cfg,
                   const uint8_t key[32])
{
    struct oidc_enrol *o;
    size_t i, j;
    int rc;

    *out = NULL;
    if (cfg->count == 0) return CLI_OK;
    if (cfg->public_url == NULL || cfg->count > PROVIDERS_MAX) {
        fprintf(stderr, "agepass: --oidc-provider needs --public-url; at most %d providers\n",
                PROVIDERS_MAX);
        return CLI_USAGE;
    }
    if ((o = calloc(1, sizeof *o)) == NULL) return cli_fail("oidc", AGP_ERR_NOMEM);
    snprintf(o->redirect_uri, sizeof o->redirect_uri, "%s/enroll/oidc/callback", cfg->public_url);
    for (i = 0; i < cfg->count; i++) {
        o->n = i + 1; /* freed with the others if it fails half made */
        if ((rc = provider_new(&o->p[i], cfg->providers[i], key)) != CLI_OK) {
            oidc_enrol_free(o);
            return rc;
        }
        for (j = 0; j < i; j++)
            if (strcmp(o->p[j].name, o->p[i].name) == 0) {
                fprintf(stderr,
                        "agepass: two OpenID Connect providers named %s: give each its "
                        "own name=\n",
                        o->p[i].name);
                oidc_enrol_free(o);
                return CLI_USAGE;
            }
        fprintf(stderr, "agepass issuer: OpenID Connect enrolment with %s (provider=%s)\n",
                o->p[i].issuer, o->p[i].name);
    }
    fprintf(stderr, "agepass issuer: OpenID Connect redirect_uri %s\n", o->redirect_uri);
    *out = o;
    return CLI_OK;
}

/* see issuer.h */
size_t oidc_enrol_count(const struct oidc_enrol *o)
{
    return o != NULL ? o->n : 0;
}

/* see issuer.h */
const char *oidc_enrol_name(const struct oidc_enrol *o, size_t i)
{
    return o->p[i].name;
}

/* see issuer.h */
void oidc_enrol_free(struct oidc_enrol *o)
{
    size_t i;
    if (o == NULL) return;
    for (i = 0; i < o->n; i++) {
        free(o->p[i].jwks);
        pthread_mutex_destroy(&o->p[i].lock);
    }
    agp_wipe(o, sizeof *o);
    free(o);
}

/* ---- the start ---------------------------------------------------------- */

/* Appends "&name=escaped(value)" (or "?" first) to url. */
static bool add_param(char *url, size_t cap, const char *name, const char *value)
{
    size_t n = strlen(url);
    int w = snprintf(url + n, cap - n, "%c%s=", strchr(url, '?') ? '&' : '?', name);
    if (w < 0 || (size_t)w >= cap - n) return false;
    n += (size_t)w;
    return cli_url_append(url, cap, &n, value);
}

static bool wants_json(struct MHD_Connection *conn)
{
    const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");
    return accept != NULL && strstr(accept, "application/json") != NULL;
}

/*
 * GET /enroll/oidc/start with several providers and no ?provider=: their
 * names, {"providers": [{"name", "issuer", "start"}]} for a client, a list
 * of links for a browser. Names are [a-z0-9.-], safe in HTML as they are.
 */
static enum MHD_Result list_providers(const struct oidc_enrol *o, struct MHD_Connection *conn)
{
    const char *wallet = issuer_from_wallet(conn) ? "&amp;wallet=1" : "";
    char page[PROVIDERS_MAX * (2 * NAME_MAX_LEN + 96) + 256];
    enum MHD_Result ret;
    size_t i, n;
    if (wants_json(conn)) {
        json_t *list = json_array(), *j = json_pack("{s:o}", "providers", list);
        char *text = NULL;
        for (i = 0; j != NULL && i < o->n; i++) {
            char start[NAME_MAX_LEN + 64];
            snprintf(start, sizeof start, "/enroll/oidc/start?provider=%s", o->p[i].name);
            json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "name", o->p[i].name, "issuer",
                                                  o->p[i].issuer, "start", start));
        }
        text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (text == NULL) return MHD_NO;
        ret = issuer_send(conn, MHD_HTTP_OK, text, strlen(text), "application/json");
        free(text);
        return ret;
    }
    n = (size_t)snprintf(page, sizeof page,
                         "<!doctype html><title>Log in to prove your age</title>\n"
                         "<p>Log in with one of these providers:</p>\n<ul>\n");
    for (i = 0; i < o->n && n < sizeof page; i++)
        n += (size_t)snprintf(page + n, sizeof page - n,
                              "<li><a href=\"/enroll/oidc/start?provider=%s%s\">%s</a></li>\n",
                              o->p[i].name, wallet, o->p[i].name);
    if (n < sizeof page) n += (size_t)snprintf(page + n, sizeof page - n, "</ul>\n");
    if (n >= sizeof page) return MHD_NO;
    return issuer_send(conn, MHD_HTTP_OK, page, n, "text/html; charset=utf-8");
}

/* see issuer.h */
enum MHD_Result oidc_enrol_start(const struct oidc_enrol *oe, struct MHD_Connection *conn)
{
    const char *name = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "provider");
    const struct provider *o = NULL;
    struct agp_oidc_flow f;
    char url[4 * URL_MAX];
    enum MHD_Result ret;
    size_t i;
    bool ok;

    if (name == NULL && oe->n > 1) return list_providers(oe, conn);
    for (i = 0; i < oe->n && o == NULL; i++)
        if (name == NULL || strcmp(name, oe->p[i].name) == 0) o = &oe->p[i];
    if (o == NULL) {
        static const char msg[] =
            "no such OpenID Connect provider; GET /enroll/oidc/start lists them\n";
        return issuer_send(conn, MHD_HTTP_NOT_FOUND, msg, sizeof msg - 1, "text/plain");
    }
    ok = agp_oidc_flow_new(&f, issuer_from_wallet(conn) ? o->wallet_key : o->key,
                           (int64_t)time(NULL) + STATE_TTL_S) == AGP_OK;
    snprintf(url, sizeof url, "%s", o->op.authorization_endpoint);
    /*
     *= https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest
     *#   scope REQUIRED. ... response_type REQUIRED. ... client_id REQUIRED.
     *#   redirect_uri REQUIRED. ... state RECOMMENDED. ... nonce OPTIONAL.
     *
     * RFC 7636 §4.3: code_challenge, code_challenge_method=S256. The claims
     * parameter (§5.5) asks for birthdate in the ID token itself.
     */
    ok =
        ok && add_param(url, sizeof url, "response_type", "code") &&
        add_param(url, sizeof url, "client_id", o->client_id) &&
        add_param(url, sizeof url, "redirect_uri", oe->redirect_uri) &&
        add_param(url, sizeof url, "scope", o->scope) &&
        add_param(url, sizeof url, "state", f.state) &&
        add_param(url, sizeof url, "nonce", f.nonce) &&
        add_param(url, sizeof url, "code_challenge", f.challenge) &&
        add_param(url, sizeof url, "code_challenge_method", "S256") &&
        add_param(url, sizeof url, "claims", "{\"id_token\":{\"birthdate\":{\"essential\":true}}}");
    agp_wipe(&f, sizeof f);
    if (!ok) {
        fprintf(stderr, "agepass issuer: oidc: cannot build the authorization request\n");
        return issuer_send(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n", 15,
                           "text/plain");
    }
    if (wants_json(conn)) {
        json_t *j = json_pack("{s:s}", "authorize_url", url);
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (text == NULL) return MHD_NO;
        ret = issuer_send(conn, MHD_HTTP_OK, text, strlen(text), "application/json");
        free(text);
        return ret;
    }
    {
        struct MHD_Response *r =
            MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (r == NULL) return MHD_NO;
        MHD_add_response_header(r, "Location", url);
        MHD_add_response_header(r, "Cache-Control", "no-store");
        ret = MHD_queue_response(conn, MHD_HTTP_FOUND, r);
        MHD_destroy_response(r);
        return ret;
    }
}

/* ---- the callback --------------------------------------------------------- */

/* A query value of at most max printable ASCII characters, or NULL. */
static const char *arg(struct MHD_Connection *conn, const char *name, size_t max)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
    size_t i;
    if (v == NULL || v[0] == '\0' || strlen(v) > max) return NULL;
    for (i = 0; v[i]; i++)
        if (v[i] < 0x21 || v[i] > 0x7e) return NULL;
    return v;
}

static enum MHD_Result refuse(struct MHD_Connection *conn, enum enrol_source from,
                              enum enrol_refusal why, unsigned status, const char *detail)
{
    fprintf(stderr, "agepass issuer: oidc: %s\n", detail);
    return issuer_refuse_enrol(conn, from, why, status);
}

/*
 *= https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
 *#   grant_type REQUIRED.  Value MUST be set to "authorization_code".
 *#   code REQUIRED. ... redirect_uri REQUIRED, if the "redirect_uri"
 *#   parameter was included in the authorization request
 *
 * RFC 7636 §4.5 adds code_verifier; §2.3.1 client_secret_basic: the client
 * id and secret, form-encoded, as HTTP Basic credentials. Returns the ID
 * token (malloc'd) or NULL.
 */
static char *exchange(const struct provider *o, const char *redirect_uri, const char *code,
                      const char *verifier, char access[AGP_OIDC_ACCESS_MAX + 1], long *status)
{
    char body[4 * CODE_MAX + 2 * URL_MAX], basic[1024], auth[1100];
    char *out = NULL;
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded",
                             "Accept: application/json", auth, NULL};
    struct cli_http_req req = {.url = o->op.token_endpoint,
                               .headers = headers,
                               .max = TOKEN_RESP_MAX,
                               .timeout_ms = HTTP_TIMEOUT};
    struct cli_http_resp resp = {0};
    size_t n = 0, b = 0;

    *status = 0;
    if (!cli_url_append(basic, sizeof basic, &b, o->client_id) || b + 2 > sizeof basic) goto out;
    basic[b++] = ':';
    if (!cli_url_append(basic, sizeof basic, &b, o->secret) || b / 3 * 4 + 4 >= sizeof auth - 21)
        goto out;
    memcpy(auth, "Authorization: Basic ", 21);
    EVP_EncodeBlock((unsigned char *)auth + 21, (const unsigned char *)basic, (int)b);
    body[0] = '\0';
    if (!add_param(body, sizeof body, "grant_type", "authorization_code") ||
        !add_param(body, sizeof body, "code", code) ||
        !add_param(body, sizeof body, "redirect_uri", redirect_uri) ||
        !add_param(body, sizeof body, "code_verifier", verifier))
        goto out;
    n = strlen(body);
    req.body = (const uint8_t *)body + 1; /* add_param began with '?' */
    req.body_len = n - 1;
    if (cli_http(&req, &resp) != AGP_OK) goto out;
    *status = resp.status;
    if (resp.status != 200) goto out;
    if ((out = malloc(AGP_OIDC_TOKEN_MAX + 1)) != NULL &&
        agp_oidc_token_response_parse(out, AGP_OIDC_TOKEN_MAX + 1, access, AGP_OIDC_ACCESS_MAX + 1,
                                      (const char *)resp.body, resp.len) != AGP_OK) {
        free(out);
        out = NULL;
    }
out:
    if (resp.body) agp_wipe(resp.body, resp.len);
    cli_http_resp_free(&resp);
    agp_wipe(body, sizeof body);
    agp_wipe(basic, sizeof basic);
    agp_wipe(auth, sizeof auth);
    return out;
}

/*
 * Verifies with the current JWKS; for a kid it does not hold, refetches it
 * (the provider may have rotated its keys), at most once a minute so that
 * forged kids cannot make us hammer the provider.
 */
static agp_err verify(struct provider *o, struct agp_oidc_claims *cl, const char *id_token,
                      const char *nonce, int64_t now, const char *userinfo_sub)
{
    struct agp_oidc_expect want = {o->issuer, o->client_id, nonce, now, SKEW_S};
    agp_err err = AGP_ERR_KEY;
    int attempt;
    for (attempt = 0; attempt < 2; attempt++) {
        char *jwks = NULL;
        size_t len = 0;
        bool refetch;
        pthread_mutex_lock(&o->lock);
        if (o->jwks != NULL && (jwks = malloc(o->jwks_len + 1)) != NULL) {
            memcpy(jwks, o->jwks, o->jwks_len);
            len = o->jwks_len;
        }
        pthread_mutex_unlock(&o->lock);
        if (jwks == NULL) return AGP_ERR_NOMEM;
        err = userinfo_sub == NULL
                  ? agp_oidc_verify_id_token(cl, jwks, len, id_token, strlen(id_token), &want)
                  : agp_oidc_verify_userinfo(cl, jwks, len, id_token, strlen(id_token), &want,
                                             userinfo_sub);
        free(jwks);
        if (err != AGP_ERR_KEY || attempt == 1) break;
        pthread_mutex_lock(&o->lock);
        refetch = o->refetched_at == 0 || now - o->refetched_at >= JWKS_REFETCH;
        if (refetch) o->refetched_at = now;
        pthread_mutex_unlock(&o->lock);
        if (!refetch) break;
        fprintf(stderr, "agepass issuer: oidc: no JWKS key for this token; refetching %s\n",
                o->op.jwks_uri);
        if (fetch_jwks(o) != AGP_OK) break;
    }
    return err;
}

/*
 * When the ID token has no birthdate: the UserInfo response, only if it is
 * a JWT signed by the provider (OIDC Core §5.3.2, application/jwt), for
 * the same sub; plain JSON proves nothing. Its birthdate goes into cl.
 */
static agp_err userinfo(const struct provider *o, struct agp_oidc_claims *cl, const char *access,
                        int64_t now)
{
    char auth[AGP_OIDC_ACCESS_MAX + 32];
    const char *headers[] = {"Accept: application/jwt", auth, NULL};
    struct cli_http_req req = {.url = o->op.userinfo_endpoint,
                               .headers = headers,
                               .max = AGP_OIDC_TOKEN_MAX,
                               .timeout_ms = HTTP_TIMEOUT};
    struct cli_http_resp resp;
    struct agp_oidc_claims u;
    agp_err err;

    if (o->op.userinfo_endpoint[0] == '\0') return AGP_ERR_NOT_FOUND;
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", access);
    err = cli_http(&req, &resp);
    agp_wipe(auth, sizeof auth);
    if (err != AGP_OK) return err;
    if (resp.status != 200)
        err = AGP_ERR_NOT_FOUND;
    else if (resp.content_type == NULL ||
             strncasecmp(resp.content_type, "application/jwt", 15) != 0)
        err = AGP_ERR_TOKEN_TYPE; /* not signed */
    else if (memchr(resp.body, '\0', resp.len) != NULL)
        err = AGP_ERR_SYNTAX;
    else
        err = verify((struct provider *)o, &u, (const char *)resp.body, NULL, now, cl->sub);
    if (err == AGP_OK && !u.has_birthdate) err = AGP_ERR_NOT_FOUND;
    if (err == AGP_OK) {
        cl->has_birthdate = true;
        cl->year_only = u.year_only;
        cl->birth_year = u.birth_year;
        cl->birth_month = u.birth_month;
        cl->birth_day = u.birth_day;
    }
    if (resp.body != NULL) agp_wipe(resp.body, resp.len);
    cli_http_resp_free(&resp);
    agp_wipe(&u, sizeof u);
    return err;
}

/* see issuer.h */
enum MHD_Result oidc_enrol_callback(struct oidc_enrol *oe, struct service *s,
                                    struct MHD_Connection *conn)
{
    struct provider *o = NULL;
    const char *state = arg(conn, "state", 64), *code = arg(conn, "code", CODE_MAX);
    const char *perr = arg(conn, "error", 64), *iss = arg(conn, "iss", URL_MAX);
    struct agp_oidc_flow f;
    char *id_token = NULL, access[AGP_OIDC_ACCESS_MAX + 1] = "";
    struct agp_oidc_claims cl;
    struct issuer_evidence ev = {0};
    int64_t now = (int64_t)time(NULL);
    enum enrol_source from = oe->n == 1 ? ES_OIDC : ES_OIDC_UNKNOWN;
    enum MHD_Result ret;
    unsigned age = 0;
    long status;
    agp_err err;
    size_t i;

    memset(&cl, 0, sizeof cl);
    memset(&f, 0, sizeof f);
    /*
     * The provider whose key made the state, and whether it was its wallet
     * key (only a wrong MAC tries the next key): also the source the
     * metrics count this callback for, whatever follows; with one
     * provider, it is that one.
     */
    err = AGP_ERR_SIGNATURE;
    for (i = 0; state != NULL && i < 2 * oe->n && err == AGP_ERR_SIGNATURE; i++) {
        o = &oe->p[i / 2];
        ev.to_wallet = i % 2 == 1;
        err = agp_oidc_flow_open(&f, ev.to_wallet ? o->wallet_key : o->key, state, strlen(state),
                                 now, STATE_TTL_S + SKEW_S);
    }
    if (err == AGP_OK || err == AGP_ERR_EXPIRED)
        from = (enum enrol_source)(ES_OIDC + (size_t)(o - oe->p));
    if (perr != NULL) {
        /* RFC 6749 §4.1.2.1: the provider refused (access_denied, login_required...) */
        bool plain =
            strlen(perr) <= 64 && strspn(perr, "abcdefghijklmnopqrstuvwxyz_") == strlen(perr);
        fprintf(stderr, "agepass issuer: oidc: the provider answered error=%s\n",
                plain ? perr : "(unprintable)");
        agp_wipe(&f, sizeof f);
        return issuer_refuse_enrol(conn, from, ER_INVALID, MHD_HTTP_BAD_REQUEST);
    }
    if (state == NULL || code == NULL)
        return refuse(conn, from, ER_INVALID, MHD_HTTP_BAD_REQUEST,
                      "callback without code or state");
    if (err == AGP_ERR_EXPIRED)
        return refuse(conn, from, ER_EXPIRED, MHD_HTTP_UNAUTHORIZED, "state expired: start again");
    if (err != AGP_OK)
        return refuse(conn, from, ER_INVALID, MHD_HTTP_BAD_REQUEST,
                      "state not made by this issuer");
    if (iss != NULL && strcmp(iss, o->issuer) != 0) {
        /* RFC 9207 §2.4: a response from another provider than the state's (mix-up attack) */
        agp_wipe(&f, sizeof f);
        return refuse(conn, from, ER_INVALID, MHD_HTTP_BAD_REQUEST,
                      "callback from another issuer than the state's provider");
    }
    err = agp_istore_evidence_once(issuer_store(s), f.digest, issuer_hour_ceil(f.expires_at), now);
    if (err == AGP_ERR_REPLAY) {
        ret = refuse(conn, from, ER_REUSED, MHD_HTTP_CONFLICT, "this state was used already");
        goto out;
    }
    if (err != AGP_OK) {
        fprintf(stderr, "agepass issuer: oidc: store: %s\n", agp_err_str(err));
        ret = issuer_send(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "the issuer cannot enrol now\n", 28,
                          "text/plain");
        goto out;
    }
    if ((id_token = exchange(o, oe->redirect_uri, code, f.verifier, access, &status)) == NULL &&
        status == 0) {
        /* no answer: the provider is down, not the person's evidence at fault */
        fprintf(stderr, "agepass issuer: oidc: the token endpoint did not answer\n");
        ret = issuer_send(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                          "the identity provider cannot be reached; try again\n",
                          strlen("the identity provider cannot be reached; try again\n"),
                          "text/plain");
        goto out;
    }
    if (id_token == NULL) {
        char detail[128];
        snprintf(detail, sizeof detail, "the token endpoint of %s refused the code (HTTP %ld)",
                 o->name, status);
        ret = refuse(conn, from, ER_INVALID, MHD_HTTP_BAD_REQUEST, detail);
        goto out;
    }
    err = verify(o, &cl, id_token, f.nonce, now, NULL);
    if (err == AGP_OK && !cl.has_birthdate && (err = userinfo(o, &cl, access, now)) != AGP_OK) {
        char detail[128];
        snprintf(detail, sizeof detail, "no birthdate in the ID token, none from UserInfo: %s",
                 err == AGP_ERR_TOKEN_TYPE ? "not a signed JWT" : agp_err_str(err));
        ret = refuse(conn, from, err == AGP_ERR_EXPIRED ? ER_EXPIRED : ER_INVALID,
                     err == AGP_ERR_EXPIRED ? MHD_HTTP_UNAUTHORIZED : MHD_HTTP_BAD_REQUEST, detail);
        goto out;
    }
    if (err == AGP_OK) err = agp_oidc_age(&age, &cl, now);
    if (err != AGP_OK) {
        char detail[128];
        snprintf(detail, sizeof detail, "ID token refused: %s%s", agp_err_str(err),
                 err == AGP_ERR_NOT_FOUND ? " (no sub or no birthdate with a year)" : "");
        ret = refuse(conn, from, err == AGP_ERR_EXPIRED ? ER_EXPIRED : ER_INVALID,
                     err == AGP_ERR_EXPIRED ? MHD_HTTP_UNAUTHORIZED : MHD_HTTP_BAD_REQUEST, detail);
        goto out;
    }
    ev.age = age;
    ev.source = o->issuer;
    ev.from = from;
    ev.subject = cl.sub;
    ev.expires_at = f.expires_at;
    ret = issuer_grant(s, conn, &ev);
out:
    if (id_token) agp_wipe(id_token, strlen(id_token));
    free(id_token);
    agp_wipe(&cl, sizeof cl);
    agp_wipe(&f, sizeof f);
    AGP_WIPE(access);
    return ret;
}
