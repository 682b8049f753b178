#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/privacy_linkability.sh: can an age provider and a site
# that pool everything they store and log link a visit to the person who
# made it? (docs/privacy.md, issue 13)
#
# An issuer (SQLite store, dev attester) behind nginx, and three sites, each
# a verifier behind its own nginx, all logging with the shipped
# deploy/nginx/agepass-log.conf format. The issuer's front also keeps an
# "adversary" log of what the provider sees anyway while it serves a
# request (the bearer grant, to the millisecond): the colluding provider's
# own record, beyond what agepass stores.
#
# Default mode: PEOPLE people (default 200) enrol and fetch 2 to 4 tokens
# each, in one order; then they visit the two cross-origin sites (the
# verifiers run with --cross-origin, given explicitly), 2 visits each, in
# another, random, order. --mint-now mode: MINT people enrol and fetch
# nothing, then visit the site-bound site (--site-bound) with
# `agepass get --mint-now`. Each visit asks for a page of its own name,
# known only to the driver (the ground truth); the page name says nothing
# of the person.
#
# Then privacy_linkability.py joins the issuer's SQLite file (and -wal),
# both fronts' logs, the verifiers' replay logs and both services' stderr,
# tries to link each visit to an enrolment by shared values, by time, by
# order, by key and by counts, and prints each attack's success rate
# against chance. It fails if any attack does better than chance in the
# default mode, or if the order attack does not link the --mint-now visits
# (so the test can fail); and if a stored or logged time is finer than an
# hour (the stores) or a minute (the logs). With AGP_LINK_REDIS=1 the issuer
# keeps its store in a Redis of its own, whose RDB dump (redis-cli --rdb)
# is joined and checked instead of the SQLite file.
# Usage: privacy_linkability.sh AGEPASS
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
agepass=$(realpath "${1:?usage: privacy_linkability.sh AGEPASS}")
. "$here/lib.sh"
cd "$work" || exit 2
people=${AGP_LINK_PEOPLE:-200}
mint=${AGP_LINK_MINT:-40}
jobs=4
deadline=$((SECONDS + 150))

mkdir -p logs site/adult nginx-conf
chmod 755 "$work"

# nginx_front NAME PORT BODY: an nginx of its own on loopback, with the shipped log format
nginx_front() {
    local d="$work/nginx-$1"
    mkdir -p "$d"
    cat >"$d/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log crit;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
    include $repo/deploy/nginx/agepass-log.conf;
    $3
}
CONF
    nginx -c "$d/nginx.conf" -p "$d" 2>"$d/stderr" &
    pids+=($!)
    wait_port "$2" || { cat "$d/stderr"; return 1; }
}

iport=$(free_port)
ifront=$(free_port)
"$agepass" issuer init --state ist --name issuer.example >/dev/null || exit 2
store=()
if [ "${AGP_LINK_REDIS:-}" = 1 ]; then
    rport=$(free_port)
    start_redis "$rport" || exit 2
    store=(--redis "redis://127.0.0.1:$rport")
fi
"$agepass" issuer serve --state ist --listen "127.0.0.1:$iport" --insecure-dev-attester \
    --day-cap 10 "${store[@]}" 2>logs/issuer.stderr &
