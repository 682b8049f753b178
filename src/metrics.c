/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/metrics.c: the /metrics page both services write (see metrics.h).
 *
 * A page is a growable buffer with a ceiling, written with metrics_printf
 * and sent as a whole: a failed write leaves p->failed set and the request
 * is dropped rather than answered with half a page (a scrape that fails is
 * seen as such; one that lacks series would read as zeros).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "metrics.h"

#ifndef AGP_VERSION
#error "AGP_VERSION is set by CMakeLists.txt"
#endif

/* The buckets' upper bounds: microseconds, and as printed. */
static const int64_t bucket_us[METRICS_BUCKETS - 1] = {1000,    2500,    5000,    10000,  25000,
                                                       50000,   100000,  250000,  500000, 1000000,
                                                       2500000, 5000000, 10000000};
static const char *const bucket_le[METRICS_BUCKETS] = {"0.001", "0.0025", "0.005", "0.01", "0.025",
                                                       "0.05",  "0.1",    "0.25",  "0.5",  "1",
                                                       "2.5",   "5",      "10",    "+Inf"};

static int64_t start_time; /* Unix seconds: metrics_started */

/* see metrics.h */
int64_t metrics_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* see metrics.h */
void metrics_observe(struct metrics_histogram *h, int64_t elapsed_us)
{
    size_t i = 0;
    if (elapsed_us < 0) elapsed_us = 0;
    while (i < METRICS_BUCKETS - 1 && elapsed_us > bucket_us[i])
        i++;
    atomic_fetch_add(&h->count[i], 1);
    atomic_fetch_add(&h->sum_us, (unsigned long long)elapsed_us);
}

/* see metrics.h */
void metrics_printf(struct metrics_page *p, const char *fmt, ...)
{
    va_list ap;
    int w;
    if (p->failed) return;
    for (;;) {
        size_t room = p->cap - p->len;
        char *next;
        va_start(ap, fmt);
        w = p->buf != NULL ? vsnprintf(p->buf + p->len, room, fmt, ap) : -2;
        va_end(ap);
        if (w == -1) break;
        if (w >= 0 && (size_t)w < room) {
            p->len += (size_t)w;
            return;
        }
        if (p->cap >= METRICS_PAGE_MAX) break;
        next = realloc(p->buf, p->cap == 0 ? 16384 : 2 * p->cap);
        if (next == NULL) break;
        p->buf = next;
        p->cap = p->cap == 0 ? 16384 : 2 * p->cap;
    }
    p->failed = true;
}

/* see metrics.h */
void metrics_head(struct metrics_page *p, const char *name, const char *type, const char *help)
{
    metrics_printf(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* see metrics.h */
const char *metrics_escape(char *out, size_t cap, const char *in)
{
    size_t n = 0;
    if (cap == 0) return "";
    for (; *in != '\0' && n + 2 < cap; in++) {
        if (*in == '\\' || *in == '"') {
            out[n++] = '\\';
            out[n++] = *in;
        } else if (*in == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else {
            out[n++] = *in;
        }
    }
    out[n] = '\0';
    return out;
}

/* see metrics.h */
void metrics_histogram(struct metrics_page *p, const char *name, const char *labels,
                       const struct metrics_histogram *h)
{
    unsigned long long total = 0, sum_us = atomic_load(&h->sum_us);
    size_t i;
    for (i = 0; i < METRICS_BUCKETS; i++) {
        total += atomic_load(&h->count[i]);
        metrics_printf(p, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels, labels[0] ? "," : "",
                       bucket_le[i], total);
    }
    metrics_printf(p, "%s_sum%s%s%s %llu.%06llu\n%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "",
                   labels, labels[0] ? "}" : "", sum_us / 1000000, sum_us % 1000000, name,
                   labels[0] ? "{" : "", labels, labels[0] ? "}" : "", total);
}

/* see metrics.h */
void metrics_started(void)
{
    start_time = (int64_t)time(NULL);
}

/* see metrics.h */
void metrics_common(struct metrics_page *p, const char *service)
{
    metrics_head(p, "agepass_build_info", "gauge", "The agepass build that runs: always 1.");
    metrics_printf(p, "agepass_build_info{service=\"%s\",version=\"%s\"} 1\n", service,
                   AGP_VERSION);
    metrics_head(p, "process_start_time_seconds", "gauge",
                 "Start time of the process since unix epoch in seconds.");
    metrics_printf(p, "process_start_time_seconds %lld\n", (long long)start_time);
}

/* see metrics.h */
enum MHD_Result metrics_send(struct MHD_Connection *conn, struct metrics_page *p)
{
    struct MHD_Response *r;
    enum MHD_Result ret;
    if (p->failed || p->buf == NULL) {
        fprintf(stderr, "agepass: the /metrics page could not be written\n");
        free(p->buf);
        return MHD_NO;
    }
    r = MHD_create_response_from_buffer(p->len, p->buf, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(p->buf);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* The second listener's state: the service's page writer. */
static struct {
    metrics_page_fn fn;
    void *cls;
} apart;

static char apart_request; /* con_cls of its requests: none has a body worth keeping */

static enum MHD_Result apart_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_size, void **con_cls)
{
    static const char not_found[] = "not found\n";
    struct MHD_Response *r;
    enum MHD_Result ret;
    (void)cls, (void)version, (void)upload_data;
    if (*con_cls == NULL) {
        *con_cls = &apart_request;
        return MHD_YES;
    }
    if (*upload_size != 0) { /* a body is read and dropped */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/metrics") == 0 && strcmp(method, "GET") == 0)
        return apart.fn(apart.cls, conn);
    r = MHD_create_response_from_buffer(sizeof not_found - 1, (void *)not_found,
                                        MHD_RESPMEM_PERSISTENT);
    if (r == NULL) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    ret = MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, r);
    MHD_destroy_response(r);
    return ret;
}

/* see metrics.h */
int metrics_listen_start(struct http_server **out, const char *addr_port, metrics_page_fn fn,
                         void *cls)
{
    struct sockaddr_storage addr;
    socklen_t addr_len;
    struct http_config hc;
    *out = NULL;
    if (cli_parse_listen(addr_port, &addr, &addr_len) != CLI_OK) {
        fprintf(stderr, "agepass: --metrics-listen takes HOST:PORT, e.g. 127.0.0.1:9464\n");
        return -1;
    }
    apart.fn = fn;
    apart.cls = cls;
    memset(&hc, 0, sizeof hc);
    hc.addr = (struct sockaddr *)&addr;
    hc.threads = 1;
    hc.handler = apart_handle;
    if (http_start(out, &hc) != 0) {
        fprintf(stderr, "agepass: cannot listen on %s (--metrics-listen)\n", addr_port);
        *out = NULL;
        return -1;
    }
    return 0;
}
