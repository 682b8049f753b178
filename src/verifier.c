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
 * that nginx may set per location. Reasons for refusals go to stderr and
 * /metrics, never to the client. Nothing logged names a token, nonce,
 * cookie or client address.
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
#include "agepass/replay.h"
#include "agepass/util.h"
#include "agepass/verifier.h"
#include "cli.h"

static const char usage[] =
    "usage: agepass verifier serve --state DIR --listen HOST:PORT --trust SOURCE...\n"
    "           [--origin NAME] [--min-age 18] [--redis URL] [--cross-origin]\n"
    "           [--window SECONDS] [--session-idle SECONDS] [--sync-ms MS]\n"
    "\n"
    "Answers nginx auth_request subrequests: 200 for an open session or a good\n"
    "token, 401 with PrivateToken challenges otherwise, 503 if the replay store\n"
    "is unreachable. GET /metrics gives Prometheus counters.\n"
    "\n"
    "  --state DIR         keeps verifier-secret and (without --redis) replay.log\n"
    "  --trust SOURCE      an issuer key to trust, repeatable:\n"
    "                      FILE,name=ISSUER_NAME[,age=N]  (an RFC 9578 public key\n"
    "                      as written by agepass keygen; age defaults to --min-age)\n"
    "  --origin NAME       this site, as put in challenges (default localhost)\n"
    "  --min-age N         age class required when nginx does not say (default 18)\n"
    "  --redis URL         share the replay store: redis://HOST[:PORT][/DB]\n"
    "  --cross-origin      also accept pre-fetched cross-origin tokens\n"
    "  --window SECONDS    challenge lifetime (default 300)\n"
    "  --session-idle S    session ends after S idle seconds (default 1800)\n"
    "  --sync-ms MS        embedded store: flush to disk within MS ms (default 100; 0: always)\n";

/* Counters for /metrics: totals only, no label that could name anyone. */
static struct {
    atomic_ulong challenges, accepted, sessions_opened, sessions_valid, store_errors;
    atomic_ulong refused[AGP_REFUSAL_COUNT];
} stats;

