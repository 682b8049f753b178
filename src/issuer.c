/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/issuer.c: `agepass issuer`, the age provider's service.
 *
 * State folder (made by `issuer init`, mode 0700):
 *   issuer.json           name, age classes, epoch length and the epochs
 *   keys/age<A>-e<N>.pem  one RSA-2048 key per age class and epoch (0600)
 *   pseudonym-secret      keys the pseudonyms of people (0600)
 *   store.sqlite          grants, per-person counters, used evidence (unless --redis)
 *
 * HTTP (libmicrohttpd, a thread per core; put a TLS front such as nginx
 * before it, see README):
 *   GET  /.well-known/private-token-issuer-directory   RFC 9578 §4
 *   POST /token-request      RFC 9578 §5-6, with `Authorization: Bearer GRANT`;
 *                            with Content-Type application/private-token-
 *                            arbitrary-batch-request, 1..30 tokens at once
 *                            (draft-ietf-privacypass-batched-tokens-06 §6)
 *   POST /enroll/dev         {"age": N}: a grant, only with --insecure-dev-attester
 *   GET  /enroll/dev         its form for browsers (posts age=N)
 *   GET  /enroll/mdoc/request, GET /enroll/mdoc/qr, POST /enroll/mdoc/response,
 *   GET  /enroll/mdoc/start?wallet=1, GET /enroll/mdoc/wait
 *                            EU Proof-of-Age mdoc over OpenID4VP (src/enroll_mdoc.c),
 *                            with --mdoc-trust or --mdoc-trusted-list
 *   GET  /enroll/oidc/start, /enroll/oidc/callback   OpenID Connect (src/enroll_oidc.c)
 *   GET  /metrics            Prometheus counters, totals only (docs/figures-metrics.md);
 *                            with --metrics-listen, only on that second listener
 *
 * With --redis URL the store is Redis instead (lib/istore_redis.c), shared
 * by every instance serving the same state folder: grants and caps are one.
 *
 * SIGHUP reloads the state folder (after `issuer rotate`): see reload().
 *
 * The issuer never learns where tokens are used: it sees blinded messages
 * only, and the directory is the same bytes for everyone.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "agepass/batch.h"
#include "agepass/directory.h"
#include "agepass/istore.h"
#include "agepass/token.h"
#include "agepass/util.h"
#include "cli.h"
#include "cors.h"
#include "http.h"
#include "issuer.h"
#include "metrics.h"
#include "wallet_files.h"

#define MAX_CLASSES    8
#define MAX_EPOCHS     4 /* current, next, and room to rotate */
#define DAY            86400
#define GRANT_TTL_S    900 /* a grant is good for 15 minutes, up to the next hour boundary */
#define HOUR_S         3600
#define GRANT_B64_LEN  43  /* 32 random bytes, unpadded base64url */
#define BATCH_TOKENS   30  /* one batch for evidence that has no stable subject */
#define PUBLIC_URL_MAX 400 /* room left for the routes' paths in the modules' URLs */

static const char usage[] =
    "usage: agepass issuer init --state DIR --name ISSUER_NAME [--age-classes 18,16]\n"
    "                           [--epoch-days 30]\n"
    "       agepass issuer serve --state DIR --listen HOST:PORT [--insecure-dev-attester]\n"
    "                            [--request-uri URL] [--day-cap 30] [--epoch-cap 300]\n"
    "                            [--enrol-cap 10]\n"
    "                            [--config FILE] [--redis redis://HOST:PORT[/DB]]\n"
    "                            [--public-url URL] [--mdoc-trust PEM]...\n"
    "                            [--mdoc-trusted-list FILE]\n"
    "                            [--oidc-provider ISSUER_URL,client_id=ID,secret_file=FILE\n"
    "                             [,scope=openid birthdate][,name=NAME]]...\n"
    "                            [--wallet-url URL] [--wallet-dir DIR]\n"
    "                            [--metrics-listen HOST:PORT]\n"
    "       agepass issuer rotate --state DIR [--now] [--min-epoch-days 7] [--force]\n"
    "\n"
    "init makes one RSA-2048 key per age class for the current and the next key\n"
    "epoch (at most 90 days each). serve issues tokens for grants obtained by\n"
    "enrolment. rotate starts the next epoch once its not-before has come\n"
    "(--now: at once) and makes the one after it; it refuses while the current\n"
    "epoch is younger than --min-epoch-days (default 7, or the epoch length if\n"
    "shorter: each epoch's key is shared by everyone who fetched in it) unless\n"
    "--force, which is logged to stderr and DIR/rotations.log. --config FILE reads\n"
    "options as `name value` lines (`day-cap 30`); the command line wins. --redis\n"
    "keeps grants and counters in Redis, shared by several instances, instead of\n"
    "store.sqlite. serve reloads the state folder on SIGHUP: send it after rotate.\n"
    "Caps per person: --day-cap tokens a UTC day, --epoch-cap tokens a key epoch,\n"
    "--enrol-cap enrolments a UTC day (sources with a stable subject).\n"
    "--oidc-provider (up to 8, each with its own name, default the URL's host)\n"
    "enrols with OpenID Connect at GET /enroll/oidc/start?provider=NAME.\n"
    "--wallet-url URL names the provider's web wallet in the directory\n"
    "(agepass-wallet-url: age-check pages link to it); an enrolment begun with\n"
    "?wallet=1 (/enroll/dev, /enroll/oidc/start, /enroll/mdoc/start) then sends\n"
    "the grant back to that URL, in its fragment; that URL's origin gets CORS\n"
    "answers on the directory and /token-request (a wallet on a static host of\n"
    "its own).\n"
    "--wallet-dir DIR serves the built wallet (browser/wallet/dist) at /wallet/\n"
    "(then --wallet-url defaults to PUBLIC_URL/wallet/).\n"
    "--metrics-listen HOST:PORT serves GET /metrics there only (the main\n"
    "listener then answers 404 to it).\n";

/* --wallet-url, or "": the directory names it; grant pages may go back to it. */
static char wallet_url[AGP_URI_MAX + 1];

/* ---- state ---------------------------------------------------------------- */

struct epoch {
    uint32_t id;
    int64_t start;
    struct agp_key *keys[MAX_CLASSES]; /* by class index; private */
};

struct issuer_state {
    char name[AGP_ISSUER_NAME_MAX + 1];
    unsigned classes[MAX_CLASSES];
    size_t nclasses;
    unsigned epoch_days;
    struct epoch epochs[MAX_EPOCHS];
    size_t nepochs;
};

static void state_free(struct issuer_state *st)
{
    size_t e, c;
    for (e = 0; e < st->nepochs; e++)
        for (c = 0; c < st->nclasses; c++)
            agp_key_free(st->epochs[e].keys[c]);
    memset(st, 0, sizeof *st);
}

static void key_path(char *out, size_t cap, const char *dir, unsigned age, uint32_t epoch)
{
    snprintf(out, cap, "%s/keys/age%u-e%u.pem", dir, age, epoch);
}

static int save_state(const char *dir, const struct issuer_state *st)
{
    json_t *root = json_object(), *classes = json_array(), *epochs = json_array();
    char path[4096], *text;
    size_t i;
    int rc;
    json_object_set_new(root, "name", json_string(st->name));
    for (i = 0; i < st->nclasses; i++)
        json_array_append_new(classes, json_integer(st->classes[i]));
    json_object_set_new(root, "age-classes", classes);
    json_object_set_new(root, "epoch-days", json_integer(st->epoch_days));
    for (i = 0; i < st->nepochs; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "id", json_integer(st->epochs[i].id));
        json_object_set_new(e, "start", json_integer(st->epochs[i].start));
        json_array_append_new(epochs, e);
    }
    json_object_set_new(root, "epochs", epochs);
    text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (text == NULL) return cli_fail("issuer.json", AGP_ERR_NOMEM);
    snprintf(path, sizeof path, "%s/issuer.json", dir);
    rc = cli_output(path, (const uint8_t *)text, strlen(text), 0600);
    free(text);
    return rc;
}

