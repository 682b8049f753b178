/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/verifier.c: `agepass verifier serve`, the site's verifier as an HTTP
 * service for nginx auth_request (libmicrohttpd, a thread per core).
 *
 * Every request that is not GET /metrics is an access check:
 *   - a valid session cookie: 200 (with a refreshed cookie now and then);
 *   - `Authorization: PrivateToken token=...`: redeemed; 200 with a new
 *     session cookie, 401 with fresh challenges, or 503 when the replay
 *     store cannot be reached (fail closed);
 *   - anything else: 401 with `WWW-Authenticate: PrivateToken ...`.
 * The age class asked for is --min-age, or the X-Agepass-Min-Age header
 * that nginx sets per location (deploy/nginx/agepass.conf drops the
 * client's own). That header is honoured only from the front: a loopback
 * address, or one given with --front; from any other address it is
 * refused (400), logged and counted. It may only raise the class, never
 * lower it below --min-age. Tokens and sessions of a higher class than asked are taken
 * (an adult's class-18 token proves 16+); a session records the class of
 * the key that signed its token, and one below the class asked is refused
 * with a fresh challenge (counted as wrong_class). Reasons for refusals go
 * to stderr and /metrics, never to the client. Nothing logged names a
 * token, nonce, cookie or client address.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "agepass/authhdr.h"
#include "agepass/directory.h"
#include "agepass/replay.h"
#include "agepass/token.h"
#include "agepass/util.h"
#include "agepass/verifier.h"
#include "cli.h"
#include "http.h"
#include "verifier_class.h"

static const char usage[] =
    "usage: agepass verifier serve --state DIR --listen HOST:PORT --trust SOURCE...\n"
    "           [--origin NAME] [--min-age 18] [--front ADDR]... [--redis URL]\n"
    "           [--site-bound] [--window SECONDS] [--session-idle SECONDS] [--sync-ms MS]\n"
    "\n"
    "Answers nginx auth_request subrequests: 200 for an open session or a good\n"
    "token, 401 with PrivateToken challenges otherwise, 503 if the replay store\n"
    "is unreachable. GET /metrics gives Prometheus counters.\n"
    "\n"
    "  --state DIR         keeps verifier-secret and (without --redis) replay.log\n"
    "  --trust SOURCE      an issuer to trust, repeatable, either\n"
    "                      FILE,name=ISSUER_NAME[,age=N]  an RFC 9578 public key file\n"
    "                      (agepass keygen writes one), or\n"
    "                      URL[,name=ISSUER][,age=N][,pin=KEY_ID_HEX]...  an issuer\n"
    "                      directory (https; http only on loopback), fetched\n"
    "                      now and every --refresh seconds;\n"
    "                      name defaults to the directory's agepass-issuer-name, then\n"
    "                      the URL's host; age to the directory's\n"
    "                      agepass-age, then to --min-age; pins limit the keys taken\n"
    "  --origin NAME       this site, as put in challenges (default localhost)\n"
    "  --min-age N         age class required, the least nginx may ask (default 18)\n"
    "  --front ADDR        an address of nginx whose X-Agepass-Min-Age is honoured,\n"
    "                      repeatable (default: loopback only; from elsewhere the\n"
    "                      header is refused); it may only raise the class\n"
    "  --redis URL         share the replay store: redis://HOST[:PORT][/DB]\n"
    "  --site-bound        challenge only for tokens bound to this site, minted at\n"
    "                      the visit (the issuer then sees when its users browse);\n"
    "                      by default pre-fetched cross-origin tokens are also taken\n"
    "  --cross-origin      the default now; accepted and ignored\n"
    "  --window SECONDS    challenge lifetime (default 300)\n"
    "  --session-idle S    session ends after S idle seconds (default 1800)\n"
    "  --sync-ms MS        embedded store: flush to disk within MS ms (default 100; 0: always)\n"
    "  --refresh SECONDS   how often directories are fetched again (default 600)\n"
    "  --config FILE       options as `name value` lines (e.g. `trust URL`);\n"
    "                      the command line wins over the file\n";

/* Counters for /metrics: totals only, no label that could name anyone. */
static struct {
    atomic_ulong challenges, accepted, sessions_opened, sessions_valid, store_errors;
    atomic_ulong refused[AGP_REFUSAL_COUNT];
    atomic_ulong header_not_front, header_below_min;
} stats;

struct service {
    struct agp_verifier *v;
    unsigned min_age;
    struct front_list front;
};

static const char denied_body[] = "age check required\n";

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *body,
                             const char *ctype, const char *www, const char *cookie)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;
    if (r == NULL) return MHD_NO;
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (ctype) MHD_add_response_header(r, "Content-Type", ctype);
    if (www) MHD_add_response_header(r, "WWW-Authenticate", www);
    if (cookie && cookie[0]) MHD_add_response_header(r, "Set-Cookie", cookie);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result metrics(struct MHD_Connection *conn)
{
    char buf[4096];
    size_t n = 0, i;
    int w;
    w = snprintf(buf, sizeof buf,
                 "# TYPE agepass_verifier_challenges_total counter\n"
                 "agepass_verifier_challenges_total %lu\n"
                 "# TYPE agepass_verifier_tokens_accepted_total counter\n"
                 "agepass_verifier_tokens_accepted_total %lu\n"
                 "# TYPE agepass_verifier_sessions_opened_total counter\n"
                 "agepass_verifier_sessions_opened_total %lu\n"
                 "# TYPE agepass_verifier_sessions_valid_total counter\n"
                 "agepass_verifier_sessions_valid_total %lu\n"
                 "# TYPE agepass_verifier_store_errors_total counter\n"
                 "agepass_verifier_store_errors_total %lu\n"
                 "# TYPE agepass_verifier_class_headers_not_taken_total counter\n"
                 "agepass_verifier_class_headers_not_taken_total{reason=\"not_front\"} %lu\n"
                 "agepass_verifier_class_headers_not_taken_total{reason=\"below_min_age\"} %lu\n"
                 "# TYPE agepass_verifier_tokens_refused_total counter\n",
                 atomic_load(&stats.challenges), atomic_load(&stats.accepted),
                 atomic_load(&stats.sessions_opened), atomic_load(&stats.sessions_valid),
                 atomic_load(&stats.store_errors), atomic_load(&stats.header_not_front),
                 atomic_load(&stats.header_below_min));
    if (w < 0 || (size_t)w >= sizeof buf) return MHD_NO;
    n = (size_t)w;
    for (i = 1; i < AGP_REFUSAL_COUNT; i++) {
        if (i == AGP_REFUSED_STORE) continue; /* counted as store_errors */
        w = snprintf(buf + n, sizeof buf - n,
                     "agepass_verifier_tokens_refused_total{reason=\"%s\"} %lu\n",
                     agp_refusal_name((enum agp_refusal)i), atomic_load(&stats.refused[i]));
        if (w < 0 || (size_t)w >= sizeof buf - n) return MHD_NO;
        n += (size_t)w;
    }
    return reply(conn, MHD_HTTP_OK, buf, "text/plain; version=0.0.4", NULL, NULL);
}

/* Counts headers named name; a duplicated Authorization is refused. */
struct header_count {
    const char *name;
    unsigned n;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    struct header_count *hc = cls;
    (void)kind, (void)value;
    if (strcasecmp(key, hc->name) == 0) hc->n++;
    return MHD_YES;
}

static unsigned header_count(struct MHD_Connection *conn, const char *name)
{
    struct header_count hc = {name, 0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, count_header, &hc);
    return hc.n;
}

/* 401 with fresh challenges for age class age. */
static enum MHD_Result challenge(struct service *s, struct MHD_Connection *conn, unsigned age)
{
    static _Thread_local char www[AGP_HEADER_MAX];
    size_t len;
    agp_err err = agp_verifier_challenge(s->v, www, sizeof www, &len, age, (int64_t)time(NULL));
    if (err != AGP_OK) {
        fprintf(stderr, "agepass verifier: no challenge for age class %u: %s\n", age,
                agp_err_str(err));
        return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "age check unavailable\n", "text/plain",
                     NULL, NULL);
    }
    atomic_fetch_add(&stats.challenges, 1);
    return reply(conn, MHD_HTTP_UNAUTHORIZED, denied_body, "text/plain", www, NULL);
}