struct service {
    struct agp_verifier *v;
    unsigned min_age;
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
                 "# TYPE agepass_verifier_tokens_refused_total counter\n",
                 atomic_load(&stats.challenges), atomic_load(&stats.accepted),
                 atomic_load(&stats.sessions_opened), atomic_load(&stats.sessions_valid),
                 atomic_load(&stats.store_errors));
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

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_size, void **con_cls)
{
    struct service *s = cls;
    const char *authz, *cookie, *age_h;
    char set_cookie[AGP_COOKIE_MAX];
    unsigned age = s->min_age;
    uint64_t age64;
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

    age_h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Agepass-Min-Age");
    if (age_h != NULL && (!cli_parse_uint(age_h, 255, &age64) || age64 == 0)) {
        fprintf(stderr, "agepass verifier: bad X-Agepass-Min-Age from the proxy\n");
        return reply(conn, MHD_HTTP_BAD_REQUEST, "bad age class\n", "text/plain", NULL, NULL);
    }
    if (age_h != NULL) age = (unsigned)age64;

    cookie = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Cookie");
    if (cookie != NULL && agp_verifier_session(s->v, set_cookie, sizeof set_cookie, cookie,
                                               strlen(cookie), age, now) == AGP_OK) {
        atomic_fetch_add(&stats.sessions_valid, 1);
        return reply(conn, MHD_HTTP_OK, "", NULL, NULL, set_cookie);
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
    uint8_t *buf = NULL;
    size_t len = 0;
    struct stat st;
    snprintf(path, sizeof path, "%s/verifier-secret", dir);
    if (stat(path, &st) != 0) {
        if (agp_random(secret, AGP_VERIFIER_SECRET_LEN) != AGP_OK)
            return cli_fail("verifier secret", AGP_ERR_RANDOM);
        return cli_output(path, secret, AGP_VERIFIER_SECRET_LEN, 0600);
    }
    if ((st.st_mode & 077) != 0) {
        fprintf(stderr, "agepass: %s is readable by others; chmod 600 it\n", path);
        return CLI_REJECTED;
    }
    if (cli_input(path, AGP_VERIFIER_SECRET_LEN + 1, &buf, &len) != CLI_OK) return CLI_REJECTED;
    if (len != AGP_VERIFIER_SECRET_LEN) {
        cli_free(buf, len);
        return cli_fail(path, AGP_ERR_LENGTH);
    }
    memcpy(secret, buf, len);
    cli_free(buf, len);
    return CLI_OK;
}

/* --trust FILE,name=ISSUER[,age=N] */
static int add_trust(struct agp_verifier *v, const char *spec, unsigned default_age)
{
    char buf[1024], *fields[4], *name = NULL, *p;
    size_t nf = 0, i;
    uint64_t age = default_age;
    struct agp_key *key = NULL;
    agp_err err;
    int rc;

    if (strlen(spec) >= sizeof buf) return cli_fail("--trust", AGP_ERR_TOO_BIG);
    memcpy(buf, spec, strlen(spec) + 1);
    for (p = buf; nf < 4; nf++) {
        fields[nf] = p;
        if ((p = strchr(p, ',')) == NULL) {
            nf++;
            break;
        }
        *p++ = '\0';
    }
    for (i = 1; i < nf; i++) {
        if (strncmp(fields[i], "name=", 5) == 0) {
            name = fields[i] + 5;
        } else if (strncmp(fields[i], "age=", 4) == 0) {
            if (!cli_parse_uint(fields[i] + 4, 255, &age) || age == 0) break;
        } else {
            break;
        }
    }
    if (i < nf || p != NULL || name == NULL || name[0] == '\0') {
        fprintf(stderr, "agepass: --trust takes FILE,name=ISSUER_NAME[,age=N], not '%s'\n", spec);
        return CLI_USAGE;
    }
    if ((rc = cli_load_public(fields[0], &key)) != CLI_OK) return rc;
    if ((err = agp_verifier_add_key(v, key, name, (unsigned)age)) != AGP_OK)
        return cli_fail(fields[0], err);
    fprintf(stderr, "agepass verifier: trusting %s for age %u from %s\n", name, (unsigned)age,
            fields[0]);
    return CLI_OK;
}

/* HOST:PORT, [V6]:PORT -> a socket address. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(s, ':'), *h = s;
    size_t hl;
    uint64_t port;
    struct addrinfo hints, *res = NULL;
    if (colon == NULL || !cli_parse_uint(colon + 1, 65535, &port) || port == 0) return CLI_USAGE;
    hl = (size_t)(colon - s);
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') h = s + 1, hl -= 2;
    if (hl == 0 || hl >= sizeof host) return CLI_USAGE;
    memcpy(host, h, hl);
    host[hl] = '\0';
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL) return CLI_USAGE;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
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
        {.name = "--cross-origin", .kind = CLI_FLAG},
        {.name = "--window"},
        {.name = "--session-idle"},
        {.name = "--sync-ms"},
    };
    size_t n = sizeof o / sizeof o[0], i;
    const char *dir;
    uint64_t min_age = 18, window = 300, idle = 1800, sync_ms = 100;
    uint8_t secret[AGP_VERIFIER_SECRET_LEN];
    struct agp_verifier_config cfg;
    struct agp_replay *store = NULL;
    struct agp_verifier *v = NULL;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    struct MHD_Daemon *d = NULL;
    struct service svc;
    char path[4096];
    sigset_t sigs;
    agp_err err;
    int rc, sig;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if ((rc = cli_parse(argc, argv, o, n, usage)) != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    signal(SIGXFSZ, SIG_IGN); /* a full disk or file limit is an error, not a death */
    signal(SIGPIPE, SIG_IGN);
    if ((cli_get(o, n, "--min-age") &&
         (!cli_parse_uint(cli_get(o, n, "--min-age"), 255, &min_age) || min_age == 0)) ||
        (cli_get(o, n, "--window") && !cli_parse_uint(cli_get(o, n, "--window"), 86400, &window)) ||
        (cli_get(o, n, "--session-idle") &&
         !cli_parse_uint(cli_get(o, n, "--session-idle"), 86400, &idle)) ||
        (cli_get(o, n, "--sync-ms") &&
         !cli_parse_uint(cli_get(o, n, "--sync-ms"), 10000, &sync_ms))) {
        fprintf(stderr, "agepass: a numeric option is out of range\n%s", usage);
        return CLI_USAGE;
    }
    if (parse_listen(cli_get(o, n, "--listen"), &addr, &addr_len) != CLI_OK) {
        fprintf(stderr, "agepass: --listen takes HOST:PORT, e.g. 127.0.0.1:8081\n");
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
    cfg.cross_origin = cli_get(o, n, "--cross-origin") != NULL;
    cfg.cross_ttl_s = 90 * 86400;
    cfg.session_idle_s = (unsigned)idle;
    cfg.session_max_s = 12 * 3600 > idle ? 12 * 3600 : (unsigned)idle;
    rc = CLI_REJECTED;
    if ((err = agp_verifier_new(&v, &cfg, secret, store)) != AGP_OK) {
        cli_fail("verifier", err);
        goto out;
    }
    for (i = 0; i < o[2].count; i++)
        if ((rc = add_trust(v, o[2].values[i], (unsigned)min_age)) != CLI_OK) goto out;

    svc.v = v;
    svc.min_age = (unsigned)min_age;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* MHD's threads inherit the mask */
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
                             (addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                         0, NULL, NULL, handle, &svc, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
                         (unsigned)(cpus > 1 ? cpus : 1), MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                         MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                         (size_t)65536, MHD_OPTION_END);
    rc = CLI_REJECTED;
    if (d == NULL) {
        fprintf(stderr, "agepass: cannot listen on %s\n", cli_get(o, n, "--listen"));
        goto out;
    }
    fprintf(stderr, "agepass verifier: listening on %s, origin %s, age %u%s\n",
            cli_get(o, n, "--listen"), cfg.origin, (unsigned)min_age,
            cfg.cross_origin ? ", cross-origin tokens accepted" : "");
    sigwait(&sigs, &sig);
    fprintf(stderr, "agepass verifier: stopping\n");
    rc = CLI_OK;
out:
    if (d != NULL) MHD_stop_daemon(d);
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
