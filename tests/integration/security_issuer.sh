#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The issuer and the URLs the services take, as an attacker tries them:
#  - item 6: token requests whose blinded message cannot be signed (not
#    below the modulus), alone or in a batch, get 422 and use up nothing:
#    after many of them the person's whole day cap is still there;
#  - items 8, 9: URLs with userinfo ("http://localhost:N@host"), plain http
#    to a remote host, other schemes: refused by issuer --public-url,
#    verifier --trust and enroll --issuer (exit 2), before anything listens.
# Usage: security_issuer.sh AGEPASS
here=$(cd "$(dirname "$0")" && pwd)
agepass=$(realpath "${1:?usage: security_issuer.sh AGEPASS}")
. "$here/lib.sh"
cd "$work" || exit 2

"$agepass" issuer init --state ist --name issuer.example >/dev/null || exit 2
port=$(free_port)
"$agepass" issuer serve --state ist --listen "127.0.0.1:$port" --insecure-dev-attester --day-cap 3 2>issuer.log &
pids+=($!)
wait_port "$port" || exit 2
base="http://127.0.0.1:$port"
curl -s -o dir.json "$base/.well-known/private-token-issuer-directory"
python3 -c '
import json, base64
k = json.load(open("dir.json"))["token-keys"][0]
open("pub.der", "wb").write(base64.urlsafe_b64decode(k["token-key"]))' || exit 2
s=$(curl -s -o enrol.json -w '%{http_code}' -H 'Content-Type: application/json' -d '{"age": 25}' "$base/enroll/dev")
[ "$s" = 200 ] || { not_ok "enrolment ($s)"; finish; exit 1; }
grant=$(python3 -c 'import json; print(json.load(open("enrol.json"))["grant"])')

# req NAME: a good TokenRequest in NAME.req, its state in NAME.st
req() {
    "$agepass" token challenge --issuer-name issuer.example --out "$1.ch" &&
        "$agepass" token request --pub pub.der --challenge "$1.ch" --state "$1.st" --out "$1.req"
}
post() { # post FILE CTYPE: the HTTP status
    curl -s -o post.out -w '%{http_code}' --data-binary "@$1" -H "Content-Type: $2" \
        -H "Authorization: Bearer $grant" "$base/token-request"
}
one=application/private-token-request
batch=application/private-token-arbitrary-batch-request
req good || exit 2
python3 - <<'PY' || exit 2
req = open("good.req", "rb").read()
over = req[:3] + b"\xff" * 256                # blinded_msg >= n
open("over.req", "wb").write(over)
open("equal-len.req", "wb").write(req[:3] + b"\xff" * 255 + b"\x00")
body = req + over                              # a batch of two, the second unsignable
open("mixed.batch", "wb").write(bytes([len(body) >> 8 | 0x40, len(body) & 0xff]) + body)
PY
codes=""
for i in $(seq 1 8); do codes="$codes$(post over.req $one),"; done
check "8 requests with a blinded message not below n: 422 each ($codes)" [ "$codes" = "422,422,422,422,422,422,422,422," ]
codes=""
for i in 1 2 3 4; do codes="$codes$(post mixed.batch $batch),"; done
check "4 batches with one unsignable element: 422 each ($codes)" [ "$codes" = "422,422,422,422," ]
ok_count=0
for i in 1 2 3; do
    req "g$i" || exit 2
    s=$(post "g$i.req" $one)
    [ "$s" = 200 ] && ok_count=$((ok_count + 1))
done
check "... then the whole day cap is still there: 3 good requests of 3 get 200 ($ok_count)" [ "$ok_count" = 3 ]
req g4 || exit 2
s=$(post g4.req $one)
check "... and the cap still holds: a 4th gets 429 ($s)" [ "$s" = 429 ]
s=$(curl -s -o /dev/null -w '%{http_code}' "$base/.well-known/private-token-issuer-directory")
check "the issuer still serves ($s)" [ "$s" = 200 ]

# URLs. Each must be refused as a command-line error (exit 2).
refused() { # refused WHAT COMMAND...: exits 2
    local what=$1 rc
    shift
    timeout 15 "$@" >/dev/null 2>url.err # an old binary would serve: stop it
    rc=$?
    check "$what: refused ($rc)" [ "$rc" = 2 ]
}
hostile=("http://localhost:$port@evil.example" "http://127.0.0.1@evil.example" "https://user:pw@ap.example"
    "http://evil.example" "ftp://ap.example" "http:/localhost:$port" "http://evil.example\\@localhost")
lport=$(free_port)
for u in "${hostile[@]}"; do
    refused "issuer --public-url $u" "$agepass" issuer serve --state ist --listen "127.0.0.1:$lport" --public-url "$u"
    refused "verifier --trust $u" "$agepass" verifier serve --state v --listen "127.0.0.1:$lport" \
        --trust "$u/.well-known/private-token-issuer-directory"
    refused "enroll --issuer $u" "$agepass" enroll --issuer "$u" --dev-age 25 --wallet w.json
done
check "nothing was fetched from or sent to the hostile hosts" bash -c "! grep -q evil issuer.log"
finish
