/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/report_prom.c: the answers of Prometheus's HTTP query API, read
 * strictly (https://prometheus.io/docs/prometheus/latest/querying/api/),
 * and the bounded text buffer the report's writers share.
 *
 * The report trusts Prometheus for the numbers, not for the shape: an
 * answer that is not exactly an instant vector of labelled numbers is an
 * error the operator sees, never a figure quietly missing from a report.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "report.h"

static void say(char *why, size_t cap, const char *what)
{
    snprintf(why, cap, "%s", what);
}

/* Prometheus writes sample values with strconv.FormatFloat(v, 'f', -1, 64) or 'e' forms. */
static bool parse_number(const char *s, double *out)
{
    size_t i = 0, digits = 0, n = strlen(s);
    char *end = NULL;
    if (strcmp(s, "NaN") == 0) return *out = NAN, true;
    if (strcmp(s, "+Inf") == 0) return *out = INFINITY, true;
    if (strcmp(s, "-Inf") == 0) return *out = -INFINITY, true;
    if (n == 0 || n > 40) return false;
    if (s[i] == '-') i++;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        digits++;
    if (i < n && s[i] == '.')
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            digits++;
    if (digits == 0) return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t exp_digits = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            exp_digits++;
        if (exp_digits == 0) return false;
    }
    if (i != n) return false;
    *out = strtod(s, &end); /* the syntax is checked above; the "C" locale is never changed */
    return end == s + n && isfinite(*out);
}

