#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Two issuer instances on one state folder and one Redis (--redis): a grant
# made on A is spent on A and B alternately, and the per-person epoch cap
# holds across both under parallel requests (exactly the cap succeeds);
# Redis stopped: enrolments and token requests get 503 and nothing is
# issued; Redis back: both work again without a restart. Then the key
# rotation: `issuer rotate --now` and SIGHUP, with requests in flight (each
# answered from the old directory or the new, never anything else); the
# directory and ETag change, the new current key issues on both, the
# retired one is refused; a broken issuer.json on SIGHUP is logged and the
# old state kept.
# Usage: issuer_redis.sh AGEPASS
here=$(cd "$(dirname "$0")" && pwd)
agepass=$(realpath "${1:?usage: issuer_redis.sh AGEPASS}")
. "$here/lib.sh"
cd "$work" || exit 2
command -v redis-server >/dev/null || { echo "issuer_redis: redis-server is needed (scripts/setup)"; exit 1; }

DAY_CAP=8   # a dev grant holds day-cap tokens
EPOCH_CAP=5 # the per-person cap that must hold across both instances

"$agepass" issuer init --state ist --name issuer.example --age-classes 18 --epoch-days 30 >/dev/null || exit 2
rport=$(free_port)
start_redis "$rport" || exit 2
redis_url="redis://127.0.0.1:$rport/3"
pa=$(free_port)
pb=$(free_port)
# one issuer behind a balancer: both name the same request URI
uri=https://issuer.example/token-request
"$agepass" issuer serve --state ist --listen "127.0.0.1:$pa" --insecure-dev-attester --request-uri $uri \
    --redis "$redis_url" --day-cap $DAY_CAP --epoch-cap $EPOCH_CAP 2>a.log &
pids+=($!)
pid_a=$!
# B takes its store and caps from a config file
printf 'redis %s\nday-cap %s\nepoch-cap %s\nrequest-uri %s\n' "$redis_url" $DAY_CAP $EPOCH_CAP $uri >b.conf
"$agepass" issuer serve --state ist --listen "127.0.0.1:$pb" --insecure-dev-attester \
    --config b.conf 2>b.log &
pids+=($!)
pid_b=$!
wait_port "$pa" && wait_port "$pb" || { cat a.log b.log; exit 2; }
A="http://127.0.0.1:$pa"
B="http://127.0.0.1:$pb"
check "neither instance made a SQLite store" [ ! -e ist/store.sqlite ]

dir_path=/.well-known/private-token-issuer-directory
curl -s -D ha.txt -o dira.json "$A$dir_path"
curl -s -o dirb.json "$B$dir_path"
check "A and B serve the same directory" cmp -s dira.json dirb.json
# current.der: the class-18 key in force now (the latest not-before that has come)
current_key() {
    python3 - "$1" "$2" <<'PY'
import base64, json, sys, time
keys = [k for k in json.load(open(sys.argv[1]))["token-keys"] if k["agepass-age"] == 18]
now = time.time()
cur = max((k for k in keys if k["not-before"] <= now), key=lambda k: k["not-before"])
open(sys.argv[2], "wb").write(base64.urlsafe_b64decode(cur["token-key"]))
PY
}
current_key dira.json cur1.der
check "a current key for class 18" [ -s cur1.der ]

# enrol BASE: a grant (dev enrolment, age 30), or nothing
enrol() {
    curl -s -H 'Content-Type: application/json' -d '{"age": 30}' "$1/enroll/dev" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["grant"])' 2>/dev/null
}
# token_request PREFIX BASE PUB GRANT: the HTTP status; a verified token in PREFIX.tok on 200
token_request() {
    local p=$1 base=$2 pub=$3 grant=$4 s
    "$agepass" token challenge --issuer-name issuer.example --out "$p.ch" &&
        "$agepass" token request --pub "$pub" --challenge "$p.ch" --state "$p.st" --out "$p.req" || return 1
    s=$(curl -s -o "$p.resp" -w '%{http_code}' --data-binary "@$p.req" \
        -H 'Content-Type: application/private-token-request' -H "Authorization: Bearer $grant" \
        "$base/token-request")
    if [ "$s" = 200 ]; then
        "$agepass" token finalize --state "$p.st" --in "$p.resp" --out "$p.tok" &&
            "$agepass" token verify --pub "$pub" --challenge "$p.ch" --in "$p.tok" >/dev/null || s=bad
    fi
    echo "$s"
}
# issued: tokens issued by A and B together, from their metrics
issued() {
    { curl -s "$A/metrics"; curl -s "$B/metrics"; } |
        awk '/^agepass_issuer_tokens_issued_total/ {s += $2} END {print s + 0}'
}