/* Logs the 1st, 2nd, 4th, 8th... time of an event, so that a flood cannot fill the log. */
static void log_sometimes(atomic_ulong *counter, const char *what)
{
    unsigned long n = atomic_fetch_add(counter, 1) + 1;
    if ((n & (n - 1)) == 0) fprintf(stderr, "agepass verifier: %s (%lu so far)\n", what, n);
}

/* The age class this check needs (see verifier_class.h); false: answer 400. */
static bool needed_class(struct service *s, struct MHD_Connection *conn, unsigned *age)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Agepass-Min-Age");
    switch (class_needed(&s->front, s->min_age, h, header_count(conn, "X-Agepass-Min-Age"),
                         ci ? ci->client_addr : NULL, age)) {
    case CLASS_DEFAULT:
    case CLASS_FROM_FRONT: return true;
    case CLASS_BELOW_MIN:
        log_sometimes(&stats.header_below_min,
                      "X-Agepass-Min-Age below --min-age: --min-age asked instead");
        return true;
    case CLASS_NOT_FRONT:
        log_sometimes(&stats.header_not_front,
                      "X-Agepass-Min-Age from an address not in --front: refused (400); "
                      "if it is your nginx, add --front");
        return false;
    case CLASS_BAD_HEADER: break;
    }
    fprintf(stderr, "agepass verifier: bad X-Agepass-Min-Age from the proxy\n");
    return false;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_size, void **con_cls)
{
    struct service *s = cls;
    const char *authz, *cookie;
    char set_cookie[AGP_COOKIE_MAX];
    unsigned age = s->min_age;
    int64_t now = (int64_t)time(NULL);
    enum agp_refusal why;
    agp_err err;
    (void)version, (void)upload_data;

    if (*con_cls == NULL) { /* first call: headers only */
        *con_cls = (void *)1;
        return MHD_YES;
    }
    if (*upload_size != 0) { /* an access check carries no body */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", "text/plain", NULL,
                     NULL);
    if (strcmp(url, "/metrics") == 0) return metrics(conn);

    if (!needed_class(s, conn, &age))
        return reply(conn, MHD_HTTP_BAD_REQUEST, "bad age class\n", "text/plain", NULL, NULL);

    cookie = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Cookie");
    err = cookie == NULL ? AGP_ERR_NOT_FOUND
                         : agp_verifier_session(s->v, set_cookie, sizeof set_cookie, cookie,
                                                strlen(cookie), age, now);
    if (err == AGP_OK) {
        atomic_fetch_add(&stats.sessions_valid, 1);
        return reply(conn, MHD_HTTP_OK, "", NULL, NULL, set_cookie);
    }
    if (err == AGP_ERR_RANGE) { /* a good session of a lower class: not for this page */
        atomic_fetch_add(&stats.refused[AGP_REFUSED_WRONG_CLASS], 1);
        fprintf(stderr, "agepass verifier: session refused: wrong_class (below class %u)\n", age);
    }

    authz = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (authz == NULL) return challenge(s, conn, age);
    if (header_count(conn, "Authorization") > 1) {
        why = AGP_REFUSED_MALFORMED;
        err = AGP_ERR_SYNTAX;
    } else {
        err = agp_verifier_redeem(s->v, &why, set_cookie, sizeof set_cookie, authz, strlen(authz),
                                  age, now);
    }
    if (err == AGP_OK) {
        atomic_fetch_add(&stats.accepted, 1);
        atomic_fetch_add(&stats.sessions_opened, 1);
        return reply(conn, MHD_HTTP_OK, "", NULL, NULL, set_cookie);
    }
    if (err == AGP_ERR_IO) {
        atomic_fetch_add(&stats.store_errors, 1);
        fprintf(stderr, "agepass verifier: replay store unavailable: token refused (503)\n");
        return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "age check unavailable\n", "text/plain",
                     NULL, NULL);
    }
    atomic_fetch_add(&stats.refused[why], 1);
    fprintf(stderr, "agepass verifier: token refused: %s (%s)\n", agp_refusal_name(why),
            agp_err_str(err));
    return challenge(s, conn, age);
}