static int load_state(const char *dir, struct issuer_state *st, bool with_keys)
{
    char path[4096];
    json_error_t jerr;
    json_t *root, *classes, *epochs;
    size_t i, c;
    int rc = CLI_REJECTED;

    memset(st, 0, sizeof *st);
    snprintf(path, sizeof path, "%s/issuer.json", dir);
    if ((root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
        fprintf(stderr, "agepass: %s: %s (run `agepass issuer init` first)\n", path, jerr.text);
        return CLI_REJECTED;
    }
    classes = json_object_get(root, "age-classes");
    epochs = json_object_get(root, "epochs");
    if (!json_is_string(json_object_get(root, "name")) || !json_is_array(classes) ||
        !json_is_array(epochs) || json_array_size(classes) == 0 ||
        json_array_size(classes) > MAX_CLASSES || json_array_size(epochs) == 0 ||
        json_array_size(epochs) > MAX_EPOCHS ||
        strlen(json_string_value(json_object_get(root, "name"))) > AGP_ISSUER_NAME_MAX) {
        fprintf(stderr, "agepass: %s is not an issuer state file\n", path);
        goto out;
    }
    snprintf(st->name, sizeof st->name, "%s", json_string_value(json_object_get(root, "name")));
    st->epoch_days = (unsigned)json_integer_value(json_object_get(root, "epoch-days"));
    for (i = 0; i < json_array_size(classes); i++)
        st->classes[st->nclasses++] = (unsigned)json_integer_value(json_array_get(classes, i));
    for (i = 0; i < json_array_size(epochs); i++) {
        struct epoch *e = &st->epochs[st->nepochs++];
        e->id = (uint32_t)json_integer_value(json_object_get(json_array_get(epochs, i), "id"));
        e->start = json_integer_value(json_object_get(json_array_get(epochs, i), "start"));
        for (c = 0; with_keys && c < st->nclasses; c++) {
            key_path(path, sizeof path, dir, st->classes[c], e->id);
            if (cli_private_file(path) != CLI_OK) goto out;
            if (cli_load_private(path, &e->keys[c]) != CLI_OK) goto out;
        }
    }
    rc = CLI_OK;
out:
    json_decref(root);
    if (rc != CLI_OK) state_free(st);
    return rc;
}

/*
 * Makes the keys of epoch e for every class, so that no two active keys
 * share a truncated key id (the last byte of token_key_id, RFC 9578 §6.1),
 * and writes them (0600).
 */
static int make_epoch_keys(const char *dir, struct issuer_state *st, struct epoch *e)
{
    char path[4096], *pem = NULL;
    size_t c, pem_len, other_e, other_c;
    agp_err err;
    int rc;
    for (c = 0; c < st->nclasses; c++) {
        bool clash;
        do {
            agp_key_free(e->keys[c]);
            if ((err = agp_key_generate(&e->keys[c], 2048)) != AGP_OK)
                return cli_fail("keygen", err);
            clash = false;
            for (other_e = 0; other_e < st->nepochs; other_e++)
                for (other_c = 0; other_c < st->nclasses; other_c++) {
                    const struct agp_key *k = st->epochs[other_e].keys[other_c];
                    if (k != NULL && k != e->keys[c] &&
                        agp_key_id(k)[AGP_SHA256_LEN - 1] ==
                            agp_key_id(e->keys[c])[AGP_SHA256_LEN - 1])
                        clash = true;
                }
        } while (clash);
        if ((err = agp_key_private_pem(e->keys[c], &pem, &pem_len)) != AGP_OK)
            return cli_fail("keygen", err);
        key_path(path, sizeof path, dir, st->classes[c], e->id);
        rc = cli_output(path, (const uint8_t *)pem, pem_len, 0600);
        agp_wipe(pem, pem_len);
        free(pem);
        if (rc != CLI_OK) return rc;
    }
    return CLI_OK;
}

/* "18,16" -> classes, each 1..255, distinct. */
static bool parse_classes(const char *s, unsigned *out, size_t *n)
{
    char buf[128], *tok, *next;
    size_t i;
    *n = 0;
    if (strlen(s) >= sizeof buf) return false;
    memcpy(buf, s, strlen(s) + 1);
    for (tok = buf; tok != NULL; tok = next) {
        uint64_t v;
        next = strchr(tok, ',');
        if (next) *next++ = '\0';
        if (*n == MAX_CLASSES || !cli_parse_uint(tok, 255, &v) || v == 0) return false;
        for (i = 0; i < *n; i++)
            if (out[i] == v) return false;
        out[(*n)++] = (unsigned)v;
    }
    return *n > 0;
}

static int cmd_init(int argc, char **argv)
{
    struct cli_opt o[] = {{.name = "--state", .required = true},
                          {.name = "--name", .required = true},
                          {.name = "--age-classes"},
                          {.name = "--epoch-days"}};
    size_t n = sizeof o / sizeof o[0];
    struct issuer_state st;
    const char *dir;
    char path[4096], secret_path[4096];
    uint8_t secret[32];
    uint64_t days = 30;
    struct stat sb;
    int rc;

    memset(&st, 0, sizeof st);
    if ((rc = cli_parse(argc, argv, o, n, usage)) != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    dir = cli_get(o, n, "--state");
    if (!parse_classes(cli_get(o, n, "--age-classes") ? cli_get(o, n, "--age-classes") : "18",
                       st.classes, &st.nclasses)) {
        fprintf(stderr, "agepass: --age-classes takes up to %d distinct ages, e.g. 18,16\n",
                MAX_CLASSES);
        return CLI_USAGE;
    }
    if (cli_get(o, n, "--epoch-days") &&
        (!cli_parse_uint(cli_get(o, n, "--epoch-days"), 90, &days) || days == 0)) {
        fprintf(stderr, "agepass: --epoch-days must be 1..90 (R17: keys live at most 90 days)\n");
        return CLI_USAGE;
    }
    if (strlen(cli_get(o, n, "--name")) == 0 ||
        strlen(cli_get(o, n, "--name")) > AGP_ISSUER_NAME_MAX) {
        fprintf(stderr, "agepass: --name must be 1..%d characters\n", AGP_ISSUER_NAME_MAX);
        return CLI_USAGE;
    }
    snprintf(st.name, sizeof st.name, "%s", cli_get(o, n, "--name"));
    st.epoch_days = (unsigned)days;
    snprintf(path, sizeof path, "%s/issuer.json", dir);
    if (stat(path, &sb) == 0) {
        fprintf(stderr, "agepass: %s exists: this folder holds an issuer already\n", path);
        return CLI_REJECTED;
    }
    snprintf(path, sizeof path, "%s/keys", dir);
    if ((mkdir(dir, 0700) != 0 && errno != EEXIST) || (mkdir(path, 0700) != 0 && errno != EEXIST))
        return cli_fail(dir, AGP_ERR_IO);
    st.nepochs = 2;
    st.epochs[0] = (struct epoch){.id = 1, .start = (int64_t)time(NULL)};
    st.epochs[1] = (struct epoch){.id = 2, .start = st.epochs[0].start + (int64_t)days * DAY};
    rc = CLI_REJECTED;
    if (agp_random(secret, sizeof secret) != AGP_OK) goto out;
    snprintf(secret_path, sizeof secret_path, "%s/pseudonym-secret", dir);
    if ((rc = cli_output(secret_path, secret, sizeof secret, 0600)) != CLI_OK) goto out;
    if ((rc = make_epoch_keys(dir, &st, &st.epochs[0])) != CLI_OK ||
        (rc = make_epoch_keys(dir, &st, &st.epochs[1])) != CLI_OK ||
        (rc = save_state(dir, &st)) != CLI_OK)
        goto out;
    printf("issuer %s: %zu age classes, epochs of %u days, state in %s\n", st.name, st.nclasses,
           st.epoch_days, dir);
out:
    AGP_WIPE(secret);
    state_free(&st);
    return rc;
}

/*
 * Appends a line to DIR/rotations.log (0600): a rotation forced before the
 * current epoch ran its minimum length, for whoever audits the issuer.
 */
static void log_forced_rotation(const char *dir, uint32_t epoch, int64_t age_s, uint64_t min_days)
{
    char path[4096];
    FILE *f;
    int fd;
    fprintf(stderr,
            "agepass issuer: rotate --force: epoch %u ends after %lld s, under its minimum of "
            "%llu days; every epoch cut short makes a smaller set of people per key\n",
            epoch, (long long)age_s, (unsigned long long)min_days);
    snprintf(path, sizeof path, "%s/rotations.log", dir);
    if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0) return;
    if ((f = fdopen(fd, "a")) == NULL) {
        close(fd);
        return;
    }
    fprintf(f, "forced: epoch %u ended after %lld s (minimum %llu days)\n", epoch, (long long)age_s,
            (unsigned long long)min_days);
    fclose(f);
}

static int cmd_rotate(int argc, char **argv)
{
    struct cli_opt o[] = {{.name = "--state", .required = true},
                          {.name = "--now", .kind = CLI_FLAG},
                          {.name = "--min-epoch-days"},
                          {.name = "--force", .kind = CLI_FLAG}};
    size_t n = sizeof o / sizeof o[0], c;
    struct issuer_state st;
    const char *dir;
    int64_t now = (int64_t)time(NULL), age_s;
    uint64_t min_days = 7;
    struct epoch *next;
    char path[4096];
    int rc;

    if ((rc = cli_parse(argc, argv, o, n, usage)) != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    if (cli_get(o, n, "--min-epoch-days") &&
        !cli_parse_uint(cli_get(o, n, "--min-epoch-days"), 90, &min_days)) {
        fprintf(stderr, "agepass: --min-epoch-days takes 0..90\n");
        return CLI_USAGE;
    }
    dir = cli_get(o, n, "--state");
    if ((rc = load_state(dir, &st, true)) != CLI_OK) return rc;
    next = &st.epochs[st.nepochs - 1];
    /*
     * The epoch this closes (the one before next) must have run its
     * minimum, or its planned length if shorter: a provider free to open
     * epochs at will could give each a handful of people, and tell them
     * apart by key.
     */
    if (min_days > st.epoch_days) min_days = st.epoch_days;
    age_s = (now < next->start ? now : next->start) -
            st.epochs[st.nepochs >= 2 ? st.nepochs - 2 : 0].start;
    if (age_s < (int64_t)min_days * DAY) {
        if (cli_get(o, n, "--force") == NULL) {
            fprintf(stderr,
                    "agepass: the current epoch is %lld s old, under its minimum of %llu days "
                    "(--min-epoch-days); rotating now would make a small set of people per "
                    "key. --force overrides, and is logged\n",
                    (long long)age_s, (unsigned long long)min_days);
            state_free(&st);
            return CLI_REJECTED;
        }
        log_forced_rotation(dir, st.epochs[0].id, age_s, min_days);
    }
    if (now < next->start && cli_get(o, n, "--now") == NULL) {
        fprintf(stderr,
                "agepass: the next epoch's keys are published with not-before %lld, %lld s from "
                "now; rotate then, or with --now (verifiers that have not fetched the directory "
                "since will refuse tokens of the new keys until they do)\n",
                (long long)next->start, (long long)(next->start - now));
        state_free(&st);
        return CLI_REJECTED;
    }
    if (next->start > now) next->start = now;
    /* retire every epoch before the next one; delete their keys */
    while (st.nepochs > 1) {
        for (c = 0; c < st.nclasses; c++) {
            key_path(path, sizeof path, dir, st.classes[c], st.epochs[0].id);
            unlink(path);
            agp_key_free(st.epochs[0].keys[c]);
        }
        memmove(&st.epochs[0], &st.epochs[1], (st.nepochs - 1) * sizeof st.epochs[0]);
        st.nepochs--;
    }
    memset(&st.epochs[1], 0, sizeof st.epochs[1]);
    st.epochs[1].id = st.epochs[0].id + 1;
    st.epochs[1].start = st.epochs[0].start + (int64_t)st.epoch_days * DAY;
    st.nepochs = 2;
    if ((rc = make_epoch_keys(dir, &st, &st.epochs[1])) == CLI_OK) rc = save_state(dir, &st);
    if (rc == CLI_OK)
        printf("epoch %u is current; epoch %u is published, usable from %lld\n"
               "send SIGHUP to a running `agepass issuer serve` to load them\n",
               st.epochs[0].id, st.epochs[1].id, (long long)st.epochs[1].start);
    state_free(&st);
    return rc;
}

/* ---- the service -------------------------------------------------------- */

static const char *const enrol_refusal_names[ER_COUNT] = {
    "under_age", "invalid_evidence", "expired_evidence", "reused_evidence", "over_quota"};

enum req_refusal {
    RR_MALFORMED,
    RR_UNKNOWN_KEY,
    RR_NO_GRANT,
    RR_WRONG_CLASS,
    RR_OVER_QUOTA,
    RR_STORE,
    RR_COUNT
};
static const char *const req_refusal_names[RR_COUNT] = {
    "malformed", "unknown_key", "no_grant", "wrong_class", "over_quota", "store_error"};

/* The endpoint label of the latency histogram: a fixed list (see endpoint_of). */
enum endpoint {
    EP_DIRECTORY,
    EP_ENROL,
    EP_GRANT,
    EP_TOKEN,
    EP_BATCH,
    EP_PAGE,
    EP_METRICS,
    EP_OTHER,
    EP_COUNT
};
static const char *const endpoint_names[EP_COUNT] = {"directory", "enrol", "grant",   "token",
                                                     "batch",     "page",  "metrics", "other"};

static struct {
    atomic_ulong enrolled[ES_COUNT], enrol_refused[ES_COUNT][ER_COUNT], req_refused[RR_COUNT];
    atomic_ulong issued[MAX_EPOCHS][MAX_CLASSES];
    atomic_ulong rotations; /* key sets taken up by reload() */
    struct metrics_histogram latency[EP_COUNT];
} stats;

struct service {
    struct issuer_state st;
    struct agp_istore *store;
    uint8_t secret[32];
    bool dev;
    unsigned day_cap, epoch_cap, enrol_cap;
    char *directory; /* the same bytes for every client */
    size_t directory_len;
    char etag[24];
    /*
     * st, directory and etag are swapped by reload() under the write lock;
     * a request holds the read lock from routing to its answer (see
     * handle_locked). `turn` keeps new readers back while a writer waits,
     * so that a reload cannot starve under load.
     */
    pthread_rwlock_t lock;
    pthread_mutex_t turn;
    struct mdoc_enrol *mdoc;             /* NULL unless trust anchors are configured */
    struct oidc_enrol *oidc;             /* NULL unless an OpenID Connect provider is configured */
    char public_url[PUBLIC_URL_MAX + 1]; /* --public-url without a final '/'; "" if not given */
    struct wallet_files *wallet;         /* --wallet-dir, or NULL */
    bool metrics_apart;                  /* --metrics-listen: no /metrics on the main listener */
};

enum MHD_Result issuer_send(struct MHD_Connection *conn, unsigned status, const void *body,
                            size_t len, const char *ctype)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;
    if (r == NULL) return MHD_NO;
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (ctype) MHD_add_response_header(r, "Content-Type", ctype);
    cors_add(r);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    return issuer_send(conn, status, text, strlen(text), "text/plain; charset=utf-8");
}

/* The epoch in force at now: the latest one whose start has come. */
static size_t current_epoch(const struct service *s, int64_t now)
{
    size_t e, cur = 0;
    for (e = 0; e < s->st.nepochs; e++)
        if (s->st.epochs[e].start <= now) cur = e;
    return cur;
}

static int build_directory(struct service *s, const char *request_uri)
{
    struct agp_directory *d = calloc(1, sizeof *d);
    uint8_t digest[AGP_SHA256_LEN];
    size_t e, c, i;
    agp_err err;
    if (d == NULL) return cli_fail("directory", AGP_ERR_NOMEM);
    snprintf(d->issuer_request_uri, sizeof d->issuer_request_uri, "%s", request_uri);
    snprintf(d->issuer_name, sizeof d->issuer_name, "%s", s->st.name);
    snprintf(d->wallet_url, sizeof d->wallet_url, "%s", wallet_url);
    for (e = 0; e < s->st.nepochs; e++)
        for (c = 0; c < s->st.nclasses && d->count < AGP_DIR_MAX_KEYS; c++) {
            struct agp_dir_key *k = &d->keys[d->count++];
            const uint8_t *spki = agp_key_spki(s->st.epochs[e].keys[c], &k->token_key_len);
            memcpy(k->token_key, spki, k->token_key_len);
            k->token_type = AGP_TOKEN_TYPE_BLIND_RSA;
            k->has_not_before = true;
            k->not_before = s->st.epochs[e].start;
            k->age = s->st.classes[c];
        }
    err = agp_directory_write(d, &s->directory, &s->directory_len);
    free(d);
    if (err != AGP_OK) return cli_fail("directory", err);
    if (agp_sha256(digest, (const uint8_t *)s->directory, s->directory_len) != AGP_OK)
        return cli_fail("directory", AGP_ERR_CRYPTO);
    s->etag[0] = '"';
    for (i = 0; i < 10; i++)
        snprintf(s->etag + 1 + 2 * i, 3, "%02x", digest[i]);
    s->etag[21] = '"';
    s->etag[22] = '\0';
    return CLI_OK;
}

static enum MHD_Result directory(struct service *s, struct MHD_Connection *conn)
{
    const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
    struct MHD_Response *r;
    enum MHD_Result ret;
    bool same = inm != NULL && strstr(inm, s->etag) != NULL;
    r = same ? MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT)
             : MHD_create_response_from_buffer(s->directory_len, s->directory,
                                               MHD_RESPMEM_MUST_COPY); /* reload frees it */
    if (r == NULL) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/private-token-issuer-directory");
    MHD_add_response_header(r, "Cache-Control", "public, max-age=3600");
    MHD_add_response_header(r, "ETag", s->etag);
    cors_add(r);
    ret = MHD_queue_response(conn, same ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* The label value of source src, or NULL if that source is not enabled. */
static const char *source_name(const struct service *s, size_t src)
{
    size_t n = oidc_enrol_count(s->oidc);
    if (src == ES_DEV) return s->dev ? "dev" : NULL;
    if (src == ES_MDOC) return s->mdoc != NULL ? "mdoc" : NULL;
    if (src == ES_OIDC_UNKNOWN) return n > 1 ? "oidc" : NULL;
    return src - ES_OIDC < n ? oidc_enrol_name(s->oidc, src - ES_OIDC) : NULL;
}

/* The end of epoch e: the next one's start, else its planned length after its own. */
static int64_t epoch_end(const struct service *s, size_t e)
{
    if (e + 1 < s->st.nepochs) return s->st.epochs[e + 1].start;
    return s->st.epochs[e].start + (int64_t)s->st.epoch_days * DAY;
}

/* The metric names of docs/figures-metrics.md; the caller holds the read lock. */
static void write_metrics(const struct service *s, struct metrics_page *p)
{
    static const char accepted[] = "agepass_issuer_enrolments_accepted_total",
                      refused[] = "agepass_issuer_enrolments_refused_total",
                      attempts[] = "agepass_issuer_enrolments_attempts_total";
    char classes[MAX_CLASSES * 4 + 1] = "", sources[ES_COUNT * 34 + 1] = "";
    unsigned sorted[MAX_CLASSES];
    size_t i, e, c, src;

    metrics_common(p, "issuer");
    metrics_head(p, attempts, "counter",
                 "Enrolments that reached a decision (accepted or refused), by evidence source.");
    for (src = 0; src < ES_COUNT; src++) {
        unsigned long n;
        if (source_name(s, src) == NULL) continue;
        n = atomic_load(&stats.enrolled[src]);
        for (i = 0; i < ER_COUNT; i++)
            n += atomic_load(&stats.enrol_refused[src][i]);
        metrics_printf(p, "%s{source=\"%s\"} %lu\n", attempts, source_name(s, src), n);
    }
    metrics_head(p, accepted, "counter", "Enrolments accepted (a grant made), by evidence source.");
    for (src = 0; src < ES_COUNT; src++)
        if (source_name(s, src) != NULL)
            metrics_printf(p, "%s{source=\"%s\"} %lu\n", accepted, source_name(s, src),
                           atomic_load(&stats.enrolled[src]));
    metrics_head(p, refused, "counter", "Enrolments refused, by evidence source and reason.");
    for (src = 0; src < ES_COUNT; src++)
        for (i = 0; i < ER_COUNT && source_name(s, src) != NULL; i++)
            metrics_printf(p, "%s{source=\"%s\",reason=\"%s\"} %lu\n", refused, source_name(s, src),
                           enrol_refusal_names[i], atomic_load(&stats.enrol_refused[src][i]));
    metrics_head(p, "agepass_issuer_token_requests_refused_total", "counter",
                 "Token requests refused, by reason.");
    for (i = 0; i < RR_COUNT; i++)
        metrics_printf(p, "agepass_issuer_token_requests_refused_total{reason=\"%s\"} %lu\n",
                       req_refusal_names[i], atomic_load(&stats.req_refused[i]));
    metrics_head(p, "agepass_issuer_tokens_issued_total", "counter",
                 "Tokens issued, by age class, key (first 4 bytes of its id) and key epoch start.");
    for (e = 0; e < s->st.nepochs; e++) {
        char day[16];
        time_t t = (time_t)s->st.epochs[e].start;
        struct tm tm;
        if (gmtime_r(&t, &tm) == NULL || strftime(day, sizeof day, "%Y-%m-%d", &tm) == 0)
            snprintf(day, sizeof day, "unknown");
        for (c = 0; c < s->st.nclasses; c++) {
            const uint8_t *id = agp_key_id(s->st.epochs[e].keys[c]);
            metrics_printf(p,
                           "agepass_issuer_tokens_issued_total{age=\"%u\",key=\"%02x%02x%02x%02x\","
                           "epoch=\"%s\"} %lu\n",
                           s->st.classes[c], id[0], id[1], id[2], id[3], day,
                           atomic_load(&stats.issued[e][c]));
        }
    }
    metrics_head(
        p, "agepass_issuer_key_rotations_total", "counter",
        "Key sets the running issuer took up (SIGHUP after issuer rotate) since it started.");
    metrics_printf(p, "agepass_issuer_key_rotations_total %lu\n", atomic_load(&stats.rotations));
    metrics_head(p, "agepass_issuer_key_expiry_timestamp_seconds", "gauge",
                 "When each key stops being issued with: the end of its epoch, Unix seconds.");
    for (e = 0; e < s->st.nepochs; e++)
        for (c = 0; c < s->st.nclasses; c++) {
            const uint8_t *id = agp_key_id(s->st.epochs[e].keys[c]);
            metrics_printf(p,
                           "agepass_issuer_key_expiry_timestamp_seconds{age=\"%u\",key=\"%02x%02x%"
                           "02x%02x\"} %lld\n",
                           s->st.classes[c], id[0], id[1], id[2], id[3],
                           (long long)epoch_end(s, e));
        }
    metrics_head(p, "agepass_issuer_request_duration_seconds", "histogram",
                 "Time from a request's head to its answer, by endpoint.");
    for (i = 0; i < EP_COUNT; i++) {
        char label[32];
        snprintf(label, sizeof label, "endpoint=\"%s\"", endpoint_names[i]);
        metrics_histogram(p, "agepass_issuer_request_duration_seconds", label, &stats.latency[i]);
    }
    /* the configuration in force: classes ascending, the least of them, the sources */
    memcpy(sorted, s->st.classes, s->st.nclasses * sizeof sorted[0]);
    for (i = 1; i < s->st.nclasses; i++)
        for (c = i; c > 0 && sorted[c - 1] > sorted[c]; c--) {
            unsigned t = sorted[c];
            sorted[c] = sorted[c - 1];
            sorted[c - 1] = t;
        }
    for (i = 0; i < s->st.nclasses; i++)
        snprintf(classes + strlen(classes), sizeof classes - strlen(classes), "%s%u", i ? "," : "",
                 sorted[i]);
    for (src = 0; src < ES_COUNT; src++)
        if (source_name(s, src) != NULL && src != ES_OIDC_UNKNOWN)
            snprintf(sources + strlen(sources), sizeof sources - strlen(sources), "%s%s",
                     sources[0] ? "," : "", source_name(s, src));
    metrics_head(p, "agepass_issuer_config_info", "gauge",
                 "The issuer's configuration in force: always 1.");
    metrics_printf(p,
                   "agepass_issuer_config_info{min_age=\"%u\",classes=\"%s\",sources=\"%s\","
                   "epoch_days=\"%u\",day_cap=\"%u\",epoch_cap=\"%u\",enrol_cap=\"%u\"} 1\n",
                   sorted[0], classes, sources, s->st.epoch_days, s->day_cap, s->epoch_cap,
                   s->enrol_cap);
}

static enum MHD_Result metrics(struct service *s, struct MHD_Connection *conn)
{
    struct metrics_page p = {0};
    write_metrics(s, &p);
    return metrics_send(conn, &p);
}

/* The second listener's page (--metrics-listen): takes the read lock itself. */
static enum MHD_Result metrics_page_apart(void *cls, struct MHD_Connection *conn)
{
    struct service *s = cls;
    struct metrics_page p = {0};
    pthread_mutex_lock(&s->turn);
    pthread_mutex_unlock(&s->turn);
    pthread_rwlock_rdlock(&s->lock);
    write_metrics(s, &p);
    pthread_rwlock_unlock(&s->lock);
    return metrics_send(conn, &p);
}

/* Bearer GRANT -> SHA-256 of the grant's bytes; false if absent or malformed. */
static bool grant_id(struct MHD_Connection *conn, uint8_t id[AGP_GRANT_ID_LEN])
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    uint8_t raw[64];
    size_t len;
    bool ok;
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) return false;
    h += 7;
    while (*h == ' ')
        h++;
    ok = agp_b64url_decode(raw, sizeof raw, &len, h, strlen(h)) == AGP_OK && len == 32 &&
         agp_sha256(id, raw, len) == AGP_OK;
    AGP_WIPE(raw);
    return ok;
}

