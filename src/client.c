/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/client.c: the person's side: `agepass enroll`, `fetch`, `get`,
 * `wallet`.
 *
 * The wallet is one JSON file (default $XDG_DATA_HOME/agepass/wallet.json,
 * else ~/.local/share/agepass/wallet.json; --wallet FILE or AGEPASS_WALLET
 * override), mode 0600, replaced atomically on every change (write a
 * temporary file, fsync, rename) under an exclusive lock, so a crash leaves
 * either the old or the new wallet, never a torn one:
 *
 *   {"version": 1,
 *    "issuers": {"http://issuer:8080": {
 *        "name": "issuer", "keys": [{"key": B64, "age": 18, "not-before": T}],
 *        "grant": B64, "grant-expires": T,
 *        "tokens": [{"age": 18, "token": B64}]}},
 *    "sessions": {"http://site:80": {"cookie": "agepass_session=...", "until": T}}}
 *
 * Tokens in the wallet are cross-origin ones (empty redemption context and
 * origin_info), fetched ahead of time: any site that accepts them takes
 * each once, and the issuer cannot tell when or where they are spent.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agepass/authhdr.h"
#include "agepass/batch.h"
#include "agepass/directory.h"
#include "agepass/token.h"
#include "agepass/util.h"
#include "cli.h"

#define HTTP_TIMEOUT_MS 10000
#define PAGE_MAX        (16 * 1024 * 1024)
#define SESSION_KEEP_S  1800
/* directories are read again 12 to 36 hours after the last read, at a random moment */
#define DIR_REFRESH_MIN_S    (12 * 3600)
#define DIR_REFRESH_SPREAD_S (24 * 3600)

/* --proxy: what carries every request to an issuer (NULL: direct); see cli_http_req */
static const char *provider_proxy;

static const char usage[] =
    "usage: agepass enroll --issuer URL (--dev-age N | --oidc [--provider NAME] [--grant G] |\n"
    "                      --mdoc FILE --state S)\n"
    "                      [--wallet FILE] [--proxy URL]\n"
    "       agepass enroll --issuer URL --mdoc-request [--age 18] [--proxy URL]\n"
    "       agepass fetch --issuer URL [--age 18] [--count 10] [--spread-ms 0] [--wallet FILE]\n"
    "                     [--proxy URL]\n"
    "       agepass fetch --auto [--issuer URL] [--low 10] [--count 30] [--window 21600]\n"
    "                     [--wallet FILE] [--proxy URL]\n"
    "       agepass get URL [-o FILE] [--wallet FILE] [--mint-now] [--proxy URL]\n"
    "       agepass wallet [--wallet FILE]\n"
    "\n"
    "enroll proves your age to an issuer once and keeps the grant it gives;\n"
    "fetch fills the wallet with tokens (each good once, on any site that takes\n"
    "tokens fetched in advance); get opens a page, answering its age check\n"
    "with a wallet token of a key the site lists, and keeps the session cookie;\n"
    "wallet shows what the wallet holds. Exit status: 0 success, 1 refused or\n"
    "failed (the reason on stderr), 2 usage error.\n"
    "\n"
    "fetch --auto (run it often, from a timer): for each issuer (or the one given)\n"
    "with fewer than --low tokens, draws once a refill time at random within\n"
    "--window seconds (and the grant's life), then fetches --count tokens only when\n"
    "a run finds that time come; so when tokens are fetched says nothing of when\n"
    "they are spent. fetch reads each issuer's directory again 12 to 36 hours\n"
    "after the last read, and refuses one with more than one current (and one\n"
    "next) key per age class, keeping the keys read before.\n"
    "get never asks the issuer for a token at the time of the visit unless\n"
    "--mint-now: the issuer would see when you visit. --proxy URL (http://,\n"
    "socks5h://127.0.0.1:9050 for Tor) carries every request to the issuer, so\n"
    "that it does not see your address.\n"
    "\n"
    "OpenID Connect: --oidc prints the provider's login address; --provider NAME\n"
    "picks one when the issuer has several (without it, they are listed).\n"
    "\n"
    "EU Proof-of-Age (mdoc): --mdoc-request prints the issuer's OpenID4VP\n"
    "request (JSON: request.nonce, request.state, request.client_id, invocation);\n"
    "a wallet answers it with a DeviceResponse signed over that nonce; then\n"
    "--mdoc FILE (the DeviceResponse, CBOR) --state S (request.state) enrols.\n";

/* ---- the wallet file ----------------------------------------------------- */

struct wallet {
    char path[4096];
    int lock_fd;
    json_t *root;
};

/*
 * Removes PATH.tmp.* files beside the wallet: a writer killed between
 * creating its temporary file and renaming it leaves one. Called with the
 * wallet's lock held, so no live writer owns any of them.
 */
static void wallet_remove_leftovers(const char *path)
{
    char dir[4096], prefix[512], victim[4700];
    const char *slash = strrchr(path, '/');
    struct dirent *ent;
    DIR *d;
    if (slash == NULL) {
        snprintf(dir, sizeof dir, ".");
        slash = path - 1;
    } else {
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    }
    snprintf(prefix, sizeof prefix, "%s.tmp.", slash + 1);
    if (dir[0] == '\0' || (d = opendir(dir)) == NULL) return;
    while ((ent = readdir(d)) != NULL)
        if (strncmp(ent->d_name, prefix, strlen(prefix)) == 0) {
            snprintf(victim, sizeof victim, "%s/%s", dir, ent->d_name);
            unlink(victim);
        }
    closedir(d);
}

