/*
 * src/fetch.c: HTTP GET with libcurl, bounded in size and time, for the
 * programs (issuer directories; later the client).
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

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

/* see cli.h */
agp_err cli_http_get(const char *url, size_t max, long timeout_ms, uint8_t **body, size_t *len,
                     long *status)
{
    struct sink s = {NULL, 0, max, false};
    agp_err err = AGP_ERR_IO;
    CURL *c;
    CURLcode rc;

    *body = NULL;
    *len = 0;
    *status = 0;
    if ((s.buf = malloc(max + 1)) == NULL) return AGP_ERR_NOMEM;
    if ((c = curl_easy_init()) == NULL) goto out;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "agepass");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(c);
    if (s.too_big) {
        err = AGP_ERR_TOO_BIG;
    } else if (rc == CURLE_OK) {
        s.buf[s.len] = 0;
        *body = s.buf;
        *len = s.len;
        s.buf = NULL;
        err = AGP_OK;
    }
out:
    free(s.buf);
    return err;
}
