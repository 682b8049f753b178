#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Age classes through the real nginx with the shipped snippets, tried as an
# attacker would (issue 10 item 1): an issuer with classes 16, 18 and 21; a
# 16-year-old with class-16 wallet tokens who sends X-Agepass-Min-Age: 16 to
# an 18+ page, or replays a class-16 session there; an adult whose class-18
# token must open 18+ and 16+ pages but not a 21+ one. Also: each challenge
# once in nginx's 401 (item 10), `agepass get` with several WWW-Authenticate
# fields, and the verifier's own rule for that header (--front, never below
# --min-age).
#
# Usage: security_class.sh AGEPASS [NGINX_SNIPPET_DIR]
# (the second argument, default deploy/nginx, lets the same test run
# against older snippets to show that it fails there).
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
agepass=$(realpath "${1:?usage: security_class.sh AGEPASS [NGINX_SNIPPET_DIR]}")
snippets=$(realpath "${2:-$repo/deploy/nginx}")
. "$here/lib.sh"
cd "$work" || exit 2
chmod 755 "$work" # nginx workers run as an unprivileged user

# A binary from before cross-origin became the default needs the option to
# take wallet tokens at all (only so that this test can show the old holes).
compat=()
"$agepass" verifier --help | grep -q -- --site-bound || compat=(--cross-origin)

iport=$(free_port)
"$agepass" issuer init --state ist --name issuer.example --age-classes 16,18,21 >/dev/null || exit 2
"$agepass" issuer serve --state ist --listen "127.0.0.1:$iport" --insecure-dev-attester \
    --day-cap 100 2>issuer.log &
pids+=($!)
wait_port "$iport" || exit 2
issuer="http://127.0.0.1:$iport"
dir_url="$issuer/.well-known/private-token-issuer-directory"
curl -s "$dir_url" >directory.json

# start_verifier NAME PORT ARGS...: a verifier trusting the issuer's directory
start_verifier() {
    local name=$1 port=$2
    shift 2
    "$agepass" verifier serve --state "$name" --listen "127.0.0.1:$port" --trust "$dir_url" \
        --origin localhost "${compat[@]}" "$@" 2>"$name.log" &
    pids+=($!)
    wait_port "$port"
}

# start_site NAME VERIFIER_PORT NGINX_PORT LOCATIONS: nginx with the
# snippets in front of that verifier, serving site/
start_site() {
    local name=$1
    mkdir -p "$name"
    sed "s/127.0.0.1:8081/127.0.0.1:$2/" "$snippets/agepass-upstream.conf" >"$name/upstream.conf"
    cat >"$name/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/$name/nginx.pid;
error_log $work/$name/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $work/$name/body;
    proxy_temp_path $work/$name/proxy;
    fastcgi_temp_path $work/$name/fastcgi;
    uwsgi_temp_path $work/$name/uwsgi;
    scgi_temp_path $work/$name/scgi;
    include $work/$name/upstream.conf;
    server {
        listen 127.0.0.1:$3;
        root $work/site;
        include $snippets/agepass.conf;
$4
    }
}
CONF
    nginx -c "$work/$name/nginx.conf" -p "$work/$name" 2>"$name/stderr" &
    pids+=($!)
    wait_port "$3" || { cat "$name/stderr"; return 1; }
}

mkdir -p site/adult site/over21 site/teen site/multi
echo "ADULT PAGE 18" >site/adult/index.html
echo "OVER21 PAGE 21" >site/over21/index.html
echo "TEEN PAGE 16" >site/teen/index.html
echo "MULTI PAGE 18" >site/multi/index.html

# Site A: the verifier's --min-age is 18; /over21/ asks 21 through nginx;
# /multi/ sends a second, broken WWW-Authenticate field with its 401.
va=$(free_port) na=$(free_port)
start_verifier va "$va" || exit 2
start_site nga "$va" "$na" "
        location /adult/ {
            include $snippets/agepass-protect.conf;
            try_files \$uri \$uri/index.html =404;
        }
        location /over21/ {
            set \$agepass_min_age 21;
            include $snippets/agepass-protect.conf;
            try_files \$uri \$uri/index.html =404;
        }
        location /multi/ {
            auth_request /_agepass/check;
            auth_request_set \$agepass_cookie \$upstream_http_set_cookie;
            add_header Set-Cookie \$agepass_cookie always;
            error_page 401 = @multi_required;
            try_files \$uri \$uri/index.html =404;
        }
        location @multi_required {
            internal;
            add_header WWW-Authenticate 'Basic realm=\"unterminated' always;
            return 401 'age check required';
        }" || exit 2
