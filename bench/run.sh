#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/run.sh: compares agepass's token throughput (bench_token) with
# OpenSSL's raw RSA-2048 sign and verify (`openssl speed`) and with the npm
# peer (peer_bench.mjs), all single-threaded on this machine, and checks the
# targets of docs/benchmarks.md:
#   blind-sign >= 95% of OpenSSL's raw sign/s
#   verify     >= 80% of OpenSSL's raw verify/s (full origin check)
#
# Usage: bench/run.sh [BUILD_DIR]     (default: build, beside bench/)
#   BUILD_DIR must already hold bench/bench_token:
#     cmake -S . -B build && cmake --build build -j2 && bench/run.sh build
#   The only thing built here is the peer's node_modules (npm ci) if missing.
# Environment: BENCH_COUNT=N runs each agepass and peer figure N times
#   instead of ~2 s (openssl speed always runs 3 s per figure);
#   BENCH_NO_PEER=1 skips the peer.
# Exit status: 0 when every figure was measured, PASS or MISS alike (this
# is a benchmark, not a test); 1 when a program failed or printed nothing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build}
bench_token=$build/bench/bench_token
count=${BENCH_COUNT:-}

fail() {
    echo "run.sh: $*" >&2
    exit 1
}

[[ -x $bench_token ]] || fail "no $bench_token: build first (cmake --build $build)"
command -v openssl >/dev/null || fail "openssl not found"

# Other work on the machine skews every figure, and the ratios most, since
# the programs run one after the other. The benchmarks keep about one core
# busy; how many cores were busy in all is measured from /proc/stat, and a
# warning is printed when something else ran too.
cpu_ticks() { awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat; }
read -r idle_start total_start < <(cpu_ticks)

echo "== machine"
echo "nproc:   $(nproc)"
echo "cpu:     $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
echo "openssl: $(openssl version)"
if [[ -z ${BENCH_NO_PEER:-} ]]; then
    command -v node >/dev/null || fail "node not found (or set BENCH_NO_PEER=1)"
    echo "node:    $(node --version)"
fi
echo