static enum MHD_Result refuse_request(struct MHD_Connection *conn, enum req_refusal why,
                                      unsigned status, const char *text)
{
    atomic_fetch_add(&stats.req_refused[why], 1);
    fprintf(stderr, "agepass issuer: token request refused: %s\n", req_refusal_names[why]);
    return send_text(conn, status, text);
}

/* Returns n tokens taken from a grant whose issuance did not happen. */
static void give_back(struct service *s, const uint8_t id[AGP_GRANT_ID_LEN], unsigned n)
{
    if (agp_istore_grant_give_back(s->store, id, n) != AGP_OK)
        fprintf(stderr, "agepass issuer: could not give %u tokens back to their grant\n", n);
}

/* Takes back the n tokens counted for a request that then issued nothing. */
static void uncount(struct service *s, const uint8_t pseudonym[AGP_PSEUDONYM_LEN], unsigned n,
                    uint32_t epoch, int64_t now)
{
    if (agp_istore_uncount(s->store, pseudonym, n, epoch, now) != AGP_OK)
        fprintf(stderr, "agepass issuer: could not take back %u tokens counted for nothing\n", n);
}

/*
 * Signs the b->count TokenRequests of one HTTP request (a single one is a
 * batch of one) for the grant in its Authorization header, all or nothing.
 * Every element must name a current key whose age class the grant covers;
 * the n tokens are taken from the grant and counted for the person at
 * once, all n are signed, and on any failure the n go back to the grant
 * and the count is taken back. What can be checked of each element before
 * counting (its key, its blinded message below the modulus) is.
 * Returns true with sigs[0..n) filled and counted in the metrics; false
 * once the refusal is answered, its result in *ret.
 */
