#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Connection floods (issue 10 item 5), against the verifier and the issuer
# reached directly:
#  - 10,000 slow connections (a partial request head, a byte a second on
#    each, from 127.0.0.2 .. 127.0.0.200, reopened as soon as closed) while
#    a normal client on 127.0.0.1 asks every 0.25 s: every one of its
#    requests is served, quickly;
#  - one connection trickling its head a byte a second is closed once the
#    whole-request deadline (10 s) passes, however busy it looks;
#  - one address gets at most 256 connections.
# Prints, for the report, how many slow connections were held and the
# normal client's latency. Usage: security_flood.sh AGEPASS [SLOW_CONNECTIONS]
here=$(cd "$(dirname "$0")" && pwd)
agepass=$(realpath "${1:?usage: security_flood.sh AGEPASS [SLOW_CONNECTIONS]}")
slow_n=${2:-10000}
. "$here/lib.sh"
cd "$work" || exit 2
raw() { timeout 90 python3 "$here/security_http.py" "$@"; }
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

# attack NAME PORT PATH: the three attacks above, on one service
attack() {
    local name=$1 port=$2 path=$3 out slow addr
    raw slow "$port" >slow.out &
    local slow_pid=$!
    addr=$(raw per-addr "$port" 300)
    wait "$slow_pid"
    slow=$(cat slow.out)
    check "$name: one address keeps at most 256 connections ($addr)" [ "$(field "$addr" kept)" -le 256 ]
    check "$name: a head trickled a byte a second is cut at the 10 s deadline ($slow)" \
        bash -c "t=$(field "$slow" closed_after); [ \$t -ge 9 ] && [ \$t -le 14 ]"
    out=$(raw flood "$port" "$slow_n" 15 "$path")
    echo "# $name under $slow_n slow connections: $out"
    check "$name: the slow connections were held ($(field "$out" slow_held_median) of $slow_n, median)" \
        [ "$(field "$out" slow_held_median)" -ge $((slow_n * 9 / 10)) ]
    check "$name: the normal client asked at least 20 times ($(field "$out" requests))" \
        [ "$(field "$out" requests)" -ge 20 ]
    check "$name: ... and was served every time ($(field "$out" served))" \
        [ "$(field "$out" served)" = "$(field "$out" requests)" ]
    check "$name: ... within 2 s each (max $(field "$out" max_ms) ms)" \
        python3 -c "import sys; sys.exit(0 if 0 <= float('$(field "$out" max_ms)') < 2000 else 1)"
    s=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$path")
    check "$name: served after the flood ($s)" one_of "$s" 200 401
}

"$agepass" keygen --out key >/dev/null || exit 2
vport=$(free_port)
"$agepass" verifier serve --state v --listen "127.0.0.1:$vport" \
    --trust key/issuer-public.der,name=issuer.example 2>verifier.log &
pids+=($!)
wait_port "$vport" || exit 2
attack verifier "$vport" /auth
check "verifier: its log is not flooded ($(wc -l <verifier.log) lines)" [ "$(wc -l <verifier.log)" -lt 2000 ]
kill "${pids[-1]}"

"$agepass" issuer init --state ist --name issuer.example >/dev/null || exit 2
iport=$(free_port)
"$agepass" issuer serve --state ist --listen "127.0.0.1:$iport" 2>issuer.log &
pids+=($!)
wait_port "$iport" || exit 2
attack issuer "$iport" /.well-known/private-token-issuer-directory
finish