# Site B: a 16+ part, so its verifier's --min-age is 16; /adult/ asks 18.
# It also trusts three more issuers (class 18), whose challenges make its
# 401 larger than nginx's default buffer for an upstream's headers.
vb=$(free_port) nb=$(free_port)
more=()
for i in 1 2 3; do
    "$agepass" keygen --out "more$i" >/dev/null || exit 2
    more+=(--trust "more$i/issuer-public.der,name=issuer$i.example,age=18")
done
start_verifier vb "$vb" --min-age 16 "${more[@]}" || exit 2
start_site ngb "$vb" "$nb" "
        location /teen/ {
            include $snippets/agepass-protect.conf;
            try_files \$uri \$uri/index.html =404;
        }
        location /adult/ {
            set \$agepass_min_age 18;
            include $snippets/agepass-protect.conf;
            try_files \$uri \$uri/index.html =404;
        }
        location /over21/ {
            set \$agepass_min_age 21;
            include $snippets/agepass-protect.conf;
            try_files \$uri \$uri/index.html =404;
        }" || exit 2
a="http://127.0.0.1:$na" b="http://127.0.0.1:$nb"

# status URL [curl args...]: prints the HTTP status, body in body.txt, headers in headers.txt
status() {
    local url=$1
    shift
    curl -s -o body.txt -D headers.txt -w '%{http_code}' "$@" "$url"
}
cookie_of() { grep -i '^Set-Cookie: agepass_session=' headers.txt | head -1 | cut -d' ' -f2 | cut -d';' -f1; }
# key_of CLASS: the issuer's token-key (base64url) for that class
key_of() {
    python3 -c 'import json,sys
for k in json.load(open("directory.json"))["token-keys"]:
    if k.get("agepass-age") == int(sys.argv[1]): print(k["token-key"].rstrip("="))' "$1"
}
# take WALLET CLASS: an Authorization value with one wallet token of that class (removed)
take() {
    python3 - "$1" "$2" <<'PY'
import json, sys
path, age = sys.argv[1], int(sys.argv[2])
w = json.load(open(path))
for e in w["issuers"].values():
    for i, t in enumerate(e["tokens"]):
        if t["age"] == age:
            del e["tokens"][i]
            json.dump(w, open(path, "w"))
            print('PrivateToken token="%s"' % t["token"])
            sys.exit(0)
sys.exit(1)
PY
}

teen="$work/teen.json" adult="$work/adult.json"
"$agepass" enroll --issuer "$issuer" --dev-age 16 --wallet "$teen" >/dev/null 2>&1 &&
    "$agepass" fetch --issuer "$issuer" --age 16 --count 8 --wallet "$teen" >/dev/null 2>&1
check "a 16-year-old holds class-16 wallet tokens" take "$teen" 16 >/dev/null
"$agepass" enroll --issuer "$issuer" --dev-age 25 --wallet "$adult" >/dev/null 2>&1 &&
    "$agepass" fetch --issuer "$issuer" --age 18 --count 8 --wallet "$adult" >/dev/null 2>&1 &&
    "$agepass" fetch --issuer "$issuer" --age 21 --count 3 --wallet "$adult" >/dev/null 2>&1
check "an adult holds class-18 and class-21 wallet tokens" bash -c \
    "'$agepass' wallet --wallet '$adult' | grep -q 'over 18: 8' && '$agepass' wallet --wallet '$adult' | grep -q 'over 21: 3'"
k16=$(key_of 16) k18=$(key_of 18) k21=$(key_of 21)
check "the issuer's directory has a key per class" bash -c "[ -n '$k16' ] && [ -n '$k18' ] && [ -n '$k21' ]"

echo "# the 401: each challenge once, for every key of the class or higher"
s=$(status "$a/adult/")
check "18+ page without a token: 401 ($s)" [ "$s" = 401 ]
n=$(grep -ci '^WWW-Authenticate:' headers.txt)
check "nginx's 401 carries one WWW-Authenticate field ($n)" [ "$n" = 1 ]
www=$(grep -i '^WWW-Authenticate:' headers.txt | head -1 | tr -d '\r')
direct=$(curl -s -D - -o /dev/null -H 'X-Agepass-Min-Age: 18' "http://127.0.0.1:$va/auth" |
    grep -i '^WWW-Authenticate:' | tr -d '\r')
nginx_n=$(grep -o 'PrivateToken ' <<<"$www" | wc -l)
direct_n=$(grep -o 'PrivateToken ' <<<"$direct" | wc -l)
check "... with the verifier's challenges, each once ($nginx_n = $direct_n)" \
    bash -c "[ '$nginx_n' = '$direct_n' ] && [ '$nginx_n' -gt 0 ]"