# --- OpenSSL's raw RSA-2048, one process, one thread (no -multi) -----------
echo "== openssl speed -seconds 3 -elapsed rsa2048"
speed_out=$(openssl speed -seconds 3 -elapsed rsa2048 2>/dev/null) || fail "openssl speed failed"
# The header names the columns ("sign verify sign/s verify/s", and in later
# OpenSSL versions also encrypt/decrypt); the data line follows "rsa 2048 bits".
read -r ossl_sign ossl_verify < <(awk '
    /sign\/s/ && /verify\/s/ { for (i = 1; i <= NF; i++) col[$i] = i }
    $1 == "rsa" && $2 == "2048" && $3 == "bits" && ("sign/s" in col) {
        print $(3 + col["sign/s"]), $(3 + col["verify/s"]); exit
    }' <<<"$speed_out") || true
[[ ${ossl_sign:-} =~ ^[0-9.]+$ && ${ossl_verify:-} =~ ^[0-9.]+$ ]] ||
    fail "could not read the rsa 2048 line of openssl speed:"$'\n'"$speed_out"
echo "openssl_rsa2048_sign_per_s $ossl_sign"
echo "openssl_rsa2048_verify_per_s $ossl_verify"
echo

# --- agepass ----------------------------------------------------------------
echo "== $bench_token ${count}"
ours=$("$bench_token" ${count:+"$count"}) || fail "bench_token failed"
echo "$ours"
echo

# --- the npm peer -------------------------------------------------------------
peer=""
if [[ -z ${BENCH_NO_PEER:-} ]]; then
    if [[ ! -d $here/node_modules/@cloudflare/privacypass-ts ]]; then
        echo "== npm ci --prefix bench"
        npm ci --prefix "$here" --no-audit --no-fund >&2 || fail "npm ci failed"
    fi
    echo "== node bench/peer_bench.mjs ${count}"
    # WebCrypto runs on libuv's pool: one pool thread, one operation at a time
    peer=$(cd "$here" && UV_THREADPOOL_SIZE=1 node peer_bench.mjs ${count:+"$count"}) ||
        fail "peer_bench.mjs failed"
    echo "$peer"
    echo
fi

# value NAME TEXT: the number on the line "NAME number", or fail
value() {
    local v
    v=$(awk -v k="$1" '$1 == k { print $2; exit }' <<<"$2")
    [[ $v =~ ^[0-9.]+$ ]] || fail "no figure $1"
    echo "$v"
}

a_req=$(value agepass_request_per_s "$ours")
a_sign=$(value agepass_blind_sign_per_s "$ours")
a_fin=$(value agepass_finalize_per_s "$ours")
a_ver=$(value agepass_verify_per_s "$ours")
p_req="" p_sign="" p_fin="" p_ver=""
if [[ -n $peer ]]; then
    p_req=$(value peer_request_per_s "$peer")
    p_sign=$(value peer_blind_sign_per_s "$peer")
    p_fin=$(value peer_finalize_per_s "$peer")
    p_ver=$(value peer_verify_per_s "$peer")
fi

# row FIGURE AGEPASS OPENSSL TARGET PEER: one table line; OPENSSL and TARGET
# may be empty (no raw counterpart). Prints the verdict word on fd 3.
row() {
    awk -v f="$1" -v a="$2" -v o="$3" -v t="$4" -v p="$5" 'BEGIN {
        ratio = "-"; verdict = "-"; vs = "-"
        if (o != "") {
            r = a / o
            ratio = sprintf("%.1f%%", 100 * r)
            verdict = (r >= t) ? "PASS" : "MISS"
            verdict = sprintf("%s (>= %d%%)", verdict, 100 * t + 0.5)
            o = sprintf("%.1f", o)
        } else o = "-"
        if (p != "") { vs = sprintf("%.1fx", a / p); p = sprintf("%.1f", p) } else p = "-"
        printf "| %-10s | %10.1f | %11s | %11s | %-13s | %9s | %12s |\n",
            f, a, o, ratio, verdict, p, vs
    }'
}

echo "== RSA-2048, one thread, operations per second"
printf "| %-10s | %10s | %11s | %11s | %-13s | %9s | %12s |\n" \
    figure agepass "openssl raw" "agepass/raw" target peer "agepass/peer"
echo "|------------|------------|-------------|-------------|---------------|-----------|--------------|"
table=$(
    row request "$a_req" "" "" "$p_req"
    row blind-sign "$a_sign" "$ossl_sign" 0.95 "$p_sign"
    row finalize "$a_fin" "" "" "$p_fin"
    row verify "$a_ver" "$ossl_verify" 0.80 "$p_ver"
)
echo "$table"
echo
echo "openssl raw: 'openssl speed rsa2048' sign/s (RSA-2048 private op, PKCS#1 v1.5) and verify/s."
# field 8 is the ratio, 10 the verdict, in the table's "| a | b |" layout
sign_ratio=$(awk '$2 == "blind-sign" { print $8; exit }' <<<"$table")
sign_verdict=$(awk '$2 == "blind-sign" { print $10; exit }' <<<"$table")
ver_ratio=$(awk '$2 == "verify" { print $8; exit }' <<<"$table")
ver_verdict=$(awk '$2 == "verify" { print $10; exit }' <<<"$table")
read -r idle_end total_end < <(cpu_ticks)
busy=$(awk -v i=$((idle_end - idle_start)) -v t=$((total_end - total_start)) -v n="$(nproc)" \
    'BEGIN { printf "%.2f", (t > 0) ? n * (1 - i / t) : 0 }')
echo "cores busy during the run: $busy of $(nproc) (the benchmarks use about 1)"
if awk -v b="$busy" 'BEGIN { exit !(b > 1.25) }'; then
    echo "WARNING: other work ran meanwhile; figures and ratios may be off (run again when idle)"
fi
echo "target: blind-sign >= 95% of openssl sign/s:   $sign_verdict ($sign_ratio)"
echo "target: verify     >= 80% of openssl verify/s: $ver_verdict ($ver_ratio)"
exit 0
