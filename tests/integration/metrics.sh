#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The services' /metrics (issue 15 item 1, docs/figures-metrics.md), on
# loopback: a real issuer (dev attester, SQLite) and a real verifier (the
# issuer's directory, a Redis replay store) get a known number of each
# action, and each series must say exactly that number:
#   issuer: adults and minors enrolled, a broken enrolment, a token batch
#     fetched by the client, a malformed token request, a SIGHUP that changes
#     nothing, then a rotation taken up;
#   verifier: challenges, cross-origin and site-bound tokens of two classes,
#     a replay, a forged token, a bad class header, a 503 with Redis down,
#     a directory that cannot be fetched;
# then the whole pages pass `promtool check metrics`; with --metrics-listen
# the main port's /metrics is 404 and the other one serves them (and
# nothing else); and no label value holds a token, grant, nonce or address.
# Usage: metrics.sh AGEPASS
here=$(cd "$(dirname "$0")" && pwd)
agepass=$(realpath "${1:?usage: metrics.sh AGEPASS}")
. "$here/lib.sh"
cd "$work" || exit 2
command -v promtool >/dev/null || { echo "metrics: promtool is needed (scripts/setup: prometheus)"; exit 2; }

# val FILE SERIES: the value of the one line "SERIES VALUE" in FILE (empty if none)
val() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
# is FILE SERIES VALUE: that series holds exactly that value
is() {
    local v
    v=$(val "$1" "$2")
    [ "$v" = "$3" ] || { echo "# $2 is '${v}', not $3" >&2; return 1; }
}
# lines FILE NAME: how many series NAME has (with any labels)
lines() { awk -v n="$2" '!/^#/ { split($1, a, "{"); if (a[1] == n) c++ } END { print c + 0 }' "$1"; }
scrape() { curl -s -o "$2" -w '%{http_code}' "$1"; }

# --- the issuer -------------------------------------------------------------
"$agepass" issuer init --state ist --name issuer.example --age-classes 18,16 --epoch-days 30 >/dev/null || exit 2
ip=$(free_port)
imp=$(free_port)
"$agepass" issuer serve --state ist --listen "127.0.0.1:$ip" --insecure-dev-attester \
    --metrics-listen "127.0.0.1:$imp" 2>issuer.log &
pids+=($!)
issuer_pid=$!
wait_port "$ip" && wait_port "$imp" || { cat issuer.log; exit 2; }
ibase="http://127.0.0.1:$ip"
imetrics="http://127.0.0.1:$imp/metrics"

scrape "$imetrics" i0.txt >/dev/null
check "issuer: every series from the first scrape, at 0" bash -c "
    grep -q '^agepass_issuer_enrolments_attempts_total{source=\"dev\"} 0$' i0.txt &&
    grep -q '^agepass_issuer_enrolments_refused_total{source=\"dev\",reason=\"under_age\"} 0$' i0.txt &&
    grep -q '^agepass_issuer_key_rotations_total 0$' i0.txt &&
    grep -q '^agepass_issuer_request_duration_seconds_count{endpoint=\"token\"} 0$' i0.txt"
check "issuer: only the enabled sources (dev; no mdoc, no oidc)" bash -c "! grep -q 'source=\"\(mdoc\|oidc\)' i0.txt"
check "issuer: promtool check metrics passes on the first page" promtool check metrics <i0.txt

