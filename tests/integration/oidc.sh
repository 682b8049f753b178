#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# OpenID Connect enrolment (src/enroll_oidc.c) against a real OpenID
# Provider: the npm oidc-provider on loopback (oidc_provider.mjs), driven
# without a browser (oidc_flow.mjs). The issuer has two providers (two
# instances, op-a and op-b): the start lists them, each enrols, and a
# state begun with one is refused with the other's iss or code. An adult, a year-only birthdate and a
# 15-year-old enrol; tokens are issued and verified; an ES256 client works
# too; a flow started at one issuer instance ends at another sharing its
# state folder; `agepass enroll --oidc` stores the grant; replayed callbacks
# and codes, tampered states and provider errors are refused with their
# reason in the log and the metrics; the stores and logs hold nothing
# personal.
# Usage: oidc.sh AGEPASS
here=$(cd "$(dirname "$0")" && pwd)
agepass=$(realpath "${1:?usage: oidc.sh AGEPASS}")
. "$here/lib.sh"
cd "$work" || exit 2
[ -d "$here/node_modules/oidc-provider" ] || { echo "run: npm ci --prefix tests/integration" >&2; exit 2; }

"$agepass" issuer init --state ist --name issuer.example --age-classes 18,16 >/dev/null || exit 2
head -c 24 /dev/urandom | base64 | tr -d '\n' >client-secret
chmod 600 client-secret
port=$(free_port)
base="http://127.0.0.1:$port"
port_b=$(free_port) # a second instance of the same issuer (same state folder)
port_es=$(free_port) # another issuer, registered for ES256 ID tokens
base_es="http://127.0.0.1:$port_es"

node "$here/oidc_provider.mjs" "$base/enroll/oidc/callback" client-secret "$base_es/enroll/oidc/callback" \
    >op.json 2>op.log &
pids+=($!)
for i in $(seq 1 100); do [ -s op.json ] && break; sleep 0.1; done
op=$(python3 -c 'import json; print(json.loads(open("op.json").readline())["issuer"])') || { cat op.log; exit 2; }
# a second provider (its own keys and codes), same client id and secret
node "$here/oidc_provider.mjs" "$base/enroll/oidc/callback" client-secret >op2.json 2>op2.log &
pids+=($!)
for i in $(seq 1 100); do [ -s op2.json ] && break; sleep 0.1; done
op2=$(python3 -c 'import json; print(json.loads(open("op2.json").readline())["issuer"])') || { cat op2.log; exit 2; }

# the options, as config lines
cat >issuer.conf <<CONF
oidc-provider $op,client_id=agepass-issuer,secret_file=client-secret,scope=openid birthdate,name=op-a
oidc-provider $op2,client_id=agepass-issuer,secret_file=client-secret,name=op-b
public-url $base
CONF

serve_fails() { # EXIT_STATUS MESSAGE ARGS...: issuer serve with ARGS exits with EXIT_STATUS, saying MESSAGE
    local want=$1 says=$2 rc; shift 2
    "$agepass" issuer serve --state ist --listen 127.0.0.1:1 --public-url "$base" "$@" 2>serve-fails.log
    rc=$?
    [ "$rc" -eq "$want" ] && grep -qF -- "$says" serve-fails.log
}
takes='--oidc-provider takes ISSUER_URL,client_id=ID,secret_file=FILE' 
check "serve: --oidc-provider without a client id is a usage error" serve_fails 2 "$takes" --oidc-provider "$op,secret_file=client-secret"
check "serve: ... without a secret file too" serve_fails 2 "$takes" --oidc-provider "$op,client_id=agepass-issuer"
check "serve: ... with an unknown field too" serve_fails 2 "$takes" --oidc-provider "$op,client_id=a,secret_file=client-secret,colour=red"
check "serve: ... with a name outside [a-z0-9.-] too" serve_fails 2 "$takes" --oidc-provider "$op,client_id=a,secret_file=client-secret,name=Op_A"
check "serve: two providers with the same name (both default to the host 127.0.0.1) are refused" serve_fails 2 "two OpenID Connect providers named 127.0.0.1" \
    --oidc-provider "$op,client_id=agepass-issuer,secret_file=client-secret" --oidc-provider "$op2,client_id=agepass-issuer,secret_file=client-secret"