pids+=($!)
wait_port "$iport" || exit 2
nginx_front issuer "$ifront" "
    log_format adversary '\$msec \$request_method \$uri \"\$http_authorization\"';
    server {
        listen 127.0.0.1:$ifront;
        access_log $work/logs/issuer_access.log agepass_privacy;
        access_log $work/adversary.log adversary;
        location / { proxy_pass http://127.0.0.1:$iport; }
    }" || exit 2
issuer="http://127.0.0.1:$ifront"
dir_url="http://127.0.0.1:$iport/.well-known/private-token-issuer-directory"

# sites 1 and 2 take tokens fetched in advance; site 3 only site-bound ones
site_ports=()
for s in 1 2 3; do
    vp=$(free_port)
    sp=$(free_port)
    cross=--cross-origin # given explicitly: the default, but said
    [ $s = 3 ] && cross=--site-bound
    "$agepass" verifier serve --state "v$s" --listen "127.0.0.1:$vp" --origin "127.0.0.1" $cross \
        --trust "$dir_url" 2>"logs/verifier$s.stderr" &
    pids+=($!)
    wait_port "$vp" || exit 2
    sed "s/127.0.0.1:8081/127.0.0.1:$vp/" "$repo/deploy/nginx/agepass-upstream.conf" >"nginx-conf/upstream$s.conf"
    # every simulated person comes from 127.0.0.1: the per-address limits of
    # the shipped snippet would refuse them as one flooding client
    grep -v '^limit_' "$repo/deploy/nginx/agepass-protect.conf" >nginx-conf/agepass-protect.conf
    nginx_front "site$s" "$sp" "
    include $work/nginx-conf/upstream$s.conf;
    server {
        listen 127.0.0.1:$sp;
        root $work/site;
        access_log $work/logs/site$s.log agepass_privacy;
        include $repo/deploy/nginx/agepass.conf;
        location /adult/ {
            include $work/nginx-conf/agepass-protect.conf;
            try_files \$uri \$uri/index.html =404;
        }
    }" || exit 2
    site_ports+=("$sp")
done

# one person: enrol, then fetch 2 to 4 tokens (none in --mint-now mode)
mkdir -p w
person() { # MODE I
    local wal="$work/w/$1-$2.json" k=$((2 + RANDOM % 3))
    "$agepass" enroll --issuer "$issuer" --dev-age 30 --wallet "$wal" >/dev/null 2>>"$work/client.err" || return 1
    [ "$1" = mint ] && return 0
    "$agepass" fetch --issuer "$issuer" --count "$k" --wallet "$wal" >/dev/null 2>>"$work/client.err"
}
# one visit: VISIT_NONCE PERSON_WALLET SITE_PORT [--mint-now]
visit() {
    echo "ADULT $1" >"$work/site/adult/$1.html"
    "$agepass" get "http://127.0.0.1:$3/adult/$1.html" --wallet "$2" -o /dev/null ${4:-} 2>>"$work/client.err"
}
export -f person visit
export agepass issuer work

# default mode: enrolments and fetches in order 1..N (4 at a time) ...
seq "$people" | xargs -P "$jobs" -I{} bash -c 'person default {}' || not_ok "some enrolments or fetches failed"
# ... then 2 visits each, to random sites, in a random order unrelated to the fetches
python3 - "$people" "${site_ports[0]}" "${site_ports[1]}" >visits-default.txt <<'PY'
import random, secrets, sys
n, sites = int(sys.argv[1]), sys.argv[2:]
v = [(p, random.choice(sites)) for p in range(1, n + 1) for _ in range(2)]
random.shuffle(v)
for p, s in v:
    print(secrets.token_hex(8), p, s)
PY
while read -r nonce p s; do echo "$nonce $work/w/default-$p.json $s"; done <visits-default.txt |
    xargs -P "$jobs" -L 1 bash -c 'visit "$0" "$1" "$2"' || not_ok "some visits failed"
[ $SECONDS -lt $deadline ] || { not_ok "out of time after the default mode"; finish; exit 1; }

# --mint-now mode: enrol (no fetch), then visit the site-bound site at the time of minting
wc -l <adversary.log >adversary-default.lines # the adversary's lines of the default mode
seq "$mint" | xargs -P "$jobs" -I{} bash -c 'person mint {}' || not_ok "some --mint-now enrolments failed"
python3 - "$mint" "${site_ports[2]}" >visits-mint.txt <<'PY'
import random, secrets, sys
v = list(range(1, int(sys.argv[1]) + 1))
random.shuffle(v)
for p in v:
    print(secrets.token_hex(8), p, sys.argv[2])
PY
while read -r nonce p s; do
    visit "$nonce" "$work/w/mint-$p.json" "$s" --mint-now || not_ok "a --mint-now visit failed"
done <visits-mint.txt

# the issuer's files as they are while it runs (the -wal too), then stop every server
mkdir -p snap
if [ -n "${rport:-}" ]; then
    redis-cli -p "$rport" --rdb snap/dump.rdb >/dev/null 2>&1 || not_ok "no RDB dump"
    for k in $(redis-cli -p "$rport" --scan --pattern 'agepass:issuer:g:*'); do
        echo "${k#agepass:issuer:g:} $(redis-cli -p "$rport" hget "$k" left)"
    done >snap/grants.txt
else
    cp ist/store.sqlite* snap/
fi
for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
pids=()
python3 "$here/privacy_linkability.py" "$work" "$people" "$mint"
rc=$?
[ $rc -eq 0 ] && ok "the linkability analysis" || not_ok "the linkability analysis (see above)"
[ $SECONDS -lt $deadline ] || not_ok "took ${SECONDS}s, more than its bound"
finish
