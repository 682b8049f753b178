#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Asks a running Prometheus (its HTTP API, /api/v1/query and /api/v1/rules)
# every expression of deploy/prometheus/rules.yml and deploy/grafana/agepass.json,
# taken from the files, and checks the answers against what figures.sh's load
# implies (EXPECTED, JSON: "exact", "panels_exact", "alerts_firing").
# Prints a TAP-like line per check; exits 1 if any failed.
# Usage: figures_check.py PROMETHEUS_URL REPO_DIR EXPECTED
import json
import math
import re
import sys
import urllib.parse
import urllib.request

import yaml

prom, repo, expected_path = sys.argv[1:4]
expected = json.load(open(expected_path))
failed = 0


def report(good, what):
    global failed
    if not good:
        failed += 1
    print(("ok - " if good else "not ok - ") + what)


def api(path, **params):
    url = prom + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def query(expr, at=None):
    """(error or None, result list) of an instant query."""
    params = {"query": expr}
    if at is not None:
        params["time"] = repr(at)
    try:
        body = api("/api/v1/query", **params)
    except urllib.error.HTTPError as e:  # 400 / 422: a bad expression
        return json.load(e).get("error", str(e)), []
    if body.get("status") != "success":
        return body.get("error", "status " + str(body.get("status"))), []
    return None, body["data"]["result"]


def value(sample):
    return float(sample["value"][1])


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


# Grafana's variables, as the dashboard's range would give them: the test's
# whole life fits in 10 minutes.
GRAFANA_VARS = {"$__range": "10m", "$__rate_interval": "1m", "$__interval": "1s"}


def grafana_expr(e):
    for k, v in GRAFANA_VARS.items():
        e = e.replace(k, v)
    return e


rules = [r for g in yaml.safe_load(open(repo + "/deploy/prometheus/rules.yml"))["groups"]
         for r in g["rules"]]
records = [r for r in rules if "record" in r]
alerts = [r for r in rules if "alert" in r]
dash = json.load(open(repo + "/deploy/grafana/agepass.json"))
panels = [(p["title"], t["expr"]) for p in dash["panels"] for t in p.get("targets", [])]
report(len(records) >= 20 and len(alerts) >= 8 and len(panels) >= 25,
       f"{len(records)} recording rules, {len(alerts)} alerts, {len(panels)} panel expressions read")

# Prometheus loaded every rule and evaluates each without error.
loaded = [r for g in api("/api/v1/rules")["data"]["groups"] for r in g["rules"]]
report(len(loaded) == len(rules), f"Prometheus loaded all {len(rules)} rules ({len(loaded)})")
bad = [(r["name"], r.get("lastError")) for r in loaded if r.get("health") != "ok"]
report(not bad, "every rule's health is ok" + (f": {bad}" if bad else ""))

# Every recording rule: its expression answers, non-empty; so does the series it records.
for r in records:
    err, res = query(r["expr"])
    report(err is None and res and all(not math.isnan(value(s)) for s in res),
           f"record {r['record']}: its expression gives {len(res)} series"
           + (f" (error: {err})" if err else "")
           + (" with NaN" if res and any(math.isnan(value(s)) for s in res) else ""))
    err, res = query(r["record"])
    report(err is None and res, f"record {r['record']}: Prometheus recorded it")

# Every alert: its expression answers; non-empty exactly when the load makes it true.
firing = set(expected["alerts_firing"])
for a in alerts:
    err, res = query(a["expr"])
    should = a["alert"] in firing
    report(err is None and bool(res) == should,
           f"alert {a['alert']}: expression {'true' if res else 'empty'}, "
           f"expected {'true' if should else 'empty'}" + (f" (error: {err})" if err else ""))
    # the rule itself, in Prometheus: pending (every `for` outlasts the test) or firing
    err, res = query(f'ALERTS{{alertname="{a["alert"]}"}}')
    report(err is None and bool(res) == should,
           f"alert {a['alert']}: {'pending/firing' if res else 'inactive'} in Prometheus")
report(set(a["alert"] for a in alerts) >= firing, "the alerts expected to fire are in rules.yml")

# Every Grafana panel expression answers, non-empty, no NaN.
for title, e in panels:
    err, res = query(grafana_expr(e))
    report(err is None and res and all(not math.isnan(value(s)) for s in res),
           f"panel '{title}': {e} gives {len(res)} series" + (f" (error: {err})" if err else ""))

# The key figures: exactly the value the load implies.
record_names = {r["record"] for r in records}
for e, want in expected["exact"].items():
    name = re.match(r"[a-zA-Z0-9_:]+", e).group(0)
    if ":" in name:
        report(name in record_names, f"{name} is a recording rule of rules.yml")
    err, res = query(e)
    got = [value(s) for s in res]
    report(err is None and len(got) == 1 and close(got[0], want), f"{e} = {got} (load: {want})")

# Grafana's range panels, at the last scrape of the service they count: an
# increase() over a range that starts before the first scrape (all zeros)
# and ends on a scrape has nothing to extrapolate, so it is the exact count.
panel_exprs = {e for _, e in panels}
for e, want in expected["panels_exact"].items():
    report(e in panel_exprs, f"the dashboard has the panel expression {e}")
    job = "agepass-issuer" if "agepass_issuer_" in e else "agepass-verifier"
    _, ts = query(f'timestamp(up{{job="{job}"}})')
    at = value(ts[0]) if ts else None
    err, res = query(grafana_expr(e), at)
    got = [value(s) for s in res]
    report(err is None and len(got) == 1 and close(got[0], want),
           f"panel {grafana_expr(e)} at the last scrape of {job} = {got} (load: {want})")

print(f"figures_check: {failed} failed")
sys.exit(1 if failed else 0)
