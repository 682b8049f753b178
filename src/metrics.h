/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/metrics.h: what both services (issuer, verifier) print on /metrics
 * the same way, in the Prometheus text exposition format 0.0.4: a page
 * being written, the HELP and TYPE lines of each series, label values
 * escaped, latency histograms with fixed buckets, the build and start-time
 * gauges, and the optional second listener (--metrics-listen) that serves
 * /metrics and nothing else.
 *
 * The names and labels are in docs/figures-metrics.md. No label value
 * comes from a request: every one is from a fixed list or from the
 * operator's configuration (issuer names, key ids, provider names).
 *
 * Thread safety: metrics_observe may run on any thread at once (atomic
 * counts); a struct metrics_page belongs to the one request writing it;
 * metrics_listen_start and http_stop from the main thread.
 */
#ifndef AGEPASS_SRC_METRICS_H
#define AGEPASS_SRC_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "http.h"

/* The upper bounds of the histograms' buckets, seconds: 0.001 ... 10, then +Inf. */
#define METRICS_BUCKETS 14 /* with +Inf */

/*
 * A latency histogram: counts per bucket (not cumulative: the page adds
 * them up) and the sum in microseconds. Zeroed static storage is empty.
 */
struct metrics_histogram {
    atomic_ulong count[METRICS_BUCKETS];
    atomic_ullong sum_us;
};

/* Monotonic microseconds, for measuring one request. */
int64_t metrics_now_us(void);

/* Counts one duration of elapsed_us microseconds (negative counts as 0). */
void metrics_observe(struct metrics_histogram *h, int64_t elapsed_us);

/* A /metrics page being written: grows up to METRICS_PAGE_MAX, then fails. */
#define METRICS_PAGE_MAX (1u << 20)
struct metrics_page {
    char *buf;
    size_t len, cap;
    bool failed; /* out of memory or over the cap: the page is not sent */
};

/* Appends printf-style text; on failure sets p->failed and appends nothing more. */
__attribute__((format(printf, 2, 3))) void metrics_printf(struct metrics_page *p, const char *fmt,
                                                          ...);

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void metrics_head(struct metrics_page *p, const char *name, const char *type, const char *help);

/*
 * A label value escaped as the format asks (backslash, double quote and
 * newline), into out (cap at least 2 * strlen(in) + 1, else truncated).
 */
const char *metrics_escape(char *out, size_t cap, const char *in);

/*
 * The histogram's _bucket, _sum and _count lines for name; labels is
 * `endpoint="token"` or "" (its HELP and TYPE lines are the caller's, once
 * per name).
 */
void metrics_histogram(struct metrics_page *p, const char *name, const char *labels,
                       const struct metrics_histogram *h);

/* Notes the process start time; call once at the service's start. */
void metrics_started(void);

/* agepass_build_info{service=...,version=...} 1 and process_start_time_seconds. */
void metrics_common(struct metrics_page *p, const char *service);

/* Sends the page (200, text/plain; version=0.0.4) and frees it; MHD_NO if it failed. */
enum MHD_Result metrics_send(struct MHD_Connection *conn, struct metrics_page *p);

/* Writes a service's whole /metrics page and answers it. */
typedef enum MHD_Result (*metrics_page_fn)(void *cls, struct MHD_Connection *conn);

/*
 * --metrics-listen ADDR:PORT: a second listener (http_start's, one thread)
 * that answers GET /metrics with fn(cls, conn), and 404 to everything
 * else. Returns 0, or -1 after saying why on stderr (a bad address, or
 * the port cannot be listened on). Stop it with http_stop.
 */
int metrics_listen_start(struct http_server **out, const char *addr_port, metrics_page_fn fn,
                         void *cls);

#endif
