#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The issuer service on loopback: init, directory, dev enrolment, token
# requests over HTTP finalized and verified with the CLI, every refusal,
# metrics, and what the state folder and the log hold.
# Usage: issuer.sh AGEPASS
here=$(cd "$(dirname "$0")" && pwd)
agepass=$(realpath "${1:?usage: issuer.sh AGEPASS}")
. "$here/lib.sh"
cd "$work" || exit 2

check "init makes an issuer" "$agepass" issuer init --state ist --name issuer.example --age-classes 18,16 --epoch-days 30
check "keys and the pseudonym secret are private (0600)" bash -c '[ -z "$(find ist -type f \( -name "*.pem" -o -name pseudonym-secret \) ! -perm 600)" ]'
check "init refuses to overwrite an issuer" bash -c "! '$agepass' issuer init --state ist --name x 2>/dev/null"
check "epochs longer than 90 days are refused" bash -c "'$agepass' issuer init --state ist2 --name x --epoch-days 91 2>/dev/null; [ \$? -eq 2 ]"
check "the dev attester refuses a non-loopback address" bash -c "'$agepass' issuer serve --state ist --listen 0.0.0.0:1 --insecure-dev-attester 2>/dev/null; [ \$? -eq 2 ]"
chmod 644 ist/keys/age18-e1.pem
check "serve refuses a key file others can read" bash -c "! '$agepass' issuer serve --state ist --listen 127.0.0.1:1 2>/dev/null"
chmod 600 ist/keys/age18-e1.pem

port=$(free_port)
"$agepass" issuer serve --state ist --listen "127.0.0.1:$port" --insecure-dev-attester --day-cap 3 2>issuer.log &
pids+=($!)
wait_port "$port" || { cat issuer.log; exit 2; }
base="http://127.0.0.1:$port"

# the directory: RFC 9578 §4, the same bytes for everyone, cacheable
dir_url="$base/.well-known/private-token-issuer-directory"
curl -s -D dh.txt -o dir1.json "$dir_url"
curl -s -o dir2.json "$dir_url"
check "directory: the same bytes for every client" cmp -s dir1.json dir2.json
check "directory: its media type" grep -qi '^Content-Type: application/private-token-issuer-directory' dh.txt
etag=$(grep -i '^ETag:' dh.txt | cut -d' ' -f2 | tr -d '\r')
check "directory: an ETag" [ -n "$etag" ]
s=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$dir_url")
check "directory: If-None-Match gives 304 ($s)" [ "$s" = 304 ]
python3 - <<'PY' || not_ok "directory: parse"
import json, base64
d = json.load(open("dir1.json"))
keys = d["token-keys"]
assert len(keys) == 4, keys                       # 2 classes x (current, next)
for i, k in enumerate(keys):
    assert k["token-type"] == 2 and k["agepass-age"] in (16, 18) and "not-before" in k
    raw = base64.urlsafe_b64decode(k["token-key"])
    assert len(raw) == 342
    open(f"key-{k['agepass-age']}-{i}.der", "wb").write(raw)
first18 = [k for k in keys if k["agepass-age"] == 18][0]
open("pub18.der", "wb").write(base64.urlsafe_b64decode(first18["token-key"]))
first16 = [k for k in keys if k["agepass-age"] == 16][0]
open("pub16.der", "wb").write(base64.urlsafe_b64decode(first16["token-key"]))
PY
check "directory: four keys (2 classes x current and next), each 342 bytes" [ -f pub18.der ]

# enrolment (dev attester)
s=$(curl -s -o enrol15.json -w '%{http_code}' -H 'Content-Type: application/json' -d '{"age": 15}' "$base/enroll/dev")
check "a 15-year-old is refused at enrolment: 403 ($s)" [ "$s" = 403 ]
check "... as under_age" grep -q under_age enrol15.json
s=$(curl -s -o enrol-bad.json -w '%{http_code}' -d '{"age": "old"}' "$base/enroll/dev")
check "broken enrolment JSON: 400 ($s)" [ "$s" = 400 ]
s=$(curl -s -o enrol.json -w '%{http_code}' -H 'Content-Type: application/json' -d '{"age": 25}' "$base/enroll/dev")
check "an adult enrols: 200 ($s)" [ "$s" = 200 ]
grant=$(python3 -c 'import json; print(json.load(open("enrol.json"))["grant"])')
check "... and gets a grant of at least 128 bits" [ "${#grant}" -ge 22 ]

