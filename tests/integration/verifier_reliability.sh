#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Reliability of the verifier's single use, on loopback:
#  1. two verifier instances sharing one Redis receive the same token at
#     the same instant, for many tokens: exactly one acceptance each;
#  2. a verifier with the embedded store is killed with SIGKILL while
#     tokens stream in, and restarted: no token is accepted twice;
#  3. Redis stopped under load: only 503s, no acceptance; it recovers by
#     itself when Redis returns.
# Usage: verifier_reliability.sh AGEPASS [TOKENS]
here=$(cd "$(dirname "$0")" && pwd)
agepass=$(realpath "${1:?usage: verifier_reliability.sh AGEPASS [TOKENS]}")
count=${2:-60}
. "$here/lib.sh"
cd "$work" || exit 2

"$agepass" keygen --out issuer >/dev/null || exit 2
trust="issuer/issuer-public.der,name=issuer.example,expires=$(date -u -d '+30 days' +%F)"

# start_verifier NAME PORT [args...]
start_verifier() {
    local name=$1 port=$2
    shift 2
    "$agepass" verifier serve --state "$name" --listen "127.0.0.1:$port" --trust "$trust" "$@" \
        2>>"$name.log" &
    pids+=($!)
    last_pid=$!
    wait_port "$port"
}

# mint N PORT DIR: N Authorization values answering PORT's current challenge
mint() {
    local n=$1 port=$2 dir=$3 i www
    mkdir -p "$dir"
    www=$(curl -s -D - -o /dev/null "http://127.0.0.1:$port/auth" | grep -i '^WWW-Authenticate:' | cut -d' ' -f2- | tr -d '\r')
    "$agepass" token parse-header --www-authenticate "$www" --out-challenge "$dir/ch" || return 1
    for ((i = 0; i < n; i++)); do
        "$agepass" token request --pub issuer/issuer-public.der --challenge "$dir/ch" --state "$dir/st" --out "$dir/req" &&
            "$agepass" token issue --key issuer/issuer-private.pem --in "$dir/req" --out "$dir/resp" &&
            "$agepass" token finalize --state "$dir/st" --in "$dir/resp" --out "$dir/tok" &&
            "$agepass" token header-token --in "$dir/tok" >"$dir/$i" || return 1
    done
}

code() { # code PORT AUTHZ_FILE: the HTTP status of one redemption
    curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $(cat "$2")" "http://127.0.0.1:$1/auth"
}

# 1. two instances, one Redis, the same token at once
redis_port=$(free_port)
start_redis "$redis_port" || exit 2
pa=$(free_port)
pb=$(free_port)
start_verifier va "$pa" --redis "redis://127.0.0.1:$redis_port"
mkdir -m 700 vb && cp va/verifier-secret vb/verifier-secret # one site: one secret (README --redis)
start_verifier vb "$pb" --redis "redis://127.0.0.1:$redis_port"
mint "$count" "$pa" race || { not_ok "minting tokens"; finish; exit 1; }
wrong=0
for ((i = 0; i < count; i++)); do
    code "$pa" "race/$i" >"race/$i.a" &
    ca=$!
    code "$pb" "race/$i" >"race/$i.b" &
    cb=$!
    wait "$ca" "$cb"
    accepted=$(cat "race/$i.a" "race/$i.b" | grep -c 200)
    [ "$accepted" -eq 1 ] || { wrong=$((wrong + 1)); echo "token $i: $(cat "race/$i.a") $(cat "race/$i.b")"; }
done
check "two instances, same token at once, $count tokens: exactly one acceptance each" [ "$wrong" -eq 0 ]

# 3. Redis stopped under load: 503 only, then recovery
mint 20 "$pa" down || { not_ok "minting tokens"; finish; exit 1; }
kill "$redis_pid"; wait "$redis_pid" 2>/dev/null
codes=""
for ((i = 0; i < 10; i++)); do codes+="$(code "$pa" "down/$i") "; done
check "Redis down: every redemption answered 503 ($codes)" bash -c "[ -z \"\$(echo '$codes' | tr ' ' '\n' | grep -v '^503$' | grep -v '^$')\" ]"
start_redis "$redis_port"
codes=""
for ((i = 10; i < 20; i++)); do codes+="$(code "$pa" "down/$i") "; done
check "Redis back: redemptions accepted again without a restart ($codes)" bash -c "[ -z \"\$(echo '$codes' | tr ' ' '\n' | grep -v '^200$' | grep -v '^$')\" ]"

# 2. SIGKILL under load with the embedded store, then restart
pk=$(free_port)
start_verifier vk "$pk" --sync-ms 100
kpid=$last_pid
mint "$count" "$pk" kill || { not_ok "minting tokens"; finish; exit 1; }
( for ((i = 0; i < count; i++)); do code "$pk" "kill/$i" >"kill/$i.first"; done ) &
loader=$!
sleep 0.3
kill -9 "$kpid"
wait "$loader" 2>/dev/null
before=$(grep -l 200 kill/*.first 2>/dev/null | wc -l)
start_verifier vk "$pk" --sync-ms 100
twice=0
after=0
for ((i = 0; i < count; i++)); do
    c=$(code "$pk" "kill/$i")
    [ "$c" = 200 ] && after=$((after + 1))
    [ "$c" = 200 ] && grep -q 200 "kill/$i.first" 2>/dev/null && twice=$((twice + 1))
done
echo "SIGKILL: $before accepted before the kill, $after after the restart"
check "SIGKILL mid-load: some tokens were accepted before the kill ($before)" [ "$before" -gt 0 ]
check "SIGKILL and restart: no token accepted twice ($twice)" [ "$twice" -eq 0 ]
# the one request in flight at the kill may have been spent without an answer
check "SIGKILL and restart: every other token accepted once in all ($((before + after)) of $count)" [ $((before + after)) -ge $((count - 1)) ]
[ "$fail" -eq 0 ] || { echo "first pass codes: $(cat kill/*.first | sort | uniq -c | tr "\n" " ")"; for f in *.log; do echo "--- $f"; sort "$f" | uniq -c | sort -rn | head -8; done; }
finish