check "... naming the class-18 and class-21 keys" bash -c "grep -qF '$k18' <<<'$www' && grep -qF '$k21' <<<'$www'"
check "... and not the class-16 key" bash -c "! grep -qF '$k16' <<<'$www'"
s=$(status "$a/adult/" -H 'X-Agepass-Min-Age: 16')
www=$(grep -i '^WWW-Authenticate:' headers.txt | head -1 | tr -d '\r')
check "a client asking class 16 on the 18+ page still gets the 18+ challenges" \
    bash -c "[ '$s' = 401 ] && ! grep -qF '$k16' <<<'$www' && grep -qF '$k18' <<<'$www'"
s=$(status "$b/teen/")
www=$(grep -i '^WWW-Authenticate:' headers.txt | head -1 | tr -d '\r')
check "the 16+ page challenges keys of class 16, 18 and 21" \
    bash -c "[ '$s' = 401 ] && grep -qF '$k16' <<<'$www' && grep -qF '$k18' <<<'$www' && grep -qF '$k21' <<<'$www'"
n=$(grep -o 'PrivateToken ' <<<"$www" | wc -l)
check "... and of the three other issuers: $n challenges in ${#www} bytes, through nginx" \
    bash -c "[ '$n' = 12 ] && [ '${#www}' -gt 4096 ]"

echo "# a 16-year-old on 18+ pages"
s=$(status "$a/adult/" -H "Authorization: $(take "$teen" 16)" -H 'X-Agepass-Min-Age: 16')
check "a class-16 token with X-Agepass-Min-Age: 16 on the 18+ page: 401 ($s)" [ "$s" = 401 ]
check "... and no page" bash -c '! grep -q "ADULT PAGE" body.txt'
check "... and no session" [ -z "$(cookie_of)" ]
s=$(status "$a/adult/" -H "Authorization: $(take "$teen" 16)" -H 'X-Agepass-Min-Age: 16, 16' \
    -H 'X-Agepass-Min-Age: 16')
check "... nor with the header twice: 401 ($s)" [ "$s" = 401 ]
s=$(status "$b/adult/" -H "Authorization: $(take "$teen" 16)" -H 'X-Agepass-Min-Age: 16')
check "site B (verifier --min-age 16): a class-16 token on its 18+ page: 401 ($s)" [ "$s" = 401 ]
s=$(status "$b/teen/" -H "Authorization: $(take "$teen" 16)")
teen_cookie=$(cookie_of)
check "a class-16 token opens the 16+ page ($s) with a session" \
    bash -c "[ '$s' = 200 ] && grep -q 'TEEN PAGE' body.txt && [ -n '$teen_cookie' ]"
s=$(status "$b/teen/" -H "Cookie: $teen_cookie")
check "... and the session keeps it open ($s)" [ "$s" = 200 ]
s=$(status "$b/adult/" -H "Cookie: $teen_cookie" -H 'X-Agepass-Min-Age: 16')
check "the class-16 session with X-Agepass-Min-Age: 16 on the 18+ page: 401 ($s)" [ "$s" = 401 ]
check "... with a challenge, and no page" \
    bash -c "grep -qi '^WWW-Authenticate: PrivateToken' headers.txt && ! grep -q 'ADULT PAGE' body.txt"
s=$(status "$b/over21/" -H "Cookie: $teen_cookie")
check "... nor the 21+ page ($s)" [ "$s" = 401 ]

echo "# an adult"
s=$(status "$a/adult/" -H "Authorization: $(take "$adult" 18)")
adult_cookie=$(cookie_of)
check "a class-18 token opens the 18+ page ($s)" bash -c "[ '$s' = 200 ] && grep -q 'ADULT PAGE' body.txt"
s=$(status "$a/adult/" -H "Cookie: $adult_cookie")
check "... and its session keeps it open ($s)" [ "$s" = 200 ]
s=$(status "$a/over21/" -H "Cookie: $adult_cookie")
check "the class-18 session does not open the 21+ page ($s)" [ "$s" = 401 ]
s=$(status "$a/over21/" -H "Authorization: $(take "$adult" 18)")
check "nor does a class-18 token ($s)" [ "$s" = 401 ]
s=$(status "$a/over21/" -H "Authorization: $(take "$adult" 18)" -H 'X-Agepass-Min-Age: 18')
check "nor a class-18 token sent with X-Agepass-Min-Age: 18 ($s)" [ "$s" = 401 ]
s=$(status "$a/over21/" -H "Authorization: $(take "$adult" 21)")
c21=$(cookie_of)
check "a class-21 token opens the 21+ page that nginx asks 21 for ($s)" \
    bash -c "[ '$s' = 200 ] && grep -q 'OVER21 PAGE' body.txt"
