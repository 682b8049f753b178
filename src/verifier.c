/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/verifier.c: `agepass verifier serve`, the site's verifier as an HTTP
 * service for nginx auth_request (libmicrohttpd, a thread per core).
 *
 * GET /page/required and /page/unavailable give the age-check pages nginx
 * shows instead of a protected page (pages.c); POST /redeem takes a token
 * from a form (the web wallet's answer) and, like an Authorization token,
 * opens a session, then sends the browser back to the path it wanted.
 * Every other request that is not GET /metrics is an access check:
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
#include "agepass/page.h"
#include "agepass/replay.h"
#include "agepass/token.h"
#include "agepass/util.h"
#include "agepass/verifier.h"
#include "cli.h"
#include "http.h"
#include "metrics.h"
#include "pages.h"
#include "verifier_class.h"

static const char usage[] =
    "usage: agepass verifier serve --state DIR --listen HOST:PORT --trust SOURCE...\n"
    "           [--origin NAME] [--min-age 18] [--front ADDR]... [--redis URL]\n"
    "           [--site-bound] [--window SECONDS] [--session-idle SECONDS] [--sync-ms MS]\n"
    "           [--allow-volatile-replay-store]\n"
    "           [--page-template DIR] [--redeem-url URL] [--metrics-listen HOST:PORT]\n"
    "\n"
    "Answers nginx auth_request subrequests: 200 for an open session or a good\n"
    "token, 401 with PrivateToken challenges otherwise, 503 if the replay store\n"
    "is unreachable. GET /metrics gives Prometheus counters (docs/figures-metrics.md).\n"
    "\n"
    "  --state DIR         keeps verifier-secret and (without --redis) replay.log\n"
    "  --trust SOURCE      an issuer to trust, repeatable, either\n"
    "                      FILE,name=ISSUER_NAME,expires=YYYY-MM-DD[,age=N]  an RFC 9578\n"
    "                      public key file (agepass keygen writes one), refused from\n"
    "                      that day (00:00 UTC, at most a year ahead), or\n"
    "                      URL[,name=ISSUER][,age=N][,pin=KEY_ID_HEX]...  an issuer\n"
    "                      directory (https; http only on loopback), fetched\n"
    "                      now and every --refresh seconds;\n"
    "                      name defaults to the directory's agepass-issuer-name, then\n"
    "                      the URL's host; age to the directory's\n"
    "                      agepass-age, then to --min-age; pins limit the keys taken;\n"
    "                      a key is refused 120 days after its not-before\n"
    "  --origin NAME       this site, as put in challenges (default localhost)\n"
    "  --min-age N         age class required, the least nginx may ask (default 18)\n"
    "  --front ADDR        an address of nginx whose X-Agepass-Min-Age is honoured,\n"
    "                      repeatable (default: loopback only; from elsewhere the\n"
    "                      header is refused); it may only raise the class\n"
    "  --redis URL         share the replay store: redis://HOST[:PORT][/DB]; every\n"
    "                      verifier on it needs the same verifier-secret, and Redis\n"
    "                      must persist (appendonly yes, appendfsync everysec|always)\n"
    "  --allow-volatile-replay-store  serve with a Redis that does not persist\n"
    "                      (a restart of it lets every spent token in again)\n"
    "  --site-bound        challenge only for tokens bound to this site, minted at\n"
    "                      the visit (the issuer then sees when its users browse);\n"
    "                      by default pre-fetched cross-origin tokens are also taken\n"
    "  --cross-origin      the default now; accepted and ignored\n"
    "  --window SECONDS    challenge lifetime (default 300)\n"
    "  --session-idle S    session ends after S idle seconds (default 1800)\n"
    "  --sync-ms MS        embedded store: flush to disk within MS ms (default 100; 0: always)\n"
    "  --refresh SECONDS   how often directories are fetched again (default 600)\n"
    "  --page-template DIR the age-check pages: templates, style.css, logo.svg,\n"
    "                      i18n/LANG.txt (default: the shipped deploy/pages)\n"
    "  --redeem-url URL    where web wallets post tokens back to this site\n"
    "                      (default: /_agepass/redeem on the site nginx names in\n"
    "                      X-Agepass-Site, else https://ORIGIN/_agepass/redeem)\n"
    "  --metrics-listen HOST:PORT  serve GET /metrics there only (a second\n"
    "                      listener; the main one then answers 404 to it)\n"
    "  --config FILE       options as `name value` lines (e.g. `trust URL`);\n"
    "                      the command line wins over the file\n";

/*
 * Counters for /metrics (docs/figures-metrics.md): totals only, no label
 * that could name anyone: issuer names and key ids are the operator's
 * configuration, the rest fixed lists.
 */
enum check_code { CODE_200, CODE_400, CODE_401, CODE_403, CODE_503, CODE_COUNT };
static const char *const check_codes[CODE_COUNT] = {"200", "400", "401", "403", "503"};

/* Tokens accepted for one trusted issuer and class, by scope (0 site-bound, 1 cross-origin). */
#define ACCEPT_ROWS (2 * AGP_VERIFIER_MAX_KEYS)
struct accept_row {
    char issuer[AGP_ISSUER_NAME_MAX + 1];
    unsigned age;
    atomic_ulong n[2];
};

static struct {
    atomic_ulong challenges, sessions_opened, sessions_valid, store_errors;
    atomic_ulong directory_partitions; /* directories refused: two current or next keys */
    atomic_ulong refused[AGP_REFUSAL_COUNT];
    atomic_ulong header_not_front, header_below_min;
    atomic_ulong checks[CODE_COUNT];
    atomic_ulong refreshes_ok, refreshes_failed;
    struct metrics_histogram check_latency;
    /* rows are added (under mu), never removed: a counter never goes back */
    pthread_mutex_t mu;
    struct accept_row rows[ACCEPT_ROWS];
    size_t nrows;
} stats = {.mu = PTHREAD_MUTEX_INITIALIZER};

struct service {
    struct agp_verifier *v;
    struct agp_replay *store;
    unsigned min_age;
    struct front_list front;
    struct pages *pages;
    const char *redeem_url;     /* --redeem-url, or NULL */
    char site[AGP_URI_MAX + 1]; /* scheme://host[:port] of the default redeem URL */
    unsigned session_idle_s;    /* for agepass_verifier_config_info */
    bool site_bound;
    bool metrics_apart; /* --metrics-listen: no /metrics on the main listener */
};

/* What a failed check of the Redis store means for the operator. */
static const char *store_why(agp_err err)
{
    switch (err) {
    case AGP_ERR_RANGE:
        return ": Redis does not persist (appendonly yes, appendfsync everysec or always; "
               "or --allow-volatile-replay-store)";
    case AGP_ERR_KEY:
        return ": the Redis store belongs to verifiers with another verifier-secret "
               "(copy theirs into --state)";
    default: return "";
    }
}

/* The body of POST /redeem, gathered across calls (con_cls). */
struct upload {
    char body[AGP_FORM_MAX_BYTES];
    size_t len;
    bool too_big;
};
static char is_plain_request; /* con_cls of every other request */

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

/* The row of (issuer, age), added if new; NULL if the table is full. */
static struct accept_row *accept_row(const char *issuer, unsigned age)
{
    struct accept_row *r = NULL;
    size_t i;
    pthread_mutex_lock(&stats.mu);
    for (i = 0; i < stats.nrows && r == NULL; i++)
        if (stats.rows[i].age == age && strcmp(stats.rows[i].issuer, issuer) == 0)
            r = &stats.rows[i];
    if (r == NULL && stats.nrows < ACCEPT_ROWS) {
        r = &stats.rows[stats.nrows++];
        snprintf(r->issuer, sizeof r->issuer, "%s", issuer);
        r->age = age;
    }
    pthread_mutex_unlock(&stats.mu);
    return r;
}

static void count_accepted(const struct agp_redeemed *what)
{
    struct accept_row *r = accept_row(what->issuer_name, what->age);
    if (r != NULL) atomic_fetch_add(&r->n[what->cross_origin ? 1 : 0], 1);
}

static void count_check(unsigned status, int64_t started_us)
{
    enum check_code c = status == MHD_HTTP_OK             ? CODE_200
                        : status == MHD_HTTP_BAD_REQUEST  ? CODE_400
                        : status == MHD_HTTP_FORBIDDEN    ? CODE_403
                        : status == MHD_HTTP_UNAUTHORIZED ? CODE_401
                                                          : CODE_503;
    atomic_fetch_add(&stats.checks[c], 1);
    metrics_observe(&stats.check_latency, metrics_now_us() - started_us);
}

static void trust_metrics(struct metrics_page *p); /* the directories' series, below */

static const char *const simple_counters[][2] = {
    {"agepass_verifier_challenges_total", "Challenges sent (401 with WWW-Authenticate)."},
    {"agepass_verifier_sessions_opened_total", "Sessions opened by an accepted token."},
    {"agepass_verifier_sessions_valid_total", "Access checks answered 200 by a session cookie."},
    {"agepass_verifier_store_errors_total",
     "Tokens not redeemed because the replay store failed (503)."},
};

static void write_metrics(const struct service *s, struct metrics_page *p)
{
    static const char accepted[] = "agepass_verifier_tokens_accepted_total";
    const unsigned long simple[] = {
        atomic_load(&stats.challenges), atomic_load(&stats.sessions_opened),
        atomic_load(&stats.sessions_valid), atomic_load(&stats.store_errors)};
    struct agp_verifier_key_info keys[AGP_VERIFIER_MAX_KEYS];
    size_t i, nkeys = agp_verifier_list_keys(s->v, keys, AGP_VERIFIER_MAX_KEYS);
    char name[2 * AGP_ISSUER_NAME_MAX + 1];

    metrics_common(p, "verifier");
    for (i = 0; i < sizeof simple / sizeof simple[0]; i++) {
        metrics_head(p, simple_counters[i][0], "counter", simple_counters[i][1]);
        metrics_printf(p, "%s %lu\n", simple_counters[i][0], simple[i]);
    }
    /* every trusted (issuer, class) has its rows from the first scrape on */
    for (i = 0; i < nkeys; i++)
        (void)accept_row(keys[i].issuer_name, keys[i].age);
    metrics_head(p, accepted, "counter",
                 "Tokens accepted, by trusted issuer, age class of the key, and challenge scope.");
    pthread_mutex_lock(&stats.mu);
    for (i = 0; i < stats.nrows; i++) {
        const struct accept_row *r = &stats.rows[i];
        metrics_escape(name, sizeof name, r->issuer);
        metrics_printf(p, "%s{issuer=\"%s\",age=\"%u\",scope=\"cross_origin\"} %lu\n", accepted,
                       name, r->age, atomic_load(&r->n[1]));
        metrics_printf(p, "%s{issuer=\"%s\",age=\"%u\",scope=\"site_bound\"} %lu\n", accepted, name,
                       r->age, atomic_load(&r->n[0]));
    }
    pthread_mutex_unlock(&stats.mu);
    metrics_head(p, "agepass_verifier_tokens_refused_total", "counter",
                 "Tokens refused (401), by reason.");
    for (i = 1; i < AGP_REFUSAL_COUNT; i++) {
        if (i == AGP_REFUSED_STORE) continue; /* counted as store_errors */
        metrics_printf(p, "agepass_verifier_tokens_refused_total{reason=\"%s\"} %lu\n",
                       agp_refusal_name((enum agp_refusal)i), atomic_load(&stats.refused[i]));
    }
    metrics_head(p, "agepass_verifier_directory_refused_total", "counter",
                 "Issuer directories refused, by reason.");
    metrics_printf(p, "agepass_verifier_directory_refused_total{reason=\"key_partition\"} %lu\n",
                   atomic_load(&stats.directory_partitions));
    metrics_head(p, "agepass_verifier_class_headers_not_taken_total", "counter",
                 "X-Agepass-Min-Age headers not taken as given, by reason.");
    metrics_printf(p,
                   "agepass_verifier_class_headers_not_taken_total{reason=\"not_front\"} %lu\n"
                   "agepass_verifier_class_headers_not_taken_total{reason=\"below_min_age\"} %lu\n",
                   atomic_load(&stats.header_not_front), atomic_load(&stats.header_below_min));
    metrics_head(p, "agepass_verifier_checks_total", "counter",
                 "Access checks, by the status answered.");
    for (i = 0; i < CODE_COUNT; i++)
        metrics_printf(p, "agepass_verifier_checks_total{code=\"%s\"} %lu\n", check_codes[i],
                       atomic_load(&stats.checks[i]));
    metrics_head(p, "agepass_verifier_check_duration_seconds", "histogram",
                 "Time to answer an access check.");
    metrics_histogram(p, "agepass_verifier_check_duration_seconds", "", &stats.check_latency);
    trust_metrics(p);
    metrics_head(p, "agepass_verifier_key_expiry_timestamp_seconds", "gauge",
                 "When each trusted key stops being accepted, Unix seconds.");
    for (i = 0; i < nkeys; i++)
        metrics_printf(p,
                       "agepass_verifier_key_expiry_timestamp_seconds{issuer=\"%s\",age=\"%u\","
                       "key=\"%02x%02x%02x%02x\"} %lld\n",
                       metrics_escape(name, sizeof name, keys[i].issuer_name), keys[i].age,
                       keys[i].key_id[0], keys[i].key_id[1], keys[i].key_id[2], keys[i].key_id[3],
                       (long long)keys[i].expires_at);
    metrics_head(p, "agepass_verifier_config_info", "gauge",
                 "The verifier's configuration in force: always 1.");
    metrics_printf(p,
                   "agepass_verifier_config_info{min_age=\"%u\",session_seconds=\"%u\","
                   "site_bound=\"%d\"} 1\n",
                   s->min_age, s->session_idle_s, s->site_bound ? 1 : 0);
}

static enum MHD_Result metrics(void *cls, struct MHD_Connection *conn)
{
    struct metrics_page p = {0};
    write_metrics(cls, &p);
    return metrics_send(conn, &p);
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

/* 401 with fresh challenges for age class age (503 if there is none); *status: which. */
static enum MHD_Result challenge(struct service *s, struct MHD_Connection *conn, unsigned age,
                                 unsigned *status)
{
    static _Thread_local char www[AGP_HEADER_MAX];
    size_t len;
    agp_err err = agp_verifier_challenge(s->v, www, sizeof www, &len, age, (int64_t)time(NULL));
    if (err != AGP_OK) {
        fprintf(stderr, "agepass verifier: no challenge for age class %u: %s\n", age,
                agp_err_str(err));
        *status = MHD_HTTP_SERVICE_UNAVAILABLE;
        return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "age check unavailable\n", "text/plain",
                     NULL, NULL);
    }
    atomic_fetch_add(&stats.challenges, 1);
    *status = MHD_HTTP_UNAUTHORIZED;
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

/*
 * The web wallets of the trusted directories that publish one, by trust
 * source: written by the directory refresh, read by the page.
 */
static struct {
    pthread_mutex_t mu;
    char provider[CLI_MAX_REPEAT][AGP_ISSUER_NAME_MAX + 1];
    char url[CLI_MAX_REPEAT][AGP_URI_MAX + 1];
} wallets = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void set_wallet(size_t index, const char *provider, const char *url)
{
    if (index >= CLI_MAX_REPEAT) return;
    pthread_mutex_lock(&wallets.mu);
    snprintf(wallets.provider[index], sizeof wallets.provider[index], "%s", provider);
    snprintf(wallets.url[index], sizeof wallets.url[index], "%s", url);
    pthread_mutex_unlock(&wallets.mu);
}

/* An age-check page (malloc'd body, taken) with its status and headers. */
static enum MHD_Result reply_page(struct service *s, struct MHD_Connection *conn, unsigned status,
                                  char *body, size_t len, const char *www)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret;
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
    MHD_add_response_header(r, "Content-Security-Policy", pages_csp(s->pages));
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Vary", "Accept-Language");
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE) MHD_add_response_header(r, "Retry-After", "5");
    if (www) MHD_add_response_header(r, "WWW-Authenticate", www);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result unavailable_page(struct service *s, struct MHD_Connection *conn)
{
    char *body;
    size_t len;
    const char *lang = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Language");
    if (pages_unavailable(s->pages, &body, &len, lang) != AGP_OK)
        return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "age check unavailable\n", "text/plain",
                     NULL, NULL);
    return reply_page(s, conn, MHD_HTTP_SERVICE_UNAVAILABLE, body, len, NULL);
}