nine=(); for i in 1 2 3 4 5 6 7 8 9; do nine+=(--oidc-provider "$op,client_id=agepass-issuer,secret_file=client-secret,name=op-$i"); done
check "serve: more than 8 providers is a usage error" serve_fails 2 "at most 8 providers" "${nine[@]}"
check "serve: --oidc-provider without --public-url is a usage error" bash -c \
    "'$agepass' issuer serve --state ist --listen 127.0.0.1:1 --oidc-provider '$op,client_id=a,secret_file=client-secret' 2>/dev/null; [ \$? -eq 2 ]"
check "serve: a plain-http --public-url off loopback is a usage error" bash -c \
    "'$agepass' issuer serve --state ist --listen 127.0.0.1:1 --public-url http://ap.example --oidc-provider '$op,client_id=a,secret_file=client-secret' 2>pu.log; [ \$? -eq 2 ] && grep -q 'external https URL' pu.log"
# the lines of docs/enrolment.md parse (their providers and secret files are not here: exit 1, not 2)
sed -n '/^cat > \/etc\/agepass\/issuer.conf/,/^CONF$/p' "$here/../../docs/enrolment.md" | grep -v '^cat\|^CONF' >doc.conf
check "serve: docs/enrolment.md's config block has two oidc-provider lines" [ "$(grep -c '^oidc-provider https://' doc.conf)" = 2 ]
"$agepass" issuer serve --state ist --listen 127.0.0.1:1 --config doc.conf 2>doc.log
check "serve: ... which parse (exit 1 for the missing secret file, not a usage error)" bash -c \
    "[ $? = 1 ] && grep -q '/etc/agepass/op-a-secret' doc.log && ! grep -q 'oidc-provider takes' doc.log"
chmod 644 client-secret
check "serve: a client secret others can read is refused" bash -c \
    "'$agepass' issuer serve --state ist --listen 127.0.0.1:1 --config issuer.conf 2>/dev/null; [ \$? -eq 1 ]"
chmod 600 client-secret
check "serve: an issuer URL whose discovery names another issuer is refused" serve_fails 1 "names another issuer" \
    --oidc-provider "$op/,client_id=agepass-issuer,secret_file=client-secret"
check "serve: plain http to a non-loopback provider is refused" serve_fails 2 "$takes" \
    --oidc-provider "http://op.example,client_id=agepass-issuer,secret_file=client-secret"

"$agepass" issuer serve --state ist --listen "127.0.0.1:$port" --config issuer.conf 2>issuer.log &
pids+=($!)
wait_port "$port" || { cat issuer.log; exit 2; }
"$agepass" issuer serve --state ist --listen "127.0.0.1:$port_b" --config issuer.conf 2>issuer-b.log &
pids+=($!)
wait_port "$port_b" || { cat issuer-b.log; exit 2; }
"$agepass" issuer init --state ist-es --name es.example >/dev/null || exit 2
"$agepass" issuer serve --state ist-es --listen "127.0.0.1:$port_es" \
    --oidc-provider "$op,client_id=agepass-issuer-es,secret_file=client-secret" --public-url "$base_es" \
    --enrol-cap 1 2>issuer-es.log &
pids+=($!)
wait_port "$port_es" || { cat issuer-es.log; exit 2; }

# flow ACCOUNT NAME [PROVIDER]: the person's side, up to the redirect back (NAME.cb)
flow() { OIDC_PROVIDER=${3:-op-a} node "$here/oidc_flow.mjs" "$base" "$1" "$2.cb" 2>>flow.log; }
# callback URL OUT: the HTTP status of agepass's answer to a callback
callback() { curl -s -o "$2" -w '%{http_code}' -H 'Accept: application/json' "$1"; }

