#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/privacy_client.sh: the client's privacy rules against a
# real issuer and real verifiers (docs/privacy.md):
#  - get never asks the issuer for a token at visit time without --mint-now
#    (the issuer's requests are counted by a relay in front of it), and says
#    what to do; with --mint-now it does, and says the provider sees the time;
#  - a site's class-16 challenge is answered by a class-18 wallet token of a
#    key the site lists; a key the site does not list is never spent;
#  - fetch --auto: a refill time drawn at random, fetching only once it has come;
#  - directories: read again when due, refused with two current keys for one
#    class, the keys read before kept;
#  - --proxy: everything sent to the issuer goes through a loopback HTTP
#    CONNECT proxy (tcp_proxy.py), and nothing without it.
# Usage: privacy_client.sh AGEPASS
here=$(cd "$(dirname "$0")" && pwd)
agepass=$(realpath "${1:?usage: privacy_client.sh AGEPASS}")
. "$here/lib.sh"
cd "$work" || exit 2

# start_helper MODE NAME [TARGET]: tcp_proxy.py in the background; sets $helper_port
start_helper() {
    python3 "$here/tcp_proxy.py" "$1" "$work/$2.port" "$work/$2.log" ${3:-} &
    pids+=($!)
    local i
    for i in $(seq 100); do [ -s "$work/$2.port" ] && break; sleep 0.05; done
    helper_port=$(cat "$work/$2.port")
}
# requests to the issuer through the relay, of one kind
count() { grep -c "$1" "$work/relay.log" 2>/dev/null || true; }

iport=$(free_port)
"$agepass" issuer init --state ist --name issuer.example --age-classes 18,16 >/dev/null || exit 2
"$agepass" issuer serve --state ist --listen "127.0.0.1:$iport" --insecure-dev-attester --day-cap 200 2>issuer.log &
pids+=($!)
wait_port "$iport" || exit 2
start_helper relay relay "$iport"
issuer="http://127.0.0.1:$helper_port" # the client reaches the issuer only through the relay
dir_url="http://127.0.0.1:$iport/.well-known/private-token-issuer-directory"
curl -s -o dir.json "$dir_url"
python3 - <<'PY' || exit 2
import base64, json, time
for k in json.load(open("dir.json"))["token-keys"]:
    raw = base64.urlsafe_b64decode(k["token-key"] + "=" * (-len(k["token-key"]) % 4))
    when = "cur" if k["not-before"] <= time.time() else "next"
    open("pub%d-%s.der" % (k["agepass-age"], when), "wb").write(raw)
PY

exp=$(date -u -d +30days +%F) # the day the key files stop being trusted
# verifiers: site-bound only (--site-bound); cross-origin, 16+, listing the class-18 key;
# cross-origin, 16+, listing only the class-16 key
vport=$(free_port)
"$agepass" verifier serve --state v1 --listen "127.0.0.1:$vport" --origin 127.0.0.1 --site-bound \
    --trust "pub18-cur.der,name=issuer.example,expires=$exp" 2>v1.log &
pids+=($!)
v18=$(free_port)
"$agepass" verifier serve --state v2 --listen "127.0.0.1:$v18" --origin 127.0.0.1 --cross-origin \
    --min-age 16 --trust "pub18-cur.der,name=issuer.example,age=16,expires=$exp" 2>v2.log &
pids+=($!)
v16=$(free_port)
"$agepass" verifier serve --state v3 --listen "127.0.0.1:$v16" --origin 127.0.0.1 --cross-origin \
    --min-age 16 --trust "pub16-cur.der,name=issuer.example,age=16,expires=$exp" 2>v3.log &
pids+=($!)
wait_port "$vport" && wait_port "$v18" && wait_port "$v16" || exit 2
export AGEPASS_WALLET="$work/home/wallet.json"

