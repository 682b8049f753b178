#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The figures of issue 15 through a real Prometheus: promtool checks the
# repo's deploy/prometheus files; then a real issuer (dev attester), a real
# verifier (Redis replay store) behind nginx and Debian's prometheus, all on
# loopback, scraping every second with the repo's rules.yml; a bounded load
# with the agepass CLI and curl (adults and minors enrolled, tokens fetched
# and minted, pages opened, replays, forged tokens, the replay store killed);
# then every recording rule, alert and Grafana panel expression, taken from
# the files, is asked of Prometheus's HTTP API (figures_check.py) and must
# answer; the key ones with the exact value the load implies.
# Usage: figures.sh AGEPASS
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
agepass=$(realpath "${1:?usage: figures.sh AGEPASS}")
. "$here/lib.sh"
cd "$work" || exit 2
deadline=$(($(date +%s) + 120)) # the load and the waits stop here whatever happens

# ---- promtool on the shipped files --------------------------------------
check "promtool check config deploy/prometheus/prometheus.yml" \
    promtool check config "$repo/deploy/prometheus/prometheus.yml"
check "promtool check rules deploy/prometheus/rules.yml" \
    promtool check rules "$repo/deploy/prometheus/rules.yml"
check "promtool test rules deploy/prometheus/rules_test.yml" \
    bash -c "cd '$repo/deploy/prometheus' && promtool test rules rules_test.yml"
check "deploy/grafana/agepass.json is JSON" python3 -m json.tool "$repo/deploy/grafana/agepass.json" /dev/null

# ---- the services ---------------------------------------------------------
redis_port=$(free_port)
iport=$(free_port)
imetrics=$(free_port)
vport=$(free_port)
vmetrics=$(free_port)
nport=$(free_port)
pport=$(free_port)
start_redis "$redis_port" || exit 2
# 3-day epochs: the furthest key (next epoch) ends within 7 days, so the
# key-expiry alerts must fire.
"$agepass" issuer init --state ist --name issuer.example --epoch-days 3 >/dev/null || exit 2
"$agepass" issuer serve --state ist --listen "127.0.0.1:$iport" --metrics-listen "127.0.0.1:$imetrics" \
    --insecure-dev-attester --day-cap 100 2>issuer.log &
pids+=($!)
wait_port "$iport" || { cat issuer.log; exit 2; }
wait_port "$imetrics" || { cat issuer.log; exit 2; }
issuer="http://127.0.0.1:$iport"
"$agepass" verifier serve --state vst --listen "127.0.0.1:$vport" --metrics-listen "127.0.0.1:$vmetrics" \
    --cross-origin --refresh 5 --redis "redis://127.0.0.1:$redis_port" \
    --trust "$issuer/.well-known/private-token-issuer-directory,name=issuer.example" 2>verifier.log &
pids+=($!)
wait_port "$vport" || { cat verifier.log; exit 2; }
wait_port "$vmetrics" || { cat verifier.log; exit 2; }
mkdir -p site/adult
echo "ADULT PAGE 9c2" >site/adult/index.html
start_nginx "$vport" "$nport" || exit 2
site="http://127.0.0.1:$nport/adult/"
check "the main listeners answer 404 on /metrics (--metrics-listen given)" \
    bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$issuer/metrics')\" = 404 ] &&
             [ \"\$(curl -s -o /dev/null -w '%{http_code}' 'http://127.0.0.1:$vport/metrics')\" = 404 ]"

# ---- Prometheus: the shipped prometheus.yml, pointed at these services ----
python3 - "$repo/deploy/prometheus/prometheus.yml" "$repo/deploy/prometheus/rules.yml" \
    "127.0.0.1:$imetrics" "127.0.0.1:$vmetrics" >prometheus.yml <<'PY' || exit 2
import sys, yaml
conf = yaml.safe_load(open(sys.argv[1]))
conf["global"]["scrape_interval"] = "1s"
conf["global"]["evaluation_interval"] = "1s"
conf["rule_files"] = [sys.argv[2]]
targets = {"agepass-issuer": sys.argv[3], "agepass-verifier": sys.argv[4]}
for job in conf["scrape_configs"]:
    job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
print(yaml.safe_dump(conf))
PY
check "promtool check config on the test's copy" promtool check config prometheus.yml >/dev/null
prometheus --config.file=prometheus.yml --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$pport" 2>prometheus.log &
pids+=($!)
prom="http://127.0.0.1:$pport"
# promq EXPR: the JSON of an instant query
promq() { curl -s --max-time 5 "$prom/api/v1/query" --data-urlencode "query=$1"; }
# prom_until EXPR: until EXPR gives a non-empty result (or the deadline)
prom_until() {
    while [ "$(date +%s)" -lt "$deadline" ]; do
        promq "$1" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["data"]["result"] else 1)' \
            2>/dev/null && return 0
        sleep 0.3
    done
    return 1
}
# Both targets scraped (every counter at 0) before any load: increase()
# then counts from 0, so the exact checks below hold.
check "Prometheus scrapes the issuer and the verifier before the load" \
    prom_until 'count(up{job=~"agepass-issuer|agepass-verifier"} == 1) == 2 and count(agepass_build_info) == 2' ||
    { tail -20 prometheus.log; exit 1; }