s=$(curl -s -o list.json -w '%{http_code}' -H 'Accept: application/json' "$base/enroll/oidc/start")
check "start: without a provider, JSON lists both: 200 ($s)" bash -c "[ $s = 200 ] && python3 -c '
import json, sys
p = json.load(open(\"list.json\"))[\"providers\"]
sys.exit(not ([(x[\"name\"], x[\"issuer\"], x[\"start\"]) for x in p] ==
    [(\"op-a\", \"$op\", \"/enroll/oidc/start?provider=op-a\"), (\"op-b\", \"$op2\", \"/enroll/oidc/start?provider=op-b\")]))'"
s=$(curl -s -o list.html -w '%{http_code}' "$base/enroll/oidc/start")
check "start: ... and a browser gets links to each: 200 ($s)" bash -c "[ $s = 200 ] && grep -q 'href=\"/enroll/oidc/start?provider=op-a\"' list.html && grep -q 'href=\"/enroll/oidc/start?provider=op-b\"' list.html"
s=$(curl -s -o unknown.txt -w '%{http_code}' "$base/enroll/oidc/start?provider=op-c")
check "start: an unknown provider: 404 ($s)" bash -c "[ $s = 404 ] && grep -q 'no such OpenID Connect provider' unknown.txt"
s=$(curl -s -o start.html -D start.h -w '%{http_code}' "$base/enroll/oidc/start?provider=op-a")
check "start: a browser is redirected to the provider: 302 ($s)" [ "$s" = 302 ]
check "... with code flow, PKCE S256, state and nonce" bash -c "grep -i '^Location:' start.h | grep -q \"^Location: $op/auth?response_type=code&client_id=agepass-issuer&.*state=.*&nonce=.*&code_challenge=.*&code_challenge_method=S256\""
s=$(curl -s -o start.json -w '%{http_code}' -H 'Accept: application/json' "$base/enroll/oidc/start?provider=op-a")
check "start: JSON for a client: 200 ($s)" bash -c "[ $s = 200 ] && grep -q '\"authorize_url\":\"$op/auth?' start.json"
s=$(curl -s -o start-b.json -w '%{http_code}' -H 'Accept: application/json' "$base/enroll/oidc/start?provider=op-b")
check "start: provider=op-b goes to the second provider: 200 ($s)" bash -c "[ $s = 200 ] && grep -q '\"authorize_url\":\"$op2/auth?' start-b.json"

# an adult
check "adult: login and consent at the provider, back to agepass" flow acct-adult-q7w3 adult
s=$(callback "$(cat adult.cb)" adult.json)
check "adult: the callback gives a grant: 200 ($s)" [ "$s" = 200 ]
check "... for age class 18" grep -q '"age":18' adult.json
grant=$(python3 -c 'import json; print(json.load(open("adult.json"))["grant"])')

curl -s -o dir.json "$base/.well-known/private-token-issuer-directory"
python3 - <<'PY'
import json, base64
keys = json.load(open("dir.json"))["token-keys"]
k = [k for k in keys if k["agepass-age"] == 18][0]
open("pub18.der", "wb").write(base64.urlsafe_b64decode(k["token-key"]))
PY
"$agepass" token challenge --issuer-name issuer.example --out t.ch &&
    "$agepass" token request --pub pub18.der --challenge t.ch --state t.st --out t.req
s=$(curl -s -o t.resp -w '%{http_code}' --data-binary @t.req -H 'Content-Type: application/private-token-request' \
    -H "Authorization: Bearer $grant" "$base/token-request")
check "adult: a token request with the OIDC grant: 200 ($s)" [ "$s" = 200 ]
check "... finalized by the client" "$agepass" token finalize --state t.st --in t.resp --out t.tok
check "... and verified by an origin" "$agepass" token verify --pub pub18.der --challenge t.ch --in t.tok

# an adult through the second provider
check "op-b: login and consent at the second provider" flow acct-adult-q7w3 adult-b op-b
check "op-b: its callback comes from the second provider" grep -q "iss=$(python3 -c 'import sys,urllib.parse as u; print(u.quote(sys.argv[1], safe=""))' "$op2")" adult-b.cb
s=$(callback "$(cat adult-b.cb)" adult-b.json)
check "op-b: the callback gives a grant for 18: 200 ($s)" bash -c "[ $s = 200 ] && grep -q '\"age\":18' adult-b.json"

# a state begun with op-a, finished with op-b's iss or code
check "cross: a flow with op-a" flow acct-adult-q7w3 cross-a op-a
check "cross: a flow with op-b" flow acct-adult-q7w3 cross-b op-b
q() { python3 -c 'import sys,urllib.parse as u; print(u.quote(u.parse_qs(u.urlparse(open(sys.argv[1]).read()).query)[sys.argv[2]][0], safe=""))' "$@"; }
s=$(callback "$base/enroll/oidc/callback?code=$(q cross-a.cb code)&state=$(q cross-a.cb state)&iss=$(q cross-b.cb iss)" cross1.json)
check "cross: op-a's state and code with op-b's iss (RFC 9207): 400 ($s)" bash -c "[ $s = 400 ] && grep -q invalid_evidence cross1.json"
check "... logged as from another issuer than the state's provider" grep -q "callback from another issuer than the state's provider" issuer.log
s=$(callback "$base/enroll/oidc/callback?code=$(q cross-b.cb code)&state=$(q cross-a.cb state)&iss=$(q cross-a.cb iss)" cross2.json)
check "cross: op-a's state with op-b's code: op-a refuses the code: 400 ($s)" bash -c "[ $s = 400 ] && grep -q invalid_evidence cross2.json"
check "... at op-a's token endpoint" bash -c "[ \$(grep -c 'the token endpoint of op-a refused the code' issuer.log) = 1 ]"
s=$(callback "$(cat cross-b.cb)" cross3.json)
check "cross: op-b's own callback still gives a grant: 200 ($s)" bash -c "[ $s = 200 ] && grep -q grant cross3.json"

# the client: `agepass enroll --oidc` prints the login address, reads the
# grant the callback page shows (HTML here, as a browser gets it)
"$agepass" enroll --issuer "$base" --oidc --wallet wallet.json </dev/null >enroll-list.out 2>enroll-list.err
check "client: enroll --oidc without --provider lists them: exit 2" bash -c \
    "[ $? = 2 ] && grep -q '^  op-a  ($op)' enroll-list.err && grep -q '^  op-b  ($op2)' enroll-list.err"
check "client: enroll --oidc --provider op-c (unknown) is refused: exit 1" bash -c \
    "'$agepass' enroll --issuer '$base' --oidc --provider op-c --wallet wallet.json </dev/null 2>&1 | grep -q 'no OpenID Connect provider of that name'; [ \${PIPESTATUS[0]} = 1 ]"
mkfifo grant.fifo
"$agepass" enroll --issuer "$base" --oidc --provider op-a --wallet wallet.json <grant.fifo >enroll.out 2>enroll.err &
enroll_pid=$!
exec 7>grant.fifo
for i in $(seq 1 50); do grep -q "$op/auth?" enroll.out 2>/dev/null && break; sleep 0.1; done
authz=$(grep -o "$op/auth?[^ ]*" enroll.out)
check "client: enroll --oidc prints the provider's login address" [ -n "$authz" ]
check "client: login and consent from that address" node "$here/oidc_flow.mjs" "$base" acct-adult-q7w3 client.cb "$authz"
s=$(curl -s -o client.html -w '%{http_code}' -H 'Accept: text/html' "$(cat client.cb)")
check "client: the callback page (HTML): 200 ($s)" [ "$s" = 200 ]
page_grant=$(sed -n 's/.*<pre[^>]*>\([A-Za-z0-9_-]*\)<\/pre>.*/\1/p' client.html)
check "... shows a grant" [ "${#page_grant}" = 43 ]
echo "$page_grant" >&7
exec 7>&-
wait "$enroll_pid"
check "client: enroll --oidc stores the pasted grant: exit 0" grep -q 'enrolled with' enroll.out
check "client: fetch gets tokens with it" "$agepass" fetch --issuer "$base" --count 2 --wallet wallet.json
check "client: the wallet holds 2 tokens" bash -c "'$agepass' wallet --wallet wallet.json | grep -q '2 token'"
check "client: --grant that is not a grant is a usage error" bash -c \
    "'$agepass' enroll --issuer '$base' --oidc --grant short --wallet wallet.json 2>/dev/null; [ \$? -eq 2 ]"

# ES256 ID tokens, through the whole flow
check "ES256: login and consent" node "$here/oidc_flow.mjs" "$base_es" acct-adult-q7w3 es.cb
s=$(callback "$(cat es.cb)" es.json)
check "ES256: a grant: 200 ($s)" bash -c "[ $s = 200 ] && grep -q '\"age\":18' es.json"
check "ES256: the provider did sign that ID token with ES256" grep -q 'id_token alg ES256 client agepass-issuer-es' op.log
check "RS256: and the others with RS256" grep -q 'id_token alg RS256 client agepass-issuer$' op.log

# the enrolment cap (that issuer has --enrol-cap 1): per person, per day
check "enrol cap: the same adult logs in again" node "$here/oidc_flow.mjs" "$base_es" acct-adult-q7w3 es2.cb
s=$(callback "$(cat es2.cb)" es2.json)
check "enrol cap: a second enrolment of the same person the same day: 429 ($s)" \
    bash -c "[ $s = 429 ] && grep -q over_quota es2.json"
check "enrol cap: another person" node "$here/oidc_flow.mjs" "$base_es" acct-year-m5x1 es3.cb
s=$(callback "$(cat es3.cb)" es3.json)
check "enrol cap: ... still enrols: 200 ($s)" bash -c "[ $s = 200 ] && grep -q grant es3.json"
check "enrol cap: counted as over_quota" bash -c \
    "curl -s '$base_es/metrics' | grep -q 'enrolments_refused_total{source=\"[a-z0-9.-]*\",reason=\"over_quota\"} 1$'"

# no session on the issuer: a flow started at one instance ends at another
# sharing the state folder, and a replay across them is still refused
check "two instances: login and consent (started at the first)" flow acct-year-m5x1 shared
s=$(callback "$(sed "s/127.0.0.1:$port/127.0.0.1:$port_b/" shared.cb)" shared.json)
check "two instances: the second ends it: 200 ($s)" bash -c "[ $s = 200 ] && grep -q grant shared.json"
s=$(callback "$(cat shared.cb)" shared2.json)
check "two instances: the same callback at the first: 409 ($s)" bash -c "[ $s = 409 ] && grep -q reused_evidence shared2.json"

# replays
s=$(callback "$(cat adult.cb)" replay.json)
check "a replayed callback (same code and state): 409 ($s)" bash -c "[ $s = 409 ] && grep -q reused_evidence replay.json"
fresh_state=$(curl -s -H 'Accept: application/json' "$base/enroll/oidc/start?provider=op-a" |
    python3 -c 'import json,sys,urllib.parse as u; q=u.parse_qs(u.urlparse(json.load(sys.stdin)["authorize_url"]).query); print(q["state"][0])')
code=$(python3 -c 'import sys,urllib.parse as u; print(u.parse_qs(u.urlparse(open("adult.cb").read()).query)["code"][0])')
s=$(callback "$base/enroll/oidc/callback?code=$code&state=$fresh_state" code-replay.json)
check "a replayed code under a fresh state: the provider refuses it: 400 ($s)" bash -c "[ $s = 400 ] && grep -q invalid_evidence code-replay.json"

# a year-only birthdate (2000: 31 December 2000) and a 15-year-old
check "year-only: login and consent" flow acct-year-m5x1 year
s=$(callback "$(cat year.cb)" year.json)
check "year-only birthdate 2000: a grant for 18: 200 ($s)" bash -c "[ $s = 200 ] && grep -q '\"age\":18' year.json"
check "15-year-old: login and consent" flow acct-teen-k2z9 teen
s=$(callback "$(cat teen.cb)" teen.json)
check "15-year-old: refused: 403 ($s)" bash -c "[ $s = 403 ] && grep -q under_age teen.json"

# tampered and foreign callbacks
check "tamper: login and consent" flow acct-adult-q7w3 tamper
bad=$(python3 -c '
import urllib.parse as u
url = open("tamper.cb").read(); p = u.urlparse(url); q = u.parse_qs(p.query)
s = q["state"][0]; q["state"] = [s[:10] + ("A" if s[10] != "A" else "B") + s[11:]]
print(p._replace(query=u.urlencode({k: v[0] for k, v in q.items()})).geturl())')
s=$(callback "$bad" tampered.json)
check "a tampered state: 400 ($s)" bash -c "[ $s = 400 ] && grep -q invalid_evidence tampered.json"
s=$(callback "$(cat tamper.cb)" tamper.json)
check "... the untampered callback still works afterwards: 200 ($s)" [ "$s" = 200 ]
s=$(callback "$base/enroll/oidc/callback?error=access_denied&state=x" denied.json)
check "a provider error (access_denied): 400 ($s)" bash -c "[ $s = 400 ] && grep -q invalid_evidence denied.json"
s=$(callback "$base/enroll/oidc/callback?code=abc" nostate.json)
check "a callback without state: 400 ($s)" [ "$s" = 400 ]
s=$(callback "$base/enroll/oidc/callback?code=abc&state=$fresh_state&iss=http%3A%2F%2Fevil.example" mixup.json)
check "a callback naming another issuer (RFC 9207): 400 ($s)" [ "$s" = 400 ]

s=$(curl -s -o /dev/null -w '%{http_code}' "$base/.well-known/private-token-issuer-directory")
check "the issuer keeps serving: 200 ($s)" [ "$s" = 200 ]
curl -s "$base/metrics" >metrics.txt
check "metrics: six enrolments accepted (this instance)" [ "$(metric_sum metrics.txt agepass_issuer_enrolments_accepted_total)" = 6 ]
check "metrics: one under_age" [ "$(metric_sum metrics.txt agepass_issuer_enrolments_refused_total 'reason="under_age"')" = 1 ]
check "metrics: two reused_evidence" [ "$(metric_sum metrics.txt agepass_issuer_enrolments_refused_total 'reason="reused_evidence"')" = 2 ]
check "metrics: seven invalid_evidence" [ "$(metric_sum metrics.txt agepass_issuer_enrolments_refused_total 'reason="invalid_evidence"')" = 7 ]
# per evidence source (issue 15): op-b's two grants (adult-b, cross3) under its
# name, the cross-provider attacks under the state's provider (op-a), the
# callbacks with no state of ours under "oidc" (two providers: unattributable)
check "metrics: op-b's two enrolments under source op-b" grep -q '^agepass_issuer_enrolments_accepted_total{source="op-b"} 2$' metrics.txt
check "metrics: four under op-a" grep -q '^agepass_issuer_enrolments_accepted_total{source="op-a"} 4$' metrics.txt
check "metrics: the minor under op-a" grep -q '^agepass_issuer_enrolments_refused_total{source="op-a",reason="under_age"} 1$' metrics.txt
check "metrics: the 3 callbacks with no state of ours under oidc" grep -q '^agepass_issuer_enrolments_refused_total{source="oidc",reason="invalid_evidence"} 3$' metrics.txt
check "metrics: attempts = accepted + refused, for each source (op-a, op-b, oidc only)" python3 - metrics.txt <<'EOF'
import re, sys
page = open(sys.argv[1]).read()
def by(name):
    out = {}
    for src, v in re.findall(r'^%s\{source="([^"]+)"[^}]*\} (\d+)$' % name, page, re.M):
        out[src] = out.get(src, 0) + int(v)
    return out
att, acc, ref = (by('agepass_issuer_enrolments_%s_total' % n) for n in ('attempts', 'accepted', 'refused'))
assert sorted(att) == ['oidc', 'op-a', 'op-b'], att
assert all(att[s] == acc[s] + ref[s] for s in att), (att, acc, ref)
EOF
check "log: each refusal with its reason" bash -c "[ \$(grep -c 'enrolment refused: invalid_evidence' issuer.log) = 7 ] && grep -q 'the token endpoint of op-a refused the code' issuer.log && grep -q 'state not made by this issuer' issuer.log"

# privacy: nothing of the accounts in the store files or the log
python3 - >secrets.txt <<'PY'
import json
for sub, a in json.loads(open("op.json").readline())["accounts"].items():
    print(sub); print(a["birthdate"] if len(a["birthdate"]) > 4 else '"2000"'); print(a["name"]); print(a["email"])
print("Adelaide"); print("Quartermaine"); print("adelaide.q")
PY
for f in adult tamper year teen es shared adult-b cross-a cross-b; do
    python3 -c 'import sys,urllib.parse as u; print(u.parse_qs(u.urlparse(open(sys.argv[1]).read()).query)["code"][0])' "$f.cb" >>secrets.txt
done
check "privacy: 12 values of the accounts, 3 name parts and 9 codes to look for" [ "$(wc -l <secrets.txt)" = 24 ]
check "privacy: the search finds these values where they are (the provider's account list)" grep -qaF -f secrets.txt op.json
ls ist/store.sqlite* >store-files.txt
check "privacy: the store files exist (store.sqlite and its -wal)" grep -q 'store.sqlite-wal' store-files.txt
check "privacy: no birthdate, sub, name, e-mail or code in the store files (raw bytes)" bash -c "! grep -qaF -f secrets.txt ist/store.sqlite* ist-es/store.sqlite*"
check "privacy: ... nor in their strings" bash -c "! cat ist/store.sqlite* ist-es/store.sqlite* | strings -n 4 | grep -qF -f secrets.txt"
check "privacy: ... nor in the issuers' logs" bash -c "! grep -qaF -f secrets.txt issuer.log issuer-b.log issuer-es.log"
check "privacy: the logs name no birthdate claim at all" bash -c "! grep -qi birthdate issuer.log issuer-b.log issuer-es.log"
kill "${pids[@]}" 2>/dev/null
wait 2>/dev/null
sed -n '2,$p' op.json >>op.log
check "the issuers stopped cleanly, no sanitizer report in their logs" bash -c "! grep -q 'Sanitizer' issuer.log issuer-b.log issuer-es.log && [ \$(grep -l 'stopping' issuer.log issuer-b.log issuer-es.log | wc -l) = 3 ]"
check "privacy: after shutdown, still nothing in any store file" bash -c "! grep -qaF -f secrets.txt ist/store.sqlite* ist-es/store.sqlite*"
finish