check "an adult enrols (through the relay)" "$agepass" enroll --issuer "$issuer" --dev-age 30
check "... the wallet keeps the directory's next refresh, 12 to 36 h on" python3 -c "
import json, sys, time
e = json.load(open(sys.argv[1]))['issuers'][sys.argv[2]]
sys.exit(not (time.time() + 12 * 3600 - 5 <= e['directory-next'] <= time.time() + 36 * 3600 + 5))" "$AGEPASS_WALLET" "$issuer"

# fetch --auto: nothing at once; a refill time in the window; fetched once it has come
before=$(count token-request)
check "fetch --auto with an empty wallet schedules a refill, fetches nothing" bash -c "'$agepass' fetch --auto --window 3600 >auto1.out && grep -q 'refill due in' auto1.out"
check "... and sent no token request" [ "$(count token-request)" = "$before" ]
at() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["issuers"][sys.argv[2]].get("refill-at", 0))' "$AGEPASS_WALLET" "$issuer"; }
a=$(at)
check "... the schedule is in the wallet (refill-at, within the window: $((a - $(date +%s))) s)" python3 -c "
import sys, time
sys.exit(not (time.time() - 5 <= int(sys.argv[1]) <= time.time() + 3600))" "$a"
"$agepass" fetch --auto --window 3600 >auto2.out
check "a second run before that time keeps the same schedule, fetches nothing" bash -c "[ '$(at)' = '$a' ] && grep -q 'refill due in' auto2.out && [ \$(grep -c token-request relay.log) = $before ]"
python3 - "$AGEPASS_WALLET" "$issuer" <<'PY'
import json, sys, time
w = json.load(open(sys.argv[1])); w["issuers"][sys.argv[2]]["refill-at"] = int(time.time()) - 1
json.dump(w, open(sys.argv[1], "w"))
PY
check "once the time has come, fetch --auto fetches 30 tokens" bash -c "'$agepass' fetch --auto | grep -q 'fetched 30 of 30 tokens for age 18'"
check "... and drops the schedule" python3 -c "
import json, sys
sys.exit('refill-at' in json.load(open(sys.argv[1]))['issuers'][sys.argv[2]])" "$AGEPASS_WALLET" "$issuer"
check "a full wallet: no refill due" bash -c "'$agepass' fetch --auto | grep -q 'no refill due'"
check "--low/--window without --auto is a usage error" bash -c "'$agepass' fetch --issuer '$issuer' --low 3 2>/dev/null; [ \$? -eq 2 ]"

# get: the site-bound-only site, without and with --mint-now
before=$(count token-request)
"$agepass" get "http://127.0.0.1:$vport/" -o /dev/null 2>bound.err
check "a site-bound-only site without --mint-now: refused (exit 1)" [ $? -eq 1 ]
check "... saying why and what to do" bash -c "grep -q 'let the age provider see when you visit' bound.err && grep -q -- '--mint-now' bound.err"
check "... having sent nothing to the issuer" [ "$(count token-request)" = "$before" ]
check "... and spent no wallet token" bash -c "'$agepass' wallet | grep -q 'over 18: 30 tokens'"
check "with --mint-now: the page, and a warning that the provider sees the time" bash -c "'$agepass' get 'http://127.0.0.1:$vport/' --mint-now -o /dev/null 2>mint.err && grep -q 'the provider sees the time of this visit' mint.err"
check "... one token request reached the issuer" [ "$(count token-request)" = "$((before + 1))" ]

# classes: a 16+ site listing the class-18 key takes a class-18 wallet token; one listing only
# the class-16 key gets none of them (a key the site does not list is never spent)
before=$(count token-request)
check "a 16+ site that lists the class-18 key: a class-18 wallet token opens it" bash -c "'$agepass' get 'http://127.0.0.1:$v18/' -o /dev/null 2>c18.err && grep -q 'wallet token' c18.err"
check "... one token spent" bash -c "'$agepass' wallet | grep -q 'over 18: 29 tokens'"
"$agepass" get "http://127.0.0.1:$v16/" -o /dev/null 2>c16.err
check "a 16+ site that lists only the class-16 key: no token of another key is spent (exit 1)" [ $? -eq 1 ]
check "... the wallet keeps its 29" bash -c "'$agepass' wallet | grep -q 'over 18: 29 tokens'"
check "... and nothing went to the issuer" [ "$(count token-request)" = "$before" ]