static bool site_of(char *out, size_t cap, const char *url);

/*
 * This site (for the CLI line) and its redemption URL: --redeem-url, else
 * the site nginx names (X-Agepass-Site: $scheme://$http_host, which the
 * browser itself sent, so it can only point a person back where they are),
 * else https://ORIGIN.
 */
static void site_and_redeem(const struct service *s, struct MHD_Connection *conn,
                            char site[AGP_URI_MAX + 1], char redeem[AGP_URI_MAX + 32])
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Agepass-Site");
    char given[AGP_URI_MAX + 1];
    if (s->redeem_url != NULL) {
        snprintf(site, AGP_URI_MAX + 1, "%s", s->site);
        snprintf(redeem, AGP_URI_MAX + 32, "%s", s->redeem_url);
        return;
    }
    if (h != NULL && strlen(h) <= AGP_URI_MAX && site_of(given, sizeof given, h) &&
        strcmp(given, h) == 0) {
        snprintf(site, AGP_URI_MAX + 1, "%s", h);
    } else {
        snprintf(site, AGP_URI_MAX + 1, "%s", s->site);
    }
    snprintf(redeem, AGP_URI_MAX + 32, "%s/_agepass/redeem", site);
}

/* A challenge header value nginx passes on: printable ASCII, bounded. */
static bool plain_header(const char *h)
{
    size_t i, n = strnlen(h, AGP_HEADER_MAX + 1);
    if (n == 0 || n > AGP_HEADER_MAX) return false;
    for (i = 0; i < n; i++)
        if ((unsigned char)h[i] < 0x20 || (unsigned char)h[i] > 0x7e) return false;
    return true;
}

