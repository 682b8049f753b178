/* SPDX-License-Identifier: Apache-2.0 */
/*
 * src/report.c: `agepass report`, the figures of one period for a regulator
 * or an auditor: checks performed and refused and why, minors stopped at
 * enrolment, replays stopped, per evidence source and per provider,
 * availability and latency, the configuration in force, and which figure
 * answers which criterion. Written as a self-contained HTML page, a PDF, a
 * CSV and a JSON file holding the same numbers.
 *
 * The figures come from the operator's Prometheus (its HTTP API, instant
 * queries at the period's end over the period's length), which already
 * keeps the services' counters over time and across restarts; the services
 * keep no history of their own. Every count 0 < n < k is shown as "< k" in
 * every output, and a share whose numerator or denominator is so hidden is
 * not shown either, so that no cell can single out a person.
 *
 * Nothing is written until every query has answered and every output is
 * made: a Prometheus that is down or answers nonsense leaves no file.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "agepass/util.h"
#include "cli.h"
#include "report.h"

static const char usage[] =
    "usage: agepass report --prometheus URL --period day|month|FROM..TO\n"
    "                      [--date YYYY-MM-DD|YYYY-MM] [--k 10] --out DIR\n"
    "\n"
    "Asks the Prometheus at URL (its HTTP API, /api/v1/query) for the figures\n"
    "of one period, in UTC: --period day (--date YYYY-MM-DD, default yesterday),\n"
    "month (--date YYYY-MM, default last month) or FROM..TO (two days\n"
    "YYYY-MM-DD, both included; no --date). Writes DIR/report.html (charts\n"
    "inside), DIR/report.pdf, DIR/report.csv and DIR/report.json, the same\n"
    "numbers in each. Every count 0 < n < k is shown as \"< k\" (--k, default\n"
    "10), and a share resting on such a count is not shown.\n"
    "Exit status: 0 written, 1 Prometheus unreachable or its answer refused\n"
    "(no file written), 2 usage error.\n";

#define LABELS_PER_ROW REPORT_LABELS_MAX

enum unit { U_COUNT, U_SHARE, U_SECONDS, U_DATE, U_INFO };
static const char *const unit_names[] = {"count", "share", "seconds", "date", "info"};

struct row {
    const char *section, *figure;
    struct report_label labels[LABELS_PER_ROW];
    size_t n_labels;
    enum unit unit;
    double value;
    bool suppressed, no_data;
    bool secondary; /* hidden to protect another hidden count: not < k */
};

struct report {
    struct row *rows;
    size_t n, cap;
    unsigned k;
    int64_t start, end;
    const char *kind;
    char name[32], range[32];
    char from_text[32], to_text[32];
    char prom[1024];
    bool failed;
};

/* The sections, in the order every output shows them. */
static const struct {
    const char *id, *title, *intro;
} sections[] = {
    {"checks", "Access checks at the site",
     "Every page request the site's verifier checked, by the answer it gave: 200 shown, 401 "
     "asked for an age check, 403 or 400 refused, 503 the check could not be made (the page "
     "was not shown)."},
    {"tokens", "Age tokens presented to the site",
     "Anonymous age tokens presented by visitors, accepted per provider (issuer) and age "
     "class, and refused by reason; a replay is a token presented a second time."},
    {"enrolment", "Age checks at the provider (enrolment)",
     "People who proved their age to the age provider, per evidence source, and those "
     "refused, by reason; under_age is a minor stopped at enrolment."},
    {"issuance", "Tokens issued by the provider",
     "Tokens signed per age class and key (with the key epoch's start), token requests "
     "refused by reason, and key rotations."},
    {"latency", "Latency and availability",
     "The 95th percentile of the time taken, from the services' histograms, and the share of "
     "checks answered without a failure of the service (1 - 503s / all checks)."},
    {"configuration", "Configuration in force",
     "What the services were running with during the period: minimum age and classes, the "
     "session rule, the trusted providers and their keys, and when each key stops being used."},
};

/* What each figure is, in words (the tables and docs/figures-report.md). */
static const struct {
    const char *figure, *words;
} figure_words[] = {
    {"checks", "access checks, by answer"},
    {"checks_total", "access checks performed"},
    {"availability", "share of checks answered without a service failure"},
    {"challenges", "age checks asked of visitors (challenges)"},
    {"sessions_opened", "sessions opened after an accepted token"},
    {"store_errors", "replay store unreachable (answered 503)"},
    {"tokens_accepted", "tokens accepted, per provider, class and scope"},
    {"tokens_accepted_total", "tokens accepted"},
    {"tokens_accepted_by_provider", "tokens accepted, per provider"},
    {"tokens_refused", "tokens refused, by reason"},
    {"tokens_refused_total", "tokens refused"},
    {"share_accepted", "share of presented tokens accepted"},
    {"replays_stopped", "replayed tokens stopped"},
    {"cross_origin_share", "share of accepted tokens fetched in advance (cross-origin)"},
    {"enrolment_attempts", "enrolments decided, per evidence source"},
    {"enrolment_attempts_total", "enrolments decided"},
    {"enrolments_accepted", "enrolments accepted, per evidence source"},
    {"enrolments_accepted_total", "enrolments accepted"},
    {"enrolment_share_accepted", "share of enrolments accepted, per evidence source"},
    {"enrolments_refused", "enrolments refused, per source and reason"},
    {"minors_stopped", "minors stopped at enrolment (under_age)"},
    {"tokens_issued", "tokens issued, per class, key and epoch"},
    {"tokens_issued_total", "tokens issued"},
    {"token_requests_refused", "token requests refused, by reason"},
    {"key_rotations", "key sets taken up by a running issuer"},
    {"check_latency_p95", "95th percentile of the access check's time"},
    {"issuer_latency_p95", "95th percentile of the provider's answer time, per endpoint"},
    {"issuer_config", "provider configuration"},
    {"verifier_config", "site verifier configuration"},
    {"issuer_key_expiry", "provider key: last day of use"},
    {"verifier_key_expiry", "trusted provider key: accepted until"},
    {"software", "software version"},
};

static const char *words_of(const char *figure)
{
    size_t i;
    for (i = 0; i < sizeof figure_words / sizeof figure_words[0]; i++)
        if (strcmp(figure_words[i].figure, figure) == 0) return figure_words[i].words;
    return figure;
}