static bool issue(struct service *s, struct MHD_Connection *conn, const struct agp_batch_request *b,
                  uint8_t sigs[][AGP_TOKEN_RESPONSE_LEN], enum MHD_Result *ret)
{
    uint8_t id[AGP_GRANT_ID_LEN], pseudonym[AGP_PSEUDONYM_LEN];
    const struct agp_key *keys[AGP_BATCH_MAX];
    size_t cls[AGP_BATCH_MAX];
    int64_t now = (int64_t)time(NULL);
    size_t e = current_epoch(s, now), c, i;
    unsigned grant_age, n = (unsigned)b->count, need_age = 0;
    agp_err err;

    for (i = 0; i < b->count; i++) {
        keys[i] = NULL;
        for (c = 0; c < s->st.nclasses && keys[i] == NULL; c++)
            if (agp_key_id(s->st.epochs[e].keys[c])[AGP_SHA256_LEN - 1] ==
                b->req[i].truncated_token_key_id) {
                keys[i] = s->st.epochs[e].keys[c];
                cls[i] = c;
            }
        if (keys[i] == NULL) {
            *ret = refuse_request(conn, RR_UNKNOWN_KEY, MHD_HTTP_UNPROCESSABLE_CONTENT,
                                  "no current key has this truncated key id; fetch the "
                                  "directory\n");
            return false;
        }
        if (s->st.classes[cls[i]] > need_age) need_age = s->st.classes[cls[i]];
        /* what can be checked before counting is (a message not below n is refused here) */
        if (agp_token_request_check(keys[i], b->raw[i].ptr, b->raw[i].len) != AGP_OK) {
            *ret = refuse_request(conn, RR_MALFORMED, MHD_HTTP_UNPROCESSABLE_CONTENT,
                                  "the blinded message is not valid for this key\n");
            return false;
        }
    }
    if (!grant_id(conn, id)) {
        *ret = refuse_request(conn, RR_NO_GRANT, MHD_HTTP_UNAUTHORIZED,
                              "an issuance grant is needed: enrol first\n");
        return false;
    }
    err = agp_istore_grant_take(s->store, id, n, now, &grant_age, pseudonym);
    if (err != AGP_OK) {
        if (err == AGP_ERR_IO)
            *ret = refuse_request(conn, RR_STORE, MHD_HTTP_SERVICE_UNAVAILABLE,
                                  "the issuer cannot count tokens right now; try again\n");
        else if (err == AGP_ERR_RANGE)
            *ret = refuse_request(conn, RR_OVER_QUOTA, MHD_HTTP_TOO_MANY_REQUESTS,
                                  "this grant has fewer tokens left than asked for: enrol "
                                  "again\n");
        else
            *ret = refuse_request(conn, RR_NO_GRANT, MHD_HTTP_UNAUTHORIZED,
                                  "unknown or expired grant: enrol again\n");
        return false;
    }
    if (need_age > grant_age) {
        give_back(s, id, n);
        *ret = refuse_request(conn, RR_WRONG_CLASS, MHD_HTTP_FORBIDDEN,
                              "the grant does not cover the age class of every key asked for\n");
        return false;
    }
    err =
        agp_istore_count(s->store, pseudonym, n, s->day_cap, s->epoch_cap, s->st.epochs[e].id, now);
    if (err != AGP_OK) {
        give_back(s, id, n);
        if (err == AGP_ERR_RANGE)
            *ret = refuse_request(conn, RR_OVER_QUOTA, MHD_HTTP_TOO_MANY_REQUESTS,
                                  "the daily or per-epoch token cap is reached\n");
        else
            *ret = refuse_request(conn, RR_STORE, MHD_HTTP_SERVICE_UNAVAILABLE,
                                  "the issuer cannot count tokens right now; try again\n");
        return false;
    }
    for (i = 0; i < b->count; i++)
        if ((err = agp_token_issue(keys[i], sigs[i], b->raw[i].ptr, b->raw[i].len)) != AGP_OK) {
            fprintf(stderr, "agepass issuer: blind signature %zu of %u failed: %s\n", i + 1, n,
                    agp_err_str(err));
            give_back(s, id, n);
            uncount(s, pseudonym, n, s->st.epochs[e].id, now);
            *ret = refuse_request(conn, RR_MALFORMED, MHD_HTTP_UNPROCESSABLE_CONTENT,
                                  "the blinded message is not valid for this key\n");
            return false;
        }
    for (i = 0; i < b->count; i++)
        atomic_fetch_add(&stats.issued[e][cls[i]], 1);
    return true;
}