/*
 * The 401 page with status (401, or 400 for a bad redemption form): the
 * challenge is the one nginx got from the check (X-Agepass-Challenge) or,
 * when there is none, a fresh one; add_www sends it too (nginx adds its own
 * on the pages it fetches, so they must not carry a second one).
 */
static enum MHD_Result required_page(struct service *s, struct MHD_Connection *conn,
                                     unsigned status, unsigned age, const char *ret, bool add_www)
{
    static _Thread_local char www[AGP_HEADER_MAX + 1];
    char site[AGP_URI_MAX + 1], redeem[AGP_URI_MAX + 32];
    struct page_wallet list[CLI_MAX_REPEAT];
    const char *lang = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Language");
    const char *given = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Agepass-Challenge");
    size_t n = 0, i, len;
    char *body = NULL;
    agp_err err;

    if (given != NULL && plain_header(given) && !add_www) {
        memcpy(www, given, strlen(given) + 1);
    } else if (agp_verifier_challenge(s->v, www, sizeof www, &len, age, (int64_t)time(NULL)) !=
               AGP_OK) {
        return unavailable_page(s, conn);
    } else {
        atomic_fetch_add(&stats.challenges, 1);
    }
    if (ret == NULL || !agp_return_path_ok(ret, strlen(ret))) ret = "/";
    site_and_redeem(s, conn, site, redeem);
    pthread_mutex_lock(&wallets.mu);
    for (i = 0; i < CLI_MAX_REPEAT; i++)
        if (wallets.url[i][0] != '\0')
            list[n++] = (struct page_wallet){wallets.provider[i], wallets.url[i]};
    err = pages_required(s->pages, &body, &len, lang, www, redeem, site, ret, list, n);
    pthread_mutex_unlock(&wallets.mu);
    if (err != AGP_OK) {
        fprintf(stderr, "agepass verifier: cannot fill the age-check page: %s\n", agp_err_str(err));
        return unavailable_page(s, conn);
    }
    return reply_page(s, conn, status, body, len, add_www ? www : NULL);
}