/* The criteria each figure answers, in our words. */
static const struct {
    const char *figures, *criteria;
} criteria[] = {
    {"checks performed, tokens accepted and refused by reason",
     "Arcom audit: how many checks were made and with what outcome. UK (Ofcom): accurate and "
     "robust, forged, replayed and unknown-key tokens are refused. EU guidelines: accuracy and "
     "robustness. ISO/IEC 27566: the effectiveness indicators of the age assurance system."},
    {"minors stopped at enrolment, enrolment refusals by reason and source",
     "Arcom: minors are stopped before any token exists. UK: accurate (the age threshold is "
     "applied). EU: accuracy. ISO/IEC 27566: the rate at which under-age people are refused."},
    {"replays stopped, forged or unknown tokens refused",
     "UK: robust (circumvention attempts are measured and stopped). EU: robustness. "
     "ISO/IEC 27566: resistance to attacks on the age token."},
    {"per evidence source and per provider figures",
     "UK: fair and EU: non-discrimination: the share accepted per evidence method shows "
     "whether one method (and those who can only use it) fares worse than another. Arcom: "
     "which providers the site relies on."},
    {"availability, latency, store errors",
     "UK and EU: reliable (the check works when people use it, and fails closed: a 503 never "
     "shows the page). ISO/IEC 27566: service availability indicators."},
    {"share of cross-origin tokens, session rule, sessions opened",
     "EU: non-intrusiveness and privacy: tokens fetched in advance keep the provider from "
     "learning which site is visited; a session spares a check on every page."},
    {"configuration in force, keys and epochs",
     "Arcom audit and ISO/IEC 27566: the minimum age, the trusted providers and key lifetimes "
     "under which the figures were produced, so that an auditor can reproduce them."},
};

/* ---- the period ---- */

static bool format_day(char *out, size_t cap, int64_t t, bool with_time)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (gmtime_r(&tt, &tm) == NULL) return false;
    return strftime(out, cap, with_time ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d", &tm) > 0;
}

static int64_t add_months(int64_t t, int months)
{
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    tm.tm_mon += months;
    return (int64_t)timegm(&tm);
}

static int bad_period(const char *why)
{
    fprintf(stderr, "agepass: %s\n%s", why, usage);
    return CLI_USAGE;
}

static int parse_period(struct report *r, const char *period, const char *date, int64_t now)
{
    int64_t today = now - now % 86400;
    char buf[16];
    const char *dots = strstr(period, "..");

    if (strcmp(period, "day") == 0) {
        r->kind = "day";
        if (date == NULL) {
            r->start = today - 86400;
        } else if (agp_date_parse(&r->start, date, strlen(date)) != AGP_OK) {
            return bad_period("--period day takes --date YYYY-MM-DD");
        }
        r->end = r->start + 86400;
        format_day(r->name, sizeof r->name, r->start, false);
    } else if (strcmp(period, "month") == 0) {
        r->kind = "month";
        if (date == NULL) {
            struct tm tm;
            time_t tt = (time_t)today;
            gmtime_r(&tt, &tm);
            tm.tm_mday = 1;
            r->start = add_months((int64_t)timegm(&tm), -1);
        } else {
            if (strlen(date) != 7 || date[4] != '-')
                return bad_period("--period month takes --date YYYY-MM");
            memcpy(buf, date, 7);
            memcpy(buf + 7, "-01", 4);
            if (agp_date_parse(&r->start, buf, 10) != AGP_OK)
                return bad_period("--period month takes --date YYYY-MM");
        }
        r->end = add_months(r->start, 1);
        format_day(buf, sizeof buf, r->start, false);
        snprintf(r->name, sizeof r->name, "%.7s", buf);
    } else if (dots != NULL && dots - period == 10 && strlen(period) == 22) {
        int64_t to;
        r->kind = "range";
        if (date != NULL) return bad_period("--period FROM..TO takes no --date");
        if (agp_date_parse(&r->start, period, 10) != AGP_OK ||
            agp_date_parse(&to, period + 12, 10) != AGP_OK)
            return bad_period("--period FROM..TO takes two days YYYY-MM-DD..YYYY-MM-DD");
        if (to < r->start) return bad_period("--period FROM..TO: TO is before FROM");
        r->end = to + 86400;
        if (r->end - r->start > 366 * 86400)
            return bad_period("--period FROM..TO: at most 366 days");
        snprintf(r->name, sizeof r->name, "%s", period);
    } else {
        return bad_period("--period is day, month or FROM..TO (YYYY-MM-DD..YYYY-MM-DD)");
    }
    if (r->end > now) return bad_period("the period has not ended yet");
    snprintf(r->range, sizeof r->range, "%llds", (long long)(r->end - r->start));
    format_day(r->from_text, sizeof r->from_text, r->start, true);
    format_day(r->to_text, sizeof r->to_text, r->end, true);
    return CLI_OK;
}

/* ---- the queries ---- */

static int query(struct report *r, const char *before, const char *after, struct report_vector *out)
{
    char expr[512], url[3072], why[256];
    uint8_t *body = NULL;
    size_t len = 0, pos;
    long status = 0;
    agp_err err;
    int n;

    n = snprintf(expr, sizeof expr, "%s[%s]%s", before, r->range, after);
    if (n < 0 || (size_t)n >= sizeof expr) return cli_fail("query", AGP_ERR_TOO_BIG);
    n = snprintf(url, sizeof url, "%s/api/v1/query?query=", r->prom);
    if (n < 0 || (size_t)n >= sizeof url) return cli_fail("--prometheus", AGP_ERR_TOO_BIG);
    pos = (size_t)n;
    if (!cli_url_append(url, sizeof url, &pos, expr)) return cli_fail("query", AGP_ERR_TOO_BIG);
    n = snprintf(url + pos, sizeof url - pos, "&time=%lld", (long long)r->end);
    if (n < 0 || (size_t)n >= sizeof url - pos) return cli_fail("query", AGP_ERR_TOO_BIG);

    err = cli_http_get(url, REPORT_ANSWER_MAX, 60000, &body, &len, &status);
    if (err == AGP_ERR_TOO_BIG) {
        fprintf(stderr, "agepass: Prometheus at %s: an answer above %u bytes\n", r->prom,
                REPORT_ANSWER_MAX);
        return CLI_REJECTED;
    }
    if (err != AGP_OK) {
        fprintf(stderr, "agepass: Prometheus at %s did not answer (is it running?)\n", r->prom);
        return CLI_REJECTED;
    }
    err = report_parse_vector(out, body, len, why, sizeof why);
    free(body);
    if (status != 200 && err == AGP_ERR_NOT_FOUND) {
        fprintf(stderr, "agepass: %s (HTTP %ld) for %s\n", why, status, expr);
        return CLI_REJECTED;
    }
    if (status != 200) {
        report_vector_free(out);
        fprintf(stderr, "agepass: Prometheus at %s answered HTTP %ld for %s\n", r->prom, status,
                expr);
        return CLI_REJECTED;
    }
    if (err != AGP_OK) {
        fprintf(stderr, "agepass: Prometheus at %s: %s (for %s)\n", r->prom, why, expr);
        return CLI_REJECTED;
    }
    return CLI_OK;
}

/* ---- the figures ---- */

