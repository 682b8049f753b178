#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# The CSV of `agepass report` against the counters themselves: every count
# row of DIR/report.csv must equal the raw counter Prometheus holds (an
# instant query of the counter's sum, no increase()), every share the exact
# ratio of those counters (to the 4 decimals written); with --k K > 1, a
# count 0 < n < K must be shown as "< K" and no other row may show a number
# different from the counter. Prints a TAP-like line per check; exits 1 if
# any failed. Usage: figures_report.py PROMETHEUS_URL DIR K
import csv
import json
import sys
import urllib.parse
import urllib.request

prom, out, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
failed = 0


def report(good, what):
    global failed
    if not good:
        failed += 1
    print(("ok - " if good else "not ok - ") + what)


def series(expr):
    """{frozenset(labels): value} of an instant query."""
    url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.load(r)
    return {frozenset(s["metric"].items()): float(s["value"][1]) for s in body["data"]["result"]}


V, I = "agepass_verifier_", "agepass_issuer_"
# figure -> (metric, labels summed by); the counters the report's rows count
COUNTS = {
    "checks": (V + "checks_total", ["code"]),
    "checks_total": (V + "checks_total", []),
    "challenges": (V + "challenges_total", []),
    "sessions_opened": (V + "sessions_opened_total", []),
    "store_errors": (V + "store_errors_total", []),
    "tokens_accepted": (V + "tokens_accepted_total", ["issuer", "age", "scope"]),
    "tokens_accepted_total": (V + "tokens_accepted_total", []),
    "tokens_accepted_by_provider": (V + "tokens_accepted_total", ["issuer"]),
    "tokens_refused": (V + "tokens_refused_total", ["reason"]),
    "tokens_refused_total": (V + "tokens_refused_total", []),
    "replays_stopped": (V + 'tokens_refused_total{reason="replay"}', []),
    "enrolment_attempts": (I + "enrolments_attempts_total", ["source"]),
    "enrolment_attempts_total": (I + "enrolments_attempts_total", []),
    "enrolments_accepted": (I + "enrolments_accepted_total", ["source"]),
    "enrolments_accepted_total": (I + "enrolments_accepted_total", []),
    "enrolments_refused": (I + "enrolments_refused_total", ["source", "reason"]),
    "minors_stopped": (I + 'enrolments_refused_total{reason="under_age"}', []),
    "tokens_issued": (I + "tokens_issued_total", ["age", "key", "epoch"]),
    "tokens_issued_total": (I + "tokens_issued_total", []),
    "token_requests_refused": (I + "token_requests_refused_total", ["reason"]),
    "key_rotations": (I + "key_rotations_total", []),
}


def counter(figure, labels):
    metric, by = COUNTS[figure]
    got = series(f"sum by ({', '.join(by)}) ({metric})")
    return got.get(frozenset(labels.items()))


def total(expr):
    return sum(series(expr).values())


acc, ref = total(V + "tokens_accepted_total"), total(V + "tokens_refused_total")
checks = total(V + "checks_total")
SHARES = {
    ("share_accepted", ()): acc / (acc + ref),
    ("cross_origin_share", ()): total(V + 'tokens_accepted_total{scope="cross_origin"}') / acc,
    ("availability", ()): 1 - total(V + 'checks_total{code="503"}') / checks,
}
for src_labels, n in series(f"sum by (source) ({I}enrolments_attempts_total)").items():
    src = dict(src_labels)["source"]
    SHARES[("enrolment_share_accepted", (("source", src),))] = \
        total(f'{I}enrolments_accepted_total{{source="{src}"}}') / n

with open(out + "/report.csv", newline="") as f:
    rows = list(csv.DictReader(f))
report(len(rows) > 0, f"{out}/report.csv has {len(rows)} rows")
unmapped, wrong, small, seen_shares = [], [], 0, set()
for r in rows:
    labels = dict(p.split("=", 1) for p in r["labels"].split(";")) if r["labels"] else {}
    what = f"{r['figure']}{{{r['labels']}}} = {r['value']}"
    if r["unit"] == "count":
        if r["figure"] not in COUNTS:
            unmapped.append(r["figure"])
            continue
        n = counter(r["figure"], labels)
        if n is None:
            wrong.append(what + " (no such counter)")
        elif 0 < n < k:
            small += 1
            if r["value"] != f"< {k}" or r["status"] != "suppressed":
                wrong.append(f"{what}: the counter is {n:.0f}, not shown as < {k}")
        elif r["value"] == "hidden":
            pass  # hidden to protect a small count elsewhere: no number
        elif r["value"] != f"{n:.0f}" or r["status"] != "ok":
            wrong.append(f"{what}: the counter is {n:.0f}")
    elif r["unit"] == "share":
        key = (r["figure"], tuple(sorted(labels.items())))
        seen_shares.add(key)
        want = SHARES.get(key)
        if want is None:
            unmapped.append(r["figure"])
        elif r["value"] not in ("hidden", "") and abs(float(r["value"]) - want) > 0.00005:
            wrong.append(f"{what}: the counters give {want:.6f}")
report(not unmapped, "every count and share of the CSV is checked"
       + (f" (not: {sorted(set(unmapped))})" if unmapped else ""))
report(not wrong, f"every count of the CSV equals its counter (k = {k}, {small} shown as < {k})"
       + ("; " + "; ".join(wrong) if wrong else ""))
report(set(SHARES) <= seen_shares, "the CSV has the shares: accepted, cross-origin, availability, "
       "per source")
if k > 1:
    report(small > 0, f"the load has counts below k = {k}, and they are suppressed")
sys.exit(1 if failed else 0)