/* Reads DIR/verifier-secret, making it (0600) the first time. */
static int load_secret(const char *dir, uint8_t secret[AGP_VERIFIER_SECRET_LEN])
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/verifier-secret", dir);
    if (stat(path, &st) != 0) {
        if (agp_random(secret, AGP_VERIFIER_SECRET_LEN) != AGP_OK)
            return cli_fail("verifier secret", AGP_ERR_RANDOM);
        return cli_output(path, secret, AGP_VERIFIER_SECRET_LEN, 0600);
    }
    return cli_read_secret(path, secret, AGP_VERIFIER_SECRET_LEN);
}

/*
 * A --trust source: a key file, or an issuer directory URL (RFC 9578 §4)
 * fetched at start and every refresh_s seconds. The last good directory is
 * kept in DIR/trust-N.json and used when the issuer cannot be reached.
 */
#define MAX_PINS 8

struct trust {
    char spec[1024];
    const char *where; /* the file or URL */
    char name[AGP_ISSUER_NAME_MAX + 1];
    unsigned age; /* from age=, for keys whose directory entry does not say */
    uint8_t pins[MAX_PINS][AGP_SHA256_LEN];
    size_t npins;
    bool is_url;
    bool name_given; /* name= was given: it wins over the directory's */
};

static struct {
    struct trust t[CLI_MAX_REPEAT];
    size_t n;
    const char *state_dir;
    unsigned refresh_s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
} trusts = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* Parses SOURCE[,name=ISSUER][,age=N][,pin=KEY_ID_HEX]... into t. */
static int parse_trust(struct trust *t, const char *spec, unsigned default_age)
{
    char *field, *next;
    uint64_t age = default_age;
    memset(t, 0, sizeof *t);
    if (strlen(spec) >= sizeof t->spec) return CLI_USAGE;
    memcpy(t->spec, spec, strlen(spec) + 1);
    t->where = t->spec;
    t->is_url = strncmp(spec, "http://", 7) == 0 || strncmp(spec, "https://", 8) == 0;
    next = t->spec;
    (void)cli_next_field(&next); /* the source */
    while ((field = cli_next_field(&next)) != NULL) {
        if (strncmp(field, "name=", 5) == 0 && strlen(field + 5) > 0 &&
            strlen(field + 5) <= AGP_ISSUER_NAME_MAX) {
            memcpy(t->name, field + 5, strlen(field + 5) + 1);
            t->name_given = true;
        } else if (strncmp(field, "age=", 4) == 0 && cli_parse_uint(field + 4, 255, &age) &&
                   age > 0) {
            /* kept below */
        } else if (strncmp(field, "pin=", 4) == 0 && t->npins < MAX_PINS &&
                   cli_parse_hex(t->pins[t->npins], AGP_SHA256_LEN, field + 4)) {
            t->npins++;
        } else {
            return CLI_USAGE;
        }
    }
    t->age = (unsigned)age;
    /* a directory fetched over plain http from afar could be anyone's keys */
    if (t->is_url && !cli_url_safe(t->where, sizeof t->spec - 1)) return CLI_USAGE;
    if (t->name[0] == '\0' && !(t->is_url && cli_url_host(t->where, t->name, sizeof t->name)))
        return CLI_USAGE;
    return CLI_OK;
}