static struct row *add_row(struct report *r, const char *section, const char *figure,
                           enum unit unit)
{
    struct row *row;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct row *p;
        if (cap > 100000 || (p = realloc(r->rows, cap * sizeof *p)) == NULL) {
            r->failed = true;
            return NULL;
        }
        r->rows = p;
        r->cap = cap;
    }
    row = &r->rows[r->n++];
    memset(row, 0, sizeof *row);
    row->section = section;
    row->figure = figure;
    row->unit = unit;
    return row;
}

static void set_label(struct row *row, const char *name, const char *value)
{
    struct report_label *l;
    if (row->n_labels == LABELS_PER_ROW || value == NULL) return;
    l = &row->labels[row->n_labels++];
    snprintf(l->name, sizeof l->name, "%s", name);
    snprintf(l->value, sizeof l->value, "%s", value);
}

/* Copies the sample's labels, but the ones that name the scrape target. */
static void copy_labels(struct row *row, const struct report_sample *s)
{
    size_t i;
    for (i = 0; i < s->n_labels; i++) {
        const char *name = s->labels[i].name;
        if (strcmp(name, "job") == 0 || strcmp(name, "instance") == 0 ||
            strcmp(name, "__name__") == 0)
            continue;
        set_label(row, name, s->labels[i].value);
    }
}

/* A raw count: increase() interpolates, so it is rounded; never negative. */
static double raw(double n)
{
    return isfinite(n) && n > 0 ? round(n) : 0;
}

/* A count as shown: rounded (increase() interpolates), hidden when 0 < n < k. */
static struct report_count count_of(const struct report *r, double n)
{
    struct report_count c;
    c.n = raw(n);
    c.secondary = false;
    c.suppressed = c.n > 0 && c.n < (double)r->k;
    return c;
}

static struct row *add_count(struct report *r, const char *section, const char *figure,
                             struct report_count c)
{
    struct row *row = add_row(r, section, figure, U_COUNT);
    if (row == NULL) return NULL;
    row->value = c.n;
    row->suppressed = c.suppressed;
    row->secondary = c.secondary;
    return row;
}

/* num / den, not shown if either is hidden; no data if den is 0. */
static struct row *add_share(struct report *r, const char *section, const char *figure,
                             struct report_count num, struct report_count den)
{
    struct row *row = add_row(r, section, figure, U_SHARE);
    if (row == NULL) return NULL;
    row->suppressed = num.suppressed || den.suppressed;
    row->no_data = !row->suppressed && den.n <= 0;
    row->value = row->suppressed || row->no_data ? 0 : num.n / den.n;
    return row;
}

/* Each series of v as a count row with its labels; returns the sum of the raw counts. */
static struct report_count add_counts(struct report *r, const char *section, const char *figure,
                                      const struct report_vector *v)
{
    double total = 0;
    size_t i;
    for (i = 0; i < v->n; i++) {
        struct report_count c = count_of(r, v->samples[i].value);
        struct row *row = add_count(r, section, figure, c);
        if (row != NULL) copy_labels(row, &v->samples[i]);
        total += c.n;
    }
    return count_of(r, total);
}

static double sum_where(const struct report_vector *v, const char *label, const char *value)
{
    double total = 0;
    size_t i;
    for (i = 0; i < v->n; i++) {
        const char *l = label != NULL ? report_label(&v->samples[i], label) : NULL;
        if (value == NULL || (l != NULL && strcmp(l, value) == 0))
            total += raw(v->samples[i].value);
    }
    return total;
}

/* The distinct values of label in v, at most max of them. */
static size_t distinct(const struct report_vector *v, const char *label, const char **out,
                       size_t max)
{
    size_t i, j, n = 0;
    for (i = 0; i < v->n; i++) {
        const char *l = report_label(&v->samples[i], label);
        if (l == NULL) continue;
        for (j = 0; j < n && strcmp(out[j], l) != 0; j++)
            ;
        if (j == n && n < max) out[n++] = l;
    }
    return n;
}

struct answers {
    struct report_vector checks, challenges, sessions, store_errors, accepted, refused, check_p95,
        check_count, attempts, enrol_ok, enrol_refused, issued, req_refused, rotations, issuer_p95,
        issuer_count, issuer_config, verifier_config, issuer_keys, verifier_keys, build;
};

static const struct {
    size_t off;
    const char *before, *after;
} queries[] = {
#define Q(field, before, after)                                                                    \
    {                                                                                              \
        offsetof(struct answers, field), before, after                                             \
    }
    Q(checks, "sum by (code) (increase(agepass_verifier_checks_total", "))"),
    Q(challenges, "sum(increase(agepass_verifier_challenges_total", "))"),
    Q(sessions, "sum(increase(agepass_verifier_sessions_opened_total", "))"),
    Q(store_errors, "sum(increase(agepass_verifier_store_errors_total", "))"),
    Q(accepted, "sum by (issuer, age, scope) (increase(agepass_verifier_tokens_accepted_total",
      "))"),
    Q(refused, "sum by (reason) (increase(agepass_verifier_tokens_refused_total", "))"),
    Q(check_p95,
      "histogram_quantile(0.95, sum by (le) "
      "(increase(agepass_verifier_check_duration_seconds_bucket",
      ")))"),
    Q(check_count, "sum(increase(agepass_verifier_check_duration_seconds_count", "))"),
    Q(attempts, "sum by (source) (increase(agepass_issuer_enrolments_attempts_total", "))"),
    Q(enrol_ok, "sum by (source) (increase(agepass_issuer_enrolments_accepted_total", "))"),
    Q(enrol_refused, "sum by (source, reason) (increase(agepass_issuer_enrolments_refused_total",
      "))"),
    Q(issued, "sum by (age, key, epoch) (increase(agepass_issuer_tokens_issued_total", "))"),
    Q(req_refused, "sum by (reason) (increase(agepass_issuer_token_requests_refused_total", "))"),
    Q(rotations, "sum(increase(agepass_issuer_key_rotations_total", "))"),
    Q(issuer_p95,
      "histogram_quantile(0.95, sum by (le, endpoint) "
      "(increase(agepass_issuer_request_duration_seconds_bucket",
      ")))"),
    Q(issuer_count, "sum by (endpoint) (increase(agepass_issuer_request_duration_seconds_count",
      "))"),
    Q(issuer_config, "max without (instance, job) (max_over_time(agepass_issuer_config_info", "))"),
    Q(verifier_config, "max without (instance, job) (max_over_time(agepass_verifier_config_info",
      "))"),
    Q(issuer_keys,
      "max without (instance, job) (max_over_time(agepass_issuer_key_expiry_timestamp_seconds",
      "))"),
    Q(verifier_keys,
      "max without (instance, job) "
      "(max_over_time(agepass_verifier_key_expiry_timestamp_seconds",
      "))"),
    Q(build, "max without (instance, job) (max_over_time(agepass_build_info", "))"),
#undef Q
};