/*
 * Redeems an Authorization value (from the header, or made from the
 * redemption form): the one path for both, with the same refusals and
 * counters. Returns 200 (set_cookie filled), 401 or 503.
 */
static unsigned redeem_authz(struct service *s, char set_cookie[AGP_COOKIE_MAX], const char *authz,
                             bool duplicated, unsigned age, int64_t now)
{
    struct agp_redeemed what;
    enum agp_refusal why;
    agp_err err;
    if (duplicated) {
        why = AGP_REFUSED_MALFORMED;
        err = AGP_ERR_SYNTAX;
    } else {
        err = agp_verifier_redeem_info(s->v, &what, &why, set_cookie, AGP_COOKIE_MAX, authz,
                                       strlen(authz), age, now);
    }
    if (err == AGP_OK) {
        count_accepted(&what);
        atomic_fetch_add(&stats.sessions_opened, 1);
        return MHD_HTTP_OK;
    }
    if (err == AGP_ERR_IO) {
        atomic_fetch_add(&stats.store_errors, 1);
        fprintf(stderr, "agepass verifier: replay store unavailable: token refused (503)%s\n",
                store_why(agp_replay_health(s->store)));
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    }
    atomic_fetch_add(&stats.refused[why], 1);
    fprintf(stderr, "agepass verifier: token refused: %s (%s)\n", agp_refusal_name(why),
            agp_err_str(err));
    return MHD_HTTP_UNAUTHORIZED;
}

