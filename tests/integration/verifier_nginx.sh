#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A site protected by the nginx snippet in deploy/nginx, the agepass
# verifier behind it, and Redis as its replay store, all started here on
# loopback; driven with curl and the agepass CLI. Usage: verifier_nginx.sh AGEPASS
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
agepass=$(realpath "${1:?usage: verifier_nginx.sh AGEPASS}")
. "$here/lib.sh"
cd "$work" || exit 2

redis_port=$(free_port)
verifier_port=$(free_port)
nginx_port=$(free_port)
start_redis "$redis_port" || exit 2

"$agepass" keygen --out issuer >/dev/null || exit 2
"$agepass" keygen --out rogue >/dev/null || exit 2
# nginx: a static site whose /adult/ part is protected, with our snippets.
mkdir -p site/adult
echo "public page" >site/index.html
echo "ADULT CONTENT 7f3a" >site/adult/index.html
start_nginx "$verifier_port" "$nginx_port" || exit 2
base="http://127.0.0.1:$nginx_port"

# The issuer's directory (RFC 9578 §4) as a static file; the verifier trusts its URL.
mkdir -p site/.well-known
"$agepass" token directory --request-uri "https://issuer.example/token-request" \
    --pub "issuer/issuer-public.der,age=18,not-before=$(date +%s)" --out site/.well-known/private-token-issuer-directory || exit 2
dir_url="$base/.well-known/private-token-issuer-directory"
"$agepass" verifier serve --state vstate --listen "127.0.0.1:$verifier_port" \
    --trust "$dir_url,name=issuer.example" --origin localhost --refresh 5 \
    --redis "redis://127.0.0.1:$redis_port" 2>verifier.log &
pids+=($!)
wait_port "$verifier_port" || { cat verifier.log; exit 2; }
check "the verifier took the key from the directory" grep -q "1 keys of issuer.example trusted" verifier.log
check "... and cached the directory" cmp -s vstate/trust-1.json site/.well-known/private-token-issuer-directory

# status URL [curl args...]: prints the HTTP status, body in body.txt, headers in headers.txt
status() {
    local url=$1
    shift
    curl -s -o body.txt -D headers.txt -w '%{http_code}' "$@" "$url"
}
header() { grep -i "^$1:" headers.txt | head -1 | cut -d' ' -f2- | tr -d '\r'; }

# get_token NAME KEYDIR: answers the current challenge with a token from KEYDIR
get_token() {
    local name=$1 keys=$2 www
    status "$base/adult/" >/dev/null
    www=$(header WWW-Authenticate)
    "$agepass" token parse-header --www-authenticate "$www" --out-challenge "$name.ch" --out-pub "$name.pub" &&
        "$agepass" token request --pub "$keys/issuer-public.der" --challenge "$name.ch" --state "$name.st" --out "$name.req" &&
        "$agepass" token issue --key "$keys/issuer-private.pem" --in "$name.req" --out "$name.resp" &&
        "$agepass" token finalize --state "$name.st" --in "$name.resp" --out "$name.tok" &&
        "$agepass" token header-token --in "$name.tok" >"$name.authz"
}

check "public page is served" [ "$(status "$base/")" = 200 ]
check "... and may be cached as before (no Cache-Control of agepass's)" [ -z "$(header Cache-Control)" ]
s=$(status "$base/adult/")
check "protected page without a token: 401" [ "$s" = 401 ]
check "401 carries a PrivateToken challenge" grep -qi '^WWW-Authenticate: PrivateToken challenge=' headers.txt
check "401 shows none of the protected content" bash -c '! grep -q "ADULT CONTENT" body.txt'
check "401 says an age check is required" grep -q "Age check required" body.txt

check "a token for that challenge is made with the CLI" get_token t1 issuer
check "the challenge names our key" cmp -s t1.pub issuer/issuer-public.der
s=$(status "$base/adult/" -H "Authorization: $(cat t1.authz)")
check "the token opens the page once: 200" [ "$s" = 200 ]
check "... with the content" grep -q "ADULT CONTENT" body.txt
cookie=$(header Set-Cookie | cut -d';' -f1)
check "... and a session cookie" [ -n "$cookie" ]
check "the cookie is HttpOnly, Secure, SameSite=Lax" bash -c "grep -i '^Set-Cookie:' headers.txt | grep -q 'HttpOnly; Secure; SameSite=Lax'"
check "the page the check let through is kept by no cache: private, no-store" [ "$(header Cache-Control)" = "private, no-store" ]
s=$(status "$base/adult/" -H "Authorization: $(cat t1.authz)")
check "the same token a second time: 401 (replay)" [ "$s" = 401 ]
s=$(status "$base/adult/" -H "Cookie: $cookie")
check "the session cookie opens the page: 200" [ "$s" = 200 ]
s=$(status "$base/adult/" -H "Cookie: ${cookie%?}A")
check "a forged cookie does not: 401" [ "$s" = 401 ]