static struct report_vector *answer(struct answers *a, size_t i)
{
    return (struct report_vector *)((char *)a + queries[i].off);
}

/* A total of a query that sums everything: no data when Prometheus has no such series. */
static struct row *add_total(struct report *r, const char *section, const char *figure,
                             const struct report_vector *v)
{
    struct row *row = add_count(r, section, figure, count_of(r, sum_where(v, NULL, NULL)));
    if (row != NULL && v->n == 0) row->no_data = true;
    return row;
}

static void add_seconds(struct report *r, const char *section, const char *figure,
                        const struct report_sample *s, struct report_count over)
{
    struct row *row = add_row(r, section, figure, U_SECONDS);
    if (row == NULL) return;
    if (s != NULL) copy_labels(row, s);
    row->suppressed = over.suppressed;
    row->no_data = !over.suppressed && (s == NULL || over.n <= 0 || !isfinite(s->value));
    row->value = row->suppressed || row->no_data ? 0 : s->value;
}

static void add_infos(struct report *r, const char *figure, const struct report_vector *v,
                      enum unit unit)
{
    size_t i;
    for (i = 0; i < v->n; i++) {
        struct row *row = add_row(r, "configuration", figure, unit);
        if (row == NULL) return;
        copy_labels(row, &v->samples[i]);
        row->value = v->samples[i].value;
        row->no_data = !isfinite(row->value);
    }
}

/*
 * Secondary suppression: where the sum of a group of cells is shown (a
 * total, or one derived from other shown figures), one hidden cell could
 * be found by subtraction, and several hidden cells give their sum. So
 * within the group more cells are hidden, the smallest first, until at
 * least two are and the hidden ones add up to k or more. Such a cell reads
 * "hidden", not "< k" (its count may be large).
 */
static bool protect(struct report *r, const char *figure, const char *label, const char *value)
{
    bool changed = false;
    for (;;) {
        size_t i, hidden = 0;
        double hidden_sum = 0;
        struct row *smallest = NULL;
        for (i = 0; i < r->n; i++) {
            struct row *row = &r->rows[i];
            const char *l = NULL;
            size_t j;
            if (strcmp(row->figure, figure) != 0 || row->unit != U_COUNT) continue;
            for (j = 0; label != NULL && j < row->n_labels; j++)
                if (strcmp(row->labels[j].name, label) == 0) l = row->labels[j].value;
            if (label != NULL && (l == NULL || strcmp(l, value) != 0)) continue;
            if (row->suppressed) {
                hidden++;
                hidden_sum += row->value;
            } else if (row->value > 0 && (smallest == NULL || row->value < smallest->value)) {
                smallest = row;
            }
        }
        if (hidden == 0 || (hidden >= 2 && hidden_sum >= (double)r->k) || smallest == NULL)
            return changed;
        smallest->suppressed = smallest->secondary = true;
        changed = true;
    }
}

static bool label_is(const struct row *row, const char *label, const char *value)
{
    size_t j;
    for (j = 0; j < row->n_labels; j++)
        if (strcmp(row->labels[j].name, label) == 0)
            return strcmp(row->labels[j].value, value) == 0;
    return false;
}

/* How many count rows figure{label=value} are hidden. */
static size_t hidden_in(const struct report *r, const char *figure, const char *label,
                        const char *value)
{
    size_t i, n = 0;
    for (i = 0; i < r->n; i++)
        n += strcmp(r->rows[i].figure, figure) == 0 && r->rows[i].suppressed &&
             label_is(&r->rows[i], label, value);
    return n;
}

/* Hides the non-zero count row figure{label=value}; true if it was shown. */
static bool hide_cell(struct report *r, const char *figure, const char *label, const char *value)
{
    size_t i;
    for (i = 0; i < r->n; i++) {
        struct row *row = &r->rows[i];
        if (strcmp(row->figure, figure) != 0 || !label_is(row, label, value) || row->suppressed ||
            row->value <= 0)
            continue;
        row->suppressed = row->secondary = true;
        return true;
    }
    return false;
}

/* The shown state of the count row figure{label=value} (label NULL: the first row). */
static struct report_count cell(const struct report *r, const char *figure, const char *label,
                                const char *value)
{
    struct report_count c = {0, false, false};
    size_t i, j;
    for (i = 0; i < r->n; i++) {
        const struct row *row = &r->rows[i];
        bool match = label == NULL;
        if (strcmp(row->figure, figure) != 0) continue;
        for (j = 0; !match && j < row->n_labels; j++)
            match =
                strcmp(row->labels[j].name, label) == 0 && strcmp(row->labels[j].value, value) == 0;
        if (match) {
            c.n = row->value;
            c.suppressed = row->suppressed;
            c.secondary = row->secondary;
            return c;
        }
    }
    return c;
}

/* True if any count row of figure is hidden. */
static bool any_hidden(const struct report *r, const char *figure)
{
    size_t i;
    for (i = 0; i < r->n; i++)
        if (strcmp(r->rows[i].figure, figure) == 0 && r->rows[i].suppressed) return true;
    return false;
}

