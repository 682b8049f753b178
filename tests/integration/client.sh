#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The client against a running issuer and a verifier behind nginx:
# enroll, fetch, get, wallet; refusals that say what to do; a wallet that
# survives the client being killed mid-write. Usage: client.sh AGEPASS
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
agepass=$(realpath "${1:?usage: client.sh AGEPASS}")
. "$here/lib.sh"
cd "$work" || exit 2


iport=$(free_port)
vport=$(free_port)
nport=$(free_port)
"$agepass" issuer init --state ist --name issuer.example >/dev/null || exit 2
"$agepass" issuer serve --state ist --listen "127.0.0.1:$iport" --insecure-dev-attester --day-cap 100 2>issuer.log &
pids+=($!)
wait_port "$iport" || exit 2
issuer="http://127.0.0.1:$iport"
"$agepass" verifier serve --state vst --listen "127.0.0.1:$vport" --cross-origin \
    --trust "$issuer/.well-known/private-token-issuer-directory" 2>verifier.log &
pids+=($!)
wait_port "$vport" || exit 2
mkdir -p site/adult
echo "ADULT PAGE 51c" >site/adult/index.html
start_nginx "$vport" "$nport" || exit 2
site="http://127.0.0.1:$nport/adult/"
export AGEPASS_WALLET="$work/home/wallet.json"

check "an adult enrols" "$agepass" enroll --issuer "$issuer" --dev-age 30
check "the wallet is private (0600)" [ "$(stat -c %a "$AGEPASS_WALLET")" = 600 ]
check "fetch fills the wallet" "$agepass" fetch --issuer "$issuer" --count 5
check "the wallet shows 5 tokens" bash -c "'$agepass' wallet | grep -q 'over 18: 5 tokens'"
check "get opens the protected page" bash -c "'$agepass' get '$site' -o page.html 2>get.err && grep -q 'ADULT PAGE' page.html"
check "... spending one wallet token" bash -c "'$agepass' wallet | grep -q 'over 18: 4 tokens'"
check "... and says so" grep -q "wallet token" get.err
check "get again uses the session cookie, no token" bash -c "'$agepass' get '$site' >/dev/null 2>&1 && '$agepass' wallet | grep -q 'over 18: 4 tokens'"

# a person with a grant but an empty wallet: no token is made at visit time unless --mint-now
AGEPASS_WALLET="$work/home2/wallet.json" "$agepass" enroll --issuer "$issuer" --dev-age 40 >/dev/null
AGEPASS_WALLET="$work/home2/wallet.json" "$agepass" get "$site" -o p2.html 2>g2.err
check "with a grant and no wallet tokens, get does not ask the issuer: exit 1" [ $? -eq 1 ]
check "... saying to fetch, or --mint-now and what it costs" bash -c "grep -q 'agepass fetch' g2.err && grep -q 'mint-now, which lets the provider see the time' g2.err"
check "with --mint-now it asks the issuer for a site-bound token" \
    bash -c "AGEPASS_WALLET='$work/home2/wallet.json' '$agepass' get '$site' --mint-now -o p2.html 2>g2.err && grep -q 'bound to this site' g2.err && grep -q 'ADULT PAGE' p2.html"

# refusals that say what to do
AGEPASS_WALLET="$work/minor/wallet.json" "$agepass" enroll --issuer "$issuer" --dev-age 15 2>minor.err
check "a minor's enrolment exits 1" [ $? -eq 1 ]
check "... saying why" grep -q "under age" minor.err
AGEPASS_WALLET="$work/empty/wallet.json" "$agepass" get "$site" -o /dev/null 2>empty.err
check "get with an empty wallet exits 1" [ $? -eq 1 ]
check "... and says which issuer to enrol with" bash -c "grep -q 'issuer.example' empty.err && grep -q 'agepass enroll' empty.err"
"$agepass" fetch --issuer "http://127.0.0.1:1" 2>nf.err
check "fetch from an issuer never enrolled with: exit 1 with the command to run" bash -c "grep -q 'agepass enroll' nf.err"
"$agepass" get "not-a-url" 2>/dev/null
check "a bad URL is a usage error (2)" [ $? -eq 2 ]

# a wallet survives the client killed in the middle of writing it
for round in 1 2 3; do
    "$agepass" fetch --issuer "$issuer" --count 40 >/dev/null 2>&1 &
    f=$!
    sleep 0.$((2 + round))
    kill -9 "$f" 2>/dev/null
    wait "$f" 2>/dev/null
    python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$AGEPASS_WALLET" || { not_ok "round $round: the wallet is torn"; continue; }
    "$agepass" wallet >/dev/null || not_ok "round $round: the client cannot read its wallet"
done
check "after 3 kills mid-fetch the wallet still parses and the client reads it" "$agepass" wallet
: >"$AGEPASS_WALLET.tmp.4194301" # as a writer killed before its rename leaves
"$agepass" wallet >/dev/null
check "the next client run removes what a killed writer left beside the wallet" \
    bash -c "! ls '$AGEPASS_WALLET'.tmp.* 2>/dev/null"
finish