# directories: read again when due (not at visits), refused when two keys are current for a class
python3 - "$AGEPASS_WALLET" "$issuer" <<'PY'
import json, sys
w = json.load(open(sys.argv[1])); w["issuers"][sys.argv[2]]["directory-next"] = 0
json.dump(w, open(sys.argv[1], "w"))
PY
before=$(count private-token-issuer-directory)
"$agepass" get "http://127.0.0.1:$v18/" -o /dev/null 2>/dev/null
check "get does not read the directory, even when due (that would time the visit)" [ "$(count private-token-issuer-directory)" = "$before" ]
check "fetch reads it when due" bash -c "'$agepass' fetch --issuer '$issuer' --count 1 >/dev/null && [ \$(grep -c private-token-issuer-directory relay.log) -eq $((before + 1)) ]"
check "... and draws the next refresh" python3 -c "
import json, sys, time
sys.exit(json.load(open(sys.argv[1]))['issuers'][sys.argv[2]]['directory-next'] < time.time() + 12 * 3600 - 5)" "$AGEPASS_WALLET" "$issuer"
# a provider that gives a directory with two current class-18 keys (one made for someone)
mkdir -p bad/.well-known
python3 - <<'PY'
import json, time
# the issuer's own directory, its next class-18 key made current beside the current one
d = json.load(open("dir.json"))
for k in d["token-keys"]:
    if k["agepass-age"] == 18: k["not-before"] = min(k["not-before"], int(time.time()) - 60)
open("bad/.well-known/private-token-issuer-directory", "w").write(json.dumps(d))
PY
bport=$(free_port)
(cd bad && exec python3 -m http.server --bind 127.0.0.1 "$bport") >/dev/null 2>&1 &
pids+=($!)
wait_port "$bport" || exit 2
AGEPASS_WALLET="$work/bad/w.json" "$agepass" enroll --issuer "http://127.0.0.1:$bport" --dev-age 30 2>bad.err
check "a directory with two current keys for one class is refused at enrolment" bash -c "[ $? -eq 1 ] && grep -q 'at most one of each' bad.err"
python3 - "$AGEPASS_WALLET" "$issuer" "http://127.0.0.1:$bport" <<'PY'
import json, sys
w = json.load(open(sys.argv[1])); e = dict(w["issuers"][sys.argv[2]]); e["directory-next"] = 0
w["issuers"][sys.argv[3]] = e
json.dump(w, open(sys.argv[1], "w"))
PY
keys_of() { python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["issuers"][sys.argv[2]]["keys"]))' "$AGEPASS_WALLET" "$1"; }
k_before=$(keys_of "http://127.0.0.1:$bport")
"$agepass" fetch --issuer "http://127.0.0.1:$bport" --count 1 >/dev/null 2>refresh.err
check "... and at a refresh: refused, the pinned keys kept" bash -c "grep -q 'at most one of each' refresh.err && grep -q 'keeping the keys' refresh.err && [ '$k_before' = \"\$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[\"issuers\"][sys.argv[2]][\"keys\"]))' '$AGEPASS_WALLET' 'http://127.0.0.1:$bport')\" ]"

# the epoch change before the issuer rotates: its next key (pinned) has come, the old one stays
"$agepass" keygen --out kx >/dev/null
python3 - <<'PY'
import base64, json, time
d = json.load(open("dir.json"))
now = int(time.time())
for k in d["token-keys"]:
    if k["agepass-age"] == 18 and k["not-before"] > now: k["not-before"] = now - 1
