#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/bench_verifier.sh: throughput of `agepass verifier serve` on
# loopback, driven by wrk (bench_verifier.lua), against the targets of
# issue 5 (docs/benchmarks.md, "Verifier"):
#   session cookie via nginx auth_request  >= 50% of the same nginx serving
#                                              the same file with no check
#   token redemption (a new token each)    >= 50% of `openssl speed -multi 2
#                                              rsa2048` verify/s (embedded
#                                              store and Redis, each)
#   replay store at 10^7 spent tokens      <= 64 bytes per token (bench_replay)
# plus, for comparison: the session check straight to the verifier, and
# through nginx opening a new connection per check (the shipped snippets
# keep upstream connections alive, deploy/nginx/agepass-upstream.conf).
#
# Usage: bench/bench_verifier.sh BUILD_DIR
#   BUILD_DIR holds agepass, bench/bench_verifier_mint and bench/bench_replay:
#     cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench -j2
# Needs wrk (4.x, LuaJIT), nginx, redis-server, openssl, curl, python3.
# Redis, nginx and two verifiers (embedded store; Redis) run in a temp
# dir on free loopback ports and are stopped on exit. N tokens are minted
# once for one challenge (--window 3600 keeps it good) and each verifier
# redeems each of them once (their stores are separate).
# Before each measurement it waits (20 s polls, 15 min at most, then says
# so) until no CI/bench/fuzz job runs and the 1-minute load is below 0.5.
# Environment: BENCH_TOKENS=N (100000), BENCH_SECONDS=S (10: cookie runs;
#   redemption runs end when the tokens do, within 60 s), BENCH_CONNECTIONS=C (64),
#   BENCH_REPLAY_N (10000000), BENCH_NO_WAIT=1 (skip the idle wait).
# Exit status: 0 when every figure was measured (PASS or MISS: it is a
# benchmark); 1 when something could not be set up or measured.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=$(realpath "${1:?usage: bench_verifier.sh BUILD_DIR}")
agepass=$build/agepass mint=$build/bench/bench_verifier_mint replay=$build/bench/bench_replay
N=${BENCH_TOKENS:-100000} D=${BENCH_SECONDS:-10} C=${BENCH_CONNECTIONS:-64} T=2
lua=$here/bench_verifier.lua
die() { echo "bench_verifier.sh: $*" >&2; exit 1; }
for x in "$agepass" "$mint" "$replay"; do [[ -x $x ]] || die "no $x: build first"; done
for x in wrk nginx redis-server openssl curl python3; do command -v $x >/dev/null || die "$x not found"; done
. "$here/lib.sh" # $work, pids, free_port, wait_port, start_redis, wait_idle, cpu_ticks...
chmod 755 "$work" # nginx workers run as an unprivileged user

machine_header "nginx:   $(nginx -v 2>&1 | sed 's/.*version: //')" \
    "redis:   $(redis-server --version | awk '{ print $3 }')"

# --- the services ---------------------------------------------------------------
"$agepass" keygen --out iss >/dev/null || die "keygen failed"
redis_port=$(free_port) vport=$(free_port) rport=$(free_port) nport=$(free_port) kport=$(free_port)
start_redis "$redis_port" || die "redis did not start"
# site-bound tokens, as the figures in docs/benchmarks.md were measured
trust=(--trust "iss/issuer-public.der,name=issuer.example" --origin localhost --window 3600 --site-bound)
"$agepass" verifier serve --state vemb --listen "127.0.0.1:$vport" "${trust[@]}" 2>vemb.log &
vemb_pid=$! && pids+=($!)
wait_port "$vport" || die "verifier (embedded store) did not start: $(cat vemb.log)"
# the same secret: the same challenge, so the same tokens are good at both
mkdir -m 700 vredis && cp -p vemb/verifier-secret vredis/
"$agepass" verifier serve --state vredis --listen "127.0.0.1:$rport" "${trust[@]}" \
    --redis "redis://127.0.0.1:$redis_port" 2>vredis.log &
vredis_pid=$! && pids+=($!)
wait_port "$rport" || die "verifier (Redis) did not start: $(cat vredis.log)"

mkdir -p site/static site/adult nginx/logs
echo "small static page" >site/static/index.html
echo "small static page" >site/adult/index.html
sed "s/127.0.0.1:8081/127.0.0.1:$vport/" "$root/deploy/nginx/agepass-upstream.conf" >nginx/agepass-upstream.conf
cp "$root/deploy/nginx/agepass.conf" nginx/agepass.conf
# for comparison only: the same check with a new connection per check (no upstream keepalive)
sed "s#proxy_pass http://agepass_verifier/auth;#proxy_pass http://127.0.0.1:$vport/auth;#" \
    "$root/deploy/nginx/agepass.conf" >nginx/agepass-newconn.conf