/* POST /token-request with one TokenRequest (RFC 9578 §6.1). */
static enum MHD_Result token_request(struct service *s, struct MHD_Connection *conn,
                                     const struct upload *up)
{
    struct agp_batch_request b = {.count = 1};
    uint8_t sig[1][AGP_TOKEN_RESPONSE_LEN];
    enum MHD_Result ret;
    agp_err err;

    if (up->too_big || up->len > AGP_TOKEN_REQUEST_LEN)
        return refuse_request(conn, RR_MALFORMED, MHD_HTTP_CONTENT_TOO_LARGE,
                              "a TokenRequest is 259 bytes\n");
    err = agp_token_request_parse(&b.req[0], (const uint8_t *)up->buf, up->len);
    if (err == AGP_ERR_TOKEN_TYPE)
        return refuse_request(conn, RR_MALFORMED, MHD_HTTP_UNPROCESSABLE_CONTENT,
                              "unsupported token type\n");
    if (err != AGP_OK)
        return refuse_request(conn, RR_MALFORMED, MHD_HTTP_UNPROCESSABLE_CONTENT,
                              "a TokenRequest of type 0x0002 is 259 bytes\n");
    b.raw[0] = (struct agp_span){(const uint8_t *)up->buf, up->len};
    if (!issue(s, conn, &b, sig, &ret)) return ret;
    return issuer_send(conn, MHD_HTTP_OK, sig[0], sizeof sig[0],
                       "application/private-token-response");
}

/*
 * POST /token-request with a BatchTokenRequest (agepass/batch.h): all or
 * nothing (see issue), so the draft's absent responses (and its 206) never
 * occur: a 200 carries n blind signatures, in request order. Where the
 * draft answers 400 to a batch it issues nothing from, we keep RFC 9578's
 * statuses, so that a client can tell "enrol again" (401, 429) from "retry"
 * (503) and from "fix the request" (413, 422).
 */
static enum MHD_Result batch_request(struct service *s, struct MHD_Connection *conn,
                                     const struct upload *up)
{
    struct agp_batch_request b;
    struct agp_batch_response br;
    uint8_t sigs[AGP_BATCH_MAX][AGP_TOKEN_RESPONSE_LEN];
    uint8_t out[AGP_BATCH_RESPONSE_MAX];
    struct agp_writer w;
    enum MHD_Result ret;
    size_t i;
    agp_err err;

    if (up->too_big || up->len > AGP_BATCH_REQUEST_MAX)
        return refuse_request(conn, RR_MALFORMED, MHD_HTTP_CONTENT_TOO_LARGE,
                              "a batch holds at most 30 TokenRequests\n");
    err = agp_batch_request_parse(&b, (const uint8_t *)up->buf, up->len);
    if (err == AGP_ERR_TOKEN_TYPE)
        return refuse_request(conn, RR_MALFORMED, MHD_HTTP_UNPROCESSABLE_CONTENT,
                              "unsupported token type in the batch\n");
    if (err != AGP_OK)
        return refuse_request(conn, RR_MALFORMED, MHD_HTTP_UNPROCESSABLE_CONTENT,
                              "a BatchTokenRequest is a length and 1 to 30 TokenRequests of type "
                              "0x0002\n");
    if (!issue(s, conn, &b, sigs, &ret)) return ret;
    memset(&br, 0, sizeof br);
    for (i = 0; i < b.count; i++)
        br.blind_sig[i] = (struct agp_span){sigs[i], AGP_TOKEN_RESPONSE_LEN};
    br.count = b.count;
    agp_writer_init(&w, out, sizeof out);
    if ((err = agp_batch_response_write(&w, &br)) != AGP_OK) {
        /* cannot happen for a parsed batch; the tokens stay counted */
        fprintf(stderr, "agepass issuer: cannot write a batch response: %s\n", agp_err_str(err));
        return send_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n");
    }
    return issuer_send(conn, MHD_HTTP_OK, out, w.len, AGP_BATCH_RESPONSE_TYPE);
}

/* see issuer.h */
struct agp_istore *issuer_store(struct service *s)
{
    return s->store;
}

/* see issuer.h */
int64_t issuer_hour_ceil(int64_t t)
{
    return t >= INT64_MAX - HOUR_S ? t : (t + HOUR_S - 1) / HOUR_S * HOUR_S;
}

/*
 * Makes a grant for age class `age` and `tokens` tokens, good until the
 * hour boundary at least GRANT_TTL_S from now (*expires); writes its bearer
 * value.
 */
static agp_err new_grant(struct service *s, char out[GRANT_B64_LEN + 4], unsigned age,
                         unsigned tokens, const uint8_t pseudonym[AGP_PSEUDONYM_LEN], int64_t now,
                         int64_t *expires)
{
    uint8_t raw[32], id[AGP_GRANT_ID_LEN];
    char text[GRANT_B64_LEN + 1];
    agp_err err;
    if ((err = agp_random(raw, sizeof raw)) != AGP_OK) return err;
    if ((err = agp_sha256(id, raw, sizeof raw)) == AGP_OK &&
        (err = agp_b64url_encode_nopad(text, sizeof text, NULL, raw, sizeof raw)) == AGP_OK)
        err = agp_istore_grant_put(s->store, id, age, tokens,
                                   *expires = issuer_hour_ceil(now + GRANT_TTL_S), pseudonym);
    if (err == AGP_OK) memcpy(out, text, sizeof text);
    AGP_WIPE(raw);
    AGP_WIPE(text);
    return err;
}

static bool wants_json(struct MHD_Connection *conn)
{
    const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");
    return accept == NULL || strstr(accept, "application/json") != NULL ||
           strstr(accept, "text/html") == NULL;
}

enum MHD_Result issuer_refuse_enrol(struct MHD_Connection *conn, enum enrol_source from,
                                    enum enrol_refusal why, unsigned status)
{
    char body[256];
    atomic_fetch_add(&stats.enrol_refused[from][why], 1);
    fprintf(stderr, "agepass issuer: enrolment refused: %s\n", enrol_refusal_names[why]);
    if (!wants_json(conn)) {
        /* a browser: the reason, also in an element the extension reads */
        snprintf(body, sizeof body,
                 "<!doctype html><meta charset=utf-8><title>agepass: not enrolled</title>\n"
                 "<p id=\"agepass-refused\" data-reason=\"%s\">Enrolment refused: %s.</p>\n",
                 enrol_refusal_names[why], enrol_refusal_names[why]);
        return issuer_send(conn, status, body, strlen(body), "text/html; charset=utf-8");
    }
    snprintf(body, sizeof body, "{\"error\":\"%s\"}\n", enrol_refusal_names[why]);
    return issuer_send(conn, status, body, strlen(body), "application/json");
}

/* The person's pseudonym: HMAC(secret, source || 0 || subject)[:16]. */
static agp_err pseudonym_of(const struct service *s, const char *source, const char *subject,
                            uint8_t out[AGP_PSEUDONYM_LEN])
{
    uint8_t msg[2048], mac[AGP_SHA256_LEN];
    size_t a = strlen(source), b = strlen(subject);
    agp_err err;
    if (a + 1 + b > sizeof msg) return AGP_ERR_RANGE;
    memcpy(msg, source, a);
    msg[a] = 0;
    memcpy(msg + a + 1, subject, b);
    err = agp_hmac_sha256(mac, s->secret, sizeof s->secret, msg, a + 1 + b);
    if (err == AGP_OK) memcpy(out, mac, AGP_PSEUDONYM_LEN);
    AGP_WIPE(msg);
    AGP_WIPE(mac);
    return err;
}

/*
 * The page a browser gets with its grant, built here only: the grant for a
 * person to read and copy into a client, and the same in the element
 * id="agepass-grant" (its text, with data-age, data-tokens and
 * data-expires-in) that the agepass browser extension's content script,
 * registered for this issuer's origin alone, reads. Wipes grant.
 */
static enum MHD_Result grant_page(struct MHD_Connection *conn, char *grant, unsigned age,
                                  unsigned tokens, bool to_wallet)
{
    char body[2 * AGP_URI_MAX + 2048], back[AGP_URI_MAX + 128];
    enum MHD_Result ret;
    /*
     * An enrolment the web wallet began (?wallet=1) goes back to the
     * configured --wallet-url only (never a URL from the request), with the
     * grant in the fragment, which the browser sends to no server.
     */
    back[0] = '\0';
    if (to_wallet)
        snprintf(back, sizeof back, "%s#grant=%s&age=%u&tokens=%u&expires_in=%d", wallet_url, grant,
                 age, tokens, GRANT_TTL_S);
    snprintf(
        body, sizeof body,
        "<!doctype html><meta charset=utf-8><title>agepass: enrolled</title>\n%s%s%s"
        "<p>You proved you are at least %u. Your issuance grant, good for %u tokens in the "
        "next %d minutes:</p>\n<pre id=\"agepass-grant\" data-age=\"%u\" data-tokens=\"%u\" "
        "data-expires-in=\"%d\">%s</pre>\n<p>The agepass browser extension, if you added "
        "this age provider to it, takes the grant from this page by itself: its button then "
        "says so. Otherwise give it to your agepass client (<code>agepass enroll --grant</code>); "
        "the issuer does not keep your age evidence.</p>\n%s%s%s",
        back[0] ? "<meta name=\"referrer\" content=\"no-referrer\">"
                  "<meta http-equiv=\"refresh\" content=\"0;url="
                : "",
        back, back[0] ? "\">\n" : "", age, tokens, GRANT_TTL_S / 60, age, tokens, GRANT_TTL_S,
        grant, back[0] ? "<p><a id=\"agepass-wallet\" rel=\"noreferrer\" href=\"" : "", back,
        back[0] ? "\">Back to the web wallet</a></p>\n" : "");
    AGP_WIPE(grant);
    AGP_WIPE(back);
    ret = issuer_send(conn, MHD_HTTP_OK, body, strlen(body), "text/html; charset=utf-8");
    AGP_WIPE(body);
    return ret;
}