open("bad/.well-known/private-token-issuer-directory", "w").write(json.dumps(d))
# and another provider's view: a current class-18 key never seen before (one made for someone)
d = json.load(open("dir.json"))
x = base64.urlsafe_b64encode(open("kx/issuer-public.der", "rb").read()).decode()
d["token-keys"].append({"token-type": 2, "token-key": x, "not-before": now - 1, "agepass-age": 18})
open("unknown.json", "w").write(json.dumps(d))
PY
set_due() { python3 -c '
import json, sys
w = json.load(open(sys.argv[1])); w["issuers"][sys.argv[2]]["directory-next"] = 0
json.dump(w, open(sys.argv[1], "w"))' "$AGEPASS_WALLET" "http://127.0.0.1:$bport"; }
set_due
"$agepass" fetch --issuer "http://127.0.0.1:$bport" --count 1 >/dev/null 2>change.err
check "the epoch change (the pinned next key current, the old one still listed): accepted" bash -c "! grep -q 'at most one' change.err && [ \$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[\"issuers\"][sys.argv[2]][\"directory-next\"])' '$AGEPASS_WALLET' 'http://127.0.0.1:$bport') -gt \$(date +%s) ]"
cp unknown.json bad/.well-known/private-token-issuer-directory
set_due
k_before=$(keys_of "http://127.0.0.1:$bport")
"$agepass" fetch --issuer "http://127.0.0.1:$bport" --count 1 >/dev/null 2>unknown.err
check "a current key never pinned beside the pinned one: refused, the pins kept" bash -c "grep -q 'at most one of each' unknown.err && [ '$k_before' = \"\$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[\"issuers\"][sys.argv[2]][\"keys\"]))' '$AGEPASS_WALLET' 'http://127.0.0.1:$bport')\" ]"

# --proxy: through a loopback HTTP CONNECT proxy, and only through it
start_helper connect proxy
proxy="http://127.0.0.1:$helper_port"
export AGEPASS_WALLET="$work/px/wallet.json"
check "enroll --proxy goes through the proxy" "$agepass" enroll --issuer "http://127.0.0.1:$iport" --dev-age 30 --proxy "$proxy"
check "... which carried a CONNECT to the issuer for each request (directory and enrolment)" [ "$(grep -c "CONNECT 127.0.0.1:$iport" proxy.log)" -eq 2 ]
n=$(grep -c CONNECT proxy.log)
check "fetch --proxy: the token request goes through it too" bash -c "'$agepass' fetch --issuer 'http://127.0.0.1:$iport' --count 2 --proxy '$proxy' >/dev/null && [ \$(grep -c CONNECT proxy.log) -gt $n ]"
check "get --mint-now --proxy: the issuer's part through it" bash -c "'$agepass' get 'http://127.0.0.1:$vport/' --mint-now --proxy '$proxy' -o /dev/null 2>/dev/null && [ \$(grep -c CONNECT proxy.log) -gt $((n + 1)) ]"
dead=$(free_port)
"$agepass" fetch --issuer "http://127.0.0.1:$iport" --count 1 --proxy "http://127.0.0.1:$dead" >/dev/null 2>dead.err
check "a proxy that is not there: the fetch fails (nothing goes around it)" [ $? -eq 1 ]
"$agepass" fetch --issuer "http://127.0.0.1:$iport" --proxy "ftp://127.0.0.1:1" 2>/dev/null
check "--proxy with another scheme is a usage error" [ $? -eq 2 ]
n=$(grep -c CONNECT proxy.log)
"$agepass" fetch --issuer "http://127.0.0.1:$iport" --count 1 >/dev/null
check "without --proxy nothing goes through it" [ "$(grep -c CONNECT proxy.log)" = "$n" ]
check "the proxy saw only the tunnel target, never a grant" bash -c "! grep -q Bearer proxy.log"
finish
