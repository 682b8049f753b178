# SPDX-License-Identifier: Apache-2.0
# bench/lib.sh: what the HTTP benchmarks share. Source it after setting
# `root` (the repository) and `die`; it brings tests/integration/lib.sh
# ($work removed on exit, pids killed on exit, free_port, wait_port,
# start_redis) and moves into $work.
. "$root/tests/integration/lib.sh"
cd "$work" || exit 1

load1() { cut -d' ' -f1 /proc/loadavg; }

# wait_idle NAME: until no CI, bench or fuzz job runs and the 1-minute load
# is below 0.5 (15 min at most; then NAME is added to $waited_out).
# BENCH_NO_WAIT=1 skips it.
waited_out=""
wait_idle() {
    local start=$SECONDS
    [[ -n ${BENCH_NO_WAIT:-} ]] && return
    while pgrep -f '\.ci/run|bench/run.sh|libFuzzer|fuzz_' >/dev/null ||
        awk '{ exit !($1 >= 0.5) }' /proc/loadavg; do
        if ((SECONDS - start >= 900)); then
            echo "   (still busy after 15 min, load $(load1): measuring anyway)"
            waited_out+="$1 "
            return
        fi
        sleep 20
    done
}

# cpu_ticks PID: user + system clock ticks the process has used.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# machine_header [LINE...]: what the figures were measured on, then LINEs.
machine_header() {
    local l
    echo "== machine"
    echo "nproc:   $(nproc)"
    echo "cpu:     $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
    echo "openssl: $(openssl version)"
    echo "wrk:     $(wrk -v 2>&1 | head -n1 | awk '{ print $2 }')"
    for l in "$@"; do echo "$l"; done
    echo "load:    $(load1) (1 min) at start"
    echo
}

# openssl_rsa2048 COLUMN: after wait_idle, sets ossl_rate to the figure in
# COLUMN (sign/s or verify/s) of `openssl speed -multi 2 -seconds 5
# rsa2048`, and ossl_load to the load before it; prints both.
openssl_rsa2048() {
    local speed
    echo "== openssl speed -multi 2 -seconds 5 rsa2048"
    wait_idle openssl
    ossl_load=$(load1)
    speed=$(openssl speed -multi 2 -seconds 5 rsa2048 2>/dev/null) || die "openssl speed failed"
    ossl_rate=$(awk -v want="$1" '/sign\/s/ && /verify\/s/ { for (i = 1; i <= NF; i++) col[$i] = i }
        $1 == "rsa" && $2 == "2048" && $3 == "bits" && (want in col) { v = $(3 + col[want]) }
        END { print v }' <<<"$speed")
    [[ $ossl_rate =~ ^[0-9.]+$ ]] || die "no $1 in openssl speed's output"
    echo "$1: $ossl_rate (load before: $ossl_load)"
}
