#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Request smuggling (issue 10 item 11): a request whose framing is
# ambiguous (two Content-Length, Transfer-Encoding with Content-Length, an
# unknown transfer coding, two codings, a signed length) is answered 400
# and its connection closed, and the request hidden behind it never
# answered: by the verifier and the issuer reached directly, and by the
# verifier behind the shipped nginx snippets. A normal client is served
# afterwards each time.
# Usage: security_framing.sh AGEPASS
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
agepass=$(realpath "${1:?usage: security_framing.sh AGEPASS}")
. "$here/lib.sh"
cd "$work" || exit 2
raw() { timeout 60 python3 "$here/security_http.py" "$@"; }

# every case of `security_http.py smuggle`: 400 (or nginx's 501 for an
# unknown coding, which counts itself as the one non-400 answer), no other
# response, closed
all_refused() {
    local out=$1 c n=0
    for c in $out; do
        n=$((n + 1))
        one_of "${c#*=}" 400/0/closed ${2:-} || { echo "  $c" >&2; return 1; }
    done
    [ "$n" -eq 6 ]
}

"$agepass" keygen --out key >/dev/null || exit 2
vport=$(free_port)
"$agepass" verifier serve --state v --listen "127.0.0.1:$vport" \
    --trust key/issuer-public.der,name=issuer.example 2>verifier.log &
pids+=($!)
wait_port "$vport" || exit 2
"$agepass" issuer init --state ist --name issuer.example >/dev/null || exit 2
iport=$(free_port)
"$agepass" issuer serve --state ist --listen "127.0.0.1:$iport" 2>issuer.log &
pids+=($!)
wait_port "$iport" || exit 2

out=$(raw smuggle "$vport" /auth)
check "verifier, directly: every ambiguous framing gets 400 and a closed connection, the hidden request no answer ($out)" all_refused "$out"
s=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$vport/auth")
check "verifier: a normal client is still served ($s)" [ "$s" = 401 ]
check "verifier: the log says why, and names no address" bash -c "grep -q 'request refused (400, connection closed): more than one Content-Length' verifier.log && ! grep -v 'listening on' verifier.log | grep -q '127.0.0.1'"

out=$(raw smuggle "$iport" /token-request)
check "issuer, directly: every ambiguous framing gets 400 and a closed connection ($out)" all_refused "$out"
s=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$iport/.well-known/private-token-issuer-directory")
check "issuer: a normal client is still served ($s)" [ "$s" = 200 ]

# behind nginx: nginx refuses these itself; the verifier never sees them
mkdir -p site/adult
echo "adults only" >site/adult/index.html
nport=$(free_port)
start_nginx "$vport" "$nport" || exit 2
out=$(raw smuggle "$nport" /adult/)
check "through nginx: every ambiguous framing is refused, nothing hidden answered ($out)" all_refused "$out" 501/1/closed
s=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$nport/adult/")
check "through nginx: a normal client gets the challenge ($s)" [ "$s" = 401 ]
finish
