#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The age-check page and the redemption route (issue 12) through the
# shipped nginx snippets: the verifier renders the 401 and 503 pages in the
# visitor's language, with a button per trusted provider's web wallet, and
# POST /_agepass/redeem opens a session then sends the browser back to a
# path of the same site only. All on loopback. Usage: age_page.sh AGEPASS
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
agepass=$(realpath "${1:?usage: age_page.sh AGEPASS}")
. "$here/lib.sh"
cd "$work" || exit 2

verifier_port=$(free_port)
nginx_port=$(free_port)
"$agepass" keygen --out issuer >/dev/null || exit 2
mkdir -p site/adult site/.well-known
echo "ADULT CONTENT 7f3a" >site/adult/index.html
start_nginx "$verifier_port" "$nginx_port" || exit 2
base="http://127.0.0.1:$nginx_port"
# the issuer's directory, with the agepass-wallet-url member added
"$agepass" token directory --request-uri "https://issuer.example/token-request" \
    --pub "issuer/issuer-public.der,age=18,not-before=$(date +%s)" --out dir.json || exit 2
sed 's|}$|,"agepass-wallet-url":"https://wallet.example/app/"}|' dir.json >site/.well-known/private-token-issuer-directory
start_verifier() {
    "$agepass" verifier serve --state vstate --listen "127.0.0.1:$verifier_port" \
        --trust "$base/.well-known/private-token-issuer-directory,name=issuer.example" \
        --origin 127.0.0.1 --cross-origin "$@" 2>>verifier.log &
    verifier_pid=$!
    pids+=($verifier_pid)
    wait_port "$verifier_port"
}
start_verifier || { cat verifier.log; exit 2; }

status() {
    local url=$1
    shift
    curl -s -o body.txt -D headers.txt -w '%{http_code}' "$@" "$url"
}
header() { grep -i "^$1:" headers.txt | head -1 | cut -d' ' -f2- | tr -d '\r'; }

s=$(status "$base/adult/?x=1" -H 'Accept-Language: en-GB,en;q=0.8')
check "protected page without a token: 401 ($s)" [ "$s" = 401 ]

check "... one WWW-Authenticate header, a PrivateToken challenge" \
    [ "$(grep -ci '^WWW-Authenticate: PrivateToken challenge=' headers.txt)" = 1 ]
check "... an HTML page" bash -c "grep -qi '^Content-Type: text/html; charset=utf-8' headers.txt"
check "... none of the protected content" bash -c '! grep -q "ADULT CONTENT" body.txt'
check "... a strict CSP: no script, the one stylesheet by hash" \
    bash -c "grep -i '^Content-Security-Policy:' headers.txt | grep -q \"default-src 'none'; style-src 'sha256-\""
check "... no script element" bash -c '! grep -qi "<script" body.txt'
check "... no third-party resource (src= or link to another host)" \
    bash -c '! grep -Eiq "(src|srcset)=|<link" body.txt'
check "... in English" grep -q '<html lang="en">' body.txt
check "... with a button to the provider's web wallet" \
    grep -q 'href="https://wallet.example/app/#challenge=PrivateToken%20challenge%3D' body.txt
check "... naming the provider" grep -q "issuer.example</a>" body.txt
check "... the redemption URL and the path wanted in the fragment" \
    grep -q "&amp;redeem=http%3A%2F%2F127.0.0.1%3A$nginx_port%2F_agepass%2Fredeem&amp;return=%2Fadult%2F%3Fx%3D1\"" body.txt
check "... the CLI command" grep -q "agepass get http://127.0.0.1:$nginx_port/adult/?x=1" body.txt
www=$(header WWW-Authenticate)
check "... the challenge in the button is the one in the header" \
    grep -q "challenge=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$www")&amp;" body.txt

for l in fr:fr-CH de:de-DE,en es:es it:it-IT,it\;q=0.9 en:pt-BR en:'!!!' fr:'en;q=0.1, fr;q=0.9'; do
    want=${l%%:*}
    s=$(status "$base/adult/" -H "Accept-Language: ${l#*:}")
    check "Accept-Language '${l#*:}': the page in $want ($s)" grep -q "<html lang=\"$want\">" body.txt