/*
 * POST /redeem: token=B64URL&return=/PATH from the web wallet. The return
 * path is checked before the token is spent (a bad form costs no token);
 * then the token is redeemed as an Authorization token would be, and the
 * answer is 303 to that path with the session cookie (SameSite=Lax cookies
 * may be set by a cross-site top-level navigation, and are sent on the
 * GET it is redirected to).
 */
static enum MHD_Result redeem_form(struct service *s, struct MHD_Connection *conn,
                                   const struct upload *up)
{
    static _Thread_local char token[AGP_FORM_MAX_BYTES], ret[AGP_FORM_MAX_BYTES],
        authz[AGP_FORM_MAX_BYTES + 32];
    const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    char set_cookie[AGP_COOKIE_MAX];
    unsigned age, status;
    int w;
    struct MHD_Response *r;
    enum MHD_Result result;

    if (!needed_class(s, conn, &age))
        return reply(conn, MHD_HTTP_BAD_REQUEST, "bad age class\n", "text/plain", NULL, NULL);
    if (up->too_big || ctype == NULL ||
        strncasecmp(ctype, "application/x-www-form-urlencoded", 33) != 0 ||
        (ctype[33] != '\0' && ctype[33] != ';') ||
        agp_redeem_form_parse(token, sizeof token, ret, sizeof ret, up->body, up->len) != AGP_OK ||
        !agp_return_path_ok(ret, strlen(ret))) {
        atomic_fetch_add(&stats.refused[AGP_REFUSED_MALFORMED], 1);
        fprintf(stderr, "agepass verifier: redemption form refused: malformed, or a return path "
                        "off this site\n");
        return required_page(s, conn, MHD_HTTP_BAD_REQUEST, age, "/", true);
    }
    w = snprintf(authz, sizeof authz, "PrivateToken token=\"%s\"", token);
    if (w < 0 || (size_t)w >= sizeof authz) return MHD_NO; /* the form reader bounds token */
    status = redeem_authz(s, set_cookie, authz, false, age, (int64_t)time(NULL));
    agp_wipe(token, sizeof token);
    agp_wipe(authz, sizeof authz);
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE) return unavailable_page(s, conn);
    if (status != MHD_HTTP_OK) return required_page(s, conn, MHD_HTTP_UNAUTHORIZED, age, ret, true);
    r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (r == NULL) return MHD_NO;
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Location", ret);
    MHD_add_response_header(r, "Set-Cookie", set_cookie);
    result = MHD_queue_response(conn, MHD_HTTP_SEE_OTHER, r);
    MHD_destroy_response(r);
    return result;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    if (*con_cls != NULL && *con_cls != &is_plain_request) free(*con_cls);
    *con_cls = NULL;
}

/*
 * An access check (nginx's auth_request): a session, a token, or a
 * challenge. *status is what it answers, for the metrics.
 */
