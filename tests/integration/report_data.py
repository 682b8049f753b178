#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A month of the metric catalogue's series, with known totals, as
OpenMetrics text with timestamps (for `promtool tsdb create-blocks-from
openmetrics`), and the figures `agepass report --period month` must give.

Usage: report_data.py YYYY-MM OPENMETRICS_OUT EXPECTED_JSON_OUT

Every counter already holds a count before the month (which the report
must not take) and goes on after it; one counter restarts from 0 in the
middle of the month (increase() must count across the reset). Samples are
hourly and fall exactly on the month's first and last second, so that
Prometheus's increase() needs no extrapolation and the totals are exact.
"""
import calendar
import datetime
import json
import sys

month = sys.argv[1]
year, mon = int(month[:4]), int(month[5:7])
start = int(calendar.timegm((year, mon, 1, 0, 0, 0)))
end = int(calendar.timegm((year + (mon == 12), mon % 12 + 1, 1, 0, 0, 0)))
STEP = 3600
times = list(range(start - 6 * STEP, end + 6 * STEP + 1, STEP))
restart = start + 10 * 86400 + 5 * STEP  # the verifier restarts just after this sample

BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

# The month's events, and counts before and after it that must not count.
checks = {"200": 1200, "400": 3, "401": 450, "403": 25, "503": 4}
accepted = [(("age.example", "18", "cross_origin"), 280), (("age.example", "18", "site_bound"), 15),
            (("other.example", "18", "cross_origin"), 5)]
refused = {"replay": 40, "bad_signature": 12, "unknown_key": 7, "expired_key": 0,
           "stale_challenge": 0, "wrong_challenge": 0, "wrong_class": 2, "malformed": 0}
attempts = {"dev": 60, "mdoc": 120, "franceconnect": 300}
enrol_ok = {"dev": 50, "mdoc": 100, "franceconnect": 270}
enrol_refused = [(("dev", "under_age"), 10), (("mdoc", "under_age"), 15),
                 (("mdoc", "invalid_evidence"), 5), (("franceconnect", "under_age"), 20),
                 (("franceconnect", "expired_evidence"), 6),
                 (("franceconnect", "reused_evidence"), 4), (("dev", "over_quota"), 0)]
issued = [(("18", "a1b2c3d4", "2026-09-01"), 6000), (("18", "e5f6a7b8", "2026-11-15"), 4200),
          (("16", "0badf00d", "2026-09-01"), 8)]
req_refused = {"malformed": 0, "unknown_key": 0, "no_grant": 30, "wrong_class": 0,
               "over_quota": 3, "store_error": 0}
# latency: observations per bucket upper bound (not cumulative)
check_lat = {0.005: 1500, 0.01: 140, 0.025: 42}  # 1682 = every check
issuer_lat = {"token": {0.01: 3800, 0.025: 150, 0.1: 50}, "enrol": {0.05: 400, 0.25: 80}}

lines = []


def fmt_labels(d):
    return "{" + ",".join('%s="%s"' % kv for kv in d.items()) + "}" if d else ""


def at(total, t):
    """Events of the month counted by time t (linear in time)."""
    if t <= start:
        return 0
    if t >= end:
        return total
    return total * (t - start) // (end - start)


def counter(name, labels, total, before=1000, after=77, resets=False):
    for t in times:
        v = before + at(total, t) + (after * (t - end) // (6 * STEP) if t > end else 0)
        if resets and t > restart:
            v -= before + at(total, restart)
        lines.append("%s%s %d %d" % (name, fmt_labels(labels), v, t))


def gauge(name, labels, value, frm=times[0], to=times[-1]):
    for t in times:
        if frm <= t <= to:
            lines.append("%s%s %s %d" % (name, fmt_labels(labels), value, t))


def family(name, kind):
    lines.append("# TYPE %s %s" % (name, kind))


def histogram(name, labels, per_bucket, type_line=True):
    if type_line:
        family(name, "histogram")
    total = sum(per_bucket.values())
    series = []
    cum = 0
    for le in BUCKETS:
        cum += per_bucket.get(le, 0)
        series.append(("%g" % le, cum))
    series.append(("+Inf", total))
    for le, n in series:
        counter(name + "_bucket", dict(labels, le=le), n, before=100, after=5)
    counter(name + "_count", labels, total, before=100, after=5)
    # _sum is not read by the report; the mid-bucket times are good enough
    for t in times:
        s = 50 + sum(le * 0.5 * at(n, t) for le, n in per_bucket.items())
        lines.append("%s_sum%s %.6f %d" % (name, fmt_labels(labels), s, t))


def p95(per_bucket):
    """histogram_quantile(0.95): linear in the bucket that holds rank 0.95 * count."""
    total = sum(per_bucket.values())
    rank = 0.95 * total
    cum, lower = 0, 0.0
    for le in BUCKETS:
        n = per_bucket.get(le, 0)
        if cum + n >= rank and n > 0:
            return lower + (le - lower) * (rank - cum) / n
        cum += n
        lower = le
    raise ValueError


V = "agepass_verifier_"
I = "agepass_issuer_"
family(V + "checks", "counter")
for code, n in checks.items():
    counter(V + "checks_total", {"code": code}, n, resets=(code == "200"))
family(V + "challenges", "counter")
counter(V + "challenges_total", {}, 500)
family(V + "sessions_opened", "counter")
counter(V + "sessions_opened_total", {}, 300)
family(V + "store_errors", "counter")
counter(V + "store_errors_total", {}, 4)
family(V + "tokens_accepted", "counter")
for (issuer, age, scope), n in accepted:
    counter(V + "tokens_accepted_total", {"issuer": issuer, "age": age, "scope": scope}, n)
family(V + "tokens_refused", "counter")
for reason, n in refused.items():
    counter(V + "tokens_refused_total", {"reason": reason}, n)
histogram(V + "check_duration_seconds", {}, check_lat)
family(V + "key_expiry_timestamp_seconds", "gauge")
gauge(V + "key_expiry_timestamp_seconds", {"issuer": "age.example", "age": "18", "key": "a1b2c3d4"},
      calendar.timegm((2026, 12, 31, 0, 0, 0)))
gauge(V + "key_expiry_timestamp_seconds",
      {"issuer": "other.example", "age": "18", "key": "99aa88bb"}, calendar.timegm((2027, 3, 1, 0, 0, 0)))
family(V + "config_info", "gauge")
half = start + 15 * 86400
gauge(V + "config_info", {"min_age": "18", "session_seconds": "1800", "site_bound": "0"}, 1, to=half)
gauge(V + "config_info", {"min_age": "18", "session_seconds": "3600", "site_bound": "0"}, 1,
      frm=half + STEP)

family(I + "enrolments_attempts", "counter")
for source, n in attempts.items():
    counter(I + "enrolments_attempts_total", {"source": source}, n)
family(I + "enrolments_accepted", "counter")
for source, n in enrol_ok.items():
    counter(I + "enrolments_accepted_total", {"source": source}, n)
family(I + "enrolments_refused", "counter")
for (source, reason), n in enrol_refused:
    counter(I + "enrolments_refused_total", {"source": source, "reason": reason}, n)
family(I + "tokens_issued", "counter")
for (age, key, epoch), n in issued:
    counter(I + "tokens_issued_total", {"age": age, "key": key, "epoch": epoch}, n)
family(I + "token_requests_refused", "counter")
for reason, n in req_refused.items():
    counter(I + "token_requests_refused_total", {"reason": reason}, n)
family(I + "key_rotations", "counter")
counter(I + "key_rotations_total", {}, 1, before=0, after=0)
for i, (endpoint, per) in enumerate(issuer_lat.items()):  # one family: one TYPE line
    histogram(I + "request_duration_seconds", {"endpoint": endpoint}, per, type_line=(i == 0))
family(I + "key_expiry_timestamp_seconds", "gauge")
gauge(I + "key_expiry_timestamp_seconds", {"age": "18", "key": "e5f6a7b8"},
      calendar.timegm((2027, 2, 13, 0, 0, 0)))
family(I + "config_info", "gauge")
ISSUER_CONFIG = {"min_age": "18", "classes": "16,18", "sources": "dev,mdoc,franceconnect",
                 "epoch_days": "90", "day_cap": "30", "epoch_cap": "300", "enrol_cap": "5"}
gauge(I + "config_info", ISSUER_CONFIG, 1)
family("agepass_build_info", "gauge")
gauge("agepass_build_info", {"service": "issuer", "version": "0.1.0"}, 1)
gauge("agepass_build_info", {"service": "verifier", "version": "0.1.0"}, 1)
lines.append("# EOF")

with open(sys.argv[2], "w") as f:
    f.write("\n".join(lines) + "\n")


# The figures, as (figure, labels) -> count; the test applies k itself.
def row(figure, labels, n):
    return {"figure": figure, "labels": labels, "count": n}


rows = []
for code, n in checks.items():
    rows.append(row("checks", {"code": code}, n))
rows.append(row("checks_total", {}, sum(checks.values())))
rows.append(row("challenges", {}, 500))
rows.append(row("sessions_opened", {}, 300))
rows.append(row("store_errors", {}, 4))
for (issuer, age, scope), n in accepted:
    rows.append(row("tokens_accepted", {"issuer": issuer, "age": age, "scope": scope}, n))
ok_total = sum(n for _, n in accepted)
rows.append(row("tokens_accepted_total", {}, ok_total))
for issuer in ("age.example", "other.example"):
    rows.append(row("tokens_accepted_by_provider", {"issuer": issuer},
                    sum(n for (i, _, _), n in accepted if i == issuer)))
for reason, n in refused.items():
    rows.append(row("tokens_refused", {"reason": reason}, n))
bad_total = sum(refused.values())
rows.append(row("tokens_refused_total", {}, bad_total))
rows.append(row("replays_stopped", {}, refused["replay"]))
for source, n in attempts.items():
    rows.append(row("enrolment_attempts", {"source": source}, n))
    rows.append(row("enrolments_accepted", {"source": source}, enrol_ok[source]))
rows.append(row("enrolment_attempts_total", {}, sum(attempts.values())))
rows.append(row("enrolments_accepted_total", {}, sum(enrol_ok.values())))
for (source, reason), n in enrol_refused:
    rows.append(row("enrolments_refused", {"source": source, "reason": reason}, n))
rows.append(row("minors_stopped", {}, sum(n for (_, r), n in enrol_refused if r == "under_age")))
for (age, key, epoch), n in issued:
    rows.append(row("tokens_issued", {"age": age, "key": key, "epoch": epoch}, n))
rows.append(row("tokens_issued_total", {}, sum(n for _, n in issued)))
for reason, n in req_refused.items():
    rows.append(row("token_requests_refused", {"reason": reason}, n))
rows.append(row("key_rotations", {}, 1))

shares = [  # figure, labels, numerator, denominator
    ("share_accepted", {}, ok_total, ok_total + bad_total),
    ("cross_origin_share", {}, sum(n for (_, _, s), n in accepted if s == "cross_origin"), ok_total),
    ("availability", {}, checks["503"], sum(checks.values())),  # 1 - num/den
] + [("enrolment_share_accepted", {"source": s}, enrol_ok[s], attempts[s]) for s in attempts]

seconds = [("check_latency_p95", {}, p95(check_lat), sum(check_lat.values()))] + [
    ("issuer_latency_p95", {"endpoint": e}, p95(per), sum(per.values()))
    for e, per in issuer_lat.items()]

configuration = [
    ("issuer_config", ISSUER_CONFIG),
    ("verifier_config", {"min_age": "18", "session_seconds": "1800", "site_bound": "0"}),
    ("verifier_config", {"min_age": "18", "session_seconds": "3600", "site_bound": "0"}),
]
dates = [
    ("issuer_key_expiry", {"age": "18", "key": "e5f6a7b8"}, "2027-02-13T00:00:00Z"),
    ("verifier_key_expiry", {"issuer": "age.example", "age": "18", "key": "a1b2c3d4"},
     "2026-12-31T00:00:00Z"),
    ("verifier_key_expiry", {"issuer": "other.example", "age": "18", "key": "99aa88bb"},
     "2027-03-01T00:00:00Z"),
]

with open(sys.argv[3], "w") as f:
    json.dump({"from": datetime.datetime.utcfromtimestamp(start).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "to": datetime.datetime.utcfromtimestamp(end).strftime("%Y-%m-%dT%H:%M:%SZ"),
               "counts": rows, "shares": shares, "seconds": seconds,
               "configuration": configuration, "dates": dates}, f, indent=1)