done
status "$base/adult/" -H 'Accept-Language: fr' >/dev/null
check "the French page is in French" grep -q "Vérification d’âge requise" body.txt

# a token for the cross-origin challenge, made with the CLI, sent by the form
make_token() { # NAME
    local www
    status "$base/adult/" >/dev/null
    www=$(header WWW-Authenticate)
    "$agepass" token parse-header --www-authenticate "$www" --cross-origin --out-challenge "$1.ch" --out-pub "$1.pub" 2>/dev/null ||
        "$agepass" token parse-header --www-authenticate "$www" --out-challenge "$1.ch" --out-pub "$1.pub" || return 1
    "$agepass" token request --pub issuer/issuer-public.der --challenge "$1.ch" --state "$1.st" --out "$1.req" &&
        "$agepass" token issue --key issuer/issuer-private.pem --in "$1.req" --out "$1.resp" &&
        "$agepass" token finalize --state "$1.st" --in "$1.resp" --out "$1.tok" &&
        "$agepass" token header-token --in "$1.tok" | sed 's/^PrivateToken token="\(.*\)"$/\1/' | tr -d '\n' >"$1.b64"
}
redeem() { # TOKEN_FILE RETURN [curl args]
    local tok=$1 ret=$2
    shift 2
    status "$base/_agepass/redeem" --data-urlencode "token@$tok" --data-urlencode "return=$ret" \
        -H 'Origin: https://wallet.example' "$@"
}
check "a token is made" make_token t1
s=$(redeem t1.b64 '/adult/?x=1')
check "redemption form: 303 ($s)" [ "$s" = 303 ]
check "... to the path wanted" [ "$(header Location)" = "/adult/?x=1" ]
check "... with a session cookie, SameSite=Lax" \
    bash -c "grep -i '^Set-Cookie: agepass_session=' headers.txt | grep -q 'SameSite=Lax'"
cookie=$(header Set-Cookie | cut -d';' -f1)
s=$(status "$base/adult/" -H "Cookie: $cookie")
check "the cookie opens the page ($s)" [ "$s" = 200 ]
check "... with the content" grep -q "ADULT CONTENT" body.txt
s=$(redeem t1.b64 '/adult/')
check "the same form again: refused, 401 ($s)" [ "$s" = 401 ]
check "... no cookie" bash -c "! grep -qi '^Set-Cookie:' headers.txt"
check "... no Location" bash -c "! grep -qi '^Location:' headers.txt"

check "a second token is made" make_token t2
for bad in 'https://evil.example/' '//evil.example/' '/\evil.example' '\/evil.example' \
    "/%2F%2Fevil.example" $'/\tx' $'/\r\nSet-Cookie: a=b' 'adult/' '' 'javascript:alert(1)' \
    'http:/evil.example' "/$(head -c 2100 /dev/zero | tr '\0' a)"; do
    s=$(redeem t2.b64 "$bad")
    check "return path '$(printf %q "$bad" | head -c 40)': refused, 400 ($s)" [ "$s" = 400 ]
    check "... no Location, no cookie" bash -c "! grep -qiE '^(Location|Set-Cookie):' headers.txt"
done
s=$(redeem t2.b64 '/adult/' -H 'Content-Type: text/plain')
check "another content type: refused ($s)" [ "$s" = 400 ]
s=$(status "$base/_agepass/redeem" --data-urlencode "token@t2.b64" --data-urlencode "return=/adult/" --data 'x=1')
check "an unknown field: refused ($s)" [ "$s" = 400 ]
s=$(status "$base/_agepass/redeem" --data-urlencode "token@t2.b64" --data-urlencode "return=/adult/" --data-urlencode "return=/b")
check "a field twice: refused ($s)" [ "$s" = 400 ]
s=$(status "$base/_agepass/redeem" --data "token=AAAA&return=%2Fadult%2F")
check "a broken token: refused, 401 ($s)" [ "$s" = 401 ]
s=$(status "$base/_agepass/redeem" --data "token=$(head -c 5000 /dev/zero | tr '\0' A)&return=/")
check "an oversized form: refused ($s)" one_of "$s" 400 413
s=$(redeem t2.b64 '/adult/')
check "the refused forms did not spend the token: 303 ($s)" [ "$s" = 303 ]
curl -s "http://127.0.0.1:$verifier_port/metrics" >metrics.txt
check "form redemptions are counted as tokens accepted" [ "$(metric_sum metrics.txt agepass_verifier_tokens_accepted_total)" = 2 ]
check "... and the replay as a replay refusal" grep -q 'reason="replay"} 1$' metrics.txt
check "the verifier log names no token" bash -c "! grep -qF \"\$(head -c 40 t1.b64)\" verifier.log"