static bool label_name_ok(const char *s)
{
    size_t i, n = strlen(s);
    if (n == 0 || n > REPORT_LABEL_NAME_MAX) return false;
    for (i = 0; i < n; i++) {
        char c = s[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
}

static bool label_value_ok(const char *s, size_t n)
{
    size_t i;
    if (n > REPORT_LABEL_VALUE_MAX || strlen(s) != n) return false; /* no NUL inside */
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return false;
    return true;
}

static agp_err read_sample(struct report_sample *out, json_t *item, char *why, size_t cap)
{
    json_t *metric, *value, *v;
    const char *key, *text;
    double ts;

    if (!json_is_object(item) || json_object_size(item) != 2 ||
        !json_is_object(metric = json_object_get(item, "metric")) ||
        !json_is_array(value = json_object_get(item, "value"))) {
        say(why, cap, "a result is not {\"metric\":{...},\"value\":[time,\"number\"]}");
        return AGP_ERR_SYNTAX;
    }
    if (json_object_size(metric) > REPORT_LABELS_MAX) {
        say(why, cap, "a series has too many labels");
        return AGP_ERR_TOO_BIG;
    }
    json_object_foreach(metric, key, v)
    {
        struct report_label *l = &out->labels[out->n_labels];
        if (!label_name_ok(key) || !json_is_string(v) ||
            !label_value_ok(json_string_value(v), json_string_length(v))) {
            say(why, cap, "a label is not a name and a printable string");
            return AGP_ERR_SYNTAX;
        }
        memcpy(l->name, key, strlen(key) + 1);
        memcpy(l->value, json_string_value(v), json_string_length(v) + 1);
        out->n_labels++;
    }
    if (json_array_size(value) != 2 || !json_is_number(json_array_get(value, 0)) ||
        !json_is_string(json_array_get(value, 1))) {
        say(why, cap, "a value is not [time, \"number\"]");
        return AGP_ERR_SYNTAX;
    }
    ts = json_number_value(json_array_get(value, 0));
    text = json_string_value(json_array_get(value, 1));
    if (!isfinite(ts) || ts < 0 || !parse_number(text, &out->value)) {
        say(why, cap, "a value is not a number");
        return AGP_ERR_SYNTAX;
    }
    return AGP_OK;
}

static bool string_array(json_t *a)
{
    size_t i;
    json_t *v;
    if (!json_is_array(a)) return false;
    json_array_foreach(a, i, v) if (!json_is_string(v)) return false;
    return true;
}

/* see report.h */
agp_err report_parse_vector(struct report_vector *out, const uint8_t *json, size_t len, char *why,
                            size_t why_cap)
{
    json_t *root = NULL, *data, *result, *item, *v;
    json_error_t jerr;
    const char *key, *status;
    agp_err err = AGP_ERR_SYNTAX;
    size_t i;

    memset(out, 0, sizeof *out);
    say(why, why_cap, "");
    if (len > REPORT_ANSWER_MAX) {
        say(why, why_cap, "the answer is too big");
        return AGP_ERR_TOO_BIG;
    }
    root = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL || !json_is_object(root)) {
        say(why, why_cap, "the answer is not a JSON object");
        goto out;
    }
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "status") != 0 && strcmp(key, "data") != 0 &&
            strcmp(key, "warnings") != 0 && strcmp(key, "infos") != 0 &&
            strcmp(key, "errorType") != 0 && strcmp(key, "error") != 0) {
            say(why, why_cap, "the answer has an unknown member");
            goto out;
        }
        if (strcmp(key, "data") != 0 && strcmp(key, "status") != 0 && !string_array(v) &&
            !json_is_string(v)) {
            say(why, why_cap, "the answer's warnings or error are not text");
            goto out;
        }
    }
    if (!json_is_string(json_object_get(root, "status"))) {
        say(why, why_cap, "the answer has no status");
        goto out;
    }
    status = json_string_value(json_object_get(root, "status"));
    if (strcmp(status, "error") == 0) {
        json_t *msg = json_object_get(root, "error");
        const char *m = json_is_string(msg) ? json_string_value(msg) : "(no message)";
        size_t j, n;
        snprintf(why, why_cap, "Prometheus refused the query: %.200s", m);
        for (j = 0, n = strlen(why); j < n; j++) /* its text, printed on a terminal */
            if ((unsigned char)why[j] < 0x20 || why[j] == 0x7f) why[j] = '?';
        err = AGP_ERR_NOT_FOUND;
        goto out;
    }
    if (strcmp(status, "success") != 0 || json_object_get(root, "error") != NULL ||
        json_object_get(root, "errorType") != NULL ||
        !json_is_object(data = json_object_get(root, "data")) || json_object_size(data) != 2 ||
        !json_is_string(json_object_get(data, "resultType")) ||
        strcmp(json_string_value(json_object_get(data, "resultType")), "vector") != 0 ||
        !json_is_array(result = json_object_get(data, "result"))) {
        say(why, why_cap, "the answer is not a successful instant vector");
        goto out;
    }
    if (json_array_size(result) > REPORT_SAMPLES_MAX) {
        say(why, why_cap, "the answer has too many series");
        err = AGP_ERR_TOO_BIG;
        goto out;
    }
    if (json_array_size(result) > 0 &&
        (out->samples = calloc(json_array_size(result), sizeof *out->samples)) == NULL) {
        err = AGP_ERR_NOMEM;
        goto out;
    }
    json_array_foreach(result, i, item)
    {
        if ((err = read_sample(&out->samples[i], item, why, why_cap)) != AGP_OK) goto out;
        out->n = i + 1;
    }
    err = AGP_OK;
out:
    json_decref(root);
    if (err != AGP_OK) report_vector_free(out);
    return err;
}

/* see report.h */
void report_vector_free(struct report_vector *v)
{
    free(v->samples);
    v->samples = NULL;
    v->n = 0;
}

/* see report.h */
const char *report_label(const struct report_sample *s, const char *name)
{
    size_t i;
    for (i = 0; i < s->n_labels; i++)
        if (strcmp(s->labels[i].name, name) == 0) return s->labels[i].value;
    return NULL;
}

/* see report.h */
void report_buf_add(struct report_buf *b, const void *data, size_t len)
{
    if (b->failed) return;
    if (len > REPORT_OUTPUT_MAX - b->len) {
        b->failed = true;
        return;
    }
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *p;
        while (cap < b->len + len + 1)
            cap *= 2;
        if ((p = realloc(b->p, cap)) == NULL) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
}

/* see report.h */
void report_buf_puts(struct report_buf *b, const char *s)
{
    report_buf_add(b, s, strlen(s));
}

/* see report.h */
void report_buf_printf(struct report_buf *b, const char *fmt, ...)
{
    char small[1024];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof small) {
        b->failed = true; /* every formatted piece is short; longer text goes through _add */
        return;
    }
    report_buf_add(b, small, (size_t)n);
}

/* see report.h */
void report_buf_free(struct report_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