s=$(status "$a/adult/" -H "Cookie: $c21")
check "... and its session opens the 18+ page too ($s)" [ "$s" = 200 ]
s=$(status "$b/teen/" -H "Authorization: $(take "$adult" 18)")
c18b=$(cookie_of)
check "a class-18 token opens the 16+ page (class >= N) ($s)" [ "$s" = 200 ]
s=$(status "$b/adult/" -H "Cookie: $c18b")
check "... and the session records class 18: it opens the 18+ page ($s)" [ "$s" = 200 ]
s=$(status "$b/over21/" -H "Cookie: $c18b")
check "... but not the 21+ page ($s)" [ "$s" = 401 ]

echo "# the CLI"
check "agepass get opens the 21+ page with a class-21 wallet token" bash -c \
    "'$agepass' get '$a/over21/' --wallet '$adult' -o p21.html 2>get21.err && grep -q 'OVER21 PAGE' p21.html"
s=$(status "$a/multi/")
n=$(grep -ci '^WWW-Authenticate:' headers.txt)
check "a 401 with two WWW-Authenticate fields, one broken ($n)" [ "$n" = 2 ]
# (without the session the previous get keeps for this site)
python3 -c 'import json,sys; w=json.load(open(sys.argv[1])); w["sessions"]={}; json.dump(w,open(sys.argv[1],"w"))' "$adult"
check "agepass get reads each field on its own and answers with a wallet token" bash -c \
    "'$agepass' get '$a/multi/' --wallet '$adult' -o multi.html 2>multi.err && grep -q 'MULTI PAGE' multi.html && grep -q 'wallet token' multi.err"

echo "# the verifier's own rule, without nginx"
vc=$(free_port)
start_verifier vc "$vc" --front 127.0.0.2 || exit 2
chal() { curl -s -D - -o /dev/null "$@" | grep -i '^WWW-Authenticate:' | tr -d '\r'; }
s=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Agepass-Min-Age: 21' "http://127.0.0.1:$vc/auth")
check "--front 127.0.0.2: the header from 127.0.0.1 is refused, 400 ($s)" [ "$s" = 400 ]
www=$(chal "http://127.0.0.1:$vc/auth")
check "... while a check without it gets the --min-age challenges" bash -c \
    "grep -qF '$k18' <<<'$www' && ! grep -qF '$k16' <<<'$www'"
www=$(chal --interface 127.0.0.2 -H 'X-Agepass-Min-Age: 21' "http://127.0.0.1:$vc/auth")
check "... and honoured from 127.0.0.2 (class 21 asked)" \
    bash -c "grep -qF '$k21' <<<'$www' && ! grep -qF '$k18' <<<'$www'"
www=$(chal --interface 127.0.0.2 -H 'X-Agepass-Min-Age: 16' "http://127.0.0.1:$vc/auth")
check "... but never below --min-age (class 18 asked)" \
    bash -c "grep -qF '$k18' <<<'$www' && ! grep -qF '$k16' <<<'$www'"
s=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $(take "$teen" 16)" \
    --interface 127.0.0.2 -H 'X-Agepass-Min-Age: 16' "http://127.0.0.1:$vc/auth")
check "... so a class-16 token asking 16 from the front is refused ($s)" [ "$s" = 401 ]
s=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 -H 'X-Agepass-Min-Age: 21' \
    -H 'X-Agepass-Min-Age: 16' "http://127.0.0.1:$vc/auth")
check "... and the header twice from the front is refused: 400 ($s)" [ "$s" = 400 ]
curl -s "http://127.0.0.1:$vc/metrics" >metrics-c.txt
check "metrics count the header from elsewhere" grep -q 'class_headers_not_taken_total{reason="not_front"} 1$' metrics-c.txt
check "... and below --min-age" grep -q 'class_headers_not_taken_total{reason="below_min_age"} 2$' metrics-c.txt
check "... and the class-16 token as wrong_class" grep -q 'reason="wrong_class"} 1$' metrics-c.txt
check "the verifier log says why, naming no address" bash -c \
    "grep -q 'not in --front: refused' vc.log && grep -q 'below --min-age' vc.log && ! grep -q '127.0.0.2' vc.log"

curl -s "http://127.0.0.1:$va/metrics" >metrics-a.txt
curl -s "http://127.0.0.1:$vb/metrics" >metrics-b.txt
wa=$(sed -n 's/.*reason="wrong_class"} //p' metrics-a.txt)
wb=$(sed -n 's/.*reason="wrong_class"} //p' metrics-b.txt)
check "site A counts the downgrade attempts as wrong_class (${wa:-none})" [ "${wa:-0}" -ge 2 ]
check "site B counts the class-16 token and sessions as wrong_class (${wb:-none})" [ "${wb:-0}" -ge 3 ]
[ "$fail" -eq 0 ] || for f in va vb vc; do echo "--- $f.log"; tail -8 "$f.log"; done
finish