static bool pinned(const struct trust *t, const uint8_t *id)
{
    size_t i;
    if (t->npins == 0) return true;
    for (i = 0; i < t->npins; i++)
        if (memcmp(t->pins[i], id, AGP_SHA256_LEN) == 0) return true;
    return false;
}

/* Trusts the type-2 keys of directory JSON text for source index+1. */
static agp_err apply_directory(struct agp_verifier *v, size_t index, const uint8_t *json,
                               size_t len)
{
    static struct agp_directory d; /* only the refresh thread and start-up use it */
    struct agp_verifier_key keys[AGP_DIR_MAX_KEYS];
    struct trust *t = &trusts.t[index];
    size_t i, n = 0, bad = 0, dropped = 0;
    agp_err err;

    if ((err = agp_directory_parse(&d, (const char *)json, len)) != AGP_OK) return err;
    /* the issuer's own name for its challenges, unless the operator chose one */
    if (!t->name_given && d.issuer_name[0] != '\0')
        memcpy(t->name, d.issuer_name, strlen(d.issuer_name) + 1);
    for (i = 0; i < d.count; i++) {
        struct agp_key *key = NULL;
        unsigned age = d.keys[i].age ? d.keys[i].age : t->age;
        if (d.keys[i].token_type != AGP_TOKEN_TYPE_BLIND_RSA) continue;
        if (agp_key_load_spki(&key, d.keys[i].token_key, d.keys[i].token_key_len) != AGP_OK) {
            bad++;
            continue;
        }
        if (!pinned(t, agp_key_id(key))) {
            fprintf(stderr, "agepass verifier: %s: a key not pinned is ignored\n", t->where);
            agp_key_free(key);
            continue;
        }
        keys[n++] = (struct agp_verifier_key){key, t->name, age, d.keys[i].not_before};
    }
    if ((err = agp_verifier_replace_keys(v, (unsigned)index + 1, keys, n, &dropped)) != AGP_OK)
        return err;
    fprintf(stderr, "agepass verifier: %s: %zu keys of %s trusted, %zu ignored\n", t->where,
            n - dropped, t->name, dropped + bad);
    return AGP_OK;
}