check "a token from an untrusted issuer is made" get_token t2 rogue
s=$(status "$base/adult/" -H "Authorization: $(cat t2.authz)")
check "untrusted issuer: 401" [ "$s" = 401 ]
check "a fresh token is made" get_token t3 issuer
flipped=$(sed 's/token="A/token="B/' t3.authz)
s=$(status "$base/adult/" -H "Authorization: $flipped")
check "a token with a changed byte: 401" [ "$s" = 401 ]

# hostile headers: the service keeps serving
big=$(head -c 60000 /dev/zero | tr '\0' 'A')
s=$(status "$base/adult/" -H "Authorization: PrivateToken token=\"$big\"")
check "oversized Authorization: refused ($s)" one_of "$s" 400 401 431 494
s=$(status "$base/adult/" -H "Authorization: PrivateToken token=\"!!!not-base64!!!\"")
check "broken base64url: 401" [ "$s" = 401 ]
s=$(status "$base/adult/" -H "Authorization: $(cat t3.authz)" -H "Authorization: $(cat t3.authz)")
check "duplicated Authorization: refused ($s)" one_of "$s" 400 401
s=$(status "$base/adult/" -H "Authorization: $(cat t3.authz)")
check "the service still serves: the fresh token opens the page" [ "$s" = 200 ]

# the replay store down: fail closed; back up: works again by itself
check "a token is made before Redis stops" get_token t4 issuer
kill "$redis_pid"; wait "$redis_pid" 2>/dev/null
s=$(status "$base/adult/" -H "Authorization: $(cat t4.authz)")
check "Redis down: the good token is refused with 503 ($s)" [ "$s" = 503 ]
check "... and the page is not shown" bash -c '! grep -q "ADULT CONTENT" body.txt'
start_redis "$redis_port"
s=$(status "$base/adult/" -H "Authorization: $(cat t4.authz)")
check "Redis back: the same token is accepted ($s)" [ "$s" = 200 ]

# a pinned key that the directory does not hold: nothing trusted, no page
pin_port=$(free_port)
cat >vpin.conf <<CONF
# a verifier configured by file
state vpin
listen 127.0.0.1:$pin_port
trust $dir_url,pin=$(printf '%064d' 0)
redis redis://127.0.0.1:$redis_port
CONF
mkdir -m 700 vpin && cp vstate/verifier-secret vpin/ # one Redis store: one secret (README)
"$agepass" verifier serve --config vpin.conf 2>pin.log &
pids+=($!)
wait_port "$pin_port"
s=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$pin_port/auth")
check "a pin that matches no key: no challenge, 503 ($s)" [ "$s" = 503 ]

s=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Agepass-Min-Age: 21" "http://127.0.0.1:$verifier_port/auth")
check "a location asking for class 21, which no trusted key proves: 503 ($s)" [ "$s" = 503 ]
s=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Agepass-Min-Age: x" "http://127.0.0.1:$verifier_port/auth")
check "a bad class from the proxy: 400 ($s)" [ "$s" = 400 ]

# the issuer retires its key: the verifier drops it at the next refresh
check "a token is made before the key is retired" get_token t5 issuer
"$agepass" keygen --out issuer2 >/dev/null
"$agepass" token directory --request-uri "https://issuer.example/token-request" \
    --pub "issuer2/issuer-public.der,age=18,not-before=$(date +%s)" --out site/.well-known/private-token-issuer-directory.new &&
    mv site/.well-known/private-token-issuer-directory.new site/.well-known/private-token-issuer-directory
for i in $(seq 1 40); do
    grep -q "keys of issuer.example trusted" <(tail -1 verifier.log) && cmp -s vstate/trust-1.json site/.well-known/private-token-issuer-directory && break
    sleep 0.25
done
s=$(status "$base/adult/" -H "Authorization: $(cat t5.authz)")
check "after the refresh, a token of the retired key is refused ($s)" [ "$s" = 401 ]
check "a token of the new key is made" get_token t6 issuer2
s=$(status "$base/adult/" -H "Authorization: $(cat t6.authz)")
check "... and opens the page ($s)" [ "$s" = 200 ]

# figures and logs
curl -s "http://127.0.0.1:$verifier_port/metrics" >metrics.txt
check "metrics count accepted tokens" [ "$(metric_sum metrics.txt agepass_verifier_tokens_accepted_total)" -ge 1 ]
check "metrics count replays" grep -q 'reason="replay"} [1-9]' metrics.txt
check "metrics count unknown keys" grep -q 'reason="unknown_key"} [1-9]' metrics.txt
check "metrics count store errors" grep -q '^agepass_verifier_store_errors_total [1-9]' metrics.txt
nonce_b64=$(cut -c21-40 t1.authz)
check "the verifier log holds no token bytes" bash -c "! grep -qF '$nonce_b64' verifier.log"
check "the verifier log holds no cookie" bash -c "[ -n '${cookie#*=}' ] && ! grep -qF '${cookie#*=}' verifier.log"
[ "$fail" -eq 0 ] || { echo "--- verifier log"; tail -20 verifier.log; echo "--- nginx error log"; tail -5 nginx/error.log; }
finish