/* Turns the answers into the report's rows, section by section. */
static void figures(struct report *r, const struct answers *a)
{
    struct report_count all, ok, bad, cross;
    const char *names[REPORT_BARS_MAX], *sources[REPORT_BARS_MAX];
    size_t i, j, n, n_sources;
    struct row *row;
    bool changed;

    /* checks */
    add_counts(r, "checks", "checks", &a->checks);
    add_total(r, "checks", "checks_total", &a->checks);
    add_total(r, "checks", "challenges", &a->challenges);
    add_total(r, "checks", "sessions_opened", &a->sessions);
    add_total(r, "checks", "store_errors", &a->store_errors);
    protect(r, "checks", NULL, NULL);

    /* tokens */
    add_counts(r, "tokens", "tokens_accepted", &a->accepted);
    add_total(r, "tokens", "tokens_accepted_total", &a->accepted);
    n = distinct(&a->accepted, "issuer", names, REPORT_BARS_MAX);
    for (i = 0; i < n; i++)
        if ((row = add_count(r, "tokens", "tokens_accepted_by_provider",
                             count_of(r, sum_where(&a->accepted, "issuer", names[i])))) != NULL)
            set_label(row, "issuer", names[i]);
    add_counts(r, "tokens", "tokens_refused", &a->refused);
    add_total(r, "tokens", "tokens_refused_total", &a->refused);
    protect(r, "tokens_accepted", NULL, NULL);
    protect(r, "tokens_accepted_by_provider", NULL, NULL);
    protect(r, "tokens_refused", NULL, NULL);
    ok = cell(r, "tokens_accepted_total", NULL, NULL);
    bad = cell(r, "tokens_refused_total", NULL, NULL);
    add_share(r, "tokens", "share_accepted", ok, count_of(r, ok.n + bad.n));
    add_count(r, "tokens", "replays_stopped", cell(r, "tokens_refused", "reason", "replay"));
    /* the cross-origin count is a sum of cells: hidden cells would show through it */
    cross = count_of(r, sum_where(&a->accepted, "scope", "cross_origin"));
    cross.suppressed = cross.suppressed || any_hidden(r, "tokens_accepted");
    add_share(r, "tokens", "cross_origin_share", cross, ok);

    /* enrolment, per evidence source */
    n_sources = distinct(&a->attempts, "source", sources, REPORT_BARS_MAX);
    for (i = 0; i < n_sources; i++) {
        if ((row = add_count(r, "enrolment", "enrolment_attempts",
                             count_of(r, sum_where(&a->attempts, "source", sources[i])))) != NULL)
            set_label(row, "source", sources[i]);
        if ((row = add_count(r, "enrolment", "enrolments_accepted",
                             count_of(r, sum_where(&a->enrol_ok, "source", sources[i])))) != NULL)
            set_label(row, "source", sources[i]);
    }
    add_total(r, "enrolment", "enrolment_attempts_total", &a->attempts);
    add_total(r, "enrolment", "enrolments_accepted_total", &a->enrol_ok);
    add_counts(r, "enrolment", "enrolments_refused", &a->enrol_refused);
    protect(r, "enrolment_attempts", NULL, NULL);
    protect(r, "enrolments_accepted", NULL, NULL);
    /*
     * A source's refusals add up to its attempts less its acceptances, and
     * the under_age ones of every source to the minors stopped: hiding in
     * one sum may expose a cell of the other, so until nothing changes.
     */
    for (j = 0, changed = true; changed && j < 8; j++) {
        changed = protect(r, "enrolments_refused", "reason", "under_age");
        for (i = 0; i < n_sources; i++) {
            changed = protect(r, "enrolments_refused", "source", sources[i]) || changed;
            /* a lone hidden refusal with nothing beside it to hide: hide the acceptances */
            if (hidden_in(r, "enrolments_refused", "source", sources[i]) == 1 &&
                hide_cell(r, "enrolments_accepted", "source", sources[i]))
                changed = true;
        }
        changed = protect(r, "enrolments_accepted", NULL, NULL) || changed;
    }
    for (i = 0; i < n_sources; i++) {
        struct report_count tried = cell(r, "enrolment_attempts", "source", sources[i]);
        struct report_count took = cell(r, "enrolments_accepted", "source", sources[i]);
        if ((row = add_share(r, "enrolment", "enrolment_share_accepted", took, tried)) != NULL)
            set_label(row, "source", sources[i]);
    }
    row = add_count(r, "enrolment", "minors_stopped",
                    count_of(r, sum_where(&a->enrol_refused, "reason", "under_age")));
    if (row != NULL && a->enrol_refused.n == 0) row->no_data = true;

    /* issuance */
    add_counts(r, "issuance", "tokens_issued", &a->issued);
    add_total(r, "issuance", "tokens_issued_total", &a->issued);
    protect(r, "tokens_issued", NULL, NULL);
    add_counts(r, "issuance", "token_requests_refused", &a->req_refused);
    add_total(r, "issuance", "key_rotations", &a->rotations);

    /* latency and availability */
    add_seconds(r, "latency", "check_latency_p95", a->check_p95.n ? &a->check_p95.samples[0] : NULL,
                count_of(r, sum_where(&a->check_count, NULL, NULL)));
    for (i = 0; i < a->issuer_p95.n; i++) {
        const char *endpoint = report_label(&a->issuer_p95.samples[i], "endpoint");
        struct report_count c = {0, false, false};
        for (j = 0; endpoint != NULL && j < a->issuer_count.n; j++) {
            const char *e = report_label(&a->issuer_count.samples[j], "endpoint");
            if (e != NULL && strcmp(e, endpoint) == 0)
                c = count_of(r, a->issuer_count.samples[j].value);
        }
        add_seconds(r, "latency", "issuer_latency_p95", &a->issuer_p95.samples[i], c);
    }
    all = cell(r, "checks_total", NULL, NULL);
    if ((row = add_share(r, "latency", "availability", cell(r, "checks", "code", "503"), all)) !=
            NULL &&
        !row->suppressed && !row->no_data)
        row->value = 1 - row->value;

    /* configuration */
    add_infos(r, "issuer_config", &a->issuer_config, U_INFO);
    add_infos(r, "verifier_config", &a->verifier_config, U_INFO);
    add_infos(r, "issuer_key_expiry", &a->issuer_keys, U_DATE);
    add_infos(r, "verifier_key_expiry", &a->verifier_keys, U_DATE);
    add_infos(r, "software", &a->build, U_INFO);
}

/* ---- the outputs ---- */

static void value_text(const struct report *r, const struct row *row, char *out, size_t cap)
{
    if (row->suppressed && (row->secondary || row->unit != U_COUNT)) {
        snprintf(out, cap, "hidden");
    } else if (row->suppressed) {
        snprintf(out, cap, "< %u", r->k);
    } else if (row->no_data) {
        snprintf(out, cap, "no data");
    } else if (row->unit == U_COUNT) {
        snprintf(out, cap, "%.0f", row->value);
    } else if (row->unit == U_SHARE) {
        snprintf(out, cap, "%.1f %%", row->value * 100);
    } else if (row->unit == U_SECONDS) {
        snprintf(out, cap, "%.3f s", row->value);
    } else if (row->unit == U_DATE) {
        /* a day for people (and the time if not midnight); the CSV and JSON keep the time */
        struct tm tm;
        time_t t = (time_t)row->value;
        if (gmtime_r(&t, &tm) == NULL ||
            strftime(out, cap, t % 86400 == 0 ? "%Y-%m-%d" : "%Y-%m-%d %H:%M", &tm) == 0)
            snprintf(out, cap, "?");
    } else {
        snprintf(out, cap, "in force");
    }
}

/* The value as the CSV and JSON give it: the number, or the text for a date. */
static void raw_text(const struct row *row, char *out, size_t cap)
{
    if (row->unit == U_COUNT) {
        snprintf(out, cap, "%.0f", row->value);
    } else if (row->unit == U_SHARE) {
        snprintf(out, cap, "%.4f", row->value);
    } else if (row->unit == U_SECONDS) {
        snprintf(out, cap, "%.6g", row->value);
    } else if (row->unit == U_DATE) {
        if (!format_day(out, cap, (int64_t)row->value, true)) snprintf(out, cap, "?");
    } else {
        snprintf(out, cap, "%.0f", row->value);
    }
}