# the operator's template: another logo and colours, no rebuild
cp -r "$repo/deploy/pages" mypages
sed -i 's/#1f3a5f/#5a1f3a/g' mypages/style.css
echo '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" role="img" aria-label="Shop"><rect width="10" height="10" fill="#ffffff"/></svg>' >mypages/logo.svg
kill "$verifier_pid"
wait "$verifier_pid" 2>/dev/null
start_verifier --page-template mypages --redeem-url https://shop.example/_agepass/redeem || exit 2
status "$base/adult/" >/dev/null
check "--redeem-url: the wallet button names it" grep -q 'redeem=https%3A%2F%2Fshop.example%2F_agepass%2Fredeem&amp;' body.txt
check "... and the CLI line its site" grep -q 'agepass get https://shop.example/adult/' body.txt
check "an operator template: its colours" grep -q '#5a1f3a' body.txt
check "... and its logo" grep -q 'aria-label="Shop"' body.txt
check "... the CSP names the new stylesheet" \
    [ "$(grep -i '^Content-Security-Policy:' headers.txt | grep -o "sha256-[^']*")" = "sha256-$(sed -n '/<style>/,/<\/style>/p' body.txt | python3 -c 'import sys,hashlib,base64;t=sys.stdin.read();t=t[t.index("<style>")+7:t.rindex("</style>")];print(base64.b64encode(hashlib.sha256(t.encode()).digest()).decode())')" ]

# broken templates and catalogues stop the verifier at start, saying which file
bad_start() { # DESCRIPTION SETUP...: the verifier must refuse to start
    local what=$1
    shift
    rm -rf badpages
    cp -r "$repo/deploy/pages" badpages
    "$@"
    if timeout 5 "$agepass" verifier serve --state vstate2 --listen "127.0.0.1:$(free_port)" \
        --trust "issuer/issuer-public.der,name=issuer.example,expires=$(date -u -d +30days +%F)" --page-template badpages 2>bad.log; then
        not_ok "$what: started"
    else
        check "$what: refused at start" grep -q "badpages" bad.log
    fi
}
bad_start "a catalogue missing a key" sed -i '/^lead=/d' badpages/i18n/de.txt
bad_start "a catalogue with a duplicate key" bash -c 'echo "title=x" >>badpages/i18n/it.txt'
bad_start "a catalogue line without =" bash -c 'echo "title x" >>badpages/i18n/es.txt'
bad_start "a catalogue not in UTF-8" bash -c 'printf "title=\xe9t\xe9\n" >>badpages/i18n/fr.txt'
bad_start "a catalogue without its final newline" bash -c 'printf "zz=1" >>badpages/i18n/en.txt'
bad_start "a missing catalogue" rm badpages/i18n/it.txt
bad_start "a template with an unknown placeholder" bash -c 'echo "{{nope}}" >>badpages/required.html'
bad_start "a template with a broken placeholder" bash -c 'echo "{{title" >>badpages/unavailable.html'
bad_start "a missing template" rm badpages/wallet.html

# unavailable: the replay store gone (a file store we make unwritable is
# not portable as root), so stop the verifier: nginx answers 503 itself
kill "$verifier_pid"
wait "$verifier_pid" 2>/dev/null
s=$(status "$base/adult/" -H 'Accept-Language: de')
check "verifier down: 503 ($s)" [ "$s" = 503 ]
check "... nginx's own short text" grep -q "unavailable right now" body.txt
check "... none of the protected content" bash -c '! grep -q "ADULT CONTENT" body.txt'
s=$(redeem t2.b64 '/adult/')

check "verifier down: no redemption ($s)" one_of "$s" 502 503 504
finish
