/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/report.h: what the parts of `agepass report` share: the answers of
 * Prometheus's query API (report_prom.c), the figures of one period and
 * their small-count rule (report.c), the charts and the PDF drawn with
 * cairo (report_draw.c).
 *
 * Nothing here is thread safe; the command runs on one thread.
 */
#ifndef AGEPASS_REPORT_H
#define AGEPASS_REPORT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agepass/err.h"

/* Bounds on what a Prometheus answer may hold; anything beyond is refused. */
#define REPORT_ANSWER_MAX      (4u * 1024 * 1024) /* bytes of one answer */
#define REPORT_SAMPLES_MAX     4096               /* series in one vector */
#define REPORT_LABELS_MAX      16                 /* labels of one series */
#define REPORT_LABEL_NAME_MAX  64
#define REPORT_LABEL_VALUE_MAX 160

struct report_label {
    char name[REPORT_LABEL_NAME_MAX + 1];
    char value[REPORT_LABEL_VALUE_MAX + 1];
};

struct report_sample {
    struct report_label labels[REPORT_LABELS_MAX];
    size_t n_labels;
    double value; /* may be NaN (no data) or +Inf, as Prometheus writes them */
};

struct report_vector {
    struct report_sample *samples; /* malloc'd; free with report_vector_free */
    size_t n;
};

/*
 * Reads one answer of /api/v1/query (an instant vector) strictly:
 *   {"status":"success","data":{"resultType":"vector","result":[
 *     {"metric":{"name":"value",...},"value":[<unix time>,"<number>"]},...]}}
 * ("warnings" and "infos" arrays are allowed beside "data"). Any other
 * shape, a duplicate key, a label name that is not [A-Za-z_][A-Za-z0-9_]*,
 * a label value with a control character, a value that is not a number in
 * Prometheus's text (decimal, NaN, +Inf, -Inf), or more than the bounds
 * above is refused with AGP_ERR_SYNTAX (AGP_ERR_TOO_BIG for the sizes).
 * An error answer ({"status":"error","errorType":..,"error":..}) gives
 * AGP_ERR_NOT_FOUND with Prometheus's message in why.
 * On failure *out is empty and why says what was wrong (why_cap > 0).
 */
AGP_MUST_USE agp_err report_parse_vector(struct report_vector *out, const uint8_t *json, size_t len,
                                         char *why, size_t why_cap);
void report_vector_free(struct report_vector *v);

/* The value of label name in s, or NULL. */
const char *report_label(const struct report_sample *s, const char *name);

/* A growable text buffer with a ceiling; a failed append sets failed. */
struct report_buf {
    char *p;
    size_t len, cap;
    bool failed;
};
#define REPORT_OUTPUT_MAX (32u * 1024 * 1024)
void report_buf_add(struct report_buf *b, const void *data, size_t len);
void report_buf_puts(struct report_buf *b, const char *s);
void report_buf_printf(struct report_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void report_buf_free(struct report_buf *b);

/*
 * One count, as shown: suppressed when 0 < n < k, or (secondary) when
 * hidden so that another suppressed count cannot be found by subtraction.
 */
struct report_count {
    double n;
    bool suppressed, secondary;
};

/* A bar chart: up to REPORT_BARS_MAX labelled counts. */
#define REPORT_BARS_MAX 24
struct report_chart {
    const char *title;
    size_t n;
    char label[REPORT_BARS_MAX][96];
    struct report_count value[REPORT_BARS_MAX];
};

/*
 * The chart drawn with cairo into a PNG in *png (report_buf); false if
 * cairo failed. k is the small-count threshold shown for
 * suppressed bars.
 */
bool report_chart_png(const struct report_chart *c, unsigned k, struct report_buf *png);

/* Text blocks of the PDF, in order. */
enum report_block_kind { REPORT_H1, REPORT_H2, REPORT_PARA, REPORT_ROW, REPORT_CHART };
struct report_block {
    enum report_block_kind kind;
    const char *text;                 /* H1, H2, PARA; ROW: the first column */
    const char *col2, *col3;          /* ROW: the labels and the value */
    const struct report_chart *chart; /* CHART */
};

/* The blocks laid out on A4 pages into a PDF in *pdf; false if cairo failed. */
bool report_pdf(const struct report_block *blocks, size_t n, unsigned k, struct report_buf *pdf);

/* Frees what cairo, Pango and fontconfig keep for the process; call last. */
void report_draw_done(void);

#endif