/* see issuer.h */
enum issuer_mint issuer_grant_mint(struct service *s, const struct issuer_evidence *ev,
                                   struct issuer_minted *out, enum enrol_refusal *why,
                                   unsigned *status)
{
    int64_t now = (int64_t)time(NULL);
    uint8_t pseudonym[AGP_PSEUDONYM_LEN];
    unsigned best = 0, tokens = s->day_cap;
    int64_t expires = 0;
    size_t c;
    agp_err err;

    memset(out, 0, sizeof *out);
    for (c = 0; c < s->st.nclasses; c++)
        if (s->st.classes[c] <= ev->age && s->st.classes[c] > best) best = s->st.classes[c];
    if (best == 0) {
        *why = ER_UNDER_AGE, *status = MHD_HTTP_FORBIDDEN;
        return IM_REFUSED;
    }
    if (ev->source != NULL) {
        err = pseudonym_of(s, ev->source, ev->subject, pseudonym);
        if (err == AGP_OK) {
            /*
             * Enrolments per person per rolling day (R24: repeated
             * re-enrolment is how an adult would mint for others), on the
             * token counters' machinery under a pseudonym of its own.
             */
            uint8_t mac[AGP_SHA256_LEN], enrolments[AGP_PSEUDONYM_LEN];
            uint8_t msg[10 + AGP_PSEUDONYM_LEN] = "enrolments";
            memcpy(msg + 10, pseudonym, AGP_PSEUDONYM_LEN);
            err = agp_hmac_sha256(mac, s->secret, sizeof s->secret, msg, sizeof msg);
            memcpy(enrolments, mac, sizeof enrolments);
            if (err == AGP_OK)
                err = agp_istore_count(s->store, enrolments, 1, s->enrol_cap, UINT_MAX, 0, now);
            AGP_WIPE(mac);
            if (err == AGP_ERR_RANGE) {
                *why = ER_OVER_QUOTA, *status = MHD_HTTP_TOO_MANY_REQUESTS;
                return IM_REFUSED;
            }
        }
    } else {
        err = agp_random(pseudonym, sizeof pseudonym);
        if (ev->digest != NULL && err == AGP_OK) {
            tokens = BATCH_TOKENS < s->day_cap ? BATCH_TOKENS : s->day_cap;
            err = agp_istore_evidence_once(s->store, ev->digest, issuer_hour_ceil(ev->expires_at),
                                           now);
            if (err == AGP_ERR_REPLAY) {
                *why = ER_REUSED, *status = MHD_HTTP_CONFLICT;
                return IM_REFUSED;
            }
        }
    }
    if (err != AGP_OK ||
        (err = new_grant(s, out->grant, best, tokens, pseudonym, now, &expires)) != AGP_OK) {
        fprintf(stderr, "agepass issuer: cannot record a grant: %s\n", agp_err_str(err));
        return IM_UNAVAILABLE;
    }
    atomic_fetch_add(&stats.enrolled[ev->from], 1);
    out->age = best;
    out->tokens = tokens;
    out->expires_at = expires;
    return IM_OK;
}

enum MHD_Result issuer_grant(struct service *s, struct MHD_Connection *conn,
                             const struct issuer_evidence *ev)
{
    int64_t now = (int64_t)time(NULL);
    struct issuer_minted m;
    enum enrol_refusal why = ER_INVALID;
    unsigned status = 0;
    char body[1024];
    enum MHD_Result ret;

    switch (issuer_grant_mint(s, ev, &m, &why, &status)) {
    case IM_OK: break;
    case IM_REFUSED: return issuer_refuse_enrol(conn, ev->from, why, status);
    default:
        return send_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "the issuer cannot enrol right now\n");
    }
    if (wants_json(conn)) {
        snprintf(body, sizeof body,
                 "{\"grant\":\"%s\",\"age\":%u,\"tokens\":%u,\"expires_in\":%lld}\n", m.grant,
                 m.age, m.tokens, (long long)(m.expires_at - now));
        AGP_WIPE(m.grant);
        ret = issuer_send(conn, MHD_HTTP_OK, body, strlen(body), "application/json");
        AGP_WIPE(body);
        return ret;
    }
    ret = grant_page(conn, m.grant, m.age, m.tokens, ev->to_wallet && wallet_url[0] != '\0');
    AGP_WIPE(m.grant);
    return ret;
}

/* see issuer.h */
const char *issuer_wallet_url(void)
{
    return wallet_url;
}

/* see issuer.h */
bool issuer_from_wallet(struct MHD_Connection *conn)
{
    const char *w = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "wallet");
    return w != NULL && strcmp(w, "1") == 0 && wallet_url[0] != '\0';
}

/* GET /enroll/dev: the development attester's form, for browsers. */
static enum MHD_Result enroll_dev_form(struct MHD_Connection *conn)
{
    static const char for_wallet[] =
        "<!doctype html><meta charset=utf-8><title>agepass: development enrolment</title>\n"
        "<h1>Development enrolment</h1>\n"
        "<p><strong>Warning: this issuer runs with --insecure-dev-attester. It takes the age "
        "typed here at its word: for demos and tests only, never for real people.</strong></p>\n"
        "<form method=\"post\" action=\"/enroll/dev?wallet=1\">\n<label>Age <input id=\"age\" "
        "name=\"age\" type=\"number\" min=\"0\" max=\"150\" value=\"25\" required></label>\n"
        "<button id=\"enrol\" type=\"submit\">Enrol</button>\n</form>\n";
    static const char page[] =
        "<!doctype html><meta charset=utf-8><title>agepass: development enrolment</title>\n"
        "<h1>Development enrolment</h1>\n"
        "<p><strong>Warning: this issuer runs with --insecure-dev-attester. It takes the age "
        "typed here at its word: for demos and tests only, never for real people.</strong></p>\n"
        "<form method=\"post\" action=\"/enroll/dev\">\n<label>Age <input id=\"age\" "
        "name=\"age\" type=\"number\" min=\"0\" max=\"150\" value=\"25\" required></label>\n"
        "<button id=\"enrol\" type=\"submit\">Enrol</button>\n</form>\n";
    if (issuer_from_wallet(conn))
        return issuer_send(conn, MHD_HTTP_OK, for_wallet, sizeof for_wallet - 1,
                           "text/html; charset=utf-8");
    return issuer_send(conn, MHD_HTTP_OK, page, sizeof page - 1, "text/html; charset=utf-8");
}

/*
 * The form's body, exactly `age=N` (N: 1 to 3 decimal digits, at most 150);
 * -1 for anything else.
 */
static int dev_form_age(const char *body, size_t len)
{
    int age = 0;
    size_t i;
    if (len < 5 || len > 7 || memcmp(body, "age=", 4) != 0) return -1;
    for (i = 4; i < len; i++) {
        if (body[i] < '0' || body[i] > '9') return -1;
        age = age * 10 + (body[i] - '0');
    }
    return age <= 150 ? age : -1;
}

/*
 * POST /enroll/dev {"age": N}, or the form's `age=N`: a self-declared age,
 * for demos and tests only. Every dev enrolment is a new pseudonym: it
 * proves nothing.
 */
