#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/bench_issuer.sh: issuance over HTTP on loopback, `agepass issuer
# serve` on both cores driven by wrk (bench_issuer.lua), against the target
# of docs/benchmarks.md ("Issuance over HTTP"):
#   tokens/s >= 80% of `openssl speed -multi 2 rsa2048` sign/s, measured in
#   the same run, with the embedded store (SQLite) and with Redis (--redis)
# for single TokenRequests (RFC 9578) and for batches of 30
# (draft-ietf-privacypass-batched-tokens, one round trip each), with p50
# and p99 latency per HTTP request.
#
# Usage: bench/bench_issuer.sh BUILD_DIR [--redis]
#   BUILD_DIR holds agepass and bench/bench_issuer_mint:
#     cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench -j2
#   --redis: the issuer keeps grants and counters in a redis-server started
#     here on a free loopback port (`issuer serve --redis redis://...`; needs
#     an agepass with that option).
# Needs wrk (4.x), openssl, curl, python3 (and redis-server for --redis).
# The issuer runs in a temp dir with --insecure-dev-attester (loopback only)
# and caps high enough never to refuse: --day-cap 100000 (a grant carries
# that many tokens) and --epoch-cap 10000000. BENCH_GRANTS grants are
# enrolled (each a different pseudonym) and the requests cycle over them;
# the bodies are made once by bench_issuer_mint and sent in a cycle (the
# issuer keeps no record of requests, so a repeated one costs the same).
# Before each measurement it waits (20 s polls, 15 min at most, then says
# so) until no CI/bench/fuzz job runs and the 1-minute load is below 0.5.
# Environment: BENCH_SECONDS=S (10), BENCH_CONNECTIONS=C (16),
#   BENCH_GRANTS=G (64), BENCH_BATCH=K (30), BENCH_NO_WAIT=1 (skip the idle
#   wait). For a smoke run: BENCH_SECONDS=5 BENCH_NO_WAIT=1.
# Exit status: 0 when every figure was measured (PASS or MISS: it is a
# benchmark); 1 when something could not be set up or measured.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=$(realpath "${1:?usage: bench_issuer.sh BUILD_DIR [--redis]}")
redis=""
[[ ${2:-} == --redis ]] && redis=1
[[ -n ${2:-} && -z $redis ]] && { echo "usage: bench_issuer.sh BUILD_DIR [--redis]" >&2; exit 2; }
agepass=$build/agepass mint=$build/bench/bench_issuer_mint
D=${BENCH_SECONDS:-10} C=${BENCH_CONNECTIONS:-16} G=${BENCH_GRANTS:-64} K=${BENCH_BATCH:-30} T=2
lua=$here/bench_issuer.lua
die() { echo "bench_issuer.sh: $*" >&2; exit 1; }
for x in "$agepass" "$mint"; do [[ -x $x ]] || die "no $x: build first"; done
for x in wrk openssl curl python3 ${redis:+redis-server}; do command -v $x >/dev/null || die "$x not found"; done
. "$here/lib.sh" # $work, pids, free_port, wait_port, start_redis, wait_idle, cpu_ticks...

store=embedded
[[ -n $redis ]] && store=redis
machine_header ${redis:+"redis:   $(redis-server --version | awk '{ print $3 }')"} "store:   $store"

# --- the issuer ------------------------------------------------------------------
"$agepass" issuer init --state ist --name issuer.example >/dev/null || die "issuer init failed"
port=$(free_port)
store_args=()
if [[ -n $redis ]]; then
    redis_port=$(free_port)
    start_redis "$redis_port" || die "redis did not start"
    store_args=(--redis "redis://127.0.0.1:$redis_port")
fi
"$agepass" issuer serve --state ist --listen "127.0.0.1:$port" --insecure-dev-attester \
    --day-cap 100000 --epoch-cap 10000000 "${store_args[@]}" 2>issuer.log &
issuer_pid=$! && pids+=($!)
if ! wait_port "$port"; then
    [[ -n $redis ]] && grep -q -- '--redis' issuer.log &&
        die "this agepass has no \`issuer serve --redis\` yet: $(head -n3 issuer.log)"
    die "the issuer did not start: $(cat issuer.log)"
fi
base="http://127.0.0.1:$port"