static const char *status_of(const struct row *row)
{
    return row->suppressed ? "suppressed" : row->no_data ? "no_data" : "ok";
}

/* The labels as name=value pairs joined with sep ("; " in the CSV, ", " for people). */
static void labels_text(const struct row *row, char *out, size_t cap, const char *sep)
{
    size_t i, pos = 0;
    out[0] = '\0';
    for (i = 0; i < row->n_labels && pos < cap; i++) {
        int n = snprintf(out + pos, cap - pos, "%s%s=%s", i ? sep : "", row->labels[i].name,
                         row->labels[i].value);
        if (n < 0) break;
        pos += (size_t)n;
    }
}

static void csv_field(struct report_buf *b, const char *s)
{
    report_buf_puts(b, "\"");
    for (; *s; s++)
        report_buf_add(b, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
    report_buf_puts(b, "\"");
}

static void write_csv(const struct report *r, struct report_buf *b)
{
    char labels[4096], value[64];
    size_t i;
    report_buf_puts(b, "period_from,period_to,section,figure,labels,value,unit,status\r\n");
    for (i = 0; i < r->n; i++) {
        const struct row *row = &r->rows[i];
        labels_text(row, labels, sizeof labels, ";");
        if (row->suppressed)
            value_text(r, row, value, sizeof value);
        else if (row->no_data)
            value[0] = '\0';
        else
            raw_text(row, value, sizeof value);
        report_buf_printf(b, "%s,%s,%s,%s,", r->from_text, r->to_text, row->section, row->figure);
        csv_field(b, labels);
        report_buf_puts(b, ",");
        csv_field(b, value);
        report_buf_printf(b, ",%s,%s\r\n", unit_names[row->unit], status_of(row));
    }
}

static bool write_json(const struct report *r, struct report_buf *b)
{
    json_t *root = json_object(), *figs = json_array();
    char value[64], shown[64];
    size_t i, j;
    char *text;
    bool ok = root != NULL && figs != NULL;

    if (ok) {
        json_object_set_new(root, "report", json_string("agepass"));
        json_object_set_new(root, "period",
                            json_pack("{s:s,s:s,s:s,s:s}", "kind", r->kind, "name", r->name, "from",
                                      r->from_text, "to", r->to_text));
        json_object_set_new(root, "k", json_integer((json_int_t)r->k));
        json_object_set_new(root, "source", json_string("Prometheus HTTP API"));
    }
    for (i = 0; ok && i < r->n; i++) {
        const struct row *row = &r->rows[i];
        json_t *labels = json_object(), *f;
        for (j = 0; labels != NULL && j < row->n_labels; j++)
            json_object_set_new(labels, row->labels[j].name, json_string(row->labels[j].value));
        value_text(r, row, shown, sizeof shown);
        f = json_pack("{s:s,s:s,s:o,s:s,s:s,s:s}", "section", row->section, "figure", row->figure,
                      "labels", labels ? labels : json_object(), "unit", unit_names[row->unit],
                      "status", status_of(row), "shown", shown);
        if (f == NULL) {
            ok = false;
            break;
        }
        if (row->suppressed || row->no_data) {
            json_object_set_new(f, "value", json_null());
        } else if (row->unit == U_DATE) {
            raw_text(row, value, sizeof value);
            json_object_set_new(f, "value", json_string(value));
        } else if (row->unit == U_COUNT || row->unit == U_INFO) {
            json_object_set_new(f, "value", json_integer((json_int_t)row->value));
        } else {
            json_object_set_new(f, "value", json_real(row->value));
        }
        json_array_append_new(figs, f);
    }
    if (ok) {
        json_object_set_new(root, "figures", figs);
        figs = NULL;
        text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
        ok = text != NULL;
        if (ok) {
            report_buf_puts(b, text);
            report_buf_puts(b, "\n");
            free(text);
        }
    }
    json_decref(figs);
    json_decref(root);
    return ok && !b->failed;
}

static void html_esc(struct report_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': report_buf_puts(b, "&lt;"); break;
        case '>': report_buf_puts(b, "&gt;"); break;
        case '&': report_buf_puts(b, "&amp;"); break;
        case '"': report_buf_puts(b, "&quot;"); break;
        case '\'': report_buf_puts(b, "&#39;"); break;
        default: report_buf_add(b, s, 1);
        }
    }
}

/* The charts, the same in the HTML page and the PDF. */
enum { CH_CHECKS, CH_REFUSED, CH_SOURCES, CH_ENROL_REFUSED, CH_PROVIDERS, CH_COUNT };

static void chart_from(struct report_chart *c, const char *title, const struct report *r,
                       const char *figure, const char *label)
{
    size_t i;
    c->title = title;
    c->n = 0;
    for (i = 0; i < r->n && c->n < REPORT_BARS_MAX; i++) {
        const struct row *row = &r->rows[i];
        size_t j, pos = 0;
        if (strcmp(row->figure, figure) != 0) continue;
        c->label[c->n][0] = '\0';
        for (j = 0; j < row->n_labels; j++) {
            int w;
            if (label != NULL && strcmp(row->labels[j].name, label) != 0) continue;
            w = snprintf(c->label[c->n] + pos, sizeof c->label[0] - pos, "%s%s", pos ? " " : "",
                         row->labels[j].value);
            if (w < 0 || (size_t)w >= sizeof c->label[0] - pos) break;
            pos += (size_t)w;
        }
        c->value[c->n].n = row->value;
        c->value[c->n].suppressed = row->suppressed;
        c->value[c->n].secondary = row->secondary;
        c->n++;
    }
}

static void make_charts(const struct report *r, struct report_chart ch[CH_COUNT])
{
    chart_from(&ch[CH_CHECKS], "Access checks, by answer (HTTP status)", r, "checks", "code");
    chart_from(&ch[CH_REFUSED], "Tokens refused at the site, by reason", r, "tokens_refused",
               "reason");
    chart_from(&ch[CH_SOURCES], "Enrolments decided, per evidence source", r, "enrolment_attempts",
               "source");
    chart_from(&ch[CH_ENROL_REFUSED], "Enrolments refused, per source and reason", r,
               "enrolments_refused", NULL);
    chart_from(&ch[CH_PROVIDERS], "Tokens accepted at the site, per provider", r,
               "tokens_accepted_by_provider", "issuer");
}

static const int section_chart[][2] = {
    {CH_CHECKS, -1}, {CH_PROVIDERS, CH_REFUSED}, {CH_SOURCES, CH_ENROL_REFUSED}, {-1, -1}, {-1, -1},
    {-1, -1}};

