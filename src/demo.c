/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/demo.c: `agepass demo`, the whole story on loopback in one command.
 *
 * It starts, as child processes of this program, an age provider (issuer
 * with the development attester), a second issuer that the site does not
 * trust, and the site's verifier; it serves a small page guarded by the
 * verifier the way nginx auth_request does; then it plays the story with
 * the real client code and prints who asks what and who learns what, and
 * the figures each part counted. Exit 0 only if every step behaved.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include "agepass/authhdr.h"
#include "agepass/token.h"
#include "agepass/util.h"
#include "cli.h"

static const char usage[] = "usage: agepass demo [--keep DIR]\n"
                            "\n"
                            "Plays agepass end to end on loopback: an age provider, a site that\n"
                            "asks for proof of majority, an adult, a minor, a replay, a forgery\n"
                            "and an untrusted issuer. Needs no server installed. --keep keeps the\n"
                            "working folder (state, wallets, logs) in DIR.\n";

static const char page[] = "<!doctype html><title>Adults only</title>\n"
                           "<h1>Welcome</h1><p>This page is shown to adults only.</p>\n";

static char work[4096];
static pid_t children[3];
static size_t nchildren;
static int failures, steps;
static unsigned short site_port, verifier_port;

static void say(const char *who, const char *what)
{
    printf("  %-22s %s\n", who, what);
}

static void step(bool ok, const char *what)
{
    steps++;
    if (!ok) failures++;
    printf("%s %s\n\n", ok ? "  => as expected:" : "  => UNEXPECTED:", what);
}

static unsigned short free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    unsigned short p = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        p = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return p;
}

