/* SPDX-License-Identifier: Apache-2.0 */
/* Target: report_parse_vector */
/*
 * tests/fuzz/fuzz_prom_vector.c: the answers of Prometheus's query API that
 * `agepass report` reads (src/report_prom.c).
 *
 * Oracle: on failure the output is empty and the reason is set; on
 * success every label name and value is within its bounds, and the vector
 * written back as JSON (jansson) parses to the same labels and values.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "report.h"

static char *write_back(const struct report_vector *v)
{
    json_t *result = json_array(), *root;
    char num[64], *text;
    size_t i, j;
    for (i = 0; i < v->n; i++) {
        json_t *metric = json_object();
        const double x = v->samples[i].value;
        for (j = 0; j < v->samples[i].n_labels; j++)
            json_object_set_new(metric, v->samples[i].labels[j].name,
                                json_string(v->samples[i].labels[j].value));
        if (isnan(x))
            snprintf(num, sizeof num, "NaN");
        else if (isinf(x))
            snprintf(num, sizeof num, "%sInf", x > 0 ? "+" : "-");
        else
            snprintf(num, sizeof num, "%.17g", x);
        json_array_append_new(result,
                              json_pack("{s:o,s:[i,s]}", "metric", metric, "value", 1, num));
    }
    root = json_pack("{s:s,s:{s:s,s:o}}", "status", "success", "data", "resultType", "vector",
                     "result", result);
    text = json_dumps(root, JSON_PRESERVE_ORDER);
    json_decref(root);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct report_vector v, again;
    char why[256], why2[256], *text;
    size_t i, j;
    agp_err err = report_parse_vector(&v, data, size, why, sizeof why);
    if (err != AGP_OK) {
        FUZZ_CHECK(v.n == 0 && v.samples == NULL && why[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(v.n <= REPORT_SAMPLES_MAX);
    for (i = 0; i < v.n; i++) {
        FUZZ_CHECK(v.samples[i].n_labels <= REPORT_LABELS_MAX);
        for (j = 0; j < v.samples[i].n_labels; j++) {
            FUZZ_CHECK(strlen(v.samples[i].labels[j].name) <= REPORT_LABEL_NAME_MAX);
            FUZZ_CHECK(strlen(v.samples[i].labels[j].value) <= REPORT_LABEL_VALUE_MAX);
        }
    }
    text = write_back(&v);
    FUZZ_CHECK(text != NULL);
    FUZZ_CHECK(report_parse_vector(&again, (const uint8_t *)text, strlen(text), why2,
                                   sizeof why2) == AGP_OK);
    FUZZ_CHECK(again.n == v.n);
    for (i = 0; i < v.n; i++) {
        const struct report_sample *a = &v.samples[i], *b = &again.samples[i];
        FUZZ_CHECK(a->n_labels == b->n_labels);
        for (j = 0; j < a->n_labels; j++) {
            FUZZ_CHECK(strcmp(report_label(b, a->labels[j].name), a->labels[j].value) == 0);
        }
        FUZZ_CHECK((isnan(a->value) && isnan(b->value)) || a->value == b->value);
    }
    free(text);
    report_vector_free(&again);
    report_vector_free(&v);
    return 0;
}