static int wallet_open(struct wallet *w, const char *opt)
{
    const char *env = getenv("AGEPASS_WALLET"), *xdg = getenv("XDG_DATA_HOME"),
               *home = getenv("HOME");
    char dir[4096], lock[4200], *slash;
    json_error_t jerr;
    struct stat sb;

    w->lock_fd = -1;
    w->root = NULL;
    if (opt != NULL || (env != NULL && env[0] != '\0'))
        snprintf(w->path, sizeof w->path, "%s", opt ? opt : env);
    else if (xdg != NULL && xdg[0] == '/')
        snprintf(w->path, sizeof w->path, "%s/agepass/wallet.json", xdg);
    else if (home != NULL && home[0] == '/')
        snprintf(w->path, sizeof w->path, "%s/.local/share/agepass/wallet.json", home);
    else {
        fprintf(stderr, "agepass: no HOME: give --wallet FILE\n");
        return CLI_USAGE;
    }
    /* make the folders, private */
    snprintf(dir, sizeof dir, "%s", w->path);
    for (slash = strchr(dir + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) return cli_fail(dir, AGP_ERR_IO);
        *slash = '/';
    }
    snprintf(lock, sizeof lock, "%s.lock", w->path);
    if ((w->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
        flock(w->lock_fd, LOCK_EX) != 0)
        return cli_fail(lock, AGP_ERR_IO);
    wallet_remove_leftovers(w->path);
    if (stat(w->path, &sb) != 0) {
        w->root = json_pack("{s:i, s:{}, s:{}}", "version", 1, "issuers", "sessions");
        return w->root ? CLI_OK : cli_fail("wallet", AGP_ERR_NOMEM);
    }
    w->root = json_load_file(w->path, JSON_REJECT_DUPLICATES, &jerr);
    if (w->root == NULL || json_integer_value(json_object_get(w->root, "version")) != 1 ||
        !json_is_object(json_object_get(w->root, "issuers")) ||
        !json_is_object(json_object_get(w->root, "sessions"))) {
        fprintf(stderr, "agepass: %s is not an agepass wallet (%s)\n", w->path,
                w->root ? "unknown layout" : jerr.text);
        json_decref(w->root);
        w->root = NULL;
        return CLI_REJECTED;
    }
    return CLI_OK;
}

static int wallet_save(struct wallet *w)
{
    char *text = json_dumps(w->root, JSON_INDENT(1) | JSON_SORT_KEYS);
    int rc;
    if (text == NULL) return cli_fail("wallet", AGP_ERR_NOMEM);
    rc = cli_output(w->path, (const uint8_t *)text, strlen(text), 0600);
    agp_wipe(text, strlen(text));
    free(text);
    return rc;
}

static void wallet_close(struct wallet *w)
{
    json_decref(w->root);
    if (w->lock_fd >= 0) close(w->lock_fd);
    w->root = NULL;
    w->lock_fd = -1;
}

/* The issuer entry for url, made if asked and missing. */
static json_t *wallet_issuer(struct wallet *w, const char *url, bool make)
{
    json_t *issuers = json_object_get(w->root, "issuers"), *e = json_object_get(issuers, url);
    if (e == NULL && make) {
        e = json_pack("{s:s, s:[], s:[]}", "name", "", "keys", "tokens");
        json_object_set_new(issuers, url, e);
    }
    return e;
}

/* ---- helpers -------------------------------------------------------------- */

/* --proxy URL, checked, for every request to an issuer; CLI_USAGE if it is not one. */
static int take_proxy(const struct cli_opt *o, size_t n)
{
    const char *p = cli_get(o, n, "--proxy");
    if (p != NULL && !cli_proxy_ok(p)) {
        fprintf(stderr, "agepass: --proxy takes http://, https://, socks5:// or socks5h:// "
                        "HOST:PORT (Tor: socks5h://127.0.0.1:9050)\n");
        return CLI_USAGE;
    }
    provider_proxy = p;
    return CLI_OK;
}

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

/* scheme://host[:port] of url */
static bool url_origin(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    size_t n;
    if (p == NULL) return false;
    n = (size_t)(p + 3 - url) + strcspn(p + 3, "/?#");
    if (n >= cap) return false;
    memcpy(out, url, n);
    out[n] = '\0';
    return true;
}

/* base URL of an issuer, without a trailing slash */
static bool issuer_base(const char *url, char *out, size_t cap)
{
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    if (n == 0 || n >= cap) return false;
    memcpy(out, url, n);
    out[n] = '\0';
    return cli_url_safe(out, cap - 1); /* https, or http on loopback; no userinfo */
}

/* A uniform random number in [0, n]; 0 if the system has no randomness to give. */
static uint64_t random_upto(uint64_t n)
{
    uint8_t r[8];
    uint64_t v = 0;
    size_t i;
    if (n == 0 || agp_random(r, sizeof r) != AGP_OK) return 0;
    for (i = 0; i < sizeof r; i++)
        v = v << 8 | r[i];
    AGP_WIPE(r);
    return n == UINT64_MAX ? v : v % (n + 1); /* the bias is below 2^-20 for any n we use */
}

/* True if the entry pinned this key (its SPKI) at its last directory read. */
static bool pinned(json_t *entry, const struct agp_dir_key *k)
{
    char b64[AGP_B64_ENC_LEN(AGP_TOKEN_KEY_MAX) + 1];
    json_t *p;
    size_t i;
    if (entry == NULL ||
        agp_b64url_encode(b64, sizeof b64, NULL, k->token_key, k->token_key_len) != AGP_OK)
        return false;
    json_array_foreach(json_object_get(entry, "keys"), i,
                       p) if (strcmp(str_or_empty(json_string_value(json_object_get(p, "key"))),
                                     b64) == 0) return true;
    return false;
}

/*
 * Key consistency (docs/privacy.md): at most one current key (not-before
 * come) and one next key per age class. A provider that gave some people a
 * key of their own, or several current ones, could tell them apart by the
 * key of the tokens they spend. One exception, the epoch change before the
 * issuer's rotation: when the class's newest current key is one this wallet
 * pinned before (as the next one), an older key it pinned too is the
 * previous one, not a second current. Prints why and returns false
 * otherwise.
 */
static bool directory_consistent(const struct agp_directory *d, json_t *entry, const char *url,
                                 int64_t now)
{
    unsigned current[256] = {0}, next[256] = {0}, previous[256] = {0}, a;
    int64_t newest[256];
    bool newest_pinned[256] = {false};
    size_t i;
    for (a = 0; a < 256; a++)
        newest[a] = INT64_MIN;
    for (i = 0; i < d->count; i++)
        if (d->keys[i].not_before <= now && d->keys[i].not_before > newest[d->keys[i].age & 255])
            newest[d->keys[i].age & 255] = d->keys[i].not_before;
    for (i = 0; i < d->count; i++)
        if (d->keys[i].not_before == newest[d->keys[i].age & 255])
            newest_pinned[d->keys[i].age & 255] = pinned(entry, &d->keys[i]);
    for (i = 0; i < d->count; i++) {
        unsigned c = d->keys[i].age & 255;
        if (d->keys[i].token_type != AGP_TOKEN_TYPE_BLIND_RSA || d->keys[i].age == 0) continue;
        if (d->keys[i].not_before > now)
            next[c]++;
        else if (d->keys[i].not_before < newest[c] && newest_pinned[c] && previous[c] == 0 &&
                 pinned(entry, &d->keys[i]))
            previous[c]++;
        else
            current[c]++;
    }
    for (a = 1; a < 256; a++)
        if (current[a] > 1 || next[a] > 1) {
            fprintf(stderr,
                    "agepass: the issuer's directory at %s lists %u current and %u next keys for "
                    "age %u (at most one of each): a key given to some people only would tell "
                    "them apart; it is refused\n",
                    url, current[a], next[a], a);
            return false;
        }
    return true;
}

/*
 * Fetches the issuer's directory into its wallet entry's keys (through
 * --proxy, if given), and draws the next refresh, 12 to 36 hours on. A
 * directory refused (unreachable, malformed, inconsistent) leaves the keys
 * pinned at the last refresh untouched.
 */
static int fetch_directory(json_t *entry, const char *base)
{
    static struct agp_directory d;
    char url[4200], b64[AGP_B64_ENC_LEN(AGP_TOKEN_KEY_MAX) + 1];
    struct cli_http_req hr = {url,           NULL, NULL, 0, AGP_DIR_MAX_BYTES, HTTP_TIMEOUT_MS,
                              provider_proxy};
    struct cli_http_resp resp;
    int64_t now = (int64_t)time(NULL);
    size_t i;
    json_t *keys;
    agp_err err;

    snprintf(url, sizeof url, "%s/.well-known/private-token-issuer-directory", base);
    err = cli_http(&hr, &resp);
    if (err != AGP_OK || resp.status != 200) {
        fprintf(stderr, "agepass: cannot read the issuer's directory at %s (%s, HTTP %ld)\n", url,
                err == AGP_OK ? "answered" : agp_err_str(err), err == AGP_OK ? resp.status : 0L);
        if (err == AGP_OK) cli_http_resp_free(&resp);
        return CLI_REJECTED;
    }
    err = agp_directory_parse(&d, (const char *)resp.body, resp.len);
    cli_http_resp_free(&resp);
    if (err != AGP_OK) return cli_fail("the issuer's directory", err);
    if (!directory_consistent(&d, entry, url, now)) return CLI_REJECTED;
    keys = json_array();
    /* challenges name the issuer as it names itself, else by its host */
    if (d.issuer_name[0] != '\0') json_object_set_new(entry, "name", json_string(d.issuer_name));
    for (i = 0; i < d.count; i++) {
        if (d.keys[i].token_type != AGP_TOKEN_TYPE_BLIND_RSA || d.keys[i].age == 0) continue;
        if (agp_b64url_encode(b64, sizeof b64, NULL, d.keys[i].token_key,
                              d.keys[i].token_key_len) != AGP_OK)
            continue;
        json_array_append_new(keys,
                              json_pack("{s:s, s:i, s:I}", "key", b64, "age", (int)d.keys[i].age,
                                        "not-before", (json_int_t)d.keys[i].not_before));
    }
    json_object_set_new(entry, "keys", keys);
    json_object_set_new(entry, "directory-next",
                        json_integer((json_int_t)(now + DIR_REFRESH_MIN_S +
                                                  (int64_t)random_upto(DIR_REFRESH_SPREAD_S))));
    return CLI_OK;
}

/* The newest usable key of class age in the entry, loaded. */
static struct agp_key *entry_key(json_t *entry, unsigned age, int64_t now)
{
    json_t *k, *best = NULL;
    size_t i;
    uint8_t raw[AGP_TOKEN_KEY_MAX];
    size_t len;
    struct agp_key *key = NULL;
    json_array_foreach(json_object_get(entry, "keys"), i, k)
    {
        if ((unsigned)json_integer_value(json_object_get(k, "age")) != age ||
            json_integer_value(json_object_get(k, "not-before")) > now)
            continue;
        if (best == NULL || json_integer_value(json_object_get(k, "not-before")) >
                                json_integer_value(json_object_get(best, "not-before")))
            best = k;
    }
    if (best == NULL) return NULL;
    const char *s = json_string_value(json_object_get(best, "key"));
    if (s == NULL || agp_b64url_decode(raw, sizeof raw, &len, s, strlen(s)) != AGP_OK ||
        agp_key_load_spki(&key, raw, len) != AGP_OK)
        return NULL;
    return key;
}

/*
 * Asks the issuer at base for one token answering challenge, with the
 * entry's grant. Returns CLI_OK with the token, or prints why.
 */
static int mint(json_t *entry, const char *base, const struct agp_key *pk, const uint8_t *challenge,
                size_t challenge_len, uint8_t token[AGP_TOKEN_LEN])
{
    const char *grant = json_string_value(json_object_get(entry, "grant"));
    uint8_t req[AGP_TOKEN_REQUEST_LEN];
    struct agp_token_state st;
    char url[4200], authz[128];
    const char *headers[] = {"Content-Type: application/private-token-request", authz, NULL};
    struct cli_http_req hr = {url, headers, req, sizeof req, 4096, HTTP_TIMEOUT_MS, provider_proxy};
    struct cli_http_resp resp;
    agp_err err;
    int rc = CLI_REJECTED;

    if (grant == NULL ||
        json_integer_value(json_object_get(entry, "grant-expires")) <= time(NULL)) {
        fprintf(stderr,
                "agepass: no valid grant for %s: run `agepass enroll --issuer %s ...` "
                "again\n",
                base, base);
        return CLI_REJECTED;
    }
    snprintf(url, sizeof url, "%s/token-request", base);
    snprintf(authz, sizeof authz, "Authorization: Bearer %s", grant);
    if ((err = agp_token_begin(pk, req, &st, challenge, challenge_len)) != AGP_OK)
        return cli_fail("token request", err);
    if ((err = cli_http(&hr, &resp)) != AGP_OK) {
        cli_fail(url, err);
        goto out;
    }
    if (resp.status != 200) {
        fprintf(stderr, "agepass: the issuer refused the token request (HTTP %ld): %s", resp.status,
                resp.len ? (const char *)resp.body : "\n");
        if (resp.status == 401 || resp.status == 429)
            fprintf(stderr, "agepass: enrol again to get a new grant\n");
    } else if ((err = agp_token_finish(pk, token, &st, resp.body, resp.len)) != AGP_OK) {
        cli_fail("the issuer's token response", err);
    } else {
        rc = CLI_OK;
    }
    cli_http_resp_free(&resp);
out:
    agp_token_state_clear(&st);
    AGP_WIPE(authz);
    return rc;
}

/*
 * Asks the issuer at base for n (1..AGP_BATCH_MAX) tokens answering
 * challenge in one round trip, a BatchTokenRequest (agepass/batch.h), with
 * the entry's grant. Returns CLI_OK with tokens[0..n); CLI_USAGE, saying
 * nothing, when the issuer does not take batches (415), so the caller can
 * ask one by one; otherwise prints why.
 */
static int mint_batch(json_t *entry, const char *base, const struct agp_key *pk,
                      const uint8_t *challenge, size_t challenge_len, size_t n,
                      uint8_t tokens[][AGP_TOKEN_LEN])
{
    const char *grant = json_string_value(json_object_get(entry, "grant"));
    struct agp_token_state st[AGP_BATCH_MAX];
    uint8_t reqs[AGP_BATCH_MAX][AGP_TOKEN_REQUEST_LEN], body[AGP_BATCH_REQUEST_MAX];
    struct agp_batch_request b;
    struct agp_batch_response br;
    struct agp_writer w;
    char url[4200], authz[128];
    const char *headers[] = {"Content-Type: " AGP_BATCH_REQUEST_TYPE, authz, NULL};
    struct cli_http_req hr = {
        url, headers, body, 0, AGP_BATCH_RESPONSE_MAX, HTTP_TIMEOUT_MS, provider_proxy};
    struct cli_http_resp resp = {0};
    size_t i, made = 0;
    agp_err err = AGP_OK;
    int rc = CLI_REJECTED;

    if (n == 0 || n > AGP_BATCH_MAX) return CLI_REJECTED;
    if (grant == NULL ||
        json_integer_value(json_object_get(entry, "grant-expires")) <= time(NULL)) {
        fprintf(stderr,
                "agepass: no valid grant for %s: run `agepass enroll --issuer %s ...` again\n",
                base, base);
        return CLI_REJECTED;
    }
    snprintf(url, sizeof url, "%s/token-request", base);
    snprintf(authz, sizeof authz, "Authorization: Bearer %s", grant);
    memset(&b, 0, sizeof b);
    for (made = 0; made < n && err == AGP_OK; made++) {
        err = agp_token_begin(pk, reqs[made], &st[made], challenge, challenge_len);
        if (err == AGP_OK)
            err = agp_token_request_parse(&b.req[made], reqs[made], AGP_TOKEN_REQUEST_LEN);
    }
    if (err != AGP_OK) {
        cli_fail("token request", err);
        goto out;
    }
    b.count = n;
    agp_writer_init(&w, body, sizeof body);
    if ((err = agp_batch_request_write(&w, &b)) != AGP_OK) {
        cli_fail("batch request", err);
        goto out;
    }
    hr.body_len = w.len;
    if ((err = cli_http(&hr, &resp)) != AGP_OK) {
        cli_fail(url, err);
        goto out;
    }
    if (resp.status == 415) {
        rc = CLI_USAGE;
    } else if (resp.status != 200) {
        fprintf(stderr, "agepass: the issuer refused the batch of %zu (HTTP %ld): %s", n,
                resp.status, resp.len ? (const char *)resp.body : "\n");
        if (resp.status == 401 || resp.status == 429)
            fprintf(stderr, "agepass: enrol again to get a new grant\n");
    } else if (resp.content_type == NULL ||
               strcasecmp(resp.content_type, AGP_BATCH_RESPONSE_TYPE) != 0) {
        /* the draft: clients MUST ignore a response of another type */
        fprintf(stderr, "agepass: the issuer answered the batch with another content type\n");
    } else if ((err = agp_batch_response_parse(&br, resp.body, resp.len)) != AGP_OK) {
        cli_fail("the issuer's batch response", err);
    } else if (br.count != n) {
        fprintf(stderr, "agepass: the issuer answered %zu of %zu requests\n", br.count, n);
    } else {
        rc = CLI_OK;
        for (i = 0; i < n && rc == CLI_OK; i++) {
            /* we issue all or nothing, so we expect all: an absent one is refused */
            err = br.blind_sig[i].len == 0
                      ? AGP_ERR_NOT_FOUND
                      : agp_token_finish(pk, tokens[i], &st[i], br.blind_sig[i].ptr,
                                         br.blind_sig[i].len);
            if (err != AGP_OK) rc = cli_fail("the issuer's batch response", err);
        }
    }
out:
    cli_http_resp_free(&resp);
    for (i = 0; i < made; i++)
        agp_token_state_clear(&st[i]);
    if (rc != CLI_OK) agp_wipe(tokens, n * AGP_TOKEN_LEN);
    AGP_WIPE(authz);
    return rc;
}

/* The cross-origin challenge for issuer name: empty context and origin_info. */
static int cross_challenge(const char *name, uint8_t *out, size_t cap, size_t *len)
{
    struct agp_challenge c = {
        AGP_TOKEN_TYPE_BLIND_RSA, {(const uint8_t *)name, strlen(name)}, {NULL, 0}, {NULL, 0}};
    struct agp_writer w;
    agp_writer_init(&w, out, cap);
    if (agp_challenge_write(&w, &c) != AGP_OK) return CLI_REJECTED;
    *len = w.len;
    return CLI_OK;
}

/* ---- enroll, fetch, wallet ------------------------------------------------- */

/*
 * GET /enroll/mdoc/request: prints the issuer's OpenID4VP authorization
 * request, for a wallet (or a test) to answer.
 */
static int mdoc_request(const char *base, const char *age)
{
    char url[2200];
    const char *headers[] = {"Accept: application/json", NULL};
    struct cli_http_req hr = {url, headers, NULL, 0, 65536, HTTP_TIMEOUT_MS, provider_proxy};
    struct cli_http_resp resp;
    uint64_t a = 18;
    agp_err err;
    int rc = CLI_REJECTED;
    if (age != NULL && (!cli_parse_uint(age, 99, &a) || a == 0)) {
        fprintf(stderr, "agepass: --age takes NN of age_over_NN (1..99)\n");
        return CLI_USAGE;
    }
    snprintf(url, sizeof url, "%s/enroll/mdoc/request?age=%u", base, (unsigned)a);
    if ((err = cli_http(&hr, &resp)) != AGP_OK) return cli_fail(url, err);
    if (resp.status == 200) {
        fwrite(resp.body, 1, resp.len, stdout);
        rc = CLI_OK;
    } else {
        fprintf(stderr, "agepass: %s: HTTP %ld%s\n", url, resp.status,
                resp.status == 404 ? " (the issuer takes no EU attestation)" : "");
    }
    cli_http_resp_free(&resp);
    return rc;
}

/*
 * The OpenID4VP direct_post body for a DeviceResponse file:
 * vp_token={"age":["<base64url>"]}&state=S (OpenID4VP 1.0 §8.1, B.2).
 */
static int mdoc_form(const char *file, const char *state, char **out, size_t *out_len)
{
    uint8_t *der = NULL;
    size_t len = 0, b64_len, cap, pos = 0;
    char *b64 = NULL, *json = NULL, *form = NULL;
    int rc = CLI_USAGE;
    *out = NULL;
    if (state == NULL) {
        fprintf(stderr, "agepass: --mdoc needs --state (from --mdoc-request)\n");
        return CLI_USAGE;
    }
    if (cli_read(file, 65536, &der, &len) != AGP_OK || len == 0) {
        fprintf(stderr, "agepass: %s: cannot read the DeviceResponse\n", file);
        return CLI_USAGE;
    }
    cap = AGP_B64_ENC_LEN(len) + 1;
    if ((b64 = malloc(cap)) == NULL || (json = malloc(cap + 32)) == NULL ||
        agp_b64url_encode_nopad(b64, cap, &b64_len, der, len) != AGP_OK)
        goto out;
    snprintf(json, cap + 32, "{\"age\":[\"%s\"]}", b64);
    cap = 3 * (strlen(json) + strlen(state)) + 32;
    if ((form = malloc(cap)) == NULL) goto out;
    memcpy(form, "vp_token=", 10);
    pos = 9;
    if (!cli_url_append(form, cap, &pos, json) || cap - pos < 8) goto out;
    memcpy(form + pos, "&state=", 8);
    pos += 7;
    if (!cli_url_append(form, cap, &pos, state)) goto out;
    *out = form;
    *out_len = pos;
    form = NULL;
    rc = CLI_OK;
out:
    if (rc != CLI_OK && *out == NULL && form == NULL && b64 != NULL && json != NULL)
        fprintf(stderr, "agepass: cannot encode the DeviceResponse\n");
    free(form);
    free(json);
    free(b64);
    cli_free(der, len);
    return rc;
}

#define OIDC_GRANT_TTL_S 900 /* what the issuer's callback page promises */

/*
 * --oidc: asks the issuer for the provider's login address (GET
 * /enroll/oidc/start as JSON) and prints it; the person opens it in a
 * browser, logs in, and the issuer's callback page shows a grant, read
 * here as one line from stdin (or given with --grant). A grant is 43
 * base64url characters. provider (--provider) names one of the issuer's
 * providers; without it, an issuer with several answers their list, shown.
 */
static int oidc_grant(const char *base, const char *provider, const char *given, char grant[64])
{
    char url[2200], line[256];
    size_t pos;
    const char *headers[] = {"Accept: application/json", NULL};
    struct cli_http_req hr = {url, headers, NULL, 0, 16384, HTTP_TIMEOUT_MS, provider_proxy};
    struct cli_http_resp resp;
    json_t *reply;
    size_t len;
    agp_err err;

    if (given == NULL) {
        pos = (size_t)snprintf(url, sizeof url, "%s/enroll/oidc/start%s", base,
                               provider ? "?provider=" : "");
        if (provider != NULL && !cli_url_append(url, sizeof url, &pos, provider)) return CLI_USAGE;
        if ((err = cli_http(&hr, &resp)) != AGP_OK) return cli_fail(url, err);
        reply = json_loadb((const char *)resp.body, resp.len, JSON_REJECT_DUPLICATES, NULL);
        if (resp.status == 200 && json_is_array(json_object_get(reply, "providers"))) {
            json_t *p;
            size_t i;
            fprintf(stderr, "agepass: the issuer has several OpenID Connect providers; "
                            "choose one with --provider:\n");
            json_array_foreach(json_object_get(reply, "providers"), i,
                               p) if (json_is_string(json_object_get(p, "name")) &&
                                      json_is_string(json_object_get(p, "issuer")))
                fprintf(stderr, "  %s  (%s)\n", json_string_value(json_object_get(p, "name")),
                        json_string_value(json_object_get(p, "issuer")));
            json_decref(reply);
            cli_http_resp_free(&resp);
            return CLI_USAGE;
        }
        if (resp.status != 200 || !json_is_string(json_object_get(reply, "authorize_url"))) {
            fprintf(stderr, "agepass: %s: HTTP %ld%s\n", url, resp.status,
                    resp.status != 404 ? ""
                    : provider         ? ": the issuer has no OpenID Connect provider of that name"
                                       : ": the issuer has no OpenID Connect enrolment");
            json_decref(reply);
            cli_http_resp_free(&resp);
            return CLI_REJECTED;
        }
        printf("Open this address in a browser and log in:\n\n  %s\n\nthen paste the grant the "
               "issuer shows you here: ",
               json_string_value(json_object_get(reply, "authorize_url")));
        fflush(stdout);
        json_decref(reply);
        cli_http_resp_free(&resp);
        if (fgets(line, sizeof line, stdin) == NULL) {
            fprintf(stderr, "agepass: no grant read\n");
            return CLI_REJECTED;
        }
        line[strcspn(line, "\r\n")] = '\0';
        given = line;
    }
    len = strlen(given);
    if (len != 43 ||
        strspn(given, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != len) {
        fprintf(stderr, "agepass: a grant is 43 base64url characters\n");
        return CLI_USAGE;
    }
    memcpy(grant, given, len + 1);
    return CLI_OK;
}

static int cmd_enroll(int argc, char **argv)
{
    struct cli_opt o[] = {{.name = "--issuer", .required = true},
                          {.name = "--dev-age"},
                          {.name = "--oidc", .kind = CLI_FLAG},
                          {.name = "--mdoc"},
                          {.name = "--mdoc-request", .kind = CLI_FLAG},
                          {.name = "--state"},
                          {.name = "--age"},
                          {.name = "--wallet"},
                          {.name = "--grant"},
                          {.name = "--provider"},
                          {.name = "--proxy"}};
    size_t n = sizeof o / sizeof o[0];
    char base[2048], url[4200], body[64], name[AGP_ISSUER_NAME_MAX + 1], grant[64];
    const char *headers[] = {"Content-Type: application/json", "Accept: application/json", NULL};
    const char *form_headers[] = {"Content-Type: application/x-www-form-urlencoded",
                                  "Accept: application/json", NULL};
    char *form = NULL;
    size_t form_len = 0;
    struct cli_http_req hr = {url,  headers,         (const uint8_t *)body, 0,
                              8192, HTTP_TIMEOUT_MS, provider_proxy};
    struct cli_http_resp resp;
    struct wallet w;
    json_t *entry, *reply = NULL;
    uint64_t age = 0;
    agp_err err;
    int rc;

    if ((rc = cli_parse(argc, argv, o, n, usage)) != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    if ((rc = take_proxy(o, n)) != CLI_OK) return rc;
    hr.proxy = provider_proxy; /* set above before the option was read */
    if (!issuer_base(cli_get(o, n, "--issuer"), base, sizeof base) ||
        !cli_url_host(base, name, sizeof name)) {
        fprintf(stderr, "agepass: --issuer takes the issuer's https URL (plain http only on "
                        "loopback)\n");
        return CLI_USAGE;
    }
    if (cli_get(o, n, "--mdoc-request")) return mdoc_request(base, cli_get(o, n, "--age"));
    if (cli_get(o, n, "--oidc")) {
        if ((rc = oidc_grant(base, cli_get(o, n, "--provider"), cli_get(o, n, "--grant"), grant)) !=
            CLI_OK)
            return rc;
        if ((rc = wallet_open(&w, cli_get(o, n, "--wallet"))) != CLI_OK) goto out;
        entry = wallet_issuer(&w, base, true);
        json_object_set_new(entry, "name", json_string(name));
        if ((rc = fetch_directory(entry, base)) != CLI_OK) goto out;
        json_object_set_new(entry, "grant", json_string(grant));
        json_object_set_new(entry, "grant-expires",
                            json_integer((json_int_t)time(NULL) + OIDC_GRANT_TTL_S));
        json_object_del(entry, "refill-at"); /* a new grant, a new schedule */
        AGP_WIPE(grant);
        if ((rc = wallet_save(&w)) == CLI_OK)
            printf("enrolled with %s (OpenID Connect): the grant is good for %d minutes\n", base,
                   OIDC_GRANT_TTL_S / 60);
        goto out;
    }
    if (cli_get(o, n, "--mdoc") &&
        (rc = mdoc_form(cli_get(o, n, "--mdoc"), cli_get(o, n, "--state"), &form, &form_len)) !=
            CLI_OK)
        return rc;
    if (form == NULL && (cli_get(o, n, "--dev-age") == NULL ||
                         !cli_parse_uint(cli_get(o, n, "--dev-age"), 150, &age))) {
        fprintf(stderr, "agepass: give --dev-age N (0..150)\n%s", usage);
        return CLI_USAGE;
    }
    if ((rc = wallet_open(&w, cli_get(o, n, "--wallet"))) != CLI_OK) goto out;
    entry = wallet_issuer(&w, base, true);
    json_object_set_new(entry, "name", json_string(name));
    if ((rc = fetch_directory(entry, base)) != CLI_OK) goto out;
    snprintf(url, sizeof url, "%s/enroll/dev", base);
    snprintf(body, sizeof body, "{\"age\": %u}", (unsigned)age);
    hr.body_len = strlen(body);
    if (form != NULL) {
        snprintf(url, sizeof url, "%s/enroll/mdoc/response", base);
        hr.headers = form_headers;
        hr.body = (const uint8_t *)form;
        hr.body_len = form_len;
    }
    rc = CLI_REJECTED;
    if ((err = cli_http(&hr, &resp)) != AGP_OK) {
        cli_fail(url, err);
        goto out;
    }
    reply = json_loadb((const char *)resp.body, resp.len, 0, NULL);
    if (resp.status == 403 && reply &&
        strcmp(str_or_empty(json_string_value(json_object_get(reply, "error"))), "under_age") ==
            0) {
        fprintf(stderr, "agepass: the issuer refused: under age. No token can be had.\n");
    } else if (resp.status != 200 || !json_is_string(json_object_get(reply, "grant"))) {
        fprintf(stderr, "agepass: enrolment failed (HTTP %ld)%s%s\n", resp.status,
                resp.status == 404 ? ": the issuer has no such attester" : ": ",
                resp.status == 404
                    ? ""
                    : str_or_empty(json_string_value(json_object_get(reply, "error"))));
    } else {
        json_int_t ttl = json_integer_value(json_object_get(reply, "expires_in"));
        json_object_set(entry, "grant", json_object_get(reply, "grant"));
        json_object_set_new(entry, "grant-expires", json_integer((json_int_t)time(NULL) + ttl));
        json_object_set(entry, "grant-age", json_object_get(reply, "age"));
        json_object_del(entry, "refill-at"); /* a new grant, a new schedule */
        if ((rc = wallet_save(&w)) == CLI_OK)
            printf("enrolled with %s: over %lld, %lld tokens for %lld s\n", base,
                   json_integer_value(json_object_get(reply, "age")),
                   json_integer_value(json_object_get(reply, "tokens")), ttl);
    }
    json_decref(reply);
    cli_http_resp_free(&resp);
out:
    wallet_close(&w);
    free(form);
    return rc;
}

/* Tokens of class age the entry holds. */
static size_t tokens_of(json_t *entry, unsigned age)
{
    json_t *t;
    size_t i, k = 0;
    json_array_foreach(json_object_get(entry, "tokens"), i, t) k +=
        (unsigned)json_integer_value(json_object_get(t, "age")) == age;
    return k;
}

/*
 * Reads the directory again if its refresh time (drawn at the last read)
 * has come. A refused directory leaves the pinned keys, and says so; it
 * does not stop a fetch with them.
 */
static void refresh_directory(struct wallet *w, json_t *entry, const char *base)
{
    if (json_integer_value(json_object_get(entry, "directory-next")) > time(NULL)) return;
    if (fetch_directory(entry, base) == CLI_OK)
        (void)wallet_save(w);
    else
        fprintf(stderr, "agepass: keeping the keys of %s read before\n", base);
}

/*
 * Fetches count cross-origin tokens of class age from the issuer at base
 * into the entry, in batches of up to AGP_BATCH_MAX (one round trip each;
 * one by one if the issuer does not take batches, or with spread ms of
 * random pause between requests), saving the wallet after each batch.
 */
static int fill(struct wallet *w, json_t *entry, const char *base, unsigned age, uint64_t count,
                uint64_t spread)
{
    char b64[AGP_B64_ENC_LEN(AGP_TOKEN_LEN) + 1];
    uint8_t ch[AGP_CHALLENGE_MAX], token[AGP_TOKEN_LEN];
    static uint8_t tokens[AGP_BATCH_MAX][AGP_TOKEN_LEN];
    bool batches = true;
    struct agp_key *pk = NULL;
    uint64_t i = 0;
    size_t ch_len;
    int rc = CLI_REJECTED;

    if ((pk = entry_key(entry, age, (int64_t)time(NULL))) == NULL) {
        fprintf(stderr, "agepass: %s has no key for age %u\n", base, age);
        return CLI_REJECTED;
    }
    if (cross_challenge(json_string_value(json_object_get(entry, "name")), ch, sizeof ch,
                        &ch_len) != CLI_OK)
        goto out;
    while (spread == 0 && batches && i < count) {
        size_t k = count - i < AGP_BATCH_MAX ? (size_t)(count - i) : AGP_BATCH_MAX, j;
        rc = mint_batch(entry, base, pk, ch, ch_len, k, tokens);
        if (rc == CLI_USAGE) {
            batches = false;
            break;
        }
        if (rc != CLI_OK) goto fetched;
        for (j = 0; j < k && rc == CLI_OK; j++) {
            if (agp_b64url_encode(b64, sizeof b64, NULL, tokens[j], AGP_TOKEN_LEN) != AGP_OK)
                rc = CLI_REJECTED;
            else
                json_array_append_new(json_object_get(entry, "tokens"),
                                      json_pack("{s:i, s:s}", "age", (int)age, "token", b64));
        }
        AGP_WIPE(tokens);
        if (rc == CLI_OK) rc = wallet_save(w); /* each batch lands at once */
        if (rc != CLI_OK) goto fetched;
        i += k;
    }
    for (; i < count; i++) {
        if (i > 0 && spread > 0) usleep((useconds_t)(random_upto(spread - 1) * 1000));
        if ((rc = mint(entry, base, pk, ch, ch_len, token)) != CLI_OK) break;
        if (agp_b64url_encode(b64, sizeof b64, NULL, token, sizeof token) != AGP_OK) break;
        json_array_append_new(json_object_get(entry, "tokens"),
                              json_pack("{s:i, s:s}", "age", (int)age, "token", b64));
        if ((rc = wallet_save(w)) != CLI_OK) break; /* each token lands at once */
    }
fetched:
    printf("fetched %llu of %llu tokens for age %u from %s\n", (unsigned long long)i,
           (unsigned long long)count, age, base);
    if (i > 0 && rc != CLI_OK) rc = CLI_REJECTED;
out:
    AGP_WIPE(token);
    agp_key_free(pk);
    return rc;
}

/*
 * fetch --auto for one issuer entry: the per-grant refill schedule.
 *
 * With at least `low` tokens of the grant's class, nothing is due (and a
 * schedule is dropped). Below it, a refill time is drawn once, uniformly
 * in [now, now + window], cut to a minute before the grant expires, and
 * kept in the entry as "refill-at"; each later run fetches only once that
 * time has come (then the schedule is dropped), so that when tokens are
 * fetched says nothing of when they are spent. Without a valid grant it
 * says to enrol again. Returns CLI_OK unless a due fetch failed.
 */
static int auto_fill(struct wallet *w, json_t *entry, const char *base, unsigned age, size_t low,
                     uint64_t count, uint64_t window)
{
    int64_t now = (int64_t)time(NULL), at;
    int64_t grant_end = json_integer_value(json_object_get(entry, "grant-expires"));
    json_t *a = json_object_get(entry, "grant-age");
    size_t have;

    if (json_is_integer(a) && json_integer_value(a) > 0 && json_integer_value(a) < 256)
        age = (unsigned)json_integer_value(a);
    refresh_directory(w, entry, base);
    have = tokens_of(entry, age);
    if (have >= low) {
        if (json_object_del(entry, "refill-at") == 0) (void)wallet_save(w);
        printf("%s: %zu tokens for age %u, no refill due\n", base, have, age);
        return CLI_OK;
    }
    if (json_object_get(entry, "grant") == NULL || grant_end <= now + 60) {
        printf("%s: %zu tokens for age %u, and no grant to refill with: enrol again "
               "(`agepass enroll --issuer %s ...`), then `agepass fetch --auto`\n",
               base, have, age, base);
        return CLI_OK;
    }
    at = json_integer_value(json_object_get(entry, "refill-at"));
    if (!json_is_integer(json_object_get(entry, "refill-at")) || at >= grant_end - 60) {
        uint64_t span = window;
        if ((uint64_t)(grant_end - 60 - now) < span) span = (uint64_t)(grant_end - 60 - now);
        at = now + (int64_t)random_upto(span);
        json_object_set_new(entry, "refill-at", json_integer((json_int_t)at));
        if (wallet_save(w) != CLI_OK) return CLI_REJECTED;
    }
    if (at > now) {
        printf("%s: %zu tokens for age %u; refill due in %lld s\n", base, have, age,
               (long long)(at - now));
        return CLI_OK;
    }
    json_object_del(entry, "refill-at");
    return fill(w, entry, base, age, count, 0);
}

static int cmd_fetch(int argc, char **argv)
{
    struct cli_opt o[] = {{.name = "--issuer"},
                          {.name = "--age"},
                          {.name = "--count"},
                          {.name = "--spread-ms"},
                          {.name = "--wallet"},
                          {.name = "--proxy"},
                          {.name = "--auto", .kind = CLI_FLAG},
                          {.name = "--low"},
                          {.name = "--window"}};
    size_t n = sizeof o / sizeof o[0];
    uint64_t age = 18, count = 30, spread = 0, low = 10, window = 6 * 3600;
    const char *url;
    char base[2048];
    struct wallet w;
    json_t *entry;
    bool automatic;
    int rc;

    if ((rc = cli_parse(argc, argv, o, n, usage)) != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    if ((rc = take_proxy(o, n)) != CLI_OK) return rc;
    automatic = cli_get(o, n, "--auto") != NULL;
    if (!automatic) count = 10;
    if ((cli_get(o, n, "--age") &&
         (!cli_parse_uint(cli_get(o, n, "--age"), 255, &age) || age == 0)) ||
        (cli_get(o, n, "--count") &&
         (!cli_parse_uint(cli_get(o, n, "--count"), 1000, &count) || count == 0)) ||
        (cli_get(o, n, "--spread-ms") &&
         !cli_parse_uint(cli_get(o, n, "--spread-ms"), 600000, &spread)) ||
        (cli_get(o, n, "--low") && !cli_parse_uint(cli_get(o, n, "--low"), 1000, &low)) ||
        (cli_get(o, n, "--window") &&
         !cli_parse_uint(cli_get(o, n, "--window"), 7 * 86400, &window)) ||
        (!automatic && (cli_get(o, n, "--low") || cli_get(o, n, "--window"))) ||
        (automatic && spread > 0) || (!automatic && cli_get(o, n, "--issuer") == NULL) ||
        (cli_get(o, n, "--issuer") && !issuer_base(cli_get(o, n, "--issuer"), base, sizeof base))) {
        fprintf(stderr, "%s", usage);
        return CLI_USAGE;
    }
    if ((rc = wallet_open(&w, cli_get(o, n, "--wallet"))) != CLI_OK) goto out;
    rc = CLI_REJECTED;
    if (automatic && cli_get(o, n, "--issuer") == NULL) {
        /* every issuer of the wallet */
        rc = CLI_OK;
        json_object_foreach(json_object_get(w.root, "issuers"), url, entry)
        {
            if (auto_fill(&w, entry, url, (unsigned)age, (size_t)low, count, window) != CLI_OK)
                rc = CLI_REJECTED;
        }
        goto out;
    }
    if ((entry = wallet_issuer(&w, base, false)) == NULL) {
        fprintf(stderr, "agepass: not enrolled with %s: run `agepass enroll --issuer %s ...`\n",
                base, base);
        goto out;
    }
    if (automatic) {
        rc = auto_fill(&w, entry, base, (unsigned)age, (size_t)low, count, window);
        goto out;
    }
    refresh_directory(&w, entry, base);
    rc = fill(&w, entry, base, (unsigned)age, count, spread);
out:
    wallet_close(&w);
    return rc;
}

static int cmd_wallet(int argc, char **argv)
{
    struct cli_opt o[] = {{.name = "--wallet"}};
    struct wallet w;
    const char *url;
    json_t *entry, *t;
    size_t i;
    int rc;
    if ((rc = cli_parse(argc, argv, o, 1, usage)) != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    if ((rc = wallet_open(&w, cli_get(o, 1, "--wallet"))) != CLI_OK) return rc;
    printf("wallet %s\n", w.path);
    json_object_foreach(json_object_get(w.root, "issuers"), url, entry)
    {
        unsigned counts[256] = {0}, a;
        json_int_t exp = json_integer_value(json_object_get(entry, "grant-expires"));
        json_array_foreach(json_object_get(entry, "tokens"), i, t)
            counts[json_integer_value(json_object_get(t, "age")) & 255]++;
        printf("  %s (%s): grant %s\n", url, json_string_value(json_object_get(entry, "name")),
               exp > time(NULL) ? "valid" : "none or expired");
        for (a = 0; a < 256; a++)
            if (counts[a]) printf("    over %u: %u tokens\n", a, counts[a]);
    }
    wallet_close(&w);
    return CLI_OK;
}

/* ---- get ------------------------------------------------------------------- */

/* The wallet issuer holding token_key, and the key's class; NULL if none. */
static json_t *issuer_of_key(struct wallet *w, const uint8_t *key, size_t key_len,
                             const char **url_out, unsigned *age)
{
    char b64[AGP_B64_ENC_LEN(AGP_TOKEN_KEY_MAX) + 1];
    const char *url;
    json_t *entry, *k;
    size_t i;
    if (agp_b64url_encode(b64, sizeof b64, NULL, key, key_len) != AGP_OK) return NULL;
    json_object_foreach(json_object_get(w->root, "issuers"), url, entry)
    {
        json_array_foreach(json_object_get(entry, "keys"), i, k)
        {
            if (strcmp(str_or_empty(json_string_value(json_object_get(k, "key"))), b64) == 0) {
                *url_out = url;
                *age = (unsigned)json_integer_value(json_object_get(k, "age"));
                return entry;
            }
        }
    }
    return NULL;
}

/* Takes (removes) a wallet token for this key and challenge digest. */
static bool take_token(json_t *entry, const uint8_t *key_id, const uint8_t *digest,
                       uint8_t token[AGP_TOKEN_LEN])
{
    json_t *tokens = json_object_get(entry, "tokens"), *t;
    size_t i, len;
    json_array_foreach(tokens, i, t)
    {
        const char *s = json_string_value(json_object_get(t, "token"));
        struct agp_token tok;
        if (s == NULL || agp_b64url_decode(token, AGP_TOKEN_LEN, &len, s, strlen(s)) != AGP_OK ||
            agp_token_parse(&tok, token, len) != AGP_OK)
            continue;
        if (memcmp(tok.token_key_id.ptr, key_id, AGP_SHA256_LEN) == 0 &&
            memcmp(tok.challenge_digest.ptr, digest, AGP_SHA256_LEN) == 0) {
            json_array_remove(tokens, i);
            return true;
        }
    }
    return false;
}

/*
 * The PrivateToken challenges of a 401's WWW-Authenticate fields, one per
 * line in www (see cli.h): each field is parsed on its own, and a field
 * that cannot be read (another scheme's, broken) costs only its own.
 */
static void read_challenges(struct agp_www_auth *wa, const char *www)
{
    wa->count = 0;
    while (*www != '\0') {
        size_t n = strcspn(www, "\n");
        if (agp_www_auth_parse_more(wa, www, n) != AGP_OK)
            fprintf(stderr, "agepass: a WWW-Authenticate field of the site does not parse\n");
        www += n;
        if (*www == '\n') www++;
    }
}

/*
 * Answers a 401's challenges: a wallet token for a cross-origin challenge,
 * of a key the challenge lists (token-key) and the wallet pinned from the
 * issuer's directory, whatever its class: a site asking for 16+ that lists
 * a class-18 key takes a class-18 token, and a key the site does not list
 * (one made for some people only) is never spent. With mint_now
 * (--mint-now) only, else a token made now for the first site-bound
 * challenge an enrolled issuer can meet: the issuer then sees the time of
 * the visit. Writes the Authorization header line.
 */
static int answer(struct wallet *w, const char *www, bool mint_now, char *authz, size_t cap)
{
    static struct agp_www_auth wa;
    uint8_t token[AGP_TOKEN_LEN], digest[AGP_SHA256_LEN];
    size_t i, len;
    int pass, rc;
    bool bound_only = false, cross_seen = false;

    read_challenges(&wa, www);
    if (wa.count == 0) {
        fprintf(stderr, "agepass: the site asks for an age check this client cannot read\n");
        return CLI_REJECTED;
    }
    /* first pass: wallet tokens (the issuer learns nothing); second: make one */
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < wa.count; i++) {
            const struct agp_www_challenge *c = &wa.items[i];
            struct agp_challenge ch;
            struct agp_key *pk = NULL;
            const char *url = NULL;
            unsigned age = 0;
            json_t *entry;
            bool cross;
            if (c->token_type != AGP_TOKEN_TYPE_BLIND_RSA || c->token_key_len == 0) continue;
            entry = issuer_of_key(w, c->token_key, c->token_key_len, &url, &age);
            if (entry == NULL ||
                agp_challenge_parse(&ch, c->challenge, c->challenge_len) != AGP_OK ||
                agp_key_load_spki(&pk, c->token_key, c->token_key_len) != AGP_OK)
                continue;
            cross = ch.redemption_context.len == 0 && ch.origin_info.len == 0;
            if (pass == 0) {
                cross_seen |= cross;
                bound_only |= !cross;
            }
            rc = CLI_REJECTED;
            if (pass == 0 && cross &&
                agp_challenge_digest(digest, c->challenge, c->challenge_len) == AGP_OK &&
                take_token(entry, agp_key_id(pk), digest, token)) {
                /* spent from the wallet before it is sent: never shown twice */
                if ((rc = wallet_save(w)) == CLI_OK)
                    fprintf(stderr,
                            "agepass: answering the age check (over %u) with a wallet "
                            "token of %s\n",
                            age, url);
            } else if (pass == 1 && !cross && mint_now) {
                fprintf(stderr,
                        "agepass: --mint-now: asking %s for a token bound to this site (over %u) "
                        "now; the provider sees the time of this visit, which the site's logs can "
                        "match\n",
                        url, age);
                rc = mint(entry, url, pk, c->challenge, c->challenge_len, token);
            }
            agp_key_free(pk);
            if (rc == CLI_OK) {
                char *v = authz + strlen("Authorization: ");
                snprintf(authz, cap, "Authorization: ");
                if (agp_authorization_write(v, cap - strlen("Authorization: "), &len, token,
                                            sizeof token) != AGP_OK)
                    return cli_fail("authorization", AGP_ERR_TOO_BIG);
                return CLI_OK;
            }
        }
    }
    if (bound_only && !cross_seen && !mint_now) {
        fprintf(stderr,
                "agepass: this site takes only tokens made for it at the time of the visit, and "
                "making one would let the age provider see when you visit. Nothing was sent to "
                "the provider. Run again with --mint-now to accept that, or ask the site to take "
                "tokens fetched in advance (cross-origin).\n");
        return CLI_REJECTED;
    }
    fprintf(stderr, "agepass: no token for this site's age check. It accepts tokens from:");
    for (i = 0; i < wa.count; i++) {
        struct agp_challenge ch;
        if (agp_challenge_parse(&ch, wa.items[i].challenge, wa.items[i].challenge_len) == AGP_OK)
            fprintf(stderr, " %.*s", (int)ch.issuer_name.len, (const char *)ch.issuer_name.ptr);
    }
    fprintf(stderr,
            ".\nagepass: enrol with one of them (`agepass enroll --issuer URL ...`), then "
            "`agepass fetch --issuer URL` (the wallet spends only tokens of the keys the "
            "site lists)%s\n",
            bound_only && !mint_now ? "; or run again with --mint-now, which lets the provider "
                                      "see the time of this visit"
                                    : "");
    return CLI_REJECTED;
}

static int cmd_get(int argc, char **argv)
{
    struct cli_opt o[] = {{.name = "-o"},
                          {.name = "--wallet"},
                          {.name = "--mint-now", .kind = CLI_FLAG},
                          {.name = "--proxy"}};
    size_t n = sizeof o / sizeof o[0];
    const char *url, *out_path;
    char origin[2048], cookie_line[512], authz[1024];
    const char *headers[3] = {NULL, NULL, NULL};
    struct cli_http_req hr = {NULL, headers, NULL, 0, PAGE_MAX, HTTP_TIMEOUT_MS, NULL};
    struct cli_http_resp resp;
    struct wallet w;
    json_t *sessions, *sess;
    agp_err err;
    int rc, attempt;

    if (argc < 1 || argv[0][0] == '-') {
        fprintf(stderr, "%s", usage);
        return CLI_USAGE;
    }
    url = argv[0];
    if ((rc = cli_parse(argc - 1, argv + 1, o, n, usage)) != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    if ((rc = take_proxy(o, n)) != CLI_OK) return rc;
    if (!url_origin(url, origin, sizeof origin) ||
        (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)) {
        fprintf(stderr, "agepass: get takes an http(s) URL\n");
        return CLI_USAGE;
    }
    out_path = cli_get(o, n, "-o");
    hr.url = url;
    if ((rc = wallet_open(&w, cli_get(o, n, "--wallet"))) != CLI_OK) goto done;
    sessions = json_object_get(w.root, "sessions");
    sess = json_object_get(sessions, origin);
    if (sess && json_integer_value(json_object_get(sess, "until")) > time(NULL)) {
        snprintf(cookie_line, sizeof cookie_line, "Cookie: %s",
                 str_or_empty(json_string_value(json_object_get(sess, "cookie"))));
        headers[0] = cookie_line;
    }
    for (attempt = 0; attempt < 2; attempt++) {
        if ((err = cli_http(&hr, &resp)) != AGP_OK) {
            rc = cli_fail(url, err);
            goto done;
        }
        if (resp.status != 401 || attempt == 1 || resp.www_authenticate == NULL) break;
        rc = answer(&w, resp.www_authenticate, cli_get(o, n, "--mint-now") != NULL, authz,
                    sizeof authz);
        cli_http_resp_free(&resp);
        if (rc != CLI_OK) goto done;
        headers[0] = authz;
        headers[1] = NULL;
    }
    if (resp.set_cookie != NULL && strncmp(resp.set_cookie, "agepass_session=", 16) == 0) {
        size_t len = strcspn(resp.set_cookie, ";,");
        json_object_set_new(sessions, origin,
                            json_pack("{s:s%, s:I}", "cookie", resp.set_cookie, len, "until",
                                      (json_int_t)time(NULL) + SESSION_KEEP_S));
        (void)wallet_save(&w);
    }
    if (resp.status >= 200 && resp.status < 300) {
        rc = out_path
                 ? cli_output(out_path, resp.body, resp.len, 0644)
                 : (fwrite(resp.body, 1, resp.len, stdout) == resp.len ? CLI_OK : CLI_REJECTED);
    } else {
        fprintf(stderr, "agepass: %s answered HTTP %ld%s\n", url, resp.status,
                resp.status == 401   ? ": the site refused the token (spent already, or not for "
                                       "this site); try again to use another"
                : resp.status == 503 ? ": the site's age check is unavailable; try later"
                                     : "");
        rc = CLI_REJECTED;
    }
    cli_http_resp_free(&resp);
done:
    AGP_WIPE(authz);
    wallet_close(&w);
    return rc;
}

/* see cli.h */
int cli_wallet_answer(const char *wallet_path, const char *www, char *authz, size_t cap)
{
    struct wallet w;
    int rc;
    if ((rc = wallet_open(&w, wallet_path)) == CLI_OK) rc = answer(&w, www, false, authz, cap);
    wallet_close(&w);
    return rc;
}

int cmd_client(const char *verb, int argc, char **argv)
{
    if (strcmp(verb, "enroll") == 0) return cmd_enroll(argc, argv);
    if (strcmp(verb, "fetch") == 0) return cmd_fetch(argc, argv);
    if (strcmp(verb, "get") == 0) return cmd_get(argc, argv);
    if (strcmp(verb, "wallet") == 0) return cmd_wallet(argc, argv);
    fputs(usage, stderr);
    return CLI_USAGE;
}