scraped_from=$(date +%s)

# ---- the load: bounded counts ----------------------------------------------
adults=6     # enrol, fetch 3, open the page with a wallet token, then with the session cookie
replays=3    # of those adults: their wallet as it was before, so the same token goes again
minted=2     # enrol, open the page with a token minted for this site (--mint-now)
late=2       # enrol, fetch 3, open the page once the replay store is down: 503
minors=4     # enrol at 15: refused under_age
forge_sig=6  # a wallet token with a signature byte changed
forge_key=6  # a wallet token with a key id byte changed
forge_junk=6 # not a token at all
bad_requests=3 # token requests the issuer cannot parse
w() { echo "$work/wallets/$1.json"; }
load_ok=1
for i in $(seq 1 $adults) late1 late2 forger; do
    AGEPASS_WALLET=$(w "$i") "$agepass" enroll --issuer "$issuer" --dev-age 30 >/dev/null 2>>load.err || load_ok=0
done
for i in $(seq 1 $adults) late1 late2; do
    AGEPASS_WALLET=$(w "$i") "$agepass" fetch --issuer "$issuer" --count 3 >/dev/null 2>>load.err || load_ok=0
done
AGEPASS_WALLET=$(w forger) "$agepass" fetch --issuer "$issuer" --count $((forge_sig + forge_key)) >/dev/null 2>>load.err || load_ok=0
for i in $(seq 1 $minors); do
    AGEPASS_WALLET=$(w "minor$i") "$agepass" enroll --issuer "$issuer" --dev-age 15 >/dev/null 2>&1 && load_ok=0
done
for i in $(seq 1 $adults); do
    [ "$i" -le $replays ] && cp "$(w "$i")" "$(w "$i").before"
    AGEPASS_WALLET=$(w "$i") "$agepass" get "$site" -o page.html 2>>load.err || load_ok=0
    grep -q "ADULT PAGE" page.html || load_ok=0
    AGEPASS_WALLET=$(w "$i") "$agepass" get "$site" -o /dev/null 2>>load.err || load_ok=0 # the cookie
done
for i in $(seq 1 $replays); do
    cp "$(w "$i").before" "$(w "r$i")"
    AGEPASS_WALLET=$(w "r$i") "$agepass" get "$site" -o /dev/null 2>/dev/null && load_ok=0
done
for i in $(seq 1 $minted); do
    AGEPASS_WALLET=$(w "m$i") "$agepass" enroll --issuer "$issuer" --dev-age 40 >/dev/null 2>>load.err || load_ok=0
    AGEPASS_WALLET=$(w "m$i") "$agepass" get "$site" --mint-now -o /dev/null 2>>load.err || load_ok=0
done
# forged tokens, sent as a client would (one request each, no challenge asked first)
python3 - "$(w forger)" "$forge_sig" "$forge_key" "$forge_junk" >forged.txt <<'PY' || load_ok=0
import json, sys
w = json.load(open(sys.argv[1]))
toks = [t["token"] for i in w["issuers"].values() for t in i["tokens"]]
n_sig, n_key, n_junk = (int(a) for a in sys.argv[2:5])
assert len(toks) >= n_sig + n_key
def flip(s, i):  # another base64url letter at position i
    return s[:i] + ("B" if s[i] != "B" else "C") + s[i + 1:]
# Token (RFC 9578 §5.3): type(2) nonce(32) digest(32) key_id(32) signature(256).
# base64url letter 100 is in key_id (bytes 75-77), letter -20 in the signature.
for t in toks[:n_sig]:
    print(flip(t, len(t) - 20))
for t in toks[n_sig:n_sig + n_key]:
    print(flip(t, 100))
for _ in range(n_junk):
    print("AAIA")
PY
while read -r t; do
    curl -s -o /dev/null --max-time 5 -H "Authorization: PrivateToken token=\"$t\"" "$site"
done <forged.txt
for i in $(seq 1 $bad_requests); do
    curl -s -o /dev/null --max-time 5 -X POST -H "Content-Type: application/private-token-request" \
        -H "Authorization: Bearer $(printf 'x%.0s' $(seq 43))" --data-binary "junk" "$issuer/token-request"