static enum MHD_Result enroll_dev(struct service *s, struct MHD_Connection *conn,
                                  const struct upload *up)
{
    struct issuer_evidence ev = {.from = ES_DEV};
    json_error_t jerr;
    json_t *root, *age_j;
    int form_age;

    if (up->too_big)
        return issuer_refuse_enrol(conn, ES_DEV, ER_INVALID, MHD_HTTP_CONTENT_TOO_LARGE);
    ev.to_wallet = issuer_from_wallet(conn);
    if ((form_age = dev_form_age(up->buf, up->len)) >= 0) {
        ev.age = (unsigned)form_age;
        return issuer_grant(s, conn, &ev);
    }
    root = json_loadb(up->buf, up->len, JSON_REJECT_DUPLICATES, &jerr);
    age_j = root ? json_object_get(root, "age") : NULL;
    if (!json_is_integer(age_j) || json_integer_value(age_j) < 0 ||
        json_integer_value(age_j) > 150) {
        json_decref(root);
        return issuer_refuse_enrol(conn, ES_DEV, ER_INVALID, MHD_HTTP_BAD_REQUEST);
    }
    ev.age = (unsigned)json_integer_value(age_j);
    json_decref(root);
    return issuer_grant(s, conn, &ev);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_size, void **con_cls)
{
    struct service *s = cls;
    struct upload *up = *con_cls;
    (void)version;

    if (up == NULL) {
        if ((up = calloc(1, sizeof *up)) == NULL) return MHD_NO;
        *con_cls = up;
        return MHD_YES;
    }
    if (*upload_size != 0) {
        if (*upload_size > sizeof up->buf - up->len)
            up->too_big = true;
        else
            memcpy(up->buf + up->len, upload_data, *upload_size), up->len += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    cors_begin(conn, url); /* the web wallet's requests from its own origin */
    if (cors_is_preflight(method)) return cors_preflight(conn);
    if (strcmp(url, "/.well-known/private-token-issuer-directory") == 0 &&
        strcmp(method, "GET") == 0)
        return directory(s, conn);
    if (strcmp(url, "/metrics") == 0 && strcmp(method, "GET") == 0 && !s->metrics_apart)
        return metrics(s, conn);
    if (s->wallet != NULL && strncmp(url, "/wallet/", 8) == 0 && strcmp(method, "GET") == 0)
        return wallet_files_serve(s->wallet, conn, url + 8);
    if (strcmp(url, "/token-request") == 0 && strcmp(method, "POST") == 0) {
        const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
        if (ct != NULL && strcasecmp(ct, AGP_BATCH_REQUEST_TYPE) == 0)
            return batch_request(s, conn, up);
        if (ct != NULL && strcasecmp(ct, "application/private-token-request") == 0)
            return token_request(s, conn, up);
        return refuse_request(conn, RR_MALFORMED, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                              "Content-Type must be application/private-token-request (or "
                              "application/private-token-arbitrary-batch-request)\n");
    }
    if (strcmp(url, "/enroll/dev") == 0 && strcmp(method, "POST") == 0 && s->dev)
        return enroll_dev(s, conn, up);
    if (strcmp(url, "/enroll/dev") == 0 && strcmp(method, "GET") == 0 && s->dev)
        return enroll_dev_form(conn);
    if (s->mdoc && strcmp(url, "/enroll/mdoc/request") == 0 && strcmp(method, "GET") == 0)
        return mdoc_enrol_request(s->mdoc, conn);
    if (s->mdoc && strcmp(url, "/enroll/mdoc/qr") == 0 && strcmp(method, "GET") == 0)
        return mdoc_enrol_qr(s->mdoc, conn);
    if (s->mdoc && strcmp(url, "/enroll/mdoc/response") == 0 && strcmp(method, "POST") == 0)
        return mdoc_enrol_response(s->mdoc, s, conn, up);
    if (s->mdoc && strcmp(url, "/enroll/mdoc/start") == 0 && strcmp(method, "GET") == 0)
        return mdoc_enrol_start(s->mdoc, conn);
    if (s->mdoc && strcmp(url, "/enroll/mdoc/wait") == 0 && strcmp(method, "GET") == 0)
        return mdoc_enrol_wait(s->mdoc, s, conn);
    if (s->oidc && strcmp(url, "/enroll/oidc/start") == 0 && strcmp(method, "GET") == 0)
        return oidc_enrol_start(s->oidc, conn);
    if (s->oidc && strcmp(url, "/enroll/oidc/callback") == 0 && strcmp(method, "GET") == 0)
        return oidc_enrol_callback(s->oidc, s, conn);
    return send_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* The endpoint label of a request: its route, from a fixed list. */
static enum endpoint endpoint_of(const struct service *s, struct MHD_Connection *conn,
                                 const char *url, const char *method)
{
    bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    if (get && strcmp(url, "/.well-known/private-token-issuer-directory") == 0) return EP_DIRECTORY;
    if (get && strcmp(url, "/metrics") == 0) return s->metrics_apart ? EP_OTHER : EP_METRICS;
    if (post && strcmp(url, "/token-request") == 0) {
        const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
        return ct != NULL && strcasecmp(ct, AGP_BATCH_REQUEST_TYPE) == 0 ? EP_BATCH : EP_TOKEN;
    }
    /* the routes that decide on evidence and make grants */
    if ((post && strcmp(url, "/enroll/dev") == 0) ||
        (post && strcmp(url, "/enroll/mdoc/response") == 0) ||
        (get && strcmp(url, "/enroll/oidc/callback") == 0))
        return EP_GRANT;
    if (get && strncmp(url, "/enroll/", 8) == 0) return EP_ENROL;
    if (get && strncmp(url, "/wallet/", 8) == 0) return EP_PAGE;
    return EP_OTHER;
}

/* handle(), with the read lock held around the call that routes and answers. */
static enum MHD_Result handle_locked(void *cls, struct MHD_Connection *conn, const char *url,
                                     const char *method, const char *version,
                                     const char *upload_data, size_t *upload_size, void **con_cls)
{
    struct service *s = cls;
    struct upload *up;
    enum MHD_Result ret;

    if (*con_cls == NULL || *upload_size != 0) { /* setting up, or a chunk of the body */
        bool head = *con_cls == NULL;
        ret = handle(cls, conn, url, method, version, upload_data, upload_size, con_cls);
        if (head && *con_cls != NULL) ((struct upload *)*con_cls)->started_us = metrics_now_us();
        return ret;
    }
    up = *con_cls;
    pthread_mutex_lock(&s->turn);
    pthread_mutex_unlock(&s->turn);
    pthread_rwlock_rdlock(&s->lock);
    ret = handle(cls, conn, url, method, version, upload_data, upload_size, con_cls);
    pthread_rwlock_unlock(&s->lock);
    metrics_observe(&stats.latency[endpoint_of(s, conn, url, method)],
                    metrics_now_us() - up->started_us);
    return ret;
}

/* Whether a and b hold the same keys (a reload that changed nothing is no rotation). */
static bool same_keys(const struct issuer_state *a, const struct issuer_state *b)
{
    size_t e, c;
    if (a->nepochs != b->nepochs || a->nclasses != b->nclasses) return false;
    for (e = 0; e < a->nepochs; e++)
        for (c = 0; c < a->nclasses; c++)
            if (memcmp(agp_key_id(a->epochs[e].keys[c]), agp_key_id(b->epochs[e].keys[c]),
                       AGP_SHA256_LEN) != 0)
                return false;
    return true;
}

/*
 * SIGHUP: loads the state folder again (keys, issuer.json) and makes its
 * directory aside, then swaps state, directory and ETag in under the write
 * lock, which waits for the requests in flight (each answered wholly from
 * the old state or wholly from the new) and holds new ones back only for
 * the swap. A state that does not load is logged, and the old one kept.
 * The per-key issuance counters follow their keys (a new key starts at 0).
 * The pseudonym secret, caps, store and options are not reloaded.
 */
static void reload(struct service *s, const char *dir, const char *uri)
{
    struct service next;
    struct issuer_state old;
    char *old_directory;
    unsigned long issued[MAX_EPOCHS][MAX_CLASSES];
    size_t e, c, oe, oc;

    memset(&next, 0, sizeof next);
    if (load_state(dir, &next.st, true) != CLI_OK || build_directory(&next, uri) != CLI_OK) {
        fprintf(stderr, "agepass issuer: reload of %s failed (see above); still serving epoch %u\n",
                dir, s->st.epochs[current_epoch(s, (int64_t)time(NULL))].id);
        free(next.directory);
        state_free(&next.st);
        return;
    }
    pthread_mutex_lock(&s->turn);
    pthread_rwlock_wrlock(&s->lock);
    old = s->st;
    old_directory = s->directory;
    s->st = next.st;
    s->directory = next.directory;
    s->directory_len = next.directory_len;
    memcpy(s->etag, next.etag, sizeof s->etag);
    /* no request runs: the counters move to their keys' new places */
    memset(issued, 0, sizeof issued);
    for (e = 0; e < s->st.nepochs; e++)
        for (c = 0; c < s->st.nclasses; c++)
            for (oe = 0; oe < old.nepochs; oe++)
                for (oc = 0; oc < old.nclasses; oc++)
                    if (memcmp(agp_key_id(s->st.epochs[e].keys[c]),
                               agp_key_id(old.epochs[oe].keys[oc]), AGP_SHA256_LEN) == 0)
                        issued[e][c] = atomic_load(&stats.issued[oe][oc]);
    for (e = 0; e < MAX_EPOCHS; e++)
        for (c = 0; c < MAX_CLASSES; c++)
            atomic_store(&stats.issued[e][c], issued[e][c]);
    if (!same_keys(&old, &s->st)) atomic_fetch_add(&stats.rotations, 1);
    pthread_rwlock_unlock(&s->lock);
    pthread_mutex_unlock(&s->turn);
    free(old_directory);
    state_free(&old);
    fprintf(stderr, "agepass issuer: reloaded %s: epoch %u current, directory ETag %s\n", dir,
            s->st.epochs[current_epoch(s, (int64_t)time(NULL))].id, s->etag);
}

static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)ss)->sin6_addr, &in6addr_loopback,
                      sizeof in6addr_loopback) == 0;
    return false;
}

/*
 * An enrolment module's own key: HMAC(pseudonym-secret, label), so that no
 * module holds the secret itself and no two share a key.
 */
static agp_err module_key(const struct service *s, const char *label, uint8_t k[AGP_SHA256_LEN])
{
    return agp_hmac_sha256(k, s->secret, sizeof s->secret, (const uint8_t *)label, strlen(label));
}

/* --mdoc-trust PEM (repeatable) / --mdoc-trusted-list FILE, with --public-url */
static int mdoc_setup(struct service *s, const struct cli_opt *o, size_t n)
{
    const struct cli_opt *t = NULL;
    uint8_t k[AGP_SHA256_LEN];
    size_t i;
    int rc;
    for (i = 0; i < n; i++)
        if (strcmp(o[i].name, "--mdoc-trust") == 0) t = &o[i];
    if ((t == NULL || t->count == 0) && cli_get(o, n, "--mdoc-trusted-list") == NULL) return CLI_OK;
    if (s->public_url[0] == '\0') {
        fprintf(stderr, "agepass: mdoc enrolment needs --public-url (the issuer's external base "
                        "URL, where wallets post their answer)\n");
        return CLI_USAGE;
    }
    if (module_key(s, "agepass mdoc nonce v1", k) != AGP_OK)
        return cli_fail("mdoc", AGP_ERR_CRYPTO);
    rc = mdoc_enrol_new(&s->mdoc, t ? t->values : NULL, t ? t->count : 0,
                        cli_get(o, n, "--mdoc-trusted-list"), s->public_url, k);
    AGP_WIPE(k);
    return rc;
}

