/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/fetch.c: HTTP requests with libcurl, bounded in size and time, for
 * the programs: issuer directories for the verifier, and everything the
 * client asks of issuers and sites.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "agepass/util.h"
#include "cli.h"

struct sink {
    uint8_t *buf;
    size_t len, max;
    bool too_big;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct sink *s = userdata;
    size_t n = size * nmemb;
    if (n > s->max - s->len) {
        s->too_big = true;
        return 0; /* aborts the transfer */
    }
    memcpy(s->buf + s->len, ptr, n);
    s->len += n;
    return n;
}

/*
 * Keeps the response headers the client needs; repeated ones are joined
 * with sep (", ", or "\n" for fields that are parsed one by one).
 */
static void keep_header(char **slot, const char *sep, const char *value, size_t len)
{
    size_t old = *slot ? strlen(*slot) : 0, sep_len = strlen(sep);
    char *p;
    if (old + len > 16384) return; /* a header beyond any we use */
    if ((p = realloc(*slot, old + len + sep_len + 1)) == NULL) return;
    if (old) memcpy(p + old, sep, sep_len), old += sep_len;
    memcpy(p + old, value, len);
    p[old + len] = '\0';
    *slot = p;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct cli_http_resp *r = userdata;
    size_t n = size * nmemb, name_len, v;
    static const struct {
        const char *name;
        size_t off;
        const char *sep;
    } wanted[] = {{"www-authenticate", offsetof(struct cli_http_resp, www_authenticate), "\n"},
                  {"set-cookie", offsetof(struct cli_http_resp, set_cookie), ", "},
                  {"content-type", offsetof(struct cli_http_resp, content_type), ", "}};
    size_t i;
    const char *colon = memchr(ptr, ':', n);
    if (colon == NULL) {
        /* a new status line (after a 100 or a redirect): forget earlier headers */
        if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) cli_http_resp_clear_headers(r);
        return n;
    }
    name_len = (size_t)(colon - ptr);
    for (i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
        if (name_len != strlen(wanted[i].name) || strncasecmp(ptr, wanted[i].name, name_len) != 0)
            continue;
        v = name_len + 1;
        while (v < n && (ptr[v] == ' ' || ptr[v] == '\t'))
            v++;
        while (n > v && (ptr[n - 1] == '\r' || ptr[n - 1] == '\n' || ptr[n - 1] == ' '))
            n--;
        /* a value holding a line break (obs-fold) would split a field: not kept */
        if (memchr(ptr + v, '\n', n - v) != NULL) return size * nmemb;
        keep_header((char **)((char *)r + wanted[i].off), wanted[i].sep, ptr + v, n - v);
        return size * nmemb;
    }
    return n;
}

/* see cli.h */
void cli_http_resp_clear_headers(struct cli_http_resp *r)
{
    free(r->www_authenticate);
    free(r->set_cookie);
    free(r->content_type);
    r->www_authenticate = r->set_cookie = r->content_type = NULL;
}

/* see cli.h */
void cli_http_resp_free(struct cli_http_resp *r)
{
    cli_http_resp_clear_headers(r);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* see cli.h */
agp_err cli_http(const struct cli_http_req *req, struct cli_http_resp *resp)
{
    struct sink s = {NULL, 0, req->max, false};
    struct curl_slist *headers = NULL;
    agp_err err = AGP_ERR_IO;
    CURL *c;
    CURLcode rc = CURLE_FAILED_INIT;
    size_t i;

    memset(resp, 0, sizeof *resp);
    if ((s.buf = malloc(req->max + 1)) == NULL) return AGP_ERR_NOMEM;
    if ((c = curl_easy_init()) == NULL) goto out;
    for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
        headers = curl_slist_append(headers, req->headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, req->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "agepass");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
    if (req->proxy != NULL) {
        curl_easy_setopt(c, CURLOPT_PROXY, req->proxy);
        curl_easy_setopt(c, CURLOPT_NOPROXY, "");         /* even for loopback or no_proxy */
        curl_easy_setopt(c, CURLOPT_HTTPPROXYTUNNEL, 1L); /* HTTP proxies: CONNECT, also for http */
    }
    if (req->body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
    }
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    if (s.too_big) {
        err = AGP_ERR_TOO_BIG;
    } else if (rc == CURLE_OK) {
        s.buf[s.len] = 0;
        resp->body = s.buf;
        resp->len = s.len;
        s.buf = NULL;
        err = AGP_OK;
    }
out:
    free(s.buf);
    if (err != AGP_OK) cli_http_resp_free(resp);
    return err;
}

/* see cli.h */
bool cli_proxy_ok(const char *url)
{
    static const char *const schemes[] = {"http://", "https://", "socks5://", "socks5h://"};
    size_t i, n = strlen(url);
    if (n > 2048 || strcspn(url, " \t\r\n") != n) return false;
    for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (strncmp(url, schemes[i], strlen(schemes[i])) == 0 && n > strlen(schemes[i]))
            return true;
    return false;
}

/* see cli.h */
agp_err cli_http_get(const char *url, size_t max, long timeout_ms, uint8_t **body, size_t *len,
                     long *status)
{
    struct cli_http_req req = {.url = url, .max = max, .timeout_ms = timeout_ms};
    struct cli_http_resp resp;
    agp_err err = cli_http(&req, &resp);
    *body = NULL;
    *len = 0;
    *status = 0;
    if (err != AGP_OK) return err;
    *body = resp.body;
    *len = resp.len;
    *status = resp.status;
    resp.body = NULL;
    cli_http_resp_free(&resp);
    return AGP_OK;
}

/* see cli.h */
bool cli_url_append(char *out, size_t cap, size_t *pos, const char *s)
{
    char *esc = curl_easy_escape(NULL, s, 0); /* the handle is unused since curl 7.82 */
    size_t n;
    bool ok;
    if (esc == NULL) return false;
    n = strlen(esc);
    ok = *pos < cap && cap - *pos > n;
    if (ok) {
        memcpy(out + *pos, esc, n + 1);
        *pos += n;
    }
    agp_wipe(esc, n); /* the value may be a secret (a client secret, a code) */
    curl_free(esc);
    return ok;
}