static bool embed_png(struct report_buf *b, const struct report_chart *c, unsigned k)
{
    struct report_buf png = {0};
    unsigned char *b64 = NULL;
    bool ok = report_chart_png(c, k, &png);
    size_t cap;
    if (ok && png.len < 8u * 1024 * 1024) {
        cap = 4 * ((png.len + 2) / 3) + 1;
        ok = (b64 = malloc(cap)) != NULL;
        if (ok) {
            int n = EVP_EncodeBlock(b64, (const unsigned char *)png.p, (int)png.len);
            report_buf_puts(b, "<figure><img alt=\"");
            html_esc(b, c->title);
            report_buf_puts(b, "\" src=\"data:image/png;base64,");
            report_buf_add(b, b64, (size_t)n);
            report_buf_puts(b, "\"></figure>\n");
        }
    } else {
        ok = false;
    }
    free(b64);
    report_buf_free(&png);
    return ok;
}

static const char css[] =
    "body{font-family:'DejaVu Sans',sans-serif;max-width:60em;margin:2em auto;padding:0 1em;"
    "color:#1a1a1a;line-height:1.45}h1{font-size:1.7em}h2{border-bottom:2px solid #29619e;"
    "padding-bottom:.2em;margin-top:2em}table{border-collapse:collapse;width:100%;margin:.5em 0}"
    "th,td{text-align:left;padding:.3em .6em;border-bottom:1px solid #ddd;vertical-align:top}"
    "td.v{text-align:right;font-weight:bold;white-space:nowrap}td code{font-size:.85em;color:#555}"
    "figure{margin:1em 0}img{max-width:100%;height:auto}.note{color:#444;font-size:.95em}"
    ".key td.v{font-size:1.2em}";

static void html_row(struct report_buf *b, const struct report *r, const struct row *row)
{
    char labels[4096], value[64];
    labels_text(row, labels, sizeof labels, ", ");
    value_text(r, row, value, sizeof value);
    report_buf_puts(b, "<tr><td>");
    html_esc(b, words_of(row->figure));
    report_buf_puts(b, " <code>");
    html_esc(b, row->figure);
    report_buf_puts(b, "</code></td><td>");
    html_esc(b, labels);
    report_buf_puts(b, "</td><td class=\"v\">");
    html_esc(b, value);
    report_buf_puts(b, "</td></tr>\n");
}

static const char *const key_figures[] = {
    "checks_total",   "share_accepted",           "tokens_refused_total", "replays_stopped",
    "minors_stopped", "enrolment_attempts_total", "availability",         "check_latency_p95"};

static const struct row *find_row(const struct report *r, const char *figure)
{
    size_t i;
    for (i = 0; i < r->n; i++)
        if (strcmp(r->rows[i].figure, figure) == 0) return &r->rows[i];
    return NULL;
}

static bool write_html(const struct report *r, const struct report_chart ch[CH_COUNT],
                       struct report_buf *b)
{
    size_t s, i;
    bool ok = true;
    report_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                       "'none'; img-src data:; style-src 'unsafe-inline'\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width\">\n<title>");
    report_buf_printf(b, "agepass report, %s %s", r->kind, r->name);
    report_buf_puts(b, "</title>\n<style>");
    report_buf_puts(b, css);
    report_buf_puts(b, "</style></head><body>\n");
    report_buf_printf(b, "<h1>Age checks: the figures of %s %s</h1>\n", r->kind, r->name);
    report_buf_printf(b,
                      "<p class=\"note\">From %s to %s (UTC), as the operator's Prometheus "
                      "counted them (the end excluded). Every count between 1 and %u is shown "
                      "as &ldquo;&lt; %u&rdquo;, and a figure from which such a count could be "
                      "worked out (with a total) reads &ldquo;hidden&rdquo;, as does a share "
                      "resting on either, so that no figure can single out a person. Nothing "
                      "here names anyone.</p>\n",
                      r->from_text, r->to_text, r->k - 1, r->k);
    report_buf_puts(b, "<h2>Key figures</h2>\n<table class=\"key\">\n");
    for (i = 0; i < sizeof key_figures / sizeof key_figures[0]; i++) {
        const struct row *row = find_row(r, key_figures[i]);
        if (row != NULL) html_row(b, r, row);
    }
    report_buf_puts(b, "</table>\n");
    for (s = 0; s < sizeof sections / sizeof sections[0]; s++) {
        report_buf_puts(b, "<h2>");
        html_esc(b, sections[s].title);
        report_buf_puts(b, "</h2>\n<p>");
        html_esc(b, sections[s].intro);
        report_buf_puts(b, "</p>\n");
        for (i = 0; i < 2; i++)
            if (section_chart[s][i] >= 0) ok = embed_png(b, &ch[section_chart[s][i]], r->k) && ok;
        report_buf_puts(b, "<table>\n<tr><th>figure</th><th>for</th><th>value</th></tr>\n");
        for (i = 0; i < r->n; i++)
            if (strcmp(r->rows[i].section, sections[s].id) == 0) html_row(b, r, &r->rows[i]);
        report_buf_puts(b, "</table>\n");
    }
    report_buf_puts(b, "<h2>What each figure answers</h2>\n<table>\n"
                       "<tr><th>figures</th><th>criteria</th></tr>\n");
    for (i = 0; i < sizeof criteria / sizeof criteria[0]; i++) {
        report_buf_puts(b, "<tr><td>");
        html_esc(b, criteria[i].figures);
        report_buf_puts(b, "</td><td>");
        html_esc(b, criteria[i].criteria);
        report_buf_puts(b, "</td></tr>\n");
    }
    report_buf_puts(b, "</table>\n<p class=\"note\">Counts are Prometheus's increase() over the "
                       "period, rounded to a whole number; latencies are estimated from the "
                       "histograms' buckets (histogram_quantile). The same numbers are in "
                       "report.csv and report.json.</p>\n</body></html>\n");
    return ok && !b->failed;
}

/* The PDF's text, kept alive while the PDF is drawn. */
struct pdf_text {
    char *s[3];
};

static bool write_pdf(const struct report *r, const struct report_chart ch[CH_COUNT],
                      struct report_buf *b)
{
    size_t cap = r->n + 128, n = 0, s, i, t = 0;
    struct report_block *bl = calloc(cap, sizeof *bl);
    char(*text)[4096] = calloc(cap * 3, sizeof *text);
    char head[256], intro[512];
    bool ok = bl != NULL && text != NULL;

