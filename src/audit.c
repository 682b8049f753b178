/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/audit.c: `agepass audit URL`, an auditor's test of a live protected
 * page, with the demo's checks played against it from outside.
 *
 * Each check is one row of a table: without a session the page answers
 * 401 with a PrivateToken challenge that parses (RFC 9577 §2.1) and none of
 * the page; a forged token (the key id of a key the challenge names, a
 * random authenticator), a valid-looking token of a key nobody trusts
 * (made here, in memory), and malformed Authorization headers are refused,
 * and the site still answers afterwards. With --wallet, one wallet token
 * (the client's own choice, as `agepass get` makes it) must open the page
 * with a session cookie, the same token again without the cookie (a
 * replay) must be refused, and the cookie must open the page.
 *
 * "No protected content" is judged against the page a good token opened
 * (or any page a refused request showed): a body shows it when it holds
 * the page whole, or lines holding more than half of the page's text. With
 * no such page (no --wallet, nothing accepted), a 401 body is taken for an
 * age-check page when it is at most AUDIT_PAGE_MAX bytes.
 *
 * Nothing secret is printed: no token, cookie or challenge bytes; rows say
 * statuses, sizes and counts. Exit 0 only if every check run passed, 1 if
 * one failed, 2 for a usage error or a site that cannot be reached.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jansson.h>

#include "agepass/authhdr.h"
#include "agepass/token.h"
#include "agepass/util.h"
#include "audit_match.h"
#include "cli.h"

#define AUDIT_TIMEOUT_MS 10000
#define AUDIT_BODY_MAX   (4 * 1024 * 1024) /* a larger answer is read as a failed check */
#define AUDIT_PAGE_MAX   (256 * 1024)      /* an age-check page is smaller than this */
#define COOKIE_NAME_MAX  64

static const char usage[] =
    "usage: agepass audit URL [--wallet FILE] [--cookie-name NAME] [--json]\n"
    "\n"
    "Tests a live page protected by an age check, as an auditor would, and\n"
    "prints one row per check (pass, fail with the reason, or skipped):\n"
    "without a session, 401 with a PrivateToken challenge that parses and none\n"
    "of the page; a forged token, a token of a key nobody trusts and malformed\n"
    "Authorization headers refused, and the site still answering. With --wallet\n"
    "(an `agepass` wallet file with a token for the site: one is spent), a\n"
    "good token opens the page with a session cookie (--cookie-name, default\n"
    "agepass_session), the same token again is refused, and the cookie opens\n"
    "the page. --json prints the rows as JSON. Exit status: 0 every check run\n"
    "passed, 1 one failed, 2 usage error or the site cannot be reached.\n";

enum row_id {
    R_NO_SESSION,
    R_CHALLENGE,
    R_NO_CONTENT,
    R_FORGED,
    R_UNTRUSTED,
    R_MALFORMED,
    R_STILL_UP,
    R_GOOD,
    R_REPLAY,
    R_SESSION,
    R_COUNT
};

enum result { PENDING = 0, PASS, FAIL, SKIP };

struct row {
    const char *name;
    enum result result;
    char detail[600];
    /* a body that must not show the page, kept for the comparison at the end */
    uint8_t *body;
    size_t len;
};

struct audit {
    const char *url, *wallet, *cookie_name;
    struct row rows[R_COUNT];
    uint8_t *page; /* the protected page, once a request was let in */
    size_t page_len;
};

static const char *const row_names[R_COUNT] = {
    [R_NO_SESSION] = "no session: 401",
    [R_CHALLENGE] = "challenge parses (RFC 9577)",
    [R_NO_CONTENT] = "401 shows none of the page",
    [R_FORGED] = "forged token refused",
    [R_UNTRUSTED] = "untrusted key's token refused",
    [R_MALFORMED] = "malformed Authorization: 400/401",
    [R_STILL_UP] = "site answers after malformed ones",
    [R_GOOD] = "good token: 200 and session",
    [R_REPLAY] = "replayed token refused",
    [R_SESSION] = "session cookie opens the page",
};

__attribute__((format(printf, 3, 4))) static void set(struct row *r, enum result res,
                                                      const char *fmt, ...)
{
    va_list ap;
    r->result = res;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
}

/* Adds to a row's detail (and fails it, if fail). */
__attribute__((format(printf, 3, 4))) static void add(struct row *r, bool fail, const char *fmt,
                                                      ...)
{
    size_t n = strlen(r->detail);
    va_list ap;
    if (fail) r->result = FAIL;
    va_start(ap, fmt);
    vsnprintf(r->detail + n, sizeof r->detail - n, fmt, ap);
    va_end(ap);
}

/* One GET of the audited URL with these header lines (NULL-terminated, or NULL). */
static agp_err get(const struct audit *a, const char *const *headers, struct cli_http_resp *resp)
{
    struct cli_http_req hr = {a->url, headers, NULL, 0, AUDIT_BODY_MAX, AUDIT_TIMEOUT_MS, NULL};
    return cli_http(&hr, resp);
}

/* "no answer" or "answer over 4 MiB" for a request that got no status. */
static const char *no_answer(agp_err err)
{
    return err == AGP_ERR_TOO_BIG ? "an answer over 4 MiB" : "no answer within 10 s";
}

/* Keeps body in the row for the content comparison (the row owns it then). */
static void keep_body(struct row *r, struct cli_http_resp *resp)
{
    free(r->body);
    r->body = resp->body;
    r->len = resp->len;
    resp->body = NULL;
    resp->len = 0;
}

/* The first page let in: what later bodies must not show. */
static void keep_page(struct audit *a, const struct cli_http_resp *resp)
{
    if (a->page != NULL || resp->len == 0) return;
    if ((a->page = malloc(resp->len)) == NULL) return;
    memcpy(a->page, resp->body, resp->len);
    a->page_len = resp->len;
}

/* The refusal rows' rule: 401 or 403, no session cookie; the body is kept. */
static void expect_refused(struct audit *a, struct row *r, agp_err err, struct cli_http_resp *resp)
{
    char cookie[512];
    if (err != AGP_OK) {
        set(r, FAIL, "%s", no_answer(err));
        return;
    }
    if (resp->status == 401 || resp->status == 403)
        set(r, PASS, "%ld", resp->status);
    else
        set(r, FAIL, "HTTP %ld, not 401 or 403%s", resp->status,
            resp->status >= 200 && resp->status < 300 ? ": let in" : "");
    if (resp->set_cookie != NULL &&
        audit_find_cookie(resp->set_cookie, a->cookie_name, cookie, sizeof cookie))
        add(r, true, "; it opened a session (%s cookie)", a->cookie_name);
    agp_wipe(cookie, sizeof cookie);
    if (resp->status >= 200 && resp->status < 300) keep_page(a, resp);
    keep_body(r, resp);
}

/*
 * The PrivateToken challenges of the WWW-Authenticate fields (one per line
 * in www), each field parsed on its own as the client does. Returns the
 * number of fields that broke the grammar.
 */
static size_t read_challenges(struct agp_www_auth *wa, const char *www)
{
    size_t broken = 0;
    wa->count = 0;
    while (www != NULL && *www != '\0') {
        size_t n = strcspn(www, "\n");
        if (agp_www_auth_parse_more(wa, www, n) != AGP_OK) broken++;
        www += n;
        if (*www == '\n') www++;
    }
    return broken;
}

/* Index of the first type 0x0002 challenge in wa (one with a token-key first), or wa->count. */
static size_t pick_challenge(const struct agp_www_auth *wa)
{
    size_t i, first = wa->count;
    for (i = 0; i < wa->count; i++) {
        if (wa->items[i].token_type != AGP_TOKEN_TYPE_BLIND_RSA) continue;
        if (wa->items[i].token_key_len > 0) return i;
        if (first == wa->count) first = i;
    }
    return first;
}

/*
 * Appends ", issuer NAME" to names unless it is there already or does not
 * fit; bytes outside printable ASCII are shown as '?' (the name comes from
 * the site and goes to a terminal).
 */
static void add_name(char *names, size_t cap, const struct agp_span *name)
{
    char item[AGP_ISSUER_NAME_MAX + 16];
    size_t i, n = strlen(", issuer ");
    memcpy(item, ", issuer ", n);
    for (i = 0; i < name->len && n < sizeof item - 1; i++)
        item[n++] = name->ptr[i] >= 0x20 && name->ptr[i] < 0x7f ? (char)name->ptr[i] : '?';
    item[n] = '\0';
    if (strstr(names, item) != NULL || strlen(names) + n >= cap) return;
    memcpy(names + strlen(names), item, n + 1);
}

/* The challenge row: at least one type 0x0002 challenge, each token-key an RFC 9578 key. */
static void check_challenges(struct row *r, const struct agp_www_auth *wa, size_t broken,
                             bool had_header)
{
    size_t i, usable = 0, bad_keys = 0, keys = 0;
    char names[300] = "";
    if (!had_header) {
        set(r, FAIL, "no WWW-Authenticate header");
        return;
    }
    for (i = 0; i < wa->count; i++) {
        const struct agp_www_challenge *c = &wa->items[i];
        struct agp_challenge ch;
        struct agp_key *k = NULL;
        if (c->token_type != AGP_TOKEN_TYPE_BLIND_RSA ||
            agp_challenge_parse(&ch, c->challenge, c->challenge_len) != AGP_OK)
            continue;
        usable++;
        if (c->token_key_len > 0) {
            keys++;
            if (agp_key_load_spki(&k, c->token_key, c->token_key_len) != AGP_OK) bad_keys++;
            agp_key_free(k);
        }
        add_name(names, sizeof names, &ch.issuer_name);
    }
    if (usable == 0)
        set(r, FAIL, "no PrivateToken challenge of token type 0x0002 that parses");
    else
        set(r, PASS, "%zu challenge%s of type 0x0002%s", usable, usable == 1 ? "" : "s", names);
    if (broken > 0)
        add(r, true, "; %zu WWW-Authenticate field%s break%s the grammar", broken,
            broken == 1 ? "" : "s", broken == 1 ? "s" : "");
    if (bad_keys > 0)
        add(r, true, "; %zu of %zu token-keys are not RFC 9578 keys", bad_keys, keys);
    else if (usable > 0 && keys == 0)
        add(r, false, "; no token-key");
}

/* Sends one Authorization value (a header line) and applies the refusal rule. */
static void present(struct audit *a, struct row *r, const char *authz)
{
    const char *headers[] = {authz, NULL};
    struct cli_http_resp resp = {0};
    agp_err err = get(a, headers, &resp);
    expect_refused(a, r, err, &resp);
    cli_http_resp_free(&resp);
}

/* Writes "Authorization: PrivateToken token=..." for token into line. */
static bool authz_line(char *line, size_t cap, const uint8_t *token, size_t len)
{
    static const char prefix[] = "Authorization: ";
    size_t n;
    if (cap <= sizeof prefix) return false;
    memcpy(line, prefix, sizeof prefix);
    return agp_authorization_write(line + sizeof prefix - 1, cap - sizeof prefix + 1, &n, token,
                                   len) == AGP_OK;
}

/*
 * A forged token for challenge c: the key id of the key it names (random if
 * it names none), its digest, a random nonce and a random authenticator.
 */
static void forged(struct audit *a, const struct agp_www_challenge *c)
{
    struct row *r = &a->rows[R_FORGED];
    uint8_t tok[AGP_TOKEN_LEN];
    char line[1024];
    struct agp_key *k = NULL;
    bool named = false;
    tok[0] = (uint8_t)(AGP_TOKEN_TYPE_BLIND_RSA >> 8);
    tok[1] = (uint8_t)AGP_TOKEN_TYPE_BLIND_RSA;
    if (agp_random(tok + 2, AGP_NONCE_LEN) != AGP_OK ||
        agp_challenge_digest(tok + 2 + AGP_NONCE_LEN, c->challenge, c->challenge_len) != AGP_OK ||
        agp_random(tok + AGP_TOKEN_INPUT_LEN, AGP_NK) != AGP_OK ||
        agp_random(tok + 2 + AGP_NONCE_LEN + AGP_SHA256_LEN, AGP_SHA256_LEN) != AGP_OK) {
        set(r, FAIL, "could not make the token (no randomness)");
        return;
    }
    if (c->token_key_len > 0 && agp_key_load_spki(&k, c->token_key, c->token_key_len) == AGP_OK) {
        memcpy(tok + 2 + AGP_NONCE_LEN + AGP_SHA256_LEN, agp_key_id(k), AGP_SHA256_LEN);
        named = true;
    }
    agp_key_free(k);
    if (!authz_line(line, sizeof line, tok, sizeof tok)) {
        set(r, FAIL, "could not write the header");
        return;
    }
    present(a, r, line);
    add(r, false, "%s",
        named ? " (key id of the challenge's key)"
              : " (the challenge names no key: a random key id)");
    AGP_WIPE(line);
}

/* A token for challenge c, signed by an RSA-2048 key made now, which nobody trusts. */
static void untrusted(struct audit *a, const struct agp_www_challenge *c)
{
    struct row *r = &a->rows[R_UNTRUSTED];
    uint8_t req[AGP_TOKEN_REQUEST_LEN], resp[AGP_TOKEN_RESPONSE_LEN], tok[AGP_TOKEN_LEN];
    struct agp_token_state st;
    struct agp_key *k = NULL;
    char line[1024];
    agp_err err;

    memset(&st, 0, sizeof st);
    err = agp_key_generate(&k, 2048);
    if (err == AGP_OK) err = agp_token_begin(k, req, &st, c->challenge, c->challenge_len);
    if (err == AGP_OK) err = agp_token_issue(k, resp, req, sizeof req);
    if (err == AGP_OK) err = agp_token_finish(k, tok, &st, resp, sizeof resp);
    if (err != AGP_OK) {
        set(r, FAIL, "could not make the token (%s)", agp_err_str(err));
    } else if (!authz_line(line, sizeof line, tok, sizeof tok)) {
        set(r, FAIL, "could not write the header");
    } else {
        present(a, r, line);
        add(r, false, " (a valid token of a fresh RSA-2048 key)");
    }
    agp_token_state_clear(&st);
    agp_key_free(k);
    AGP_WIPE(line);
}

/* Broken Authorization headers: each must get 400 or 401 and none of the page. */
static void malformed(struct audit *a)
{
    static const char *const values[] = {
        "Authorization: PrivateToken token=\"!!!not-base64url!!!\"",
        "Authorization: PrivateToken token=\"AAAA\"", /* decodes, far too short */
        "Authorization: PrivateToken",
        "Authorization: PrivateToken token=\"AAAA", /* unbalanced quote */
        "Authorization: PrivateToken token=\"\"",
        "Authorization: Bearer AAAA",
        "Authorization: PrivateToken token=AAAA, token=AAAA",
    };
    static const char head[] = "Authorization: PrivateToken token=\"";
    static char big[sizeof head + 2800 + 2]; /* 2800 base64url bytes: longer than any token */
    struct row *r = &a->rows[R_MALFORMED];
    char cookie[512];
    size_t i, n = sizeof values / sizeof values[0];
    bool ok = true;

    memcpy(big, head, sizeof head - 1);
    memset(big + sizeof head - 1, 'A', 2800);
    memcpy(big + sizeof head - 1 + 2800, "\"", 2);
    set(r, PASS, "%s", "");
    for (i = 0; i <= n; i++) {
        const char *headers[] = {i < n ? values[i] : big, NULL};
        struct cli_http_resp resp = {0};
        agp_err err = get(a, headers, &resp);
        if (err != AGP_OK) {
            add(r, true, "%s%s", i ? " " : "", no_answer(err));
            ok = false;
            break;
        }
        if (resp.status != 400 && resp.status != 401) {
            ok = false;
            add(r, true, "%s%ld (header %zu)", i ? " " : "", resp.status, i + 1);
        } else {
            add(r, false, "%s%ld", i ? " " : "", resp.status);
        }
        if (resp.set_cookie != NULL &&
            audit_find_cookie(resp.set_cookie, a->cookie_name, cookie, sizeof cookie))
            add(r, true, " (header %zu opened a session)", i + 1);
        if (resp.status >= 200 && resp.status < 300) keep_page(a, &resp);
        if (resp.len >= r->len) keep_body(r, &resp); /* the largest is compared */
        cli_http_resp_free(&resp);
    }
    if (ok) add(r, false, " (%zu headers)", n + 1);
    agp_wipe(cookie, sizeof cookie);
}

/* Prints the table, or JSON; returns the exit status. */
static int report(const struct audit *a, bool json)
{
    static const char *const words[] = {"?", "pass", "FAIL", "skipped"};
    size_t i, passed = 0, failed = 0, skipped = 0;
    for (i = 0; i < R_COUNT; i++) {
        enum result res = a->rows[i].result;
        passed += res == PASS;
        failed += res == FAIL || res == PENDING;
        skipped += res == SKIP;
    }
    if (json) {
        json_t *root = json_pack("{s:s, s:[], s:I, s:I, s:I}", "url", a->url, "checks", "passed",
                                 (json_int_t)passed, "failed", (json_int_t)failed, "skipped",
                                 (json_int_t)skipped);
        char *text;
        for (i = 0; root != NULL && i < R_COUNT; i++)
            json_array_append_new(json_object_get(root, "checks"),
                                  json_pack("{s:s, s:s, s:s}", "check", a->rows[i].name, "result",
                                            a->rows[i].result == FAIL ? "fail"
                                            : a->rows[i].result == PENDING
                                                ? "fail"
                                                : words[a->rows[i].result],
                                            "detail", a->rows[i].detail));
        if (root == NULL || (text = json_dumps(root, JSON_INDENT(2))) == NULL) {
            json_decref(root);
            return cli_fail("json", AGP_ERR_NOMEM);
        }
        puts(text);
        free(text);
        json_decref(root);
    } else {
        printf("agepass audit of %s\n\n", a->url);
        printf("  %-36s %-8s %s\n", "CHECK", "RESULT", "DETAIL");
        for (i = 0; i < R_COUNT; i++)
            printf("  %-36s %-8s %s\n", a->rows[i].name, words[a->rows[i].result],
                   a->rows[i].detail);
        printf("\n%zu passed, %zu failed, %zu skipped: %s\n", passed, failed, skipped,
               failed ? "the site FAILS the audit" : "the site passes the checks run");
    }
    return failed ? CLI_REJECTED : CLI_OK;
}

/* The content rows, once every body is in: none may show the page. */
static void judge_content(struct audit *a)
{
    static const enum row_id kept[] = {R_FORGED, R_UNTRUSTED, R_MALFORMED, R_REPLAY};
    struct row *nc = &a->rows[R_NO_CONTENT];
    char why[160];
    size_t i;
    if (nc->result == PENDING) {
        if (a->page != NULL &&
            audit_shows_page(nc->body, nc->len, a->page, a->page_len, why, sizeof why))
            set(nc, FAIL, "%zu bytes: the body shows the page: %s", nc->len, why);
        else if (a->page != NULL)
            set(nc, PASS, "%zu bytes, none of the %zu-byte page", nc->len, a->page_len);
        else if (nc->len > AUDIT_PAGE_MAX)
            set(nc, FAIL, "%zu bytes: more than an age-check page (%u)", nc->len,
                (unsigned)AUDIT_PAGE_MAX);
        else
            set(nc, PASS, "%zu bytes (no page to compare with%s)", nc->len,
                a->wallet ? ": the token opened an empty one" : ": give --wallet");
    }
    if (a->page == NULL) return;
    for (i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        struct row *r = &a->rows[kept[i]];
        if (r->body == NULL || r->result == SKIP) continue;
        if (audit_shows_page(r->body, r->len, a->page, a->page_len, why, sizeof why))
            add(r, true, "; the body shows the page: %s", why);
    }
}

/* The wallet rows: one token spent, its replay, then the session. */
static void with_wallet(struct audit *a, const char *www)
{
    char authz[1024], cookie[512], cookie_line[600];
    const char *headers[] = {authz, NULL};
    struct cli_http_resp resp = {0};
    struct row *good = &a->rows[R_GOOD], *replay = &a->rows[R_REPLAY], *sess = &a->rows[R_SESSION];
    bool let_in = false, have_cookie = false;
    agp_err err;

    if (www == NULL || cli_wallet_answer(a->wallet, www, authz, sizeof authz) != CLI_OK) {
        set(good, FAIL, "no wallet token answers the site's challenge (the reason above)");
        set(replay, SKIP, "skipped (no token was sent)");
        set(sess, SKIP, "skipped (no session)");
        return;
    }
    err = get(a, headers, &resp);
    if (err != AGP_OK) {
        set(good, FAIL, "%s", no_answer(err));
    } else if (resp.status != 200) {
        set(good, FAIL, "HTTP %ld for a wallet token, not 200", resp.status);
    } else {
        let_in = true;
        have_cookie = resp.set_cookie != NULL &&
                      audit_find_cookie(resp.set_cookie, a->cookie_name, cookie, sizeof cookie);
        free(a->page); /* the page a good token opens is the reference */
        a->page = NULL;
        keep_page(a, &resp);
        if (have_cookie)
            set(good, PASS, "200, %zu bytes, session cookie %s", resp.len, a->cookie_name);
        else
            set(good, FAIL, "200 but no %s cookie", a->cookie_name);
    }
    cli_http_resp_free(&resp);
    if (!let_in) {
        set(replay, SKIP, "skipped (the token did not open the page)");
        set(sess, SKIP, "skipped (no session)");
        AGP_WIPE(authz);
        return;
    }
    present(a, replay, authz); /* the same header, no cookie */
    AGP_WIPE(authz);
    if (!have_cookie) {
        set(sess, SKIP, "skipped (no session cookie)");
        return;
    }
    snprintf(cookie_line, sizeof cookie_line, "Cookie: %s", cookie);
    headers[0] = cookie_line;
    err = get(a, headers, &resp);
    if (err != AGP_OK)
        set(sess, FAIL, "%s", no_answer(err));
    else if (resp.status != 200)
        set(sess, FAIL, "HTTP %ld with the session cookie, not 200", resp.status);
    else
        set(sess, PASS, "200");
    cli_http_resp_free(&resp);
    AGP_WIPE(cookie);
    AGP_WIPE(cookie_line);
}

int cmd_audit(int argc, char **argv)
{
    struct cli_opt o[] = {
        {.name = "--wallet"}, {.name = "--cookie-name"}, {.name = "--json", .kind = CLI_FLAG}};
    size_t n = sizeof o / sizeof o[0], i;
    static struct agp_www_auth wa;
    struct cli_http_resp resp = {0};
    struct audit a;
    struct stat sb;
    char host[256], *www = NULL;
    size_t broken, pick;
    agp_err err;
    int rc;

    memset(&a, 0, sizeof a);
    for (i = 0; i < R_COUNT; i++)
        a.rows[i].name = row_names[i];
    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    if (argc < 1 || argv[0][0] == '-') {
        fprintf(stderr, "agepass audit: give the URL of a protected page first\n%s", usage);
        return CLI_USAGE;
    }
    a.url = argv[0];
    if ((rc = cli_parse(argc - 1, argv + 1, o, n, usage)) != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    a.wallet = cli_get(o, n, "--wallet");
    a.cookie_name =
        cli_get(o, n, "--cookie-name") ? cli_get(o, n, "--cookie-name") : "agepass_session";
    if (!cli_url_host(a.url, host, sizeof host)) {
        fprintf(stderr,
                "agepass audit: '%s' is not an http:// or https:// URL with a host (and no "
                "user@ part)\n",
                a.url);
        return CLI_USAGE;
    }
    if (strlen(a.cookie_name) == 0 || strlen(a.cookie_name) > COOKIE_NAME_MAX ||
        strcspn(a.cookie_name, "=;, \t\r\n\"") != strlen(a.cookie_name)) {
        fprintf(stderr,
                "agepass audit: --cookie-name takes a cookie name (1 to %d characters, "
                "no '=', ';', ',', space or quote)\n",
                COOKIE_NAME_MAX);
        return CLI_USAGE;
    }
    if (a.wallet != NULL && (stat(a.wallet, &sb) != 0 || !S_ISREG(sb.st_mode))) {
        fprintf(stderr,
                "agepass audit: no wallet file at %s (fill one with `agepass enroll` and "
                "`agepass fetch`)\n",
                a.wallet);
        return CLI_USAGE;
    }

    /* 1. no session: 401, a challenge, none of the page */
    if ((err = get(&a, NULL, &resp)) != AGP_OK) {
        fprintf(stderr, "agepass audit: cannot reach %s: %s\n", a.url, no_answer(err));
        return CLI_USAGE;
    }
    if (resp.status == 401)
        set(&a.rows[R_NO_SESSION], PASS, "401");
    else
        set(&a.rows[R_NO_SESSION], FAIL, "HTTP %ld without a session, not 401%s", resp.status,
            resp.status >= 200 && resp.status < 300 ? ": the page is served without the check"
                                                    : "");
    broken = read_challenges(&wa, resp.www_authenticate);
    check_challenges(&a.rows[R_CHALLENGE], &wa, broken, resp.www_authenticate != NULL);
    if (resp.status >= 200 && resp.status < 300) {
        keep_page(&a, &resp);
        set(&a.rows[R_NO_CONTENT], FAIL, "HTTP %ld: the page itself (%zu bytes)", resp.status,
            resp.len);
    }
    keep_body(&a.rows[R_NO_CONTENT], &resp);
    cli_http_resp_free(&resp);

    /* 2. tokens that must be refused, for the challenge the site gave */
    pick = pick_challenge(&wa);
    if (pick == wa.count) {
        set(&a.rows[R_FORGED], FAIL, "no challenge to make a token for");
        set(&a.rows[R_UNTRUSTED], FAIL, "no challenge to make a token for");
    } else {
        forged(&a, &wa.items[pick]);
        untrusted(&a, &wa.items[pick]);
    }

    /* 3. malformed headers, then the site must still answer with a challenge */
    malformed(&a);
    if ((err = get(&a, NULL, &resp)) != AGP_OK) {
        set(&a.rows[R_STILL_UP], FAIL, "%s", no_answer(err));
    } else {
        broken = read_challenges(&wa, resp.www_authenticate);
        if (resp.status == 401 && pick_challenge(&wa) < wa.count)
            set(&a.rows[R_STILL_UP], PASS, "401 with a challenge");
        else
            set(&a.rows[R_STILL_UP], FAIL, "HTTP %ld%s", resp.status,
                pick_challenge(&wa) < wa.count ? "" : " without a usable challenge");
        if (resp.www_authenticate != NULL) www = strdup(resp.www_authenticate);
    }
    cli_http_resp_free(&resp);

    /* 4. with a wallet: one good token, its replay, the session */
    if (a.wallet != NULL) {
        with_wallet(&a, www);
    } else {
        set(&a.rows[R_GOOD], SKIP, "skipped (needs --wallet)");
        set(&a.rows[R_REPLAY], SKIP, "skipped (needs --wallet)");
        set(&a.rows[R_SESSION], SKIP, "skipped (needs --wallet)");
    }
    free(www);

    judge_content(&a);
    rc = report(&a, cli_get(o, n, "--json") != NULL);
    for (i = 0; i < R_COUNT; i++)
        free(a.rows[i].body);
    free(a.page);
    return rc;
}