# one grant, made on A, spent on A and B alternately
grant=$(enrol "$A")
check "A enrols (a grant of $DAY_CAP tokens)" [ -n "$grant" ]
s1=$(token_request t1 "$A" cur1.der "$grant")
s2=$(token_request t2 "$B" cur1.der "$grant")
s3=$(token_request t3 "$A" cur1.der "$grant")
s4=$(token_request t4 "$B" cur1.der "$grant")
check "the grant is good on A, B, A, B ($s1 $s2 $s3 $s4), each token verified" \
    [ "$s1 $s2 $s3 $s4" = "200 200 200 200" ]

# then 8 requests at once, 4 on each: the person has 1 token left of the epoch cap
for i in 1 2 3 4 5 6 7 8; do
    if [ $((i % 2)) = 0 ]; then base=$A; else base=$B; fi
    token_request "p$i" "$base" cur1.der "$grant" >"p$i.status" &
done
wait_jobs() { local j; for j in $(jobs -p); do case " ${pids[*]} " in *" $j "*) ;; *) wait "$j" ;; esac; done; }
wait_jobs
ok=$(cat p?.status | grep -c '^200$')
capped=$(cat p?.status | grep -c '^429$')
check "parallel on A and B: exactly 1 more succeeds, the cap of $EPOCH_CAP in all ($ok ok, $capped refused with 429)" \
    [ "$ok" = 1 ] && [ "$capped" = 7 ]
n=$(issued)
check "the two instances issued $EPOCH_CAP tokens in all ($n)" [ "$n" = $EPOCH_CAP ]
s=$(token_request t5 "$B" cur1.der "$grant")
check "and the person stays capped: 429 ($s)" [ "$s" = 429 ]
# another person (a new dev pseudonym), enrolled on B, spends on A: a cap of their own
grant2=$(enrol "$B")
s=$(token_request u1 "$A" cur1.der "$grant2")
check "another person's grant from B is good on A: 200 ($s)" [ "$s" = 200 ]
keys=$(redis-cli -p "$rport" -n 3 --scan --pattern 'agepass:issuer:*' | wc -l)
nottl=$(redis-cli -p "$rport" -n 3 eval "local n = 0 for _, k in ipairs(redis.call('KEYS', '*')) do if redis.call('TTL', k) < 0 then n = n + 1 end end return n" 0)
check "Redis holds the issuer's keys ($keys), every one with a TTL ($nottl without)" \
    [ "$keys" -ge 4 ] && [ "$nottl" = 0 ]
check "Redis holds no grant bearer value" bash -c "! redis-cli -p $rport -n 3 --scan | grep -qF '$grant'"

# Redis stopped: refusals, nothing issued
before=$(issued)
kill "$redis_pid"
wait "$redis_pid" 2>/dev/null
sa=$(token_request d1 "$A" cur1.der "$grant2")
sb=$(token_request d2 "$B" cur1.der "$grant2")
check "Redis down: token requests on A and B get 503 ($sa $sb)" [ "$sa $sb" = "503 503" ]
s=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{"age": 30}' "$A/enroll/dev")
check "Redis down: enrolment gets 503 ($s)" [ "$s" = 503 ]
n=$(issued)
check "Redis down: nothing issued ($before before, $n after)" [ "$n" = "$before" ]
check "the refusals are counted as store errors" bash -c "curl -s '$A/metrics' | grep -q 'reason=\"store_error\"} 1$'"
s=$(curl -s -o /dev/null -w '%{http_code}' "$B$dir_path")
check "Redis down: the directory is still served ($s)" [ "$s" = 200 ]

# Redis back (it persists: AOF): both work again, unrestarted
start_redis "$rport" || exit 2
grant3=$(enrol "$B")
check "Redis back: B enrols again" [ -n "$grant3" ]
sa=$(token_request r1 "$A" cur1.der "$grant3")
sb=$(token_request r2 "$B" cur1.der "$grant3")
check "Redis back: the grant is good on A and B ($sa $sb)" [ "$sa $sb" = "200 200" ]