    if (ok) {
        snprintf(head, sizeof head, "Age checks: the figures of %s %s", r->kind, r->name);
        snprintf(intro, sizeof intro,
                 "From %s to %s (UTC), as the operator's Prometheus counted them (the end "
                 "excluded). Every count between 1 and %u is shown as \"< %u\", and a figure "
                 "from which such a count could be worked out (with a total) reads \"hidden\", "
                 "as does a share resting on either, so that no figure can single out a person.",
                 r->from_text, r->to_text, r->k - 1, r->k);
        bl[n++] = (struct report_block){.kind = REPORT_H1, .text = head};
        bl[n++] = (struct report_block){.kind = REPORT_PARA, .text = intro};
        bl[n++] = (struct report_block){.kind = REPORT_H2, .text = "Key figures"};
        for (i = 0; i < sizeof key_figures / sizeof key_figures[0]; i++) {
            const struct row *row = find_row(r, key_figures[i]);
            if (row == NULL) continue;
            value_text(r, row, text[t + 2], sizeof text[0]);
            bl[n++] = (struct report_block){
                .kind = REPORT_ROW, .text = words_of(row->figure), .col2 = "", .col3 = text[t + 2]};
            t += 3;
        }
        for (s = 0; s < sizeof sections / sizeof sections[0]; s++) {
            bl[n++] = (struct report_block){.kind = REPORT_H2, .text = sections[s].title};
            bl[n++] = (struct report_block){.kind = REPORT_PARA, .text = sections[s].intro};
            for (i = 0; i < 2; i++)
                if (section_chart[s][i] >= 0)
                    bl[n++] = (struct report_block){.kind = REPORT_CHART,
                                                    .chart = &ch[section_chart[s][i]]};
            for (i = 0; i < r->n && n < cap - 20; i++) {
                const struct row *row = &r->rows[i];
                if (strcmp(row->section, sections[s].id) != 0) continue;
                labels_text(row, text[t + 1], sizeof text[0], ", ");
                value_text(r, row, text[t + 2], sizeof text[0]);
                bl[n++] = (struct report_block){.kind = REPORT_ROW,
                                                .text = words_of(row->figure),
                                                .col2 = text[t + 1],
                                                .col3 = text[t + 2]};
                t += 3;
            }
        }
        bl[n++] = (struct report_block){.kind = REPORT_H2, .text = "What each figure answers"};
        for (i = 0; i < sizeof criteria / sizeof criteria[0] && n + 2 < cap; i++) {
            snprintf(text[t], sizeof text[0], "%s: %s", criteria[i].figures, criteria[i].criteria);
            bl[n++] = (struct report_block){.kind = REPORT_PARA, .text = text[t]};
            t += 3;
        }
        ok = report_pdf(bl, n, r->k, b);
    }
    free(text);
    free(bl);
    return ok;
}

/* --prometheus: http or https, no userinfo, no query or fragment; a trailing / dropped. */
static bool prom_url(struct report *r, const char *url)
{
    char host[512];
    size_t n = strlen(url);
    if (n == 0 || n >= sizeof r->prom || strcspn(url, " \t\r\n?#\\") != n) return false;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) return false;
    if (!cli_url_host(url, host, sizeof host)) return false;
    memcpy(r->prom, url, n + 1);
    while (n > 0 && r->prom[n - 1] == '/')
        r->prom[--n] = '\0';
    return true;
}

/* mkdir -p: dir and its missing parents (mode 0755). */
static bool make_dirs(const char *dir)
{
    char path[4096];
    size_t i, n = strlen(dir);
    if (n == 0 || n >= sizeof path) return false;
    memcpy(path, dir, n + 1);
    for (i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0') continue;
        path[i] = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) return false;
        if (i < n) path[i] = '/';
    }
    return true;
}

static const char *const out_names[] = {"report.html", "report.pdf", "report.csv", "report.json"};

int cmd_report(int argc, char **argv)
{
    struct cli_opt opts[] = {{.name = "--prometheus", .required = true},
                             {.name = "--period", .required = true},
                             {.name = "--date"},
                             {.name = "--k"},
                             {.name = "--out", .required = true}};
    size_t n = sizeof opts / sizeof opts[0], i, written = 0;
    struct report r = {0};
    struct answers a;
    struct report_chart *ch = NULL;
    struct report_buf out[4] = {{0}};
    const char *k_s, *dir;
    char path[4096];
    uint64_t k = 10;
    int rc;

    memset(&a, 0, sizeof a);
    if ((rc = cli_parse(argc, argv, opts, n, usage)) != CLI_OK) return rc == CLI_HELP ? 0 : rc;
    if ((rc = cli_check_required(opts, n, usage)) != CLI_OK) return rc;
    k_s = cli_get(opts, n, "--k");
    if (k_s != NULL && (!cli_parse_uint(k_s, 1000000, &k) || k < 1)) {
        fprintf(stderr, "agepass: --k is a whole number from 1 to 1000000\n%s", usage);
        return CLI_USAGE;
    }
    r.k = (unsigned)k;
    if (!prom_url(&r, cli_get(opts, n, "--prometheus"))) {
        fprintf(stderr, "agepass: --prometheus is an http:// or https:// URL\n%s", usage);
        return CLI_USAGE;
    }
    dir = cli_get(opts, n, "--out");
    if ((rc = parse_period(&r, cli_get(opts, n, "--period"), cli_get(opts, n, "--date"),
                           (int64_t)time(NULL))) != CLI_OK)
        return rc;

    rc = CLI_REJECTED;
    for (i = 0; i < sizeof queries / sizeof queries[0]; i++)
        if (query(&r, queries[i].before, queries[i].after, answer(&a, i)) != CLI_OK) goto out;
    figures(&r, &a);
    if (r.failed || (ch = calloc(CH_COUNT, sizeof *ch)) == NULL) {
        cli_fail("report", AGP_ERR_NOMEM);
        goto out;
    }
    make_charts(&r, ch);
    if (!write_html(&r, ch, &out[0]) || !write_pdf(&r, ch, &out[1])) {
        fprintf(stderr, "agepass: report: drawing the charts or the PDF failed\n");
        goto out;
    }
    write_csv(&r, &out[2]);
    if (!write_json(&r, &out[3]) || out[2].failed) {
        cli_fail("report", AGP_ERR_NOMEM);
        goto out;
    }
    if (!make_dirs(dir)) {
        cli_fail(dir, AGP_ERR_IO);
        goto out;
    }
    for (written = 0; written < 4; written++) {
        agp_err err;
        snprintf(path, sizeof path, "%s/%s", dir, out_names[written]);
        if ((err = cli_write(path, (const uint8_t *)out[written].p, out[written].len, 0644)) !=
            AGP_OK) {
            cli_fail(path, err);
            goto out;
        }
    }
    printf("agepass: report of %s %s written to %s/report.{html,pdf,csv,json}\n", r.kind, r.name,
           dir);
    rc = CLI_OK;
out:
    if (rc != CLI_OK) /* no partial report: what this run wrote goes */
        for (i = 0; i < written && i < 4; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, out_names[i]);
            unlink(path);
        }
    for (i = 0; i < sizeof queries / sizeof queries[0]; i++)
        report_vector_free(answer(&a, i));
    for (i = 0; i < 4; i++)
        report_buf_free(&out[i]);
    free(ch);
    free(r.rows);
    report_draw_done();
    return rc;
}