static enum MHD_Result access_check(struct service *s, struct MHD_Connection *conn, int64_t now,
                                    unsigned *status)
{
    const char *authz, *cookie;
    char set_cookie[AGP_COOKIE_MAX];
    unsigned age = s->min_age;
    agp_err err;

    *status = MHD_HTTP_BAD_REQUEST;
    if (!needed_class(s, conn, &age))
        return reply(conn, MHD_HTTP_BAD_REQUEST, "bad age class\n", "text/plain", NULL, NULL);
    cookie = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Cookie");
    err = cookie == NULL ? AGP_ERR_NOT_FOUND
                         : agp_verifier_session(s->v, set_cookie, sizeof set_cookie, cookie,
                                                strlen(cookie), age, now);
    if (err == AGP_OK) {
        atomic_fetch_add(&stats.sessions_valid, 1);
        *status = MHD_HTTP_OK;
        return reply(conn, MHD_HTTP_OK, "", NULL, NULL, set_cookie);
    }
    if (err == AGP_ERR_RANGE) { /* a good session of a lower class: not for this page */
        atomic_fetch_add(&stats.refused[AGP_REFUSED_WRONG_CLASS], 1);
        fprintf(stderr, "agepass verifier: session refused: wrong_class (below class %u)\n", age);
    }

    authz = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (authz != NULL) {
        *status =
            redeem_authz(s, set_cookie, authz, header_count(conn, "Authorization") > 1, age, now);
        if (*status == MHD_HTTP_OK) return reply(conn, MHD_HTTP_OK, "", NULL, NULL, set_cookie);
        if (*status == MHD_HTTP_SERVICE_UNAVAILABLE)
            return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "age check unavailable\n",
                         "text/plain", NULL, NULL);
    }
    return challenge(s, conn, age, status);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_size, void **con_cls)
{
    struct service *s = cls;
    unsigned age = s->min_age, status;
    int64_t now = (int64_t)time(NULL), started;
    enum MHD_Result ret;
    (void)version;

    if (*con_cls == NULL) { /* first call: headers only */
        if (strcmp(method, "POST") == 0 && strcmp(url, "/redeem") == 0) {
            if ((*con_cls = calloc(1, sizeof(struct upload))) == NULL) return MHD_NO;
        } else {
            *con_cls = &is_plain_request;
        }
        return MHD_YES;
    }
    if (*con_cls != &is_plain_request) { /* POST /redeem */
        struct upload *up = *con_cls;
        if (*upload_size != 0) {
            if (*upload_size > sizeof up->body - up->len)
                up->too_big = true;
            else
                memcpy(up->body + up->len, upload_data, *upload_size);
            if (!up->too_big) up->len += *upload_size;
            *upload_size = 0;
            return MHD_YES;
        }
        return redeem_form(s, conn, up);
    }
    if (*upload_size != 0) { /* an access check carries no body */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", "text/plain", NULL,
                     NULL);
    if (strcmp(url, "/metrics") == 0)
        return s->metrics_apart
                   ? reply(conn, MHD_HTTP_NOT_FOUND, "not found\n", "text/plain", NULL, NULL)
                   : metrics(s, conn);

    if (strcmp(url, "/page/required") == 0 || strcmp(url, "/page/unavailable") == 0) {
        if (!needed_class(s, conn, &age))
            return reply(conn, MHD_HTTP_BAD_REQUEST, "bad age class\n", "text/plain", NULL, NULL);
        if (strcmp(url, "/page/unavailable") == 0) return unavailable_page(s, conn);
        return required_page(s, conn, MHD_HTTP_UNAUTHORIZED, age,
                             MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Agepass-Return"),
                             false);
    }
    started = metrics_now_us();
    ret = access_check(s, conn, now, &status);
    count_check(status, started);
    return ret;
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
/* A key file's expires= is at most this far ahead: keys should rotate. */
#define MAX_FILE_KEY_LIFE_S (366 * 86400)

struct trust {
    char spec[1024];
    const char *where; /* the file or URL */
    char name[AGP_ISSUER_NAME_MAX + 1];
    unsigned age; /* from age=, for keys whose directory entry does not say */
    uint8_t pins[MAX_PINS][AGP_SHA256_LEN];
    size_t npins;
    int64_t expires; /* a key file's expires=, Unix seconds; 0 for a URL */
    bool is_url;
    bool name_given; /* name= was given: it wins over the directory's */
};

static struct {
    struct trust t[CLI_MAX_REPEAT];
    atomic_llong last_success[CLI_MAX_REPEAT]; /* Unix seconds of each directory's last fetch */
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
        } else if (strncmp(field, "expires=", 8) == 0 && !t->is_url && t->expires == 0 &&
                   agp_date_parse(&t->expires, field + 8, strlen(field + 8)) == AGP_OK &&
                   t->expires > 0) {
            /* kept in t */
        } else if (strncmp(field, "pin=", 4) == 0 && t->npins < MAX_PINS &&
                   cli_parse_hex(t->pins[t->npins], AGP_SHA256_LEN, field + 4)) {
            t->npins++;
        } else {
            return CLI_USAGE;
        }
    }
    t->age = (unsigned)age;
    if (!t->is_url && t->expires == 0) return CLI_USAGE; /* a key file's lifetime is given */
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
    bool keep[AGP_DIR_MAX_KEYS];
    agp_err err;

    if ((err = agp_directory_parse(&d, (const char *)json, len)) != AGP_OK) return err;
    if ((err = agp_directory_check_keys(&d, t->age, (int64_t)time(NULL), keep)) != AGP_OK) {
        atomic_fetch_add(&stats.directory_partitions, 1);
        fprintf(stderr,
                "agepass verifier: %s: directory refused (key_partition): more than one current "
                "or next key for an age class; the keys trusted before are kept\n",
                t->where);
        return err;
    }
    /* the issuer's own name for its challenges, unless the operator chose one */
    if (!t->name_given && d.issuer_name[0] != '\0') {
        pthread_mutex_lock(&trusts.mu); /* the metrics page reads it */
        memcpy(t->name, d.issuer_name, strlen(d.issuer_name) + 1);
        pthread_mutex_unlock(&trusts.mu);
    }
    for (i = 0; i < d.count; i++) {
        struct agp_key *key = NULL;
        unsigned age = d.keys[i].age ? d.keys[i].age : t->age;
        if (d.keys[i].token_type != AGP_TOKEN_TYPE_BLIND_RSA) continue;
        if (!keep[i]) { /* superseded by a later key of its class */
            bad++;
            continue;
        }
        if (!d.keys[i].has_not_before) { /* its end (not-before + 120 days) is unknown */
            fprintf(stderr, "agepass verifier: %s: a key without not-before is ignored\n",
                    t->where);
            bad++;
            continue;
        }
        if (agp_key_load_spki(&key, d.keys[i].token_key, d.keys[i].token_key_len) != AGP_OK) {
            bad++;
            continue;
        }
        if (!pinned(t, agp_key_id(key))) {
            fprintf(stderr, "agepass verifier: %s: a key not pinned is ignored\n", t->where);
            agp_key_free(key);
            continue;
        }
        /* expires_at 0: accepted AGP_KEY_LIFE_S after its not-before */
        keys[n++] = (struct agp_verifier_key){key, t->name, age, d.keys[i].not_before, 0};
    }
    if ((err = agp_verifier_replace_keys(v, (unsigned)index + 1, keys, n, &dropped)) != AGP_OK)
        return err;
    set_wallet(index, t->name, d.wallet_url);
    fprintf(stderr, "agepass verifier: %s: %zu keys of %s trusted, %zu ignored\n", t->where,
            n - dropped, t->name, dropped + bad);
    return AGP_OK;
}