# rotation and SIGHUP, with directory requests in flight on both instances
etag1=$(grep -i '^ETag:' ha.txt | cut -d' ' -f2 | tr -d '\r')
# inflight BASE OUT: directory requests one after another until 20 after the reload
inflight() {
    local after=0
    while [ $after -lt 20 ]; do
        [ -e reloaded.flag ] && after=$((after + 1))
        curl -s "$1$dir_path"
        printf '\n=====\n'
    done >"$2"
}
inflight "$A" "inflight-$pa.txt" &
inflight "$B" "inflight-$pb.txt" &
sleep 0.2
check "rotate --now, and it says to send SIGHUP" bash -c "'$agepass' issuer rotate --state ist --now --force 2>/dev/null | grep -q SIGHUP"
kill -HUP "$pid_a" "$pid_b"
for i in $(seq 100); do
    grep -q 'reloaded ist' a.log && grep -q 'reloaded ist' b.log && break
    sleep 0.1
done
touch reloaded.flag
wait_jobs
curl -s -D ha2.txt -o dira2.json "$A$dir_path"
curl -s -o dirb2.json "$B$dir_path"
python3 - dira.json dira2.json inflight-"$pa".txt inflight-"$pb".txt <<'PY' >inflight.out
import sys
old, new = (open(f).read() for f in sys.argv[1:3])
bodies = []
for f in sys.argv[3:]:
    bodies += open(f).read().split("\n=====\n")[:-1]
print(len(bodies), sum(b == old for b in bodies), sum(b == new for b in bodies))
PY
read -r total nold nnew <inflight.out
check "requests in flight: all $total answered, each the old ($nold) or the new ($nnew) directory" \
    [ "$nold" -ge 2 ] && [ "$nnew" -ge 40 ] && [ $((nold + nnew)) = "$total" ]
check "after SIGHUP A and B serve the same new directory" bash -c 'cmp -s dira2.json dirb2.json && ! cmp -s dira.json dira2.json'
etag2=$(grep -i '^ETag:' ha2.txt | cut -d' ' -f2 | tr -d '\r')
check "the ETag changed ($etag1 -> $etag2)" [ -n "$etag2" ] && [ "$etag1" != "$etag2" ]
s=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag1" "$A$dir_path")
check "the old ETag is no longer current: 200 ($s)" [ "$s" = 200 ]
current_key dira2.json cur2.der
check "the new current key is another key" bash -c '[ -s cur2.der ] && ! cmp -s cur1.der cur2.der'
grant4=$(enrol "$A")
sa=$(token_request k1 "$A" cur2.der "$grant4")
sb=$(token_request k2 "$B" cur2.der "$grant4")
check "the new current key issues on A and B ($sa $sb), tokens verified" [ "$sa $sb" = "200 200" ]
s=$(token_request k3 "$B" cur1.der "$grant4")
check "the retired key is refused: 422 ($s)" [ "$s" = 422 ]
check "the reload is logged" grep -q 'reloaded ist: epoch 2 current' a.log

# a broken state on SIGHUP: logged, the old one kept
cp ist/issuer.json issuer.json.good
echo '{' >ist/issuer.json
kill -HUP "$pid_a"
for i in $(seq 50); do grep -q 'reload of ist failed' a.log && break; sleep 0.1; done
check "a broken issuer.json on SIGHUP: the failure is logged" grep -q 'reload of ist failed.*still serving epoch 2' a.log
curl -s -o dira3.json "$A$dir_path"
check "... and the directory is unchanged" cmp -s dira2.json dira3.json
s=$(token_request k4 "$A" cur2.der "$grant4")
check "... and A still issues ($s)" [ "$s" = 200 ]
cp issuer.json.good ist/issuer.json
# the same state again: the issuance counters stay with their keys
n=$(curl -s "$A/metrics" | awk '/^agepass_issuer_tokens_issued_total/ {s += $2} END {print s + 0}')
kill -HUP "$pid_a"
for i in $(seq 50); do [ "$(grep -c 'reloaded ist' a.log)" = 2 ] && break; sleep 0.1; done
n2=$(curl -s "$A/metrics" | awk '/^agepass_issuer_tokens_issued_total/ {s += $2} END {print s + 0}')
check "a reload of the same state keeps A's issuance counts ($n, then $n2)" [ "$n" = 2 ] && [ "$n2" = 2 ]
check "the logs name no grant" bash -c "! grep -qF '$grant' a.log b.log"
finish