# token_request FILE_PREFIX PUB [curl args]: the HTTP status; response in PREFIX.resp
token_request() {
    local p=$1 pub=$2
    shift 2
    "$agepass" token challenge --issuer-name issuer.example --out "$p.ch" &&
        "$agepass" token request --pub "$pub" --challenge "$p.ch" --state "$p.st" --out "$p.req" || return 1
    curl -s -o "$p.resp" -w '%{http_code}' --data-binary "@$p.req" "$@" "$base/token-request"
}
ctype=(-H 'Content-Type: application/private-token-request')
s=$(token_request a pub18.der "${ctype[@]}" -H "Authorization: Bearer $grant")
check "a token request with the grant: 200 ($s)" [ "$s" = 200 ]
check "... finalized by the client" "$agepass" token finalize --state a.st --in a.resp --out a.tok
check "... and verified by an origin" "$agepass" token verify --pub pub18.der --challenge a.ch --in a.tok
s=$(token_request b pub16.der "${ctype[@]}" -H "Authorization: Bearer $grant")
check "an over-18 grant also covers class 16: 200 ($s)" [ "$s" = 200 ]

# refusals
s=$(token_request c pub18.der "${ctype[@]}")
check "no grant: 401 ($s)" [ "$s" = 401 ]
s=$(token_request c pub18.der "${ctype[@]}" -H "Authorization: Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
check "an unknown grant: 401 ($s)" [ "$s" = 401 ]
s=$(token_request c pub18.der -H 'Content-Type: text/plain' -H "Authorization: Bearer $grant")
check "wrong content type: 415 ($s)" [ "$s" = 415 ]
head -c 100 a.req >trunc.req
s=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @trunc.req "${ctype[@]}" -H "Authorization: Bearer $grant" "$base/token-request")
check "a truncated request: 422 ($s)" [ "$s" = 422 ]
head -c 2000 /dev/zero >big.req
s=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @big.req "${ctype[@]}" -H "Authorization: Bearer $grant" "$base/token-request")
check "a request over the size cap: 413 ($s)" [ "$s" = 413 ]
python3 - <<'PY'
import hashlib, glob
taken = {hashlib.sha256(open(f, "rb").read()).digest()[-1] for f in glob.glob("key-*.der")}
req = bytearray(open("a.req", "rb").read())
req[2] = next(b for b in range(256) if b not in taken)
open("d.req", "wb").write(req)
PY
s=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @d.req "${ctype[@]}" -H "Authorization: Bearer $grant" "$base/token-request")
check "a request for a key id the issuer does not have: 422 ($s)" [ "$s" = 422 ]
s=$(token_request e pub18.der "${ctype[@]}" -H "Authorization: Bearer $grant")
check "the third token of a 3-token grant: 200 ($s)" [ "$s" = 200 ]
s=$(token_request f pub18.der "${ctype[@]}" -H "Authorization: Bearer $grant")
check "a fourth: 429 ($s)" [ "$s" = 429 ]
s=$(curl -s -o enrol17.json -w '%{http_code}' -d '{"age": 17}' "$base/enroll/dev")
grant17=$(python3 -c 'import json; print(json.load(open("enrol17.json"))["grant"])')
check "a 17-year-old enrols for class 16 ($s)" grep -q '"age":16' enrol17.json
s=$(token_request g pub18.der "${ctype[@]}" -H "Authorization: Bearer $grant17")
check "... and is refused a class-18 token: 403 ($s)" [ "$s" = 403 ]
s=$(token_request h pub16.der "${ctype[@]}" -H "Authorization: Bearer $grant17")
check "... but gets a class-16 one: 200 ($s)" [ "$s" = 200 ]
s=$(curl -s -o /dev/null -w '%{http_code}' "$base/enroll/oidc")
check "unknown paths: 404 ($s)" [ "$s" = 404 ]
s=$(curl -s -o /dev/null -w '%{http_code}' "$dir_url")
check "the service still serves ($s)" [ "$s" = 200 ]