/* Fetches one directory; falls back to (at start) or refreshes the cache. */
static void refresh_one(struct agp_verifier *v, size_t index, bool at_start)
{
    const struct trust *t = &trusts.t[index];
    char cache[4096];
    uint8_t *body = NULL;
    size_t len = 0;
    long status = 0;
    agp_err err;

    snprintf(cache, sizeof cache, "%s/trust-%zu.json", trusts.state_dir, index + 1);
    err = cli_http_get(t->where, AGP_DIR_MAX_BYTES, 5000, &body, &len, &status);
    if (err == AGP_OK && status == 200 && apply_directory(v, index, body, len) == AGP_OK) {
        if (cli_output(cache, body, len, 0600) != CLI_OK)
            fprintf(stderr, "agepass verifier: cannot cache %s\n", t->where);
    } else {
        fprintf(stderr, "agepass verifier: %s: no usable directory (%s, HTTP %ld)%s\n", t->where,
                agp_err_str(err), status,
                at_start ? "; using the cached copy if any" : "; keeping the current keys");
        free(body);
        body = NULL;
        if (at_start && cli_read(cache, AGP_DIR_MAX_BYTES, &body, &len) == AGP_OK &&
            apply_directory(v, index, body, len) != AGP_OK)
            fprintf(stderr, "agepass verifier: the cached copy of %s is unusable\n", t->where);
    }
    free(body);
}

static void *refresher(void *arg)
{
    struct agp_verifier *v = arg;
    size_t i;
    pthread_mutex_lock(&trusts.mu);
    while (!trusts.stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += trusts.refresh_s;
        while (!trusts.stop && pthread_cond_timedwait(&trusts.cv, &trusts.mu, &until) != ETIMEDOUT)
            continue;
        if (trusts.stop) break;
        pthread_mutex_unlock(&trusts.mu);
        for (i = 0; i < trusts.n; i++)
            if (trusts.t[i].is_url) refresh_one(v, i, false);
        pthread_mutex_lock(&trusts.mu);
    }
    pthread_mutex_unlock(&trusts.mu);
    return NULL;
}