# wrk is one client address: the snippet's per-address flood limits would refuse it
grep -v '^limit_' "$root/deploy/nginx/agepass-protect.conf" >nginx/agepass-protect.conf
cat >nginx/nginx.conf <<CONF
worker_processes 2;
worker_rlimit_nofile 16384;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    include $work/nginx/agepass-upstream.conf;
    server {
        listen 127.0.0.1:$nport;
        root $work/site;
        include $work/nginx/agepass.conf;
        location /static/ { try_files \$uri =404; }
        location /adult/ {
            include $work/nginx/agepass-protect.conf;
            try_files \$uri =404;
        }
    }
    server {
        listen 127.0.0.1:$kport;
        root $work/site;
        include $work/nginx/agepass-newconn.conf;
        location /adult/ {
            include $work/nginx/agepass-protect.conf;
            try_files \$uri =404;
        }
    }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" 2>nginx/stderr &
pids+=($!)
wait_port "$nport" || die "nginx did not start: $(cat nginx/stderr)"

# --- tokens: one challenge, N (+4 spare, for session cookies) tokens -------------
www() { curl -s -D - -o /dev/null "$1" | sed -n 's/^WWW-Authenticate: //Ip' | tr -d '\r'; }
"$agepass" token parse-header --www-authenticate "$(www "http://127.0.0.1:$vport/auth")" \
    --out-challenge ch --out-pub ch.pub || die "no challenge from the verifier"
"$agepass" token parse-header --www-authenticate "$(www "http://127.0.0.1:$rport/auth")" \
    --out-challenge ch2 || die "no challenge from the Redis verifier"
cmp -s ch ch2 || die "the two verifiers challenge differently"
echo "== minting $((N + 4)) tokens"
"$mint" iss/issuer-private.pem iss/issuer-public.der ch $((N + 4)) tokens.txt || die "minting failed"
awk -v n="$N" -v t=$T 'NR <= n { print > ("tok." ((NR - 1) % t + 1)) } NR > n { print > "spare" }' tokens.txt
spare=0
# cookie PORT: $c = a fresh session cookie from the verifier at PORT, for a spare token
cookie() {
    spare=$((spare + 1))
    c=$(curl -s -D - -o /dev/null -H "Authorization: $(sed -n "${spare}p" spare)" "http://127.0.0.1:$1/auth" |
        sed -n 's/^Set-Cookie: \([^;]*\);.*/\1/Ip')
    [[ -n $c ]] || die "no session cookie from the verifier"
}

# --- measurements ----------------------------------------------------------------
declare -A R # R[name.field]: ok other rate p50_ms p99_ms exhausted load cpu_us
tck=$(getconf CLK_TCK)
# bench NAME VERIFIER_PID URL [wrk args...]: one wrk run; its BENCH line into
# R[NAME.*], and the verifier's CPU time (user + system) per 200 in R[NAME.cpu_us]
bench() {
    local name=$1 vpid=$2 url=$3 out line f t0 dur=$D
    shift 3
    [[ " $* " == *" -- "* ]] && dur=60 # token runs: until the tokens end
    R[$name.load]=$(load1)
    t0=$(cpu_ticks "$vpid")
    out=$(wrk -t$T -c"$C" -d"${dur}s" --timeout 10s -s "$lua" "$url" "$@" 2>&1)
    line=$(grep '^BENCH ' <<<"$out") || die "$name: wrk printed no result:"$'\n'"$out"
    R[$name.cpu_us]=$(awk -v a="$t0" -v b="$(cpu_ticks "$vpid")" -v t="$tck" -v n="$(sed 's/.* ok=\([0-9]*\).*/\1/' <<<"$line")" \
        'BEGIN { printf "%.1f", (n > 0 ? (b - a) / t * 1e6 / n : 0) }')
    echo "$name: ${line#BENCH } verifier_cpu_us=${R[$name.cpu_us]} (load before: ${R[$name.load]})"
    grep -q 'Socket errors' <<<"$out" && echo "   $(grep 'Socket errors' <<<"$out")"
    for f in ok other rate p50_ms p99_ms exhausted; do
        R[$name.$f]=$(sed -n "s/.* $f=\([^ ]*\).*/\1/p" <<<"$line")
    done
}

openssl_rsa2048 verify/s
ossl_verify=$ossl_rate