/*
 * The directories' series (only when some --trust is a URL): refreshes by
 * result, and each directory's last good fetch under its issuer's name.
 */
static void trust_metrics(struct metrics_page *p)
{
    char name[2 * AGP_ISSUER_NAME_MAX + 1];
    size_t i, urls = 0;
    for (i = 0; i < trusts.n; i++)
        urls += trusts.t[i].is_url;
    if (urls == 0) return;
    metrics_head(p, "agepass_verifier_directory_refreshes_total", "counter",
                 "Fetches of the trusted issuers' directories, by result.");
    metrics_printf(p,
                   "agepass_verifier_directory_refreshes_total{result=\"ok\"} %lu\n"
                   "agepass_verifier_directory_refreshes_total{result=\"failed\"} %lu\n",
                   atomic_load(&stats.refreshes_ok), atomic_load(&stats.refreshes_failed));
    metrics_head(
        p, "agepass_verifier_directory_last_success_timestamp_seconds", "gauge",
        "When each trusted directory was last fetched and taken, Unix seconds (0: never).");
    /*
     * the name is read while the refresh thread may write it (a directory's
     * own name, set once it is first fetched): a copy under trusts.mu
     */
    for (i = 0; i < trusts.n; i++) {
        if (!trusts.t[i].is_url) continue;
        pthread_mutex_lock(&trusts.mu);
        metrics_escape(name, sizeof name, trusts.t[i].name);
        pthread_mutex_unlock(&trusts.mu);
        metrics_printf(p,
                       "agepass_verifier_directory_last_success_timestamp_seconds{issuer=\"%s\"} "
                       "%lld\n",
                       name, atomic_load(&trusts.last_success[i]));
    }
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
        atomic_fetch_add(&stats.refreshes_ok, 1);
        atomic_store(&trusts.last_success[index], (long long)time(NULL));
        if (cli_output(cache, body, len, 0600) != CLI_OK)
            fprintf(stderr, "agepass verifier: cannot cache %s\n", t->where);
    } else {
        atomic_fetch_add(&stats.refreshes_failed, 1);
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
                    "agepass: --trust takes FILE,name=ISSUER,expires=YYYY-MM-DD[,age=N] or "
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
        if (t->expires > (int64_t)time(NULL) + MAX_FILE_KEY_LIFE_S) {
            agp_key_free(key);
            fprintf(stderr, "agepass: %s: expires= is more than a year ahead\n", t->where);
            return CLI_USAGE;
        }
        if ((err = agp_verifier_add_key(v, key, t->name, t->age, t->expires)) != AGP_OK)
            return cli_fail(t->where, err);
        fprintf(stderr, "agepass verifier: trusting %s for age %u from %s until %lld%s\n", t->name,
                t->age, t->where, (long long)t->expires,
                t->expires <= (int64_t)time(NULL) ? " (expired: its tokens are refused)" : "");
    }
    return CLI_OK;
}