# --- grants, key, challenge, bodies ----------------------------------------------
curl -s -o dir.json "$base/.well-known/private-token-issuer-directory" || die "no directory"
python3 - "$base" "$G" <<'PY' || die "enrolment failed"
import base64, http.client, json, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
keys = json.load(open("dir.json"))["token-keys"]
k = [k for k in keys if k["agepass-age"] == 18][0]  # the current epoch's
open("pub.der", "wb").write(base64.urlsafe_b64decode(k["token-key"]))
conn = http.client.HTTPConnection(u.hostname, u.port)
with open("grants.txt", "w") as f:
    for _ in range(int(sys.argv[2])):
        conn.request("POST", "/enroll/dev", body='{"age": 30}', headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        body = r.read()
        assert r.status == 200, (r.status, body)
        f.write(json.loads(body)["grant"] + "\n")
PY
"$agepass" token challenge --issuer-name issuer.example --out ch || die "no challenge"
echo "== making bodies: 2000 single TokenRequests, 200 batches of $K"
"$mint" pub.der ch 2000 0 single.bin || die "bench_issuer_mint failed"
"$mint" pub.der ch 200 "$K" batch.bin || die "bench_issuer_mint failed"

# sanity: one of each answered, and a token from the single one verifies
"$agepass" token request --pub pub.der --challenge ch --state one.st --out one.req >/dev/null || die "token request"
g1=$(head -n1 grants.txt)
s=$(curl -s -o one.resp -w '%{http_code}' --data-binary @one.req -H 'Content-Type: application/private-token-request' \
    -H "Authorization: Bearer $g1" "$base/token-request")
[[ $s == 200 ]] || die "a single request was refused ($s): $(tail -n3 issuer.log)"
"$agepass" token finalize --state one.st --in one.resp --out one.tok >/dev/null &&
    "$agepass" token verify --pub pub.der --challenge ch --in one.tok >/dev/null || die "the issued token does not verify"
head -c $((2 + 259 * K)) batch.bin >one.batch
s=$(curl -s -o one.bresp -w '%{http_code}' --data-binary @one.batch \
    -H 'Content-Type: application/private-token-arbitrary-batch-request' -H "Authorization: Bearer $g1" "$base/token-request")
[[ $s == 200 && $(stat -c %s one.bresp) == $((2 + 259 * K)) ]] || die "a batch was refused ($s): $(tail -n3 issuer.log)"

# --- measurements ----------------------------------------------------------------
declare -A R
tck=$(getconf CLK_TCK)
# bench NAME BODIES SIZE CTYPE TOKENS: one wrk run into R[NAME.*]
bench() {
    local name=$1 out line f t0
    R[$name.load]=$(load1)
    t0=$(cpu_ticks "$issuer_pid")
    out=$(wrk -t$T -c"$C" -d"${D}s" --timeout 10s -s "$lua" "$base/token-request" -- "$work/$2" "$3" "$work/grants.txt" "$4" "$5" 2>&1)
    line=$(grep '^BENCH ' <<<"$out") || die "$name: wrk printed no result:"$'\n'"$out"
    R[$name.cpu]=$(awk -v a="$t0" -v b="$(cpu_ticks "$issuer_pid")" -v t="$tck" -v d="$D" 'BEGIN { printf "%.2f", (b - a) / t / d }')
    echo "$name: ${line#BENCH } issuer_cores=${R[$name.cpu]} (load before: ${R[$name.load]})"
    for f in ok other rate tokens_rate p50_ms p99_ms errors; do
        R[$name.$f]=$(sed -n "s/.* $f=\([^ ]*\).*/\1/p" <<<"$line")
    done
}

openssl_rsa2048 sign/s
ossl_sign=$ossl_rate

echo "== wrk -t$T -c$C -d${D}s, store: $store"
wait_idle single
bench single single.bin 259 application/private-token-request 1
wait_idle batch
bench batch$K batch.bin $((2 + 259 * K)) application/private-token-arbitrary-batch-request "$K"
echo "issuer metrics: $(curl -s "$base/metrics" | awk '!/^#/ && $2 > 0 { printf "%s=%s ", $1, $2 }')"

# --- the table -------------------------------------------------------------------
row() {
    awk -v w="$1" -v v="${R[$2.tokens_rate]}" -v rq="${R[$2.rate]}" -v r="$ossl_sign" -v cpu="${R[$2.cpu]}" \
        -v lat="${R[$2.p50_ms]} / ${R[$2.p99_ms]}" -v bad="${R[$2.other]}" -v err="${R[$2.errors]}" 'BEGIN {
        verdict = sprintf("%s (>= 80%%)", (v >= 0.8 * r) ? "PASS" : "MISS")
        if (bad != "none") verdict = "INVALID: other answers " bad
        else if (err + 0 > 0) verdict = verdict " (" err " socket errors)"
        printf "| %-30s | %8.0f | %8.0f | %-17s | %5s | %6.1f%% | %s |\n", w, v, rq, lat, cpu, 100 * v / r, verdict }'
}
echo
echo "== results ($store store): tokens/s and requests/s; latency per HTTP request (wrk); issuer CPU in cores"
echo "== reference: openssl speed -multi 2 rsa2048 sign/s = $ossl_sign"
echo "| figure                         | tokens/s | reqs/s   | p50 / p99 ms      | cores | ratio  | target |"
echo "|--------------------------------|----------|----------|-------------------|-------|--------|--------|"
row "single TokenRequest, $store" single
row "batch of $K, $store" batch$K
echo
echo "load average (1 min) at the end: $(load1)"
[[ -n $waited_out ]] && echo "WARNING: measured on a busy machine (gave up waiting before: $waited_out)"
exit 0
