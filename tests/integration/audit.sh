#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `agepass audit` against live sites, all on loopback: a real issuer, the
# verifier, and Debian's nginx with the shipped snippets as the README
# deploys them (the audit must pass, with and without --wallet); the same
# nginx with deliberately broken locations (content served without the
# check, the page sent with the 401, any Authorization let in unchecked),
# and two verifiers without a shared replay store behind one nginx (a
# replay lands on the one that never saw the token): the audit must fail
# there, on the right row, with the reason.
# And the command's own bad input. Usage: audit.sh AGEPASS
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
agepass=$(realpath "${1:?usage: audit.sh AGEPASS}")
. "$here/lib.sh"
cd "$work" || exit 2

iport=$(free_port)
vport=$(free_port)
v2port=$(free_port)
nport=$(free_port)
n2port=$(free_port)
"$agepass" issuer init --state ist --name issuer.example >/dev/null || exit 2
"$agepass" issuer serve --state ist --listen "127.0.0.1:$iport" --insecure-dev-attester --day-cap 100 2>issuer.log &
pids+=($!)
wait_port "$iport" || exit 2
issuer="http://127.0.0.1:$iport"
trust="$issuer/.well-known/private-token-issuer-directory"
"$agepass" verifier serve --state vst --listen "127.0.0.1:$vport" --trust "$trust" 2>verifier.log &
pids+=($!)
wait_port "$vport" || exit 2
# a second verifier with the same secret (its sessions hold on the first) but its own replay store
mkdir -m 700 vst2 && cp vst/verifier-secret vst2/
"$agepass" verifier serve --state vst2 --listen "127.0.0.1:$v2port" --trust "$trust" 2>verifier2.log &
pids+=($!)
wait_port "$v2port" || exit 2

mkdir -p site/adult site/leaky site/leak401 site/lax
echo "ADULT CONTENT 7f3a" >site/adult/index.html
echo "ADULT CONTENT 7f3a" >site/leaky/index.html
echo "ADULT CONTENT 7f3a" >site/leak401/index.html

# The README's deployment (lib.sh's start_nginx: the shipped snippets on /adult/) ...
cat >extra.conf <<CONF
# misconfigured on purpose: the content without auth_request
location /leaky/ {
    try_files \$uri \$uri/index.html =404;
}
# misconfigured on purpose: the check, but the 401 sends the page itself
location /leak401/ {
    auth_request /_agepass/check;
    auth_request_set \$agepass_cookie \$upstream_http_set_cookie;
    add_header Set-Cookie \$agepass_cookie always;
    error_page 401 /_leaked/index.html;
    try_files \$uri \$uri/index.html =404;
}
# misconfigured on purpose: any Authorization header lets in, unchecked
location /lax/ {
    if (\$http_authorization != "") { rewrite ^ /leaky/index.html last; }
    include $repo/deploy/nginx/agepass-protect.conf;
    try_files \$uri \$uri/index.html =404;
}
location /_leaked/ {
    internal;
    alias $work/site/leak401/;
}
CONF
# nginx_site DIR PORT UPSTREAM_PORTS...: nginx on loopback serving $work/site, /adult/ as the
# README protects it, the broken locations above, the verifier(s) at UPSTREAM_PORTS.
nginx_site() {
    local dir=$1 port=$2 p
    shift 2
    mkdir -p "$work/$dir"
    {
        echo "upstream agepass_verifier {"
        for p in "$@"; do echo "    server 127.0.0.1:$p;"; done
        sed -n '/^upstream agepass_verifier/,/^}/{/^upstream/d;/server /d;p}' "$repo/deploy/nginx/agepass-upstream.conf"
        sed '/^upstream agepass_verifier/,/^}/d' "$repo/deploy/nginx/agepass-upstream.conf"
    } >"$work/$dir/agepass-upstream.conf"
    cat >"$work/$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/$dir/nginx.pid;
error_log $work/$dir/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $work/$dir/body;
    proxy_temp_path $work/$dir/proxy;
    fastcgi_temp_path $work/$dir/fastcgi;
    uwsgi_temp_path $work/$dir/uwsgi;
    scgi_temp_path $work/$dir/scgi;
    include $work/$dir/agepass-upstream.conf;
    server {
        listen 127.0.0.1:$port;
        root $work/site;
        include $repo/deploy/nginx/agepass.conf;
        location /adult/ {
            include $repo/deploy/nginx/agepass-protect.conf;
            try_files \$uri \$uri/index.html =404;
        }
        include $work/extra.conf;
    }
}
CONF
    chmod 755 "$work"
    nginx -c "$work/$dir/nginx.conf" -p "$work/$dir" 2>"$work/$dir/stderr" &
    pids+=($!)
    wait_port "$port" || { cat "$work/$dir/stderr"; return 1; }
}
nginx_site nginx "$nport" "$vport" || exit 2
nginx_site nginx2 "$n2port" "$vport" "$v2port" || exit 2
site="http://127.0.0.1:$nport"