grants=()
for age in 25 40; do # two adults
    grants+=("$(curl -s -H 'Content-Type: application/json' -d "{\"age\": $age}" "$ibase/enroll/dev" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["grant"])')")
done
for age in 15 12 10; do # three under 16, the lowest class
    curl -s -o /dev/null -H 'Content-Type: application/json' -d "{\"age\": $age}" "$ibase/enroll/dev"
done
curl -s -o /dev/null -d '{"age": "old"}' "$ibase/enroll/dev" # broken evidence
# one more adult through the client, and one batch of 7 tokens
check "client: enrol (dev, 30)" "$agepass" enroll --issuer "$ibase" --dev-age 30 --wallet w.json
check "client: one batch of 7 tokens" "$agepass" fetch --issuer "$ibase" --count 7 --wallet w.json
# a malformed single TokenRequest, with a grant
s=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${grants[0]}" \
    -H 'Content-Type: application/private-token-request' --data-binary 'junk' "$ibase/token-request")
check "a malformed TokenRequest: 422 ($s)" [ "$s" = 422 ]
s=$(curl -s -o /dev/null -w '%{http_code}' "$ibase/metrics")
check "issuer with --metrics-listen: the main port's /metrics is 404 ($s)" [ "$s" = 404 ]
s=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$imp/.well-known/private-token-issuer-directory")
check "issuer: the metrics port serves nothing else: 404 ($s)" [ "$s" = 404 ]

scrape "$imetrics" i1.txt >/dev/null
check "issuer: 7 dev enrolments reached a decision" is i1.txt 'agepass_issuer_enrolments_attempts_total{source="dev"}' 7
check "issuer: 3 accepted" is i1.txt 'agepass_issuer_enrolments_accepted_total{source="dev"}' 3
check "issuer: 3 minors stopped at enrolment (under_age)" is i1.txt 'agepass_issuer_enrolments_refused_total{source="dev",reason="under_age"}' 3
check "issuer: 1 invalid_evidence" is i1.txt 'agepass_issuer_enrolments_refused_total{source="dev",reason="invalid_evidence"}' 1
check "issuer: 0 over_quota" is i1.txt 'agepass_issuer_enrolments_refused_total{source="dev",reason="over_quota"}' 0
check "issuer: 7 tokens issued in all" [ "$(metric_sum i1.txt agepass_issuer_tokens_issued_total)" = 7 ]
today=$(date -u +%F)
check "issuer: all 7 under today's epoch ($today)" [ "$(metric_sum i1.txt agepass_issuer_tokens_issued_total "epoch=\"$today\"")" = 7 ]
check "issuer: 4 tokens_issued series (2 classes x 2 epochs)" [ "$(lines i1.txt agepass_issuer_tokens_issued_total)" = 4 ]
check "issuer: 1 malformed token request" is i1.txt 'agepass_issuer_token_requests_refused_total{reason="malformed"}' 1
check "issuer: latency: 7 grant requests (6 by curl, 1 by the client)" is i1.txt 'agepass_issuer_request_duration_seconds_count{endpoint="grant"}' 7
check "issuer: latency: 1 batch" is i1.txt 'agepass_issuer_request_duration_seconds_count{endpoint="batch"}' 1
check "issuer: latency: 1 single token request" is i1.txt 'agepass_issuer_request_duration_seconds_count{endpoint="token"}' 1
check "issuer: latency: the main port's /metrics (404) is 'other', not 'metrics'" bash -c "
    grep -q '^agepass_issuer_request_duration_seconds_count{endpoint=\"other\"} 1$' i1.txt &&
    grep -q '^agepass_issuer_request_duration_seconds_count{endpoint=\"metrics\"} 0$' i1.txt"
check "issuer: latency: +Inf bucket = count" is i1.txt 'agepass_issuer_request_duration_seconds_bucket{endpoint="grant",le="+Inf"}' 7
check "issuer: latency: 14 buckets per endpoint, cumulative" python3 - i1.txt <<'EOF'
import re, sys
b = {}
for line in open(sys.argv[1]):
    m = re.match(r'agepass_issuer_request_duration_seconds_bucket\{endpoint="(\w+)",le="([^"]+)"\} (\d+)$', line)
    if m:
        b.setdefault(m[1], []).append(int(m[3]))
assert sorted(b) == sorted(["directory", "enrol", "grant", "token", "batch", "page", "metrics", "other"]), b
assert all(len(v) == 14 and v == sorted(v) for v in b.values()), b
EOF
check "issuer: key expiry: 4 keys, the current ones 30 days after today's epoch start" python3 - i1.txt <<'EOF'
import re, sys, time
t = [int(v) for v in re.findall(r'^agepass_issuer_key_expiry_timestamp_seconds\{age="\d+",key="[0-9a-f]{8}"\} (\d+)$', open(sys.argv[1]).read(), re.M)]
assert len(t) == 4, t
now = time.time()
assert sorted(t)[0] == sorted(t)[1] and abs(sorted(t)[0] - now - 30 * 86400) < 120, t
assert sorted(t)[2] - sorted(t)[0] == 30 * 86400, t
EOF
check "issuer: config info (classes, minimum, sources)" grep -q '^agepass_issuer_config_info{min_age="16",classes="16,18",sources="dev",epoch_days="30",' i1.txt
check "issuer: build info" grep -q '^agepass_build_info{service="issuer",version="[0-9.]*"} 1$' i1.txt
start=$(val i1.txt process_start_time_seconds)
check "issuer: process start time within the last 5 minutes ($start)" bash -c "[ \$(( $(date +%s) - ${start:-0} )) -ge 0 ] && [ \$(( $(date +%s) - ${start:-0} )) -lt 300 ]"

# a reload that changes nothing is no rotation; a rotation taken up is one
# reloads N: until the issuer has logged N reloads (5 s at most)
reloads() {
    local i
    for i in $(seq 1 50); do
        [ "$(grep -c 'issuer: reloaded' issuer.log)" -ge "$1" ] && return 0
        sleep 0.1
    done
    return 1
}
kill -HUP "$issuer_pid"
reloads 1
scrape "$imetrics" i2.txt >/dev/null
check "issuer: a SIGHUP with the same keys: 0 rotations" is i2.txt agepass_issuer_key_rotations_total 0
check "issuer: ... and the counts stay (7 tokens)" [ "$(metric_sum i2.txt agepass_issuer_tokens_issued_total)" = 7 ]
"$agepass" issuer rotate --state ist --now --force >/dev/null 2>&1
kill -HUP "$issuer_pid"
reloads 2
scrape "$imetrics" i3.txt >/dev/null
check "issuer: after issuer rotate and SIGHUP: 1 rotation" is i3.txt agepass_issuer_key_rotations_total 1
check "issuer: the retired keys' series are gone, the new epoch's are there (4, at 0)" bash -c "
    [ $(lines i3.txt agepass_issuer_tokens_issued_total) = 4 ] &&
    [ $(metric_sum i3.txt agepass_issuer_tokens_issued_total) = 0 ]"
check "issuer: promtool check metrics passes after the load" promtool check metrics <i3.txt

# an issuer whose store (Redis) is down cannot decide: 503, and no attempt counted
cp -r ist ist-r
ip2=$(free_port)
"$agepass" issuer serve --state ist-r --listen "127.0.0.1:$ip2" --insecure-dev-attester \
    --redis "redis://127.0.0.1:$(free_port)" 2>issuer-r.log &
pids+=($!)
wait_port "$ip2" || { cat issuer-r.log; exit 2; }
s=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{"age": 25}' "http://127.0.0.1:$ip2/enroll/dev")
check "issuer with its store down: an enrolment gets 503 ($s)" [ "$s" = 503 ]
scrape "http://127.0.0.1:$ip2/metrics" ir.txt >/dev/null
check "... counted as no attempt, no acceptance, no refusal" bash -c "
    grep -q '^agepass_issuer_enrolments_attempts_total{source=\"dev\"} 0$' ir.txt &&
    [ $(metric_sum ir.txt agepass_issuer_enrolments_refused_total) = 0 ]"
check "... but timed (grant: 1)" is ir.txt 'agepass_issuer_request_duration_seconds_count{endpoint="grant"}' 1

# --- the verifier -----------------------------------------------------------
# its keys: the issuer's directory (now epoch 2 current); a second directory
# that cannot be fetched; tokens minted with the issuer's key files
rp=$(free_port)
start_redis "$rp" || exit 2
vp=$(free_port)
vmp=$(free_port)
dead=$(free_port)
e=$(python3 -c 'import json; print(json.load(open("ist/issuer.json"))["epochs"][0]["id"])')
"$agepass" verifier serve --state vst --listen "127.0.0.1:$vp" --min-age 16 --origin shop.example \
    --redis "redis://127.0.0.1:$rp" --refresh 3600 --session-idle 900 \
    --trust "$ibase/.well-known/private-token-issuer-directory" \
    --trust "http://127.0.0.1:$dead/.well-known/private-token-issuer-directory,name=down.example" \
    2>verifier.log &
pids+=($!)
wait_port "$vp" || { cat verifier.log; exit 2; }
vbase="http://127.0.0.1:$vp"

scrape "$vbase/metrics" v0.txt >/dev/null
check "verifier: every series from the first scrape, at 0" bash -c "
    grep -q '^agepass_verifier_tokens_accepted_total{issuer=\"issuer.example\",age=\"18\",scope=\"cross_origin\"} 0$' v0.txt &&
    grep -q '^agepass_verifier_tokens_accepted_total{issuer=\"issuer.example\",age=\"16\",scope=\"site_bound\"} 0$' v0.txt &&
    grep -q '^agepass_verifier_checks_total{code=\"503\"} 0$' v0.txt &&
    grep -q '^agepass_verifier_check_duration_seconds_count 0$' v0.txt"
check "verifier: directory refreshes at start: 1 ok, 1 failed" bash -c "
    grep -q '^agepass_verifier_directory_refreshes_total{result=\"ok\"} 1$' v0.txt &&
    grep -q '^agepass_verifier_directory_refreshes_total{result=\"failed\"} 1$' v0.txt"
check "verifier: the directory fetched has its last success now" python3 - v0.txt <<'EOF'
import re, sys, time
page = open(sys.argv[1]).read()
ok = int(re.search(r'^agepass_verifier_directory_last_success_timestamp_seconds\{issuer="issuer.example"\} (\d+)$', page, re.M)[1])
down = int(re.search(r'^agepass_verifier_directory_last_success_timestamp_seconds\{issuer="down.example"\} (\d+)$', page, re.M)[1])
assert abs(ok - time.time()) < 120 and down == 0, (ok, down)
EOF
check "verifier: key expiry: 4 keys, each 120 days after its not-before" python3 - v0.txt <<'EOF'
import json, re, sys
page = open(sys.argv[1]).read()
t = sorted(int(v) for v in re.findall(r'^agepass_verifier_key_expiry_timestamp_seconds\{issuer="issuer.example",age="1[68]",key="[0-9a-f]{8}"\} (\d+)$', page, re.M))
nb = sorted(e["start"] for e in json.load(open("ist/issuer.json"))["epochs"] for _ in (16, 18))
assert t == [s + 120 * 86400 for s in nb], (t, nb)
EOF
check "verifier: config info" grep -q '^agepass_verifier_config_info{min_age="16",session_seconds="900",site_bound="0"} 1$' v0.txt
check "verifier: build info" grep -q '^agepass_build_info{service="verifier",version="[0-9.]*"} 1$' v0.txt

# mint N AGE KIND: N Authorization values of the current class-AGE key into
# tok-AGE-KIND-I, for the cross-origin challenge or the site's (from a 401)
www=$(curl -s -D - -o /dev/null "$vbase/auth" | grep -i '^WWW-Authenticate:' | cut -d' ' -f2- | tr -d '\r')
python3 - "$www" <<'EOF'
import base64, re, sys
for c in re.findall(r'challenge="([^"]+)"', sys.argv[1]):
    b = base64.urlsafe_b64decode(c + '=' * (-len(c) % 4))
    if len(b) > 40:
        open('site.ch', 'wb').write(b)
EOF
"$agepass" token challenge --issuer-name issuer.example --context empty --out cross.ch || exit 2
mint() {
    local n=$1 age=$2 kind=$3 i
    for ((i = 0; i < n; i++)); do
        "$agepass" token request --pub "pub-$age.der" --challenge "$kind.ch" --state st --out req &&
            "$agepass" token issue --key "ist/keys/age$age-e$e.pem" --in req --out resp &&
            "$agepass" token finalize --state st --in resp --out tok &&
            "$agepass" token header-token --in tok >"tok-$age-$kind-$i" || return 1
    done
}
# the current keys' public files, from the directory
curl -s "$ibase/.well-known/private-token-issuer-directory" >dir.json
python3 - <<'EOF' || exit 2
import base64, json, time
keys = json.load(open("dir.json"))["token-keys"]
now = time.time()
for age in (16, 18):
    cur = max((k for k in keys if k["agepass-age"] == age and k["not-before"] <= now), key=lambda k: k["not-before"])
    open(f"pub-{age}.der", "wb").write(base64.urlsafe_b64decode(cur["token-key"]))
EOF
mint 3 18 cross && mint 2 16 cross && mint 2 18 site && mint 1 16 site || { not_ok "minting"; finish; exit 1; }
code() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $(cat "$1")" "$vbase/auth"; }
codes=""
for t in tok-18-cross-0 tok-18-cross-1 tok-18-cross-2 tok-16-cross-0 tok-16-cross-1 tok-18-site-0 tok-16-site-0; do
    codes="$codes $(code "$t")"
done
check "7 good tokens: 200 each ($codes)" [ "$codes" = " 200 200 200 200 200 200 200" ]
s=$(code tok-18-cross-0)
check "a replayed token: 401 ($s)" [ "$s" = 401 ]
python3 - <<'EOF'
import base64, re
v = open("tok-18-site-1").read().strip()
t = re.search(r'token="?([A-Za-z0-9_-]+)', v)[1]
raw = bytearray(base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)))
raw[-1] ^= 1 # the authenticator's last byte
open("forged", "w").write('PrivateToken token="%s"' % base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="))
EOF
s=$(code forged)
check "a forged token: 401 ($s)" [ "$s" = 401 ]
s=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Agepass-Min-Age: old' "$vbase/auth")
check "a bad class header: 400 ($s)" [ "$s" = 400 ]
kill "$redis_pid"
wait "$redis_pid" 2>/dev/null
s=$(code tok-18-site-1)
check "Redis down: 503 ($s)" [ "$s" = 503 ]

scrape "$vbase/metrics" v1.txt >/dev/null
acc() { echo "agepass_verifier_tokens_accepted_total{issuer=\"issuer.example\",age=\"$1\",scope=\"$2\"}"; }
check "verifier: 3 class-18 cross-origin tokens accepted" is v1.txt "$(acc 18 cross_origin)" 3
check "verifier: 2 class-16 cross-origin" is v1.txt "$(acc 16 cross_origin)" 2
check "verifier: 1 class-18 site-bound" is v1.txt "$(acc 18 site_bound)" 1
check "verifier: 1 class-16 site-bound" is v1.txt "$(acc 16 site_bound)" 1
check "verifier: 7 accepted in all, 4 series" bash -c "[ $(metric_sum v1.txt agepass_verifier_tokens_accepted_total) = 7 ] && [ $(lines v1.txt agepass_verifier_tokens_accepted_total) = 4 ]"
check "verifier: 7 sessions opened" is v1.txt agepass_verifier_sessions_opened_total 7
check "verifier: 1 replay" is v1.txt 'agepass_verifier_tokens_refused_total{reason="replay"}' 1
check "verifier: 1 bad_signature" is v1.txt 'agepass_verifier_tokens_refused_total{reason="bad_signature"}' 1
check "verifier: 1 store error" is v1.txt agepass_verifier_store_errors_total 1
# checks: the 401 that gave the site challenge, 7 x 200, replay and forged 401, 400, 503
check "verifier: checks 200: 7" is v1.txt 'agepass_verifier_checks_total{code="200"}' 7
check "verifier: checks 401: 3" is v1.txt 'agepass_verifier_checks_total{code="401"}' 3
check "verifier: checks 400: 1" is v1.txt 'agepass_verifier_checks_total{code="400"}' 1
check "verifier: checks 503: 1" is v1.txt 'agepass_verifier_checks_total{code="503"}' 1
check "verifier: checks 403: 0" is v1.txt 'agepass_verifier_checks_total{code="403"}' 0
check "verifier: 3 challenges (401s)" is v1.txt agepass_verifier_challenges_total 3
check "verifier: check latency: 12 observed, +Inf = count" bash -c "
    grep -q '^agepass_verifier_check_duration_seconds_count 12$' v1.txt &&
    grep -q '^agepass_verifier_check_duration_seconds_bucket{le=\"+Inf\"} 12$' v1.txt"
check "verifier: promtool check metrics passes after the load" promtool check metrics <v1.txt

# --- --metrics-listen on the verifier ---------------------------------------
vp2=$(free_port)
vmp2=$(free_port)
"$agepass" verifier serve --state vst2 --listen "127.0.0.1:$vp2" --metrics-listen "127.0.0.1:$vmp2" \
    --trust "$ibase/.well-known/private-token-issuer-directory" 2>verifier2.log &
pids+=($!)
wait_port "$vp2" && wait_port "$vmp2" || { cat verifier2.log; exit 2; }
s=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$vp2/metrics")
check "verifier with --metrics-listen: the main port's /metrics is 404 ($s)" [ "$s" = 404 ]
s=$(scrape "http://127.0.0.1:$vmp2/metrics" v2.txt)
check "... the metrics port serves them ($s)" bash -c "[ $s = 200 ] && grep -q '^agepass_verifier_challenges_total 0$' v2.txt"
check "... and the 404 was no access check" is v2.txt agepass_verifier_check_duration_seconds_count 0
s=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$vmp2/auth")
check "... the metrics port serves nothing else: 404 ($s)" [ "$s" = 404 ]
s=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$vmp2/metrics")
check "... not even a POST to /metrics: 404 ($s)" [ "$s" = 404 ]
check "verifier: promtool check metrics passes on the second listener's page" promtool check metrics <v2.txt
check "a --metrics-listen already taken: the service refuses to start" bash -c "
    ! timeout 10 '$agepass' verifier serve --state vst3 --listen 127.0.0.1:$(free_port) \
        --metrics-listen 127.0.0.1:$vmp2 --trust '$ibase/.well-known/private-token-issuer-directory' 2>/dev/null"

# --- privacy: no label value singles anyone out -----------------------------
cat i1.txt i3.txt v1.txt v2.txt >all.txt
secrets=("${grants[@]}" "127.0.0.1" "localhost")
for f in tok-* forged; do secrets+=("$(sed 's/.*token="\{0,1\}\([A-Za-z0-9_-]\{24\}\).*/\1/' "$f")"); done
leaked=0
for x in "${secrets[@]}"; do
    [ -n "$x" ] && grep -qF -- "$x" all.txt && { echo "# leaked: $x" >&2; leaked=1; }
done
check "no grant, token or address in any metrics page" [ "$leaked" = 0 ]
check "every label value is from the fixed lists or the configuration" python3 - all.txt <<'EOF'
import re, sys
allowed = re.compile(r'^(dev|issuer|verifier|\d+(\.\d+)*|[0-9a-f]{8}|\d{4}-\d\d-\d\d|\+Inf|[a-z_]+|16,18|issuer\.example|down\.example)$')
for line in open(sys.argv[1]):
    if line.startswith('#'):
        continue
    for name, value in re.findall(r'(\w+)="([^"]*)"', line):
        assert allowed.match(value), (name, value, line)
EOF
finish