done
kill "$redis_pid"
wait "$redis_pid" 2>/dev/null
for i in late1 late2; do
    AGEPASS_WALLET=$(w "$i") "$agepass" get "$site" -o /dev/null 2>"$i.err" && load_ok=0
    grep -q "HTTP 503" "$i.err" || load_ok=0
done
check "the load ran as scripted (pages opened, replays and minors refused, 503 without Redis)" [ $load_ok = 1 ]
[ $load_ok = 1 ] || head -20 load.err

# What the load implies (see the counts above): figures_check.py checks these.
export adults replays minted late minors forge_sig forge_key forge_junk bad_requests
python3 >expected.json <<'PY' || exit 2
import json, os
n = {k: int(os.environ[k]) for k in
     "adults replays minted late minors forge_sig forge_key forge_junk bad_requests".split()}
enrolled = n["adults"] + n["late"] + n["minted"] + 1  # + the forger
attempts = enrolled + n["minors"]
issued = (n["adults"] + n["late"]) * 3 + n["forge_sig"] + n["forge_key"] + n["minted"]
refused = n["replays"] + n["forge_sig"] + n["forge_key"] + n["forge_junk"]
accepted = n["adults"] + n["minted"]
# access checks: an adult's first visit is a 401 then a 200, the second a 200
# (cookie); a replay 401 + 401; a minted visit 401 + 200; a forged token one
# 401; a late visit 401 + 503.
c200 = n["adults"] * 2 + n["minted"]
c503 = n["late"]
c401 = (n["adults"] + n["replays"] * 2 + n["minted"] + n["forge_sig"] + n["forge_key"]
        + n["forge_junk"] + n["late"])
checks = c200 + c401 + c503
print(json.dumps({
    # raw counters and recording rules, at the end of the load
    "exact": {
        'sum(agepass_issuer_enrolments_attempts_total{source="dev"})': attempts,
        'sum(agepass_issuer_enrolments_accepted_total{source="dev"})': enrolled,
        'sum(agepass_issuer_enrolments_refused_total{reason="under_age"})': n["minors"],
        'sum(agepass_issuer_enrolments_refused_total{reason!="under_age"})': 0,
        'sum(agepass_issuer_tokens_issued_total)': issued,
        'sum(agepass_issuer_token_requests_refused_total{reason="malformed"})': n["bad_requests"],
        'sum(agepass_issuer_token_requests_refused_total)': n["bad_requests"],
        'sum(agepass_verifier_tokens_accepted_total{scope="cross_origin",issuer="issuer.example",age="18"})': n["adults"],
        'sum(agepass_verifier_tokens_accepted_total{scope="site_bound",issuer="issuer.example",age="18"})': n["minted"],
        'sum(agepass_verifier_tokens_refused_total{reason="replay"})': n["replays"],
        'sum(agepass_verifier_tokens_refused_total{reason="bad_signature"})': n["forge_sig"],
        'sum(agepass_verifier_tokens_refused_total{reason="unknown_key"})': n["forge_key"],
        'sum(agepass_verifier_tokens_refused_total{reason="malformed"})': n["forge_junk"],
        'sum(agepass_verifier_tokens_refused_total)': refused,
        'sum(agepass_verifier_store_errors_total)': n["late"],
        'sum(agepass_verifier_sessions_opened_total)': accepted,
        'sum(agepass_verifier_sessions_valid_total)': n["adults"],
        'sum(agepass_verifier_checks_total{code="200"})': c200,
        'sum(agepass_verifier_checks_total{code="401"})': c401,
        'sum(agepass_verifier_checks_total{code="503"})': c503,
        'sum(agepass_verifier_checks_total)': checks,
        'source:agepass_issuer_enrolments_accepted:ratio_rate5m{source="dev"}': enrolled / attempts,
        'source_reason:agepass_issuer_enrolments_refused:ratio_rate5m{source="dev",reason="under_age"}':
            n["minors"] / attempts,
        'agepass:issuer_enrolments_under_age:ratio_rate5m': n["minors"] / attempts,
        'agepass:issuer_enrolments_accepted:ratio_rate5m': enrolled / attempts,
        'source:agepass_issuer_enrolments_attempts:share_rate5m{source="dev"}': 1,
        'agepass:verifier_checks_available:ratio_rate5m': 1 - c503 / checks,
        'agepass:verifier_tokens_accepted:ratio_rate5m': accepted / (accepted + refused),
        'reason:agepass_verifier_tokens_refused:ratio_rate5m{reason="replay"}': n["replays"] / (accepted + refused),
        'reason:agepass_verifier_tokens_refused:ratio_rate5m{reason="bad_signature"}':
            n["forge_sig"] / (accepted + refused),
        'agepass:verifier_tokens_accepted_cross_origin:ratio_rate5m': n["adults"] / accepted,
        'issuer:agepass_verifier_tokens_accepted:share_rate5m{issuer="issuer.example"}': 1,
        'job:agepass_up:ratio{job="agepass-issuer"}': 1,
        'job:agepass_up:ratio{job="agepass-verifier"}': 1,
    },
    # Grafana stat panels over the range, at the last scrape of their service
    "panels_exact": {
        "sum(increase(agepass_issuer_enrolments_attempts_total[$__range]))": attempts,
        'sum(increase(agepass_issuer_enrolments_refused_total{reason="under_age"}[$__range]))': n["minors"],
        "sum(increase(agepass_issuer_tokens_issued_total[$__range]))": issued,
        "sum(increase(agepass_verifier_checks_total[$__range]))": checks,
        'sum(increase(agepass_verifier_tokens_refused_total{reason="replay"}[$__range]))': n["replays"],
    },
    # the alert expressions the load makes true; every other one must be empty
    "alerts_firing": ["AgepassVerifierStoreErrors", "AgepassVerifierUnavailable",
                      "AgepassVerifierRefusalSpike", "AgepassIssuerKeyExpiresSoon"],
}, indent=1))
PY
# Prometheus holds the load's end once it shows the services' own counts.
# metric_sum PORT NAME: the sum of NAME's samples on that /metrics
metric_sum() {
    curl -s --max-time 5 "http://127.0.0.1:$1/metrics" |
        awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $NF } END { print s + 0 }'
}
v_checks=$(metric_sum "$vmetrics" agepass_verifier_checks_total)
i_issued=$(metric_sum "$imetrics" agepass_issuer_tokens_issued_total)
i_refused=$(metric_sum "$imetrics" agepass_issuer_token_requests_refused_total)
check "Prometheus scraped the end of the load ($v_checks checks, $i_issued tokens issued)" \
    prom_until "sum(agepass_verifier_checks_total) == $v_checks and
                sum(agepass_issuer_tokens_issued_total) == $i_issued and
                sum(agepass_issuer_token_requests_refused_total) == $i_refused"