/* scheme://host[:port] of an http(s) URL with a path, into out. */
static bool site_of(char *out, size_t cap, const char *url)
{
    size_t start, end;
    if (!cli_url_safe(url, AGP_URI_MAX)) return false; /* https, or http to loopback */
    start = strncmp(url, "https://", 8) == 0 ? 8 : strncmp(url, "http://", 7) == 0 ? 7 : 0;
    if (start == 0) return false;
    for (end = start; url[end] != '\0' && url[end] != '/'; end++)
        if ((unsigned char)url[end] <= 0x20 || url[end] == '#' || url[end] == '?' ||
            url[end] == '"' || url[end] == '<' || url[end] == '>')
            return false;
    if (end == start || end >= cap || strlen(url) > AGP_URI_MAX) return false;
    memcpy(out, url, end);
    out[end] = '\0';
    return true;
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
        {.name = "--allow-volatile-replay-store", .kind = CLI_FLAG},
        {.name = "--page-template"},
        {.name = "--redeem-url"},
        {.name = "--metrics-listen"},
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
    struct http_server *d = NULL, *md = NULL;
    struct service svc = {0};
    char redeem_default[AGP_URI_MAX + 1];
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
    metrics_started();
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
        /* verifiers sharing a store must share the secret that keys its tags */
        uint8_t owner[AGP_REPLAY_OWNER_LEN];
        struct agp_replay_redis_config rc_cfg = {cli_get(o, n, "--redis"),
                                                 "agepass:spent:",
                                                 500,
                                                 owner,
                                                 cli_get(o, n, "--allow-volatile-replay-store") !=
                                                     NULL,
                                                 60};
#ifdef AGP_WITH_REDIS
        err = agp_replay_tag(owner, secret, sizeof secret, (const uint8_t *)"agepass-replay-owner",
                             20);
        if (err == AGP_OK) err = agp_replay_open_redis_checked(&store, &rc_cfg);
#else
        (void)rc_cfg;
        err = AGP_ERR_ARG;
#endif
        if (err != AGP_OK) {
            AGP_WIPE(secret);
            fprintf(stderr, "agepass: --redis: refused%s\n", store_why(err));
            return cli_fail("--redis", err);
        }
        if (rc_cfg.allow_volatile)
            fprintf(stderr, "agepass verifier: --allow-volatile-replay-store: Redis persistence "
                            "is not checked; a Redis restart may let spent tokens in again\n");
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
    cfg.key_life_s = AGP_KEY_LIFE_S;
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
    svc.store = store;
    svc.min_age = (unsigned)min_age;
    svc.session_idle_s = cfg.session_idle_s;
    svc.site_bound = !cfg.cross_origin;
    svc.metrics_apart = cli_get(o, n, "--metrics-listen") != NULL;
    rc = CLI_REJECTED;
    if (pages_load(&svc.pages, cli_get(o, n, "--page-template") ? cli_get(o, n, "--page-template")
                                                                : AGP_PAGES_DIR) != CLI_OK)
        goto out;
    snprintf(redeem_default, sizeof redeem_default, "https://%s/_agepass/redeem", cfg.origin);
    svc.redeem_url = cli_get(o, n, "--redeem-url");
    if (!site_of(svc.site, sizeof svc.site, svc.redeem_url ? svc.redeem_url : redeem_default)) {
        fprintf(stderr, "agepass: --redeem-url takes an http(s) URL, e.g. "
                        "https://shop.example/_agepass/redeem\n");
        rc = CLI_USAGE;
        goto out;
    }
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
                                 .handler_cls = &svc,
                                 .completed = completed};
        if (http_start(&d, &hc) != 0) d = NULL;
    }
    rc = CLI_REJECTED;
    if (d == NULL) {
        fprintf(stderr, "agepass: cannot listen on %s\n", cli_get(o, n, "--listen"));
        goto out;
    }
    if (svc.metrics_apart &&
        metrics_listen_start(&md, cli_get(o, n, "--metrics-listen"), metrics, &svc) != 0)
        goto out;
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
    http_stop(md);
    http_stop(d);
    agp_verifier_free(v);
    agp_replay_free(store);
    pages_free(svc.pages);
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
