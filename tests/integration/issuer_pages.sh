#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The issuer's pages for browsers: the development attester's form at
# GET /enroll/dev (only with --insecure-dev-attester, with its warning), its
# form-encoded POST (strict: exactly age=N), the grant page with the grant
# in the machine-readable element the browser extension reads (and for a
# person to see), and the refusal page with its reason in an element too.
# Usage: issuer_pages.sh AGEPASS
here=$(cd "$(dirname "$0")" && pwd)
agepass=$(realpath "${1:?usage: issuer_pages.sh AGEPASS}")
. "$here/lib.sh"
cd "$work" || exit 2

"$agepass" issuer init --state ist --name issuer.example --age-classes 18,16 >/dev/null || exit 2
port=$(free_port)
"$agepass" issuer serve --state ist --listen "127.0.0.1:$port" --insecure-dev-attester 2>issuer.log &
pids+=($!)
wait_port "$port" || { cat issuer.log; exit 2; }
base="http://127.0.0.1:$port"
port2=$(free_port)
"$agepass" issuer serve --state ist --listen "127.0.0.1:$port2" 2>issuer2.log &
pids+=($!)
wait_port "$port2" || { cat issuer2.log; exit 2; }

html='Accept: text/html,application/xhtml+xml'
s=$(curl -s -o form.html -D form.h -w '%{http_code}' -H "$html" "$base/enroll/dev")
check "GET /enroll/dev: the form: 200 ($s)" [ "$s" = 200 ]
check "... as HTML" grep -qi '^Content-Type: text/html' form.h
check "... posting age to /enroll/dev" bash -c "grep -q '<form method=\"post\" action=\"/enroll/dev\">' form.html && grep -q 'name=\"age\"' form.html"
check "... with the development attester's warning" grep -q 'Warning: this issuer runs with --insecure-dev-attester' form.html
check "... and no script" bash -c '! grep -qi "<script" form.html'
s=$(curl -s -o /dev/null -w '%{http_code}' -H "$html" "http://127.0.0.1:$port2/enroll/dev")
check "GET /enroll/dev without --insecure-dev-attester: 404 ($s)" [ "$s" = 404 ]
s=$(curl -s -o /dev/null -w '%{http_code}' -H "$html" -d age=25 "http://127.0.0.1:$port2/enroll/dev")
check "... and its POST too: 404 ($s)" [ "$s" = 404 ]

# the form, as a browser posts it
s=$(curl -s -o grant.html -D grant.h -w '%{http_code}' -H "$html" -d age=25 "$base/enroll/dev")
check "POST age=25 from the form: the grant page: 200 ($s)" [ "$s" = 200 ]
check "... as HTML" grep -qi '^Content-Type: text/html' grant.h
el=$(grep -o '<pre id="agepass-grant"[^>]*>[A-Za-z0-9_-]*</pre>' grant.html)
check "... with the grant in the element id=agepass-grant" [ -n "$el" ]
check "... its age class, tokens and lifetime as data attributes" bash -c \
    "echo '$el' | grep -q 'data-age=\"18\" data-tokens=\"30\" data-expires-in=\"900\"'"
grant=$(echo "$el" | sed 's/.*>\([A-Za-z0-9_-]*\)<\/pre>/\1/')
check "... a 43-character grant" [ "${#grant}" = 43 ]
check "... and a hint for a person without the extension" grep -q 'agepass enroll --grant' grant.html
check "... and no script" bash -c '! grep -qi "<script" grant.html'
"$agepass" token challenge --issuer-name issuer.example --out t.ch
curl -s -o dir.json "$base/.well-known/private-token-issuer-directory"
python3 -c '
import json, base64
k = [k for k in json.load(open("dir.json"))["token-keys"] if k["agepass-age"] == 18][0]
open("pub18.der", "wb").write(base64.urlsafe_b64decode(k["token-key"]))'
"$agepass" token request --pub pub18.der --challenge t.ch --state t.st --out t.req
s=$(curl -s -o t.resp -w '%{http_code}' --data-binary @t.req -H 'Content-Type: application/private-token-request' \
    -H "Authorization: Bearer $grant" "$base/token-request")
check "the page's grant gets a token: 200 ($s)" [ "$s" = 200 ]
check "... that finalizes and verifies" bash -c "'$agepass' token finalize --state t.st --in t.resp --out t.tok && '$agepass' token verify --pub pub18.der --challenge t.ch --in t.tok >/dev/null"
s=$(curl -s -o form.json -w '%{http_code}' -H 'Accept: application/json' -d age=30 "$base/enroll/dev")
check "POST age=30 from a JSON client: JSON: 200 ($s)" bash -c "[ $s = 200 ] && grep -q '\"age\":18' form.json"
s=$(curl -s -o form16.json -w '%{http_code}' -H 'Accept: application/json' -d age=16 "$base/enroll/dev")
check "POST age=16: a grant for class 16 ($s)" bash -c "[ $s = 200 ] && grep -q '\"age\":16' form16.json"

# a 15-year-old, from the form
s=$(curl -s -o teen.html -D teen.h -w '%{http_code}' -H "$html" -d age=15 "$base/enroll/dev")
check "POST age=15 from the form: refused: 403 ($s)" [ "$s" = 403 ]
check "... as an HTML page naming the reason in id=agepass-refused" bash -c \
    "grep -qi '^Content-Type: text/html' teen.h && grep -q '<p id=\"agepass-refused\" data-reason=\"under_age\">' teen.html"
check "... with no grant" bash -c '! grep -q agepass-grant teen.html'

# strict: only exactly age=N (1 to 3 digits, at most 150); all else is 400
for body in 'age=' 'age=abc' 'age=151' 'age=1000' 'age=25&x=1' 'x=1&age=25' 'age=+25' 'age=-1' 'age=2 5' 'AGE=25' 'age=25%00' 'age=1e2'; do
    s=$(curl -s -o bad.txt -w '%{http_code}' -H "$html" --data-raw "$body" "$base/enroll/dev")
    check "POST '$body': refused: 400 ($s)" [ "$s" = 400 ]
done
check "the JSON body still works: 200" bash -c \
    "[ \$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{\"age\": 25}' '$base/enroll/dev') = 200 ]"

curl -s "$base/metrics" >metrics.txt
check "metrics: four enrolments accepted" grep -q '^agepass_issuer_enrolments_accepted_total{source="dev"} 4$' metrics.txt
check "metrics: one under_age" grep -q 'reason="under_age"} 1$' metrics.txt
check "metrics: twelve invalid_evidence" grep -q 'reason="invalid_evidence"} 12$' metrics.txt
check "privacy: the grant is not in the issuer's log" bash -c "! grep -qF '$grant' issuer.log"
finish
