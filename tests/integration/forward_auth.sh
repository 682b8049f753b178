# SPDX-License-Identifier: Apache-2.0
# tests/integration/forward_auth.sh: the checks of verifier_nginx.sh that
# every proxy recipe must pass (Caddy, HAProxy), on a site whose /adult/ part
# is protected. Source it after lib.sh, with $agepass and $work set; then
#   fa_setup                # keys, the site files, Redis; sets $verifier_port, $proxy_port
#   (start the proxy on $proxy_port, asking 127.0.0.1:$verifier_port)
#   fa_start_verifier
#   fa_checks BASE_URL      # no session, token, cookie, replay, Redis down, verifier down
fa_setup() {
    redis_port=$(free_port)
    verifier_port=$(free_port)
    proxy_port=$(free_port)
    start_redis "$redis_port" || exit 2
    "$agepass" keygen --out "$work/issuer" >/dev/null || exit 2
    "$agepass" keygen --out "$work/rogue" >/dev/null || exit 2
    "$agepass" keygen --out "$work/young" >/dev/null || exit 2 # a key of class 16
    mkdir -p "$work/site/adult"
    echo "public page" >"$work/site/index.html"
    echo "ADULT CONTENT 7f3a" >"$work/site/adult/index.html"
    chmod -R a+rX "$work" # the proxy may run its workers as another user
}

fa_start_verifier() {
    "$agepass" verifier serve --state "$work/vstate" --listen "127.0.0.1:$verifier_port" \
        --trust "$work/issuer/issuer-public.der,name=issuer.example,expires=$(date -u -d +30days +%F)" \
        --trust "$work/young/issuer-public.der,name=issuer.example,age=16,expires=$(date -u -d +30days +%F)" --origin localhost \
        --redis "redis://127.0.0.1:$redis_port" 2>"$work/verifier.log" &
    verifier_pid=$!
    pids+=($verifier_pid)
    wait_port "$verifier_port" || { cat "$work/verifier.log"; exit 2; }
}