# figures, and what the issuer keeps
curl -s "$base/metrics" >metrics.txt
check "metrics: two enrolments accepted" grep -q '^agepass_issuer_enrolments_accepted_total{source="dev"} 2$' metrics.txt
check "metrics: one refused as under age" grep -q 'reason="under_age"} 1$' metrics.txt
check "metrics: 4 tokens issued in all" bash -c "[ \$(grep '^agepass_issuer_tokens_issued_total' metrics.txt | awk '{s+=\$2} END {print s}') = 4 ]"
check "metrics: a wrong class counted" grep -q 'reason="wrong_class"} 1$' metrics.txt
check "metrics: refusals by reason" grep -q 'token_requests_refused_total{reason="no_grant"} 2$' metrics.txt
check "the log names no grant" bash -c "! grep -qF '$grant' issuer.log"
check "the store holds no grant bearer value" bash -c "! grep -qaF '$grant' ist/store.sqlite*"
check "the issuer keeps nothing about the challenges it never saw" bash -c "! grep -qaF 'issuer.example' ist/store.sqlite*"

# key epochs: the next key is published before use; rotate when it is due
check "rotate refuses before the next epoch's not-before" bash -c "! '$agepass' issuer rotate --state ist 2>/dev/null"
check "rotate --now refuses to cut a young epoch short (--min-epoch-days, default 7)" bash -c "! '$agepass' issuer rotate --state ist --now 2>rot.err && grep -q 'minimum of 7 days' rot.err"
check "so does --min-epoch-days 1" bash -c "! '$agepass' issuer rotate --state ist --now --min-epoch-days 1 2>/dev/null"
check "--min-epoch-days is bounded" bash -c "'$agepass' issuer rotate --state ist --now --min-epoch-days 91 2>/dev/null; [ \$? -eq 2 ]"
check "the refusals changed nothing" bash -c '[ -e ist/keys/age18-e1.pem ] && [ ! -e ist/keys/age18-e3.pem ] && [ ! -e ist/rotations.log ]'
check "rotate --now --force starts the next epoch" bash -c "'$agepass' issuer rotate --state ist --now --force 2>rot.err"
check "a forced rotation is logged (stderr and rotations.log)" bash -c "grep -q 'rotate --force: epoch 1 ends after' rot.err && grep -q '^forced: epoch 1 ended after' ist/rotations.log"
check "the epoch just opened cannot be closed at once (rotate --now twice)" bash -c "! '$agepass' issuer rotate --state ist --now 2>/dev/null && [ ! -e ist/keys/age18-e4.pem ]"
check "--min-epoch-days 0 lets it (no minimum)" bash -c "'$agepass' issuer rotate --state ist --now --min-epoch-days 0 >/dev/null && [ -e ist/keys/age18-e4.pem ]"
check "the retired keys are deleted" bash -c '[ ! -e ist/keys/age18-e1.pem ] && [ ! -e ist/keys/age18-e2.pem ] && [ -e ist/keys/age18-e3.pem ] && [ -e ist/keys/age18-e4.pem ]'
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null
"$agepass" issuer serve --state ist --listen "127.0.0.1:$port" --insecure-dev-attester 2>>issuer.log &
pids+=($!)
wait_port "$port"
curl -s -o dir3.json "$dir_url"
check "after the rotation the old keys leave the directory" bash -c "! grep -qF \"\$(python3 -c 'import json; print(json.load(open(\"dir1.json\"))[\"token-keys\"][0][\"token-key\"])')\" dir3.json"
s=$(token_request i pub18.der "${ctype[@]}" -H "Authorization: Bearer $grant")
check "a request for a retired key: 422 ($s)" [ "$s" = 422 ]
finish