export AGEPASS_WALLET="$work/wallet.json"
"$agepass" enroll --issuer "$issuer" --dev-age 30 >/dev/null || exit 2
"$agepass" fetch --issuer "$issuer" --count 4 >/dev/null || exit 2
tokens() { "$agepass" wallet | sed -n 's/.*over 18: \([0-9]*\) tokens/\1/p'; }
# row NAME FILE: the result column of that row of a table
row() { grep -F "  $1 " "$2" | head -1 | cut -c40- | awk '{print $1}'; }

# 1. the README's deployment passes
"$agepass" audit "$site/adult/" >a1.out 2>a1.err
check "the shipped nginx deployment passes the audit without a wallet: exit 0" [ $? -eq 0 ]
check "... the no-session row passes" [ "$(row 'no session: 401' a1.out)" = pass ]
check "... the challenge parses" [ "$(row 'challenge parses (RFC 9577)' a1.out)" = pass ]
check "... forged and untrusted tokens refused" bash -c "[ '$(row 'forged token refused' a1.out)' = pass ] && [ '$(row "untrusted key's token refused" a1.out)' = pass ]"
check "... malformed headers refused, the site still answers" bash -c "[ '$(row 'malformed Authorization: 400/401' a1.out)' = pass ] && [ '$(row 'site answers after malformed ones' a1.out)' = pass ]"
check "... the wallet rows say they need --wallet" [ "$(grep -c 'skipped (needs --wallet)' a1.out)" = 3 ]
check "... and no wallet token was spent" [ "$(tokens)" = 4 ]

"$agepass" audit "$site/adult/" --wallet "$AGEPASS_WALLET" >a2.out 2>a2.err
check "with --wallet: exit 0" [ $? -eq 0 ]
check "... the good token opens the page with a session" [ "$(row 'good token: 200 and session' a2.out)" = pass ]
check "... its replay is refused" [ "$(row 'replayed token refused' a2.out)" = pass ]
check "... the session cookie opens the page" [ "$(row 'session cookie opens the page' a2.out)" = pass ]
check "... the 401 is compared with the page the token opened" bash -c "grep -F '401 shows none of the page' a2.out | grep -q 'none of the 19-byte page'"
check "... exactly one wallet token spent" [ "$(tokens)" = 3 ]
check "... nothing secret printed (no token, no cookie value)" bash -c "! grep -qE 'token=|agepass_session=' a2.out a2.err"

"$agepass" audit "$site/adult/" --json >a3.json
check "--json: exit 0 and every row pass or skipped" python3 -c "
import json,sys; d=json.load(open('a3.json'))
assert d['failed']==0 and d['passed']==7 and d['skipped']==3, d
assert all(c['result'] in ('pass','skipped') for c in d['checks'])"

# 2. the misconfigured locations fail, with the reason
"$agepass" audit "$site/leaky/" >b1.out 2>b1.err
check "a location without auth_request fails the audit: exit 1" [ $? -eq 1 ]
check "... on the no-session row, saying the page is served without the check" \
    bash -c "grep -F 'no session: 401' b1.out | grep -q 'FAIL.*HTTP 200.*without the check'"
check "... and the 401 row says it is the page itself" bash -c "grep -F '401 shows none of the page' b1.out | grep -q 'FAIL.*the page itself'"
check "... the summary says it fails" grep -q "the site FAILS the audit" b1.out