# status URL [curl args...]: prints the HTTP status, body in body.txt, headers in headers.txt
fa_status() {
    local url=$1
    shift
    curl -s -m 15 -o "$work/body.txt" -D "$work/headers.txt" -w '%{http_code}' "$@" "$url"
}
fa_header() { grep -i "^$1:" "$work/headers.txt" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
fa_no_content() { ! grep -q "ADULT CONTENT" "$work/body.txt"; }

# fa_token NAME KEYDIR: answers the current challenge at $fa_base/adult/ with a token
fa_token() {
    local name=$work/$1 keys=$work/$2 www
    fa_status "$fa_base/adult/" >/dev/null
    www=$(fa_header WWW-Authenticate)
    "$agepass" token parse-header --www-authenticate "$www" --out-challenge "$name.ch" --out-pub "$name.pub" &&
        "$agepass" token request --pub "$keys/issuer-public.der" --challenge "$name.ch" --state "$name.st" --out "$name.req" &&
        "$agepass" token issue --key "$keys/issuer-private.pem" --in "$name.req" --out "$name.resp" &&
        "$agepass" token finalize --state "$name.st" --in "$name.resp" --out "$name.tok" &&
        "$agepass" token header-token --in "$name.tok" >"$name.authz"
}

fa_checks() {
    local s cookie
    fa_base=$1
    check "public page is served" [ "$(fa_status "$fa_base/")" = 200 ]
    s=$(fa_status "$fa_base/adult/")
    check "no session: 401 ($s)" [ "$s" = 401 ]
    check "401 carries a PrivateToken challenge" grep -qi '^WWW-Authenticate: PrivateToken challenge=' "$work/headers.txt"
    check "401 shows the age-check page" grep -q "Age check required" "$work/body.txt"
    check "... and none of the protected content" fa_no_content
    s=$(fa_status "$fa_base/adult/?x=1")
    check "... the verifier's page: one challenge, a strict CSP, no script ($s)" bash -c "[ $s = 401 ] &&
        [ \$(grep -ci '^WWW-Authenticate: PrivateToken challenge=' '$work/headers.txt') = 1 ] &&
        grep -i '^Content-Security-Policy:' '$work/headers.txt' | grep -q \"default-src 'none'\" &&
        ! grep -qi '<script' '$work/body.txt'"
    check "... naming the page wanted on this site (the CLI command)" grep -qF "agepass get $fa_base/adult/?x=1" "$work/body.txt"
    s=$(fa_status "$fa_base/adult/" -H 'Accept-Language: fr-CH, en;q=0.5')
    check "... in the visitor's language ($s)" bash -c "[ $s = 401 ] && grep -q '<html lang=\"fr\">' '$work/body.txt'"

    check "a token for that challenge is made with the CLI" fa_token t1 issuer
    check "the challenge names our key" cmp -s "$work/t1.pub" "$work/issuer/issuer-public.der"
    s=$(fa_status "$fa_base/adult/" -H "Authorization: $(cat "$work/t1.authz")")
    check "the token opens the page: 200 ($s)" [ "$s" = 200 ]
    check "... with the content" grep -q "ADULT CONTENT" "$work/body.txt"
    cookie=$(fa_header Set-Cookie | cut -d';' -f1)
    check "... and the session cookie" [ "${cookie%%=*}" = agepass_session ]
    check "the cookie is HttpOnly, Secure, SameSite=Lax" bash -c "grep -i '^Set-Cookie:' '$work/headers.txt' | grep -q 'HttpOnly; Secure; SameSite=Lax'"
    check "the page the check let through is kept by no cache: private, no-store" \
        [ "$(grep -i '^Cache-Control:' "$work/headers.txt" | cut -d' ' -f2- | tr -d '\r')" = "private, no-store" ]
    s=$(fa_status "$fa_base/adult/" -H "Authorization: $(cat "$work/t1.authz")")
    check "the same token again: refused, 401 ($s)" [ "$s" = 401 ]
    check "... without the content" fa_no_content
    s=$(fa_status "$fa_base/adult/" -H "Cookie: $cookie")
    check "the session cookie opens the page: 200 ($s)" [ "$s" = 200 ]
    s=$(fa_status "$fa_base/adult/" -H "Cookie: ${cookie%?}A")
    check "a forged cookie does not: 401 ($s)" [ "$s" = 401 ]
    s=$(fa_status "$fa_base/adult/" -H "Cookie: $cookie" -H "X-Agepass-Set-Cookie: agepass_session=chosen")
    check "a client cannot make the proxy set a cookie of its choosing ($s)" bash -c "[ $s = 200 ] && ! grep -qi 'chosen' '$work/headers.txt'"
    # the web wallets' way back: the token in a form, as the wallet posts it
    check "a token for the redemption form is made" fa_token t7 issuer
    sed 's/^PrivateToken token="\(.*\)"$/\1/' "$work/t7.authz" | tr -d '\n' >"$work/t7.b64"
    s=$(fa_status "$fa_base/_agepass/redeem" --data-urlencode "token@$work/t7.b64" --data-urlencode "return=/adult/?x=1")
    check "the redemption route: 303 ($s)" [ "$s" = 303 ]
    check "... to the page wanted" [ "$(fa_header Location)" = "/adult/?x=1" ]
    cookie=$(fa_header Set-Cookie | cut -d';' -f1)
    s=$(fa_status "$fa_base/adult/" -H "Cookie: $cookie")
    check "... with a session cookie that opens the page ($s)" [ "$s" = 200 ]
    s=$(fa_status "$fa_base/_agepass/redeem" --data-urlencode "token@$work/t7.b64" --data-urlencode "return=/adult/")
    check "the same form again: refused with the page, 401 ($s)" bash -c "[ $s = 401 ] && grep -q '<html lang=' '$work/body.txt'"
    s=$(fa_status "$fa_base/_agepass/redeem" --data-urlencode "token@$work/t7.b64" --data-urlencode "return=https://evil.example/")
    check "a return path to another site: refused, 400 ($s)" [ "$s" = 400 ]
    check "a token from an untrusted issuer is made" fa_token t2 rogue
    s=$(fa_status "$fa_base/adult/" -H "Authorization: $(cat "$work/t2.authz")")
    check "untrusted issuer: 401 ($s)" [ "$s" = 401 ]

    # The proxy alone may ask for another age class (X-Agepass-Min-Age): a
    # client that sends the header must not lower the class to 16.
    check "a token of the class-16 key is made" fa_token t5 young
    s=$(fa_status "$fa_base/adult/" -H "Authorization: $(cat "$work/t5.authz")" -H "X-Agepass-Min-Age: 16")
    check "a class-16 token with the client's own X-Agepass-Min-Age: 16 is refused ($s)" [ "$s" = 401 ]
    check "... without the content" fa_no_content

    check "a token is made before Redis stops" fa_token t3 issuer
    kill "$redis_pid"
    wait "$redis_pid" 2>/dev/null
    s=$(fa_status "$fa_base/adult/" -H "Authorization: $(cat "$work/t3.authz")" -H 'Accept-Language: de')
    check "the replay store down: 503 ($s)" [ "$s" = 503 ]
    check "... and nothing shown" fa_no_content
    check "... the verifier's page, in the visitor's language" grep -q '<html lang="de">' "$work/body.txt"
    start_redis "$redis_port"
    s=$(fa_status "$fa_base/adult/" -H "Authorization: $(cat "$work/t3.authz")")
    check "Redis back: the same token opens the page ($s)" [ "$s" = 200 ]

    # A verifier that hangs (stopped, its socket still open): 503 after the
    # proxy's timeout (5 s), nothing shown.
    check "a token is made before the verifier hangs" fa_token t6 issuer
    kill -STOP "$verifier_pid"
    s=$(fa_status "$fa_base/adult/" -H "Authorization: $(cat "$work/t6.authz")")
    kill -CONT "$verifier_pid"
    check "the verifier hung: 503 ($s)" [ "$s" = 503 ]
    check "... and nothing shown" fa_no_content

    check "a token is made before the verifier stops" fa_token t4 issuer
    kill "$verifier_pid"
    wait "$verifier_pid" 2>/dev/null
    s=$(fa_status "$fa_base/adult/" -H "Authorization: $(cat "$work/t4.authz")")
    check "the verifier down: 503 ($s)" [ "$s" = 503 ]
    check "... and nothing shown" fa_no_content
    s=$(fa_status "$fa_base/adult/" -H "Cookie: $cookie")
    check "the verifier down, with a session cookie: 503 ($s)" [ "$s" = 503 ]
    check "... and nothing shown" fa_no_content
    check "the public page is still served" [ "$(fa_status "$fa_base/")" = 200 ]
    check "the verifier log holds no token bytes" bash -c "! grep -qF '$(cut -c21-40 "$work/t1.authz")' '$work/verifier.log'"
}