/* --oidc-provider ISSUER_URL,client_id=ID,secret_file=FILE[,...] (repeatable), --public-url */
static int oidc_setup(struct service *s, const struct cli_opt *o, size_t n)
{
    struct enroll_oidc_config oc = {NULL, 0, s->public_url[0] ? s->public_url : NULL};
    uint8_t k[AGP_SHA256_LEN];
    size_t i;
    int rc;
    for (i = 0; i < n; i++)
        if (strcmp(o[i].name, "--oidc-provider") == 0) {
            oc.providers = o[i].values;
            oc.count = o[i].count;
        }
    if (module_key(s, "oidc-state", k) != AGP_OK) return cli_fail("oidc", AGP_ERR_CRYPTO);
    rc = oidc_enrol_new(&s->oidc, &oc, k);
    AGP_WIPE(k);
    return rc;
}

static int cmd_serve(int argc, char **argv)
{
    struct cli_opt o[] = {{.name = "--state", .required = true},
                          {.name = "--listen", .required = true},
                          {.name = "--insecure-dev-attester", .kind = CLI_FLAG},
                          {.name = "--request-uri"},
                          {.name = "--day-cap"},
                          {.name = "--epoch-cap"},
                          {.name = "--enrol-cap"},
                          {.name = "--config"},
                          {.name = "--redis"},
                          {.name = "--public-url"},
                          {.name = "--mdoc-trust", .kind = CLI_REPEAT},
                          {.name = "--mdoc-trusted-list"},
                          {.name = "--oidc-provider", .kind = CLI_REPEAT},
                          {.name = "--wallet-url"},
                          {.name = "--wallet-dir"},
                          {.name = "--metrics-listen"}};
    size_t n = sizeof o / sizeof o[0];
    static struct service svc; /* lives as long as the daemon */
    struct sockaddr_storage addr;
    socklen_t addr_len;
    struct http_server *d = NULL, *md = NULL;
    const char *dir;
    char path[4096], uri[AGP_URI_MAX + 1];
    uint64_t day_cap = 30, epoch_cap = 300, enrol_cap = 10;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    sigset_t sigs;
    agp_err err;
    int rc, sig;
    bool locks = false;

    if ((rc = cli_parse(argc, argv, o, n, usage)) != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    if (cli_get(o, n, "--config") != NULL &&
        (rc = cli_merge_config(o, n, cli_get(o, n, "--config"), usage)) != CLI_OK)
        return rc;
    metrics_started();
    signal(SIGXFSZ, SIG_IGN); /* a full disk or file limit is an error (503), not a death */
    if ((cli_get(o, n, "--day-cap") &&
         (!cli_parse_uint(cli_get(o, n, "--day-cap"), 100000, &day_cap) || day_cap == 0)) ||
        (cli_get(o, n, "--epoch-cap") &&
         (!cli_parse_uint(cli_get(o, n, "--epoch-cap"), 10000000, &epoch_cap) || epoch_cap == 0)) ||
        (cli_get(o, n, "--enrol-cap") &&
         (!cli_parse_uint(cli_get(o, n, "--enrol-cap"), 1000, &enrol_cap) || enrol_cap == 0))) {
        fprintf(stderr, "agepass: --day-cap, --epoch-cap and --enrol-cap take a count above 0\n");
        return CLI_USAGE;
    }
    if (cli_parse_listen(cli_get(o, n, "--listen"), &addr, &addr_len) != CLI_OK) {
        fprintf(stderr, "agepass: --listen takes HOST:PORT, e.g. 127.0.0.1:8080\n");
        return CLI_USAGE;
    }
    svc.dev = cli_get(o, n, "--insecure-dev-attester") != NULL;
    if (svc.dev && !is_loopback(&addr)) {
        fprintf(stderr, "agepass: --insecure-dev-attester believes any declared age; it listens "
                        "on loopback only (127.0.0.1 or [::1])\n");
        return CLI_USAGE;
    }
    if (svc.dev)
        fprintf(stderr, "agepass issuer: WARNING: --insecure-dev-attester: anyone can declare an "
                        "age and get tokens. For demos and tests only.\n");
    dir = cli_get(o, n, "--state");
    if ((rc = load_state(dir, &svc.st, true)) != CLI_OK) return rc;
    rc = CLI_REJECTED;
    snprintf(path, sizeof path, "%s/pseudonym-secret", dir);
    if (cli_read_secret(path, svc.secret, sizeof svc.secret) != CLI_OK) goto out;
    if (cli_get(o, n, "--public-url") != NULL) {
        const char *u = cli_get(o, n, "--public-url");
        size_t len = strlen(u);
        if (!cli_url_safe(u, PUBLIC_URL_MAX)) {
            fprintf(stderr, "agepass: --public-url takes the issuer's external https URL (plain "
                            "http only on loopback), e.g. https://ap.example\n");
            rc = CLI_USAGE;
            goto out;
        }
        snprintf(svc.public_url, sizeof svc.public_url, "%.*s",
                 (int)(len > 0 && u[len - 1] == '/' ? len - 1 : len), u);
    }
    if (cli_get(o, n, "--wallet-url") != NULL) {
        const char *u = cli_get(o, n, "--wallet-url");
        if (!cli_url_safe(u, AGP_URI_MAX) || strpbrk(u, "#\"'<>`\\ ") != NULL) {
            fprintf(stderr,
                    "agepass: --wallet-url takes the web wallet's https URL (plain http "
                    "only on loopback), without fragment, e.g. https://ap.example/wallet/\n");
            rc = CLI_USAGE;
            goto out;
        }
        snprintf(wallet_url, sizeof wallet_url, "%s", u);
    }
    if (cli_get(o, n, "--wallet-dir") != NULL) {
        if (wallet_files_load(&svc.wallet, cli_get(o, n, "--wallet-dir")) != CLI_OK) goto out;
        /* the wallet it serves itself, unless another URL was given */
        if (wallet_url[0] == '\0' && svc.public_url[0] != '\0')
            snprintf(wallet_url, sizeof wallet_url, "%s/wallet/", svc.public_url);
    }
    /* the wallet's origin may read the directory and token answers (CORS) */
    if (wallet_url[0] != '\0' && !cors_set_wallet_origin(wallet_url)) {
        fprintf(stderr, "agepass: --wallet-url: no origin in %s\n", wallet_url);
        rc = CLI_USAGE;
        goto out;
    }
    if ((rc = oidc_setup(&svc, o, n)) != CLI_OK) goto out;
    rc = CLI_REJECTED;
    svc.day_cap = (unsigned)day_cap;
    svc.epoch_cap = (unsigned)epoch_cap;
    svc.enrol_cap = (unsigned)enrol_cap;
    if (cli_get(o, n, "--request-uri"))
        snprintf(uri, sizeof uri, "%s", cli_get(o, n, "--request-uri"));
    else
        snprintf(uri, sizeof uri, "http://%s/token-request", cli_get(o, n, "--listen"));
    if ((rc = build_directory(&svc, uri)) != CLI_OK) goto out;
    if ((rc = mdoc_setup(&svc, o, n)) != CLI_OK) goto out;
    rc = CLI_REJECTED;
    if (pthread_rwlock_init(&svc.lock, NULL) != 0) goto out;
    if (pthread_mutex_init(&svc.turn, NULL) != 0) {
        pthread_rwlock_destroy(&svc.lock);
        goto out;
    }
    locks = true;
    svc.metrics_apart = cli_get(o, n, "--metrics-listen") != NULL;
    if (cli_get(o, n, "--redis") != NULL) {
        /* nothing is connected yet: an unreachable Redis shows as 503s, and in the log */
        if ((err = agp_istore_open_redis(&svc.store, cli_get(o, n, "--redis"))) != AGP_OK) {
            cli_fail("--redis", err);
            goto out;
        }
        if (agp_istore_sweep(svc.store, (int64_t)time(NULL)) != AGP_OK)
            fprintf(stderr,
                    "agepass issuer: Redis at %s does not answer yet: token requests get "
                    "503 until it does\n",
                    cli_get(o, n, "--redis"));
    } else {
        snprintf(path, sizeof path, "%s/store.sqlite", dir);
        if ((err = agp_istore_open_sqlite(&svc.store, path)) != AGP_OK) {
            cli_fail(path, err);
            goto out;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    {
        struct http_config hc = {.addr = (struct sockaddr *)&addr,
                                 .threads = (unsigned)(cpus > 1 ? cpus : 1),
                                 .handler = handle_locked,
                                 .handler_cls = &svc,
                                 .completed = request_done};
        if (http_start(&d, &hc) != 0) d = NULL;
    }
    if (d == NULL) {
        fprintf(stderr, "agepass: cannot listen on %s\n", cli_get(o, n, "--listen"));
        goto out;
    }
    if (svc.metrics_apart &&
        metrics_listen_start(&md, cli_get(o, n, "--metrics-listen"), metrics_page_apart, &svc) != 0)
        goto out;
    fprintf(stderr,
            "agepass issuer: %s listening on %s; epoch %u current; caps %u a day, %u an epoch, %u "
            "enrolments a day\n",
            svc.st.name, cli_get(o, n, "--listen"),
            svc.st.epochs[current_epoch(&svc, (int64_t)time(NULL))].id, svc.day_cap, svc.epoch_cap,
            svc.enrol_cap);
    while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP)
        reload(&svc, dir, uri);
    fprintf(stderr, "agepass issuer: stopping\n");
    rc = CLI_OK;
out:
    http_stop(md);
    http_stop(d);
    oidc_enrol_free(svc.oidc);
    if (locks) {
        pthread_mutex_destroy(&svc.turn);
        pthread_rwlock_destroy(&svc.lock);
    }
    agp_istore_free(svc.store);
    mdoc_enrol_free(svc.mdoc);
    wallet_files_free(svc.wallet);
    free(svc.directory);
    AGP_WIPE(svc.secret);
    state_free(&svc.st);
    return rc;
}

int cmd_issuer(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "init") == 0) return cmd_init(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "serve") == 0) return cmd_serve(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "rotate") == 0) return cmd_rotate(argc - 1, argv + 1);
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    fputs(usage, stderr);
    return CLI_USAGE;
}