"$agepass" audit "$site/leak401/" --wallet "$AGEPASS_WALLET" >b2.out 2>b2.err
check "a 401 that sends the page fails the audit with --wallet: exit 1" [ $? -eq 1 ]
check "... on the content row, saying the 401 holds the page" \
    bash -c "grep -F '401 shows none of the page' b2.out | grep -q 'FAIL.*shows the page: holds the whole page'"
check "... while its status rows pass (401, a challenge)" bash -c "[ '$(row 'no session: 401' b2.out)' = pass ] && [ '$(row 'challenge parses (RFC 9577)' b2.out)' = pass ]"

"$agepass" audit "$site/lax/" >b3.out 2>b3.err
check "a location that lets any Authorization in fails the audit: exit 1" [ $? -eq 1 ]
check "... its no-session rows pass" bash -c "[ '$(row 'no session: 401' b3.out)' = pass ] && [ '$(row 'challenge parses (RFC 9577)' b3.out)' = pass ]"
check "... the forged token is let in: FAIL with the reason" bash -c "grep -F 'forged token refused' b3.out | grep -q 'FAIL.*HTTP 200, not 401 or 403: let in'"
check "... so is the untrusted key's token" bash -c "grep -F \"untrusted key's token refused\" b3.out | grep -q 'FAIL.*HTTP 200'"
check "... and the malformed headers, each named" bash -c "grep -F 'malformed Authorization' b3.out | grep -q 'FAIL.*200 (header 1).*200 (header 8)'"

# 3. a verifier pair without a shared replay store: the replay lands on the other one
"$agepass" audit "http://127.0.0.1:$n2port/adult/" --wallet "$AGEPASS_WALLET" >c1.out 2>c1.err
check "two verifiers with separate replay stores fail the audit: exit 1" [ $? -eq 1 ]
check "... on the replay row" bash -c "grep -F 'replayed token refused' c1.out | grep -q 'FAIL.*HTTP 200.*let in'"
check "... and only there" [ "$(grep -cE "^  .{36} FAIL " c1.out)" = 1 ]

# 4. the command's own input
"$agepass" audit 2>d1.err
check "no URL: usage error (2)" [ $? -eq 2 ]
"$agepass" audit "not a url" 2>d2.err
check "a bad URL: 2, saying why" bash -c "[ $? -eq 2 ] && grep -q 'not an http:// or https:// URL' d2.err"
"$agepass" audit "ftp://127.0.0.1/adult/" 2>d5.err
check "another scheme: 2, saying why" bash -c "[ $? -eq 2 ] && grep -q 'not an http:// or https:// URL' d5.err"
"$agepass" audit "http://user:pw@127.0.0.1:$nport/adult/" 2>d6.err
check "a URL with a user part: 2, saying why" bash -c "[ $? -eq 2 ] && grep -q 'no user@ part' d6.err"
dead=$(free_port)
"$agepass" audit "http://127.0.0.1:$dead/adult/" >d3.out 2>d3.err
check "an unreachable site: 2, with a clear message" bash -c "[ $? -eq 2 ] && grep -q 'cannot reach http://127.0.0.1:$dead/adult/' d3.err"
"$agepass" audit "$site/adult/" --wallet "$work/none.json" 2>d4.err
check "a wallet file that does not exist: 2" bash -c "[ $? -eq 2 ] && grep -q 'no wallet file' d4.err"
"$agepass" audit "$site/adult/" --cookie-name 'a=b' 2>d7.err
check "a cookie name with '=': 2, saying why" bash -c "[ $? -eq 2 ] && grep -q 'cookie-name takes a cookie name' d7.err"
"$agepass" audit "$site/adult/" --bogus 2>/dev/null
check "an unknown option: 2" [ $? -eq 2 ]
check "--help: 0, with the options" bash -c "'$agepass' audit --help | grep -q -- --cookie-name"

[ "$fail" -eq 0 ] || for f in a1 a2 b1 b2 b3 c1; do echo "--- $f"; cat $f.out $f.err; done
finish