/* Runs `agepass ARGS...` as a child with stderr to LOG; waits for its port. */
static bool start(const char *log, unsigned short port, char *const args[])
{
    char path[4300];
    pid_t pid;
    int i;
    snprintf(path, sizeof path, "%s/%s", work, log);
    if ((pid = fork()) < 0) return false;
    if (pid == 0) {
        FILE *f = freopen(path, "w", stderr);
        (void)f;
        execv("/proc/self/exe", args);
        _exit(127);
    }
    children[nchildren++] = pid;
    for (i = 0; i < 100; i++) { /* 5 s at most */
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons(port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        bool up = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
        if (fd >= 0) close(fd);
        if (up) return true;
        usleep(50000);
    }
    fprintf(stderr, "agepass demo: %s: nothing listens on port %u after 5 s (see %s)\n", args[1],
            port, path);
    return false;
}

/* Runs a client verb in a child, as the person would; its exit status. */
static int client(char *const args[])
{
    pid_t pid = fork();
    int status;
    if (pid < 0) return -1;
    if (pid == 0) {
        execv("/proc/self/exe", args);
        _exit(127);
    }
    fflush(stdout);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        continue;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The site: every request asks the verifier, as nginx auth_request does. */
static enum MHD_Result site(void *cls, struct MHD_Connection *conn, const char *url,
                            const char *method, const char *version, const char *upload_data,
                            size_t *upload_size, void **con_cls)
{
    const char *authz = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    const char *cookie = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Cookie");
    char check_url[128], ah[1200], ch[600];
    const char *headers[3] = {NULL, NULL, NULL};
    struct cli_http_req hr = {check_url, headers, NULL, 0, 4096, 5000, NULL};
    struct cli_http_resp resp;
    struct MHD_Response *r;
    enum MHD_Result ret;
    size_t h = 0;
    (void)cls, (void)url, (void)method, (void)version, (void)upload_data, (void)upload_size;
    if (*con_cls == NULL) {
        *con_cls = (void *)1;
        return MHD_YES;
    }
    snprintf(check_url, sizeof check_url, "http://127.0.0.1:%u/auth", verifier_port);
    if (authz && strlen(authz) < 1100)
        snprintf(ah, sizeof ah, "Authorization: %s", authz), headers[h++] = ah;
    if (cookie && strlen(cookie) < 500)
        snprintf(ch, sizeof ch, "Cookie: %s", cookie), headers[h++] = ch;
    if (cli_http(&hr, &resp) != AGP_OK) resp.status = 503;
    if (resp.status == 200)
        r = MHD_create_response_from_buffer(strlen(page), (void *)page, MHD_RESPMEM_PERSISTENT);
    else
        r = MHD_create_response_from_buffer(strlen("age check required\n"),
                                            (void *)"age check required\n", MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        cli_http_resp_free(&resp);
        return MHD_NO;
    }
    if (resp.www_authenticate) { /* one field per line */
        char *field = resp.www_authenticate, *nl;
        for (; field != NULL; field = nl ? nl + 1 : NULL) {
            if ((nl = strchr(field, '\n')) != NULL) *nl = '\0';
            MHD_add_response_header(r, "WWW-Authenticate", field);
        }
    }
    if (resp.set_cookie) MHD_add_response_header(r, "Set-Cookie", resp.set_cookie);
    ret = MHD_queue_response(conn, resp.status == 200 ? 200 : resp.status == 401 ? 401 : 503, r);
    MHD_destroy_response(r);
    cli_http_resp_free(&resp);
    return ret;
}

/* Sends one raw Authorization value to the site; the HTTP status. */
static long present(const char *authz_value)
{
    char url[64], ah[1300];
    const char *headers[] = {ah, NULL};
    struct cli_http_req hr = {url, headers, NULL, 0, 65536, 5000, NULL};
    struct cli_http_resp resp;
    long status;
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", site_port);
    snprintf(ah, sizeof ah, "Authorization: %s", authz_value);
    if (cli_http(&hr, &resp) != AGP_OK) return -1;
    status = resp.status;
    cli_http_resp_free(&resp);
    return status;
}

/* Takes a token out of a wallet file, as an Authorization value (the demo plays a thief). */
static bool steal_token(const char *wallet, char *out, size_t cap)
{
    json_t *root = json_load_file(wallet, 0, NULL), *issuers, *e, *tokens;
    const char *url;
    uint8_t tok[AGP_TOKEN_LEN];
    size_t len = 0;
    bool ok = false;
    issuers = json_object_get(root, "issuers");
    json_object_foreach(issuers, url, e)
    {
        const char *s;
        tokens = json_object_get(e, "tokens");
        if (json_array_size(tokens) == 0) continue;
        s = json_string_value(json_object_get(json_array_get(tokens, 0), "token"));
        ok = s && agp_b64url_decode(tok, sizeof tok, &len, s, strlen(s)) == AGP_OK &&
             agp_authorization_write(out, cap, &len, tok, sizeof tok) == AGP_OK;
        break;
    }
    json_decref(root);
    return ok;
}

static void show_metrics(const char *who, unsigned short port, const char *const *prefixes)
{
    char url[64];
    uint8_t *body = NULL;
    size_t len, i;
    long status;
    char *line, *save = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%u/metrics", port);
    printf("  %s:\n", who);
    if (cli_http_get(url, 65536, 5000, &body, &len, &status) != AGP_OK || status != 200) {
        printf("    (no figures)\n");
        free(body);
        return;
    }
    for (line = strtok_r((char *)body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') continue;
        for (i = 0; prefixes[i]; i++)
            if (strncmp(line, prefixes[i], strlen(prefixes[i])) == 0 &&
                strcmp(line + strlen(line) - 2, " 0") != 0)
                printf("    %s\n", line);
    }
    free(body);
}

int cmd_demo(int argc, char **argv)
{
    struct cli_opt o[] = {{.name = "--keep"}};
    char ist[4200], bst[4200], vst[4200], wa[4200], wm[4200], wb[4200], dir_url[128], trust[160];
    char ia[32], ib[32], vl[32], iurl[64], burl[64], site_url[64], out[4200], authz[1200];
    unsigned short pa = free_port(), pb = free_port(), pv;
    struct MHD_Daemon *d = NULL;
    size_t i;
    int rc;

    if ((rc = cli_parse(argc, argv, o, 1, usage)) != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    if (cli_get(o, 1, "--keep")) {
        snprintf(work, sizeof work, "%s", cli_get(o, 1, "--keep"));
        if (mkdir(work, 0700) != 0 && errno != EEXIST) return cli_fail(work, AGP_ERR_IO);
    } else {
        snprintf(work, sizeof work, "/tmp/agepass-demo-XXXXXX");
        if (mkdtemp(work) == NULL) return cli_fail("demo folder", AGP_ERR_IO);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(ist, sizeof ist, "%s/issuer", work);
    snprintf(bst, sizeof bst, "%s/untrusted-issuer", work);
    snprintf(vst, sizeof vst, "%s/verifier", work);
    snprintf(wa, sizeof wa, "%s/wallet-adult.json", work);
    snprintf(wm, sizeof wm, "%s/wallet-minor.json", work);
    snprintf(wb, sizeof wb, "%s/wallet-other.json", work);
    snprintf(out, sizeof out, "%s/page.html", work);
    snprintf(ia, sizeof ia, "127.0.0.1:%u", pa);
    snprintf(ib, sizeof ib, "127.0.0.1:%u", pb);
    snprintf(iurl, sizeof iurl, "http://%s", ia);
    snprintf(burl, sizeof burl, "http://%s", ib);
    snprintf(dir_url, sizeof dir_url, "%s/.well-known/private-token-issuer-directory", iurl);
    snprintf(trust, sizeof trust, "%s", dir_url);

    printf("agepass demo: double anonymity on this machine (working folder %s)\n\n", work);
    printf("1. Setting up: an age provider, a site, and an issuer the site does not trust\n");
    {
        char *init_a[] = {
            "agepass",       "issuer", "init", "--state", ist, "--name", "age-provider.example",
            "--age-classes", "18",     NULL};
        char *init_b[] = {
            "agepass", "issuer", "init", "--state", bst, "--name", "unknown-provider.example",
            NULL};
        char *serve_a[] = {"agepass",   "issuer",   "serve", "--state",
                           ist,         "--listen", ia,      "--insecure-dev-attester",
                           "--day-cap", "10",       NULL};
        char *serve_b[] = {"agepass", "issuer",   "serve", "--state",
                           bst,       "--listen", ib,      "--insecure-dev-attester",
                           NULL};
        bool ok = client(init_a) == 0 && client(init_b) == 0 && start("issuer.log", pa, serve_a) &&
                  start("untrusted-issuer.log", pb, serve_b);
        pv = free_port();
        verifier_port = pv;
        snprintf(vl, sizeof vl, "127.0.0.1:%u", pv);
        char *serve_v[] = {"agepass", "verifier", "serve", "--state",  vst,         "--listen",
                           vl,        "--trust",  trust,   "--origin", "localhost", NULL};
        ok = ok && start("verifier.log", pv, serve_v);
        /* The site binds port 0 and asks which port it got: a port picked
         * beforehand could be taken meanwhile by any other program's
         * outgoing connection on a busy machine. */
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL, site,
                             NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
        const union MHD_DaemonInfo *di =
            d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
        site_port = di ? di->port : 0;
        if (site_port == 0)
            fprintf(stderr, "agepass demo: the site could not listen on loopback\n");
        ok = ok && site_port != 0;
        snprintf(site_url, sizeof site_url, "http://127.0.0.1:%u/", site_port);
        say("age provider:", "keys for \"over 18\", published in its directory");
        say("site verifier:", "trusts the age provider's directory; never calls it again");
        say("site:", "a page for adults only, guarded by the verifier");
        step(ok, "all three services are up on loopback");
        if (!ok) goto out;
    }

    printf("2. An adult proves their age once\n");
    {
        char *a[] = {"agepass", "enroll",   "--issuer", iurl, "--dev-age",
                     "25",      "--wallet", wa,         NULL};
        say("adult -> age provider:", "\"I am 25\" (the demo attester believes it; a real one");
        say("", "checks an ID or an EU age attestation)");
        say("age provider learns:", "someone is over 18. It gives a grant for a few tokens.");
        step(client(a) == 0, "enrolment accepted");
    }
    printf("3. A 15-year-old tries the same\n");
    {
        char *a[] = {"agepass", "enroll",   "--issuer", iurl, "--dev-age",
                     "15",      "--wallet", wm,         NULL};
        step(client(a) == 1, "refused at enrolment: no grant, no token");
    }
    printf("4. The adult fetches tokens in advance\n");
    {
        char *a[] = {"agepass", "fetch", "--issuer", iurl, "--count", "4", "--wallet", wa, NULL};
        say("adult -> age provider:", "4 blinded token requests, with the grant");
        say("age provider learns:", "nothing about the tokens: it signs what it cannot read");
        step(client(a) == 0, "4 tokens in the adult's wallet");
    }
    printf("5. The adult opens the site\n");
    {
        char *a[] = {"agepass", "get", site_url, "-o", out, "--wallet", wa, NULL};
        FILE *f;
        char buf[256] = "";
        say("site -> adult:", "401 + a PrivateToken challenge naming the age provider");
        say("adult -> site:", "one token from the wallet");
        say("site learns:", "\"over 18, per age-provider.example\". Not who, not a name.");
        rc = client(a);
        if ((f = fopen(out, "r")) != NULL) {
            size_t r = fread(buf, 1, sizeof buf - 1, f);
            buf[r] = '\0';
            fclose(f);
        }
        step(rc == 0 && strstr(buf, "adults only") != NULL, "200: the page, and a session cookie");
    }
    printf("6. A thief copies a token and shows it twice\n");
    {
        long first, second;
        bool ok = steal_token(wa, authz, sizeof authz);
        first = ok ? present(authz) : 0;
        second = ok ? present(authz) : 0;
        say("thief -> site:", "the same token, twice");
        printf("  %-22s first %ld, second %ld\n", "site answers:", first, second);
        step(ok && first == 200 && second == 401,
             "a token opens the site once; the replay is refused");
    }
    printf("7. A forged token: one byte changed\n");
    {
        long s = 0;
        char *p;
        bool ok = steal_token(wa, authz, sizeof authz) && (p = strstr(authz, "token=\"")) != NULL;
        if (ok) {
            p += 7 + 200;
            *p = *p == 'A' ? 'B' : 'A';
            s = present(authz);
        }
        printf("  %-22s %ld\n", "site answers:", s);
        step(ok && s == 401, "the signature does not verify: refused");
    }
    printf("8. A token from an issuer the site does not trust\n");
    {
        char *e[] = {"agepass", "enroll",   "--issuer", burl, "--dev-age",
                     "30",      "--wallet", wb,         NULL};
        char *f[] = {"agepass", "fetch", "--issuer", burl, "--count", "1", "--wallet", wb, NULL};
        long s = 0;
        bool ok = client(e) == 0 && client(f) == 0 && steal_token(wb, authz, sizeof authz);
        if (ok) s = present(authz);
        printf("  %-22s %ld\n", "site answers:", s);
        step(ok && s == 401, "unknown issuer key: refused");
    }
    printf("9. What each side counted (totals only: nothing names anyone)\n");
    {
        static const char *const iss[] = {"agepass_issuer_enrolments",
                                          "agepass_issuer_tokens_issued", NULL};
        static const char *const ver[] = {"agepass_verifier_challenges", "agepass_verifier_tokens",
                                          "agepass_verifier_sessions_opened", NULL};
        show_metrics("age provider", pa, iss);
        show_metrics("site verifier", pv, ver);
        printf("\n");
    }
out:
    if (d) MHD_stop_daemon(d);
    for (i = 0; i < nchildren; i++)
        kill(children[i], SIGTERM);
    for (i = 0; i < nchildren; i++)
        waitpid(children[i], NULL, 0);
    if (failures == 0 && steps > 0)
        printf("agepass demo: all %d steps behaved. %s\n", steps,
               cli_get(o, 1, "--keep") ? "" : "(working folder removed)");
    else
        printf("agepass demo: %d of %d steps did not behave; logs in %s\n", failures, steps, work);
    if (!cli_get(o, 1, "--keep") && failures == 0) {
        char cmd[4300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
        if (system(cmd) != 0) fprintf(stderr, "agepass: could not remove %s\n", work);
    }
    return failures == 0 && steps > 0 ? CLI_OK : CLI_REJECTED;
}