sleep 2.5 # two rule evaluations after that scrape

python3 "$here/figures_check.py" "$prom" "$repo" expected.json
check "every rule, alert and panel expression answers as the load implies (figures_check.py)" [ $? -eq 0 ]
if [ "$fail" -ne 0 ]; then
    echo "--- issuer /metrics"; curl -s "http://127.0.0.1:$imetrics/metrics" | grep -v '^#' | grep -v ' 0$'
    echo "--- verifier /metrics"; curl -s "http://127.0.0.1:$vmetrics/metrics" | grep -v '^#' | grep -v ' 0$'
fi
# `agepass report` for the load's days, against this Prometheus. It reports
# only periods that have ended: it runs with its clock a day on (libfaketime,
# preloaded), which does not run under AddressSanitizer (there: SKIP).
libfaketime=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1)
report_days="$(date -u -d yesterday +%F)..$(date -u +%F)"
if nm "$agepass" 2>/dev/null | grep -q ' __asan_init'; then
    echo "# SKIP agepass report: libfaketime does not run under AddressSanitizer"
elif [ -z "$libfaketime" ]; then
    not_ok "libfaketime is missing (scripts/setup)"
else
    # The report counts with increase() at its period's end, which adds half
    # a scrape interval (0.5 s here) to the series' life: a count n is off
    # by n * 0.5 / life, so the series must have lived over n seconds for
    # the rounded count to be exact (over a real day it is nothing).
    while [ $(($(date +%s) - scraped_from)) -le $((v_checks + 5)) ] && [ "$(date +%s)" -lt "$deadline" ]; do
        sleep 1
    done
    for k in 1 10; do
        LD_PRELOAD=$libfaketime FAKETIME=+1d "$agepass" report --prometheus "$prom" \
            --period "$report_days" --k $k --out "report-k$k" 2>"report-k$k.err"
        check "agepass report --period $report_days --k $k writes the report" [ $? -eq 0 ]
        python3 "$here/figures_report.py" "$prom" "report-k$k" $k
        check "its CSV (k = $k) gives the counters' numbers (figures_report.py)" [ $? -eq 0 ]
    done
fi
check "no secret in the logs: no grant or token of the wallets" python3 - "$work/wallets" issuer.log verifier.log <<'PY'
import glob, json, sys
logs = "".join(open(f).read() for f in sys.argv[2:])
for f in glob.glob(sys.argv[1] + "/*.json") + glob.glob(sys.argv[1] + "/*.json.before"):
    for i in json.load(open(f)).get("issuers", {}).values():
        for s in [i.get("grant")] + [t["token"] for t in i.get("tokens", [])]:
            if s and s[:20] in logs:
                sys.exit(f"{f}: a grant or token is in a log")
PY
check "the whole test took under 120 s" [ "$(date +%s)" -lt "$deadline" ]
finish