echo "== wrk -t$T -c$C (cookie runs -d ${D}s; token runs until the tokens end)"
wait_idle nginx-static
bench nginx-static "$vemb_pid" "http://127.0.0.1:$nport/static/index.html"
wait_idle nginx-session
cookie "$vport"
bench nginx-session "$vemb_pid" "http://127.0.0.1:$nport/adult/index.html" -H "Cookie: $c"
wait_idle nginx-session-newconn
cookie "$vport"
bench nginx-session-newconn "$vemb_pid" "http://127.0.0.1:$kport/adult/index.html" -H "Cookie: $c"
wait_idle verifier-session
cookie "$vport"
bench verifier-session "$vemb_pid" "http://127.0.0.1:$vport/auth" -H "Cookie: $c"
wait_idle redeem-embedded
bench redeem-embedded "$vemb_pid" "http://127.0.0.1:$vport/auth" -- "$work/tok"
wait_idle redeem-redis
bench redeem-redis "$vredis_pid" "http://127.0.0.1:$rport/auth" -- "$work/tok"
for p in "$vport" "$rport"; do
    echo "verifier :$p metrics: $(curl -s "http://127.0.0.1:$p/metrics" | awk '!/^#/ && $2 > 0 { printf "%s=%s ", $1, $2 }')"
done

echo "== bench_replay ${BENCH_REPLAY_N:-10000000}"
wait_idle replay
rep=$("$replay" "${BENCH_REPLAY_N:-10000000}") || die "bench_replay failed"
echo "$rep"
rep_bytes=$(awk '$1 == "replay_bytes_per_token" { print $2 }' <<<"$rep")
[[ $rep_bytes =~ ^[0-9.]+$ ]] || die "no replay_bytes_per_token"

# --- the table -------------------------------------------------------------------
# row FIGURE NAME REF_NAME REF TARGET: a wrk figure against REF (REF empty: for information)
row() {
    awk -v w="$1" -v v="${R[$2.rate]}" -v rn="$3" -v r="$4" -v t="$5" -v cpu="${R[$2.cpu_us]}" \
        -v lat="${R[$2.p50_ms]} / ${R[$2.p99_ms]}" -v bad="${R[$2.other]}" 'BEGIN {
        ratio = "-"; verdict = "(info)"; if (cpu + 0 == 0) cpu = "-"
        if (r != "") ratio = sprintf("%.1f%%", 100 * v / r)
        if (r != "" && t != "") verdict = sprintf("%s (>= %d%%)", (v >= t * r) ? "PASS" : "MISS", 100 * t)
        if (bad != "none") verdict = "INVALID: non-200 " bad
        printf "| %-38s | %8.0f | %-15s | %7s | %-32s | %6s | %s |\n", w, v, lat, cpu, rn, ratio, verdict }'
}
ref_static="nginx static $(printf %.0f "${R[nginx-static.rate]}")/s"
ref_ossl="openssl verify -multi 2 $(printf %.0f "$ossl_verify")/s"
echo
echo "== results: rate = 200s per second; latency from wrk; verifier CPU (user+sys) per 200"
echo "| figure                                 |   rate/s | p50 / p99 ms    | cpu us  | reference                        |  ratio | target |"
echo "|----------------------------------------|----------|-----------------|---------|----------------------------------|--------|--------|"
row "session cookie via nginx auth_request" nginx-session "$ref_static" "${R[nginx-static.rate]}" 0.5
row "nginx static, no auth_request" nginx-static "" "" ""
row "same, a new connection per check" nginx-session-newconn "$ref_static" "${R[nginx-static.rate]}" ""
row "session cookie, verifier direct" verifier-session "" "" ""
row "redemption, embedded store" redeem-embedded "$ref_ossl" "$ossl_verify" 0.5
row "redemption, Redis store" redeem-redis "$ref_ossl" "$ossl_verify" 0.5
awk -v b="$rep_bytes" -v n="${BENCH_REPLAY_N:-10000000}" 'BEGIN {
    printf "| %-38s | %8s | %-15s | %7s | %-32s | %6s | %s |\n", "replay store bytes/token at " n, b, "-", "-",
        "64 bytes", sprintf("%.1f%%", 100 * b / 64), (b <= 64 ? "PASS (<= 64)" : "MISS (<= 64)") }'
echo
for n in redeem-embedded redeem-redis; do
    echo "$n: ${R[$n.ok]} tokens accepted; wrk threads that ran out of tokens: ${R[$n.exhausted]}/$T"
done
echo "load average (1 min) at the end: $(load1)"
[[ -n $waited_out ]] && echo "WARNING: measured on a busy machine (gave up waiting before: $waited_out)"
exit 0