/* Loads every --trust source once; key files are trusted for good. */
static int load_trusts(struct agp_verifier *v, const struct cli_opt *opt, unsigned default_age)
{
    size_t i;
    for (i = 0; i < opt->count; i++) {
        struct trust *t = &trusts.t[i];
        struct agp_key *key = NULL;
        agp_err err;
        int rc;
        if (parse_trust(t, opt->values[i], default_age) != CLI_OK) {
            fprintf(stderr,
                    "agepass: --trust takes FILE,name=ISSUER[,age=N] or "
                    "URL[,name=ISSUER][,age=N][,pin=KEY_ID_HEX] (an https URL; plain http "
                    "only on loopback), not '%s'\n",
                    opt->values[i]);
            return CLI_USAGE;
        }
        trusts.n = i + 1;
        if (t->is_url) {
            refresh_one(v, i, true);
            continue;
        }
        if ((rc = cli_load_public(t->where, &key)) != CLI_OK) return rc;
        if (!pinned(t, agp_key_id(key))) {
            agp_key_free(key);
            return cli_fail(t->where, AGP_ERR_KEY_ID);
        }
        if ((err = agp_verifier_add_key(v, key, t->name, t->age)) != AGP_OK)
            return cli_fail(t->where, err);
        fprintf(stderr, "agepass verifier: trusting %s for age %u from %s\n", t->name, t->age,
                t->where);
    }
    return CLI_OK;
}

