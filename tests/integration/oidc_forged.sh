#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Forged ID tokens through the whole service: a hostile provider
# (oidc_forger.mjs) answers the code exchange with a token forged in one
# way each time (wrong key, unknown kid, wrong aud/iss/nonce, expired, iat
# in the future, alg none, HS256 keyed with the public key, no or withheld
# birthdate, an impossible date, a UserInfo response unsigned or for
# another sub); a birthdate from a signed UserInfo JWT is accepted. Each is refused with the right status and
# reason, in the answer, the log and the metrics, and the issuer keeps
# serving; a genuine key rotation (new kid) is accepted after one JWKS
# refetch.
# Usage: oidc_forged.sh AGEPASS
here=$(cd "$(dirname "$0")" && pwd)
agepass=$(realpath "${1:?usage: oidc_forged.sh AGEPASS}")
. "$here/lib.sh"
cd "$work" || exit 2

"$agepass" issuer init --state ist --name issuer.example >/dev/null || exit 2
printf 'forger-client-secret\n' >client-secret
chmod 600 client-secret
port=$(free_port)
base="http://127.0.0.1:$port"
node "$here/oidc_forger.mjs" "$base/enroll/oidc/callback" client-secret >op.json 2>op.log &
pids+=($!)
for i in $(seq 1 100); do [ -s op.json ] && break; sleep 0.1; done
op=$(python3 -c 'import json; print(json.loads(open("op.json").readline())["issuer"])') || { cat op.log; exit 2; }
"$agepass" issuer serve --state ist --listen "127.0.0.1:$port" \
    --oidc-provider "$op,client_id=agepass-issuer,secret_file=client-secret" --public-url "$base" 2>issuer.log &
pids+=($!)
wait_port "$port" || { cat issuer.log; exit 2; }

# enrol MODE: the status agepass answers at the callback; its body in MODE.json
enrol() {
    curl -s -o /dev/null "$op/mode?m=$1"
    local authz cb
    authz=$(curl -s -H 'Accept: application/json' "$base/enroll/oidc/start" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["authorize_url"])')
    cb=$(curl -s -o /dev/null -w '%{redirect_url}' "$authz")
    curl -s -o "$1.json" -w '%{http_code}' -H 'Accept: application/json' "$cb"
}
# expect MODE STATUS REASON
expect() {
    local s
    s=$(enrol "$1")
    check "$1: $2 $3 ($s $(cat "$1.json" | tr -d '\n'))" bash -c "[ '$s' = '$2' ] && grep -q '$3' '$1.json'"
}

expect good 200 grant
expect rotated 200 grant
check "rotated: accepted after one JWKS refetch" grep -q 'no JWKS key for this token; refetching' issuer.log
expect wrong-key 400 invalid_evidence
expect unknown-kid 400 invalid_evidence
check "unknown-kid: no second refetch within the minute" bash -c "[ \$(grep -c refetching issuer.log) = 1 ]"
expect wrong-aud 400 invalid_evidence
expect wrong-iss 400 invalid_evidence
expect wrong-nonce 400 invalid_evidence
expect expired 401 expired_evidence
expect iat-future 401 expired_evidence
expect alg-none 400 invalid_evidence
expect hs256 400 invalid_evidence
expect no-birthdate 400 invalid_evidence
expect withheld-year 400 invalid_evidence
expect bad-date 400 invalid_evidence
expect userinfo 200 grant
expect userinfo-unsigned 400 invalid_evidence
expect userinfo-other-sub 400 invalid_evidence
expect token-down 503 'cannot be reached'
check "token endpoint down: logged, not counted as bad evidence" grep -q 'the token endpoint did not answer' issuer.log
check "log: an unsigned UserInfo named" grep -q 'none from UserInfo: not a signed JWT' issuer.log
expect good 200 grant

check "log: signature failures named" grep -q 'ID token refused: signature does not verify' issuer.log
check "log: refused algorithms named" grep -q 'ID token refused: unsupported token type' issuer.log
check "log: unknown keys named" grep -q 'ID token refused: unusable key' issuer.log
check "log: claim mismatches named" grep -q 'ID token refused: token was made for another challenge' issuer.log
curl -s "$base/metrics" >metrics.txt
check "metrics: 4 accepted" [ "$(metric_sum metrics.txt agepass_issuer_enrolments_accepted_total)" = 4 ]
check "metrics: 12 invalid_evidence" grep -q 'reason="invalid_evidence"} 12$' metrics.txt
check "metrics: 2 expired_evidence" grep -q 'reason="expired_evidence"} 2$' metrics.txt
s=$(curl -s -o /dev/null -w '%{http_code}' "$base/.well-known/private-token-issuer-directory")
check "the issuer keeps serving: 200 ($s)" [ "$s" = 200 ]
check "privacy: the forger's sub is in neither the store nor the log" bash -c \
    "! grep -qaF forger-sub-8812 ist/store.sqlite* issuer.log"
kill "${pids[@]}" 2>/dev/null
wait 2>/dev/null
check "the issuer stopped cleanly, no sanitizer report" bash -c "! grep -q Sanitizer issuer.log && grep -q stopping issuer.log"
finish