static int serve(int argc, char **argv)
{
    struct cli_opt o[] = {
        {.name = "--state", .required = true},
        {.name = "--listen", .required = true},
        {.name = "--trust", .required = true, .kind = CLI_REPEAT},
        {.name = "--origin"},
        {.name = "--min-age"},
        {.name = "--redis"},
        {.name = "--cross-origin", .kind = CLI_FLAG}, /* the default; kept for old configs */
        {.name = "--site-bound", .kind = CLI_FLAG},
        {.name = "--front", .kind = CLI_REPEAT},
        {.name = "--window"},
        {.name = "--session-idle"},
        {.name = "--sync-ms"},
        {.name = "--refresh"},
        {.name = "--config"},
    };
    size_t n = sizeof o / sizeof o[0];
    const char *dir;
    uint64_t min_age = 18, window = 300, idle = 1800, sync_ms = 100, refresh = 600;
    pthread_t refresh_thread;
    bool have_refresh = false;
    uint8_t secret[AGP_VERIFIER_SECRET_LEN];
    struct agp_verifier_config cfg;
    struct agp_replay *store = NULL;
    struct agp_verifier *v = NULL;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    struct http_server *d = NULL;
    struct service svc;
    char path[4096];
    sigset_t sigs;
    agp_err err;
    int rc, sig;
    size_t i;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads;

    if ((rc = cli_parse(argc, argv, o, n, usage)) != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    if (cli_get(o, n, "--config") != NULL &&
        (rc = cli_merge_config(o, n, cli_get(o, n, "--config"), usage)) != CLI_OK)
        return rc;
    signal(SIGXFSZ, SIG_IGN); /* a full disk or file limit is an error, not a death */
    signal(SIGPIPE, SIG_IGN);
    if ((cli_get(o, n, "--min-age") &&
         (!cli_parse_uint(cli_get(o, n, "--min-age"), 255, &min_age) || min_age == 0)) ||
        (cli_get(o, n, "--window") && !cli_parse_uint(cli_get(o, n, "--window"), 86400, &window)) ||
        (cli_get(o, n, "--session-idle") &&
         !cli_parse_uint(cli_get(o, n, "--session-idle"), 86400, &idle)) ||
        (cli_get(o, n, "--refresh") &&
         (!cli_parse_uint(cli_get(o, n, "--refresh"), 86400, &refresh) || refresh < 5)) ||
        (cli_get(o, n, "--sync-ms") &&
         !cli_parse_uint(cli_get(o, n, "--sync-ms"), 10000, &sync_ms))) {
        fprintf(stderr, "agepass: a numeric option is out of range\n%s", usage);
        return CLI_USAGE;
    }
    if (cli_parse_listen(cli_get(o, n, "--listen"), &addr, &addr_len) != CLI_OK) {
        fprintf(stderr, "agepass: --listen takes HOST:PORT, e.g. 127.0.0.1:8081\n");
        return CLI_USAGE;
    }
    if (cli_get(o, n, "--site-bound") != NULL && cli_get(o, n, "--cross-origin") != NULL) {
        fprintf(stderr, "agepass: --site-bound and --cross-origin contradict each other\n");
        return CLI_USAGE;
    }
    for (i = 0; i < n && strcmp(o[i].name, "--front") != 0; i++)
        continue;
    if (front_parse(&svc.front, o[i].values, o[i].count) != CLI_OK) {
        fprintf(stderr, "agepass: --front takes an IPv4 or IPv6 address, e.g. 127.0.0.1\n");
        return CLI_USAGE;
    }
    dir = cli_get(o, n, "--state");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) return cli_fail(dir, AGP_ERR_IO);
    if ((rc = load_secret(dir, secret)) != CLI_OK) return rc;

    if (cli_get(o, n, "--redis") != NULL) {
#ifdef AGP_WITH_REDIS
        err = agp_replay_open_redis(&store, cli_get(o, n, "--redis"), "agepass:spent:", 500);
#else
        err = AGP_ERR_ARG;
#endif
        if (err != AGP_OK) {
            AGP_WIPE(secret);
            return cli_fail("--redis", err);
        }
    } else {
        snprintf(path, sizeof path, "%s/replay.log", dir);
        if ((err = agp_replay_open_file(&store, path, (unsigned)sync_ms)) != AGP_OK) {
            AGP_WIPE(secret);
            return cli_fail(path, err);
        }
    }
    memset(&cfg, 0, sizeof cfg);
    cfg.origin = cli_get(o, n, "--origin") ? cli_get(o, n, "--origin") : "localhost";
    cfg.window_s = (unsigned)window;
    cfg.cross_origin = cli_get(o, n, "--site-bound") == NULL;
    cfg.cross_ttl_s = 90 * 86400;
    cfg.session_idle_s = (unsigned)idle;
    cfg.session_max_s = 12 * 3600 > idle ? 12 * 3600 : (unsigned)idle;
    rc = CLI_REJECTED;
    if ((err = agp_verifier_new(&v, &cfg, secret, store)) != AGP_OK) {
        cli_fail("verifier", err);
        goto out;
    }
    trusts.state_dir = dir;
    trusts.refresh_s = (unsigned)refresh;
    if ((rc = load_trusts(v, &o[2], (unsigned)min_age)) != CLI_OK) goto out;
    if (pthread_create(&refresh_thread, NULL, refresher, v) != 0) {
        rc = cli_fail("refresh thread", AGP_ERR_NOMEM);
        goto out;
    }
    have_refresh = true;

    svc.v = v;
    svc.min_age = (unsigned)min_age;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* MHD's threads inherit the mask */
    /*
     * One thread per core keeps the CPU busy with the embedded store; with
     * Redis each redemption waits for a round trip, so more threads (up to
     * the store's 8 connections) keep the cores busy meanwhile.
     */
    threads = (unsigned)(cpus > 1 ? cpus : 1);
    if (cli_get(o, n, "--redis") != NULL) threads = threads * 4 > 8 ? 8 : threads * 4;
    {
        struct http_config hc = {.addr = (struct sockaddr *)&addr,
                                 .threads = threads,
                                 .handler = handle,
                                 .handler_cls = &svc};
        if (http_start(&d, &hc) != 0) d = NULL;
    }
    rc = CLI_REJECTED;
    if (d == NULL) {
        fprintf(stderr, "agepass: cannot listen on %s\n", cli_get(o, n, "--listen"));
        goto out;
    }
    fprintf(stderr,
            "agepass verifier: listening on %s, origin %s, age %u%s, class header from %s\n",
            cli_get(o, n, "--listen"), cfg.origin, (unsigned)min_age,
            cfg.cross_origin ? ", cross-origin tokens accepted" : ", site-bound tokens only",
            svc.front.n ? "--front only" : "loopback only");
    sigwait(&sigs, &sig);
    fprintf(stderr, "agepass verifier: stopping\n");
    rc = CLI_OK;
out:
    if (have_refresh) {
        pthread_mutex_lock(&trusts.mu);
        trusts.stop = true;
        pthread_cond_signal(&trusts.cv);
        pthread_mutex_unlock(&trusts.mu);
        pthread_join(refresh_thread, NULL);
    }
    http_stop(d);
    agp_verifier_free(v);
    agp_replay_free(store);
    AGP_WIPE(secret);
    return rc;
}

int cmd_verifier(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "serve") == 0) return serve(argc - 1, argv + 1);
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    fputs(usage, stderr);
    return CLI_USAGE;
}
