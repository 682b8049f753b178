#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Batched issuance on loopback (draft-ietf-privacypass-batched-tokens-06 §6,
# Content-Type application/private-token-arbitrary-batch-request on the
# usual /token-request): a batch of TokenRequests made by `agepass token
# request` for two age classes, each blind signature finalized and verified
# with the CLI; all-or-nothing grant accounting; every hostile batch refused
# with its status while the service keeps serving; metrics count tokens.
# Usage: issuer_batch.sh AGEPASS
here=$(cd "$(dirname "$0")" && pwd)
agepass=$(realpath "${1:?usage: issuer_batch.sh AGEPASS}")
. "$here/lib.sh"
cd "$work" || exit 2

"$agepass" issuer init --state ist --name issuer.example --age-classes 18,16 >/dev/null || exit 2
port=$(free_port)
# a grant carries --day-cap tokens, and a person may take as many a day
"$agepass" issuer serve --state ist --listen "127.0.0.1:$port" --insecure-dev-attester --day-cap 35 2>issuer.log &
pids+=($!)
wait_port "$port" || { cat issuer.log; exit 2; }
base="http://127.0.0.1:$port"
curl -s -o dir.json "$base/.well-known/private-token-issuer-directory"
python3 - <<'PY' || exit 2
import json, base64
keys = json.load(open("dir.json"))["token-keys"]
for age in (18, 16):
    k = [k for k in keys if k["agepass-age"] == age][0]  # the current epoch's
    open(f"pub{age}.der", "wb").write(base64.urlsafe_b64decode(k["token-key"]))
PY
"$agepass" token challenge --issuer-name issuer.example --out ch || exit 2

# enrol AGE: a fresh grant (each dev enrolment is a new person) in $grant
enrol() {
    grant=$(curl -s -H 'Content-Type: application/json' -d "{\"age\": $1}" "$base/enroll/dev" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["grant"])')
}
# reqs PREFIX PUB N: N TokenRequests PREFIX.1.req.. (states PREFIX.i.st)
reqs() {
    local i
    for i in $(seq 1 "$3"); do
        "$agepass" token request --pub "$2" --challenge ch --state "$1.$i.st" --out "$1.$i.req" || return 1
    done
}
# batch OUT FILE...: a BatchTokenRequest (a QUIC varint length, then the requests)
batch() {
    python3 - "$@" <<'PY'
import struct, sys
body = b"".join(open(f, "rb").read() for f in sys.argv[2:])
n = len(body)
pre = bytes([n]) if n < 64 else struct.pack(">H", 0x4000 | n)
open(sys.argv[1], "wb").write(pre + body)
PY
}
# post FILE [curl args]: the status; the body in FILE.resp, headers in FILE.h
post() {
    local f=$1
    shift
    curl -s -D "$f.h" -o "$f.resp" -w '%{http_code}' --data-binary "@$f" \
        -H 'Content-Type: application/private-token-arbitrary-batch-request' "$@" "$base/token-request"
}
# finish PREFIX PUB N: splits PREFIX.b.resp and finalizes and verifies each token
finish_all() {
    python3 - "$1" "$3" <<'PY' || return 1
import sys
p, n = sys.argv[1], int(sys.argv[2])
b = open(p + ".b.resp", "rb").read()
assert b[0] >> 6 == 1, "a two-byte length"
length = ((b[0] & 0x3f) << 8) | b[1]
assert length == len(b) - 2 == n * 259, (length, len(b))
for i in range(n):
    e = b[2 + i * 259: 2 + (i + 1) * 259]
    assert e[0] == 1 and e[1:3] == b"\x00\x02", "present, type 2"
    open(f"{p}.{i + 1}.resp", "wb").write(e[3:])
PY
    local i
    for i in $(seq 1 "$3"); do
        "$agepass" token finalize --state "$1.$i.st" --in "$1.$i.resp" --out "$1.$i.tok" || return 1
        "$agepass" token verify --pub "$2" --challenge ch --in "$1.$i.tok" >/dev/null || return 1
    done
}

enrol 25
g25=$grant
reqs a pub18.der 2 && reqs a16 pub16.der 1 || exit 2
batch a.b a.1.req a.2.req
s=$(post a.b -H "Authorization: Bearer $g25")
check "a batch of 2 with a grant: 200 ($s)" [ "$s" = 200 ]
check "... as application/private-token-arbitrary-batch-response" grep -qi '^Content-Type: application/private-token-arbitrary-batch-response' a.b.h
check "... both tokens finalized and verified" finish_all a pub18.der 2
# the two classes in one batch: the grant (25) covers both
reqs m pub18.der 1 && cp a16.1.req m.2.req && cp a16.1.st m.2.st
batch m.b m.1.req m.2.req
s=$(post m.b -H "Authorization: Bearer $g25")
check "a batch mixing the 18 and 16 keys: 200 ($s)" [ "$s" = 200 ]
python3 -c '
b = open("m.b.resp", "rb").read()
open("m.1.resp", "wb").write(b[5:261]); open("m.2.resp", "wb").write(b[264:520])'
check "... the class-18 token verifies with the 18 key" bash -c "'$agepass' token finalize --state m.1.st --in m.1.resp --out m.1.tok && '$agepass' token verify --pub pub18.der --challenge ch --in m.1.tok >/dev/null"
check "... the class-16 one with the 16 key" bash -c "'$agepass' token finalize --state m.2.st --in m.2.resp --out m.2.tok && '$agepass' token verify --pub pub16.der --challenge ch --in m.2.tok >/dev/null"

# 30, the most; the grant has 35 - 4 = 31 left
reqs t pub18.der 30 || exit 2
batch t.b $(for i in $(seq 1 30); do echo t.$i.req; done)
s=$(post t.b -H "Authorization: Bearer $g25")
check "a batch of 30: 200 ($s)" [ "$s" = 200 ]
check "... all 30 tokens verify" finish_all t pub18.der 30
batch t2.b t.1.req t.2.req
s=$(post t2.b -H "Authorization: Bearer $g25")
check "2 more when the grant has 1 left: 429, nothing taken ($s)" [ "$s" = 429 ]
batch t1.b t.3.req
s=$(post t1.b -H "Authorization: Bearer $g25")
check "... so the last one still comes: 200 ($s)" [ "$s" = 200 ]
s=$(post t1.b -H "Authorization: Bearer $g25")
check "... and then the grant is spent: 429 ($s)" [ "$s" = 429 ]

# hostile batches, with a fresh grant each time it matters
enrol 30
g30=$grant
python3 - <<'PY'
import struct
req = open("t.1.req", "rb").read()
def vec(body, two=True):
    n = len(body)
    return (struct.pack(">H", 0x4000 | n) if n >= 64 or two else bytes([n])) + body
open("h-empty.b", "wb").write(b"\x00")
open("h-31.b", "wb").write(vec(req * 31))
open("h-trunc.b", "wb").write(vec(req * 2)[:-1])
open("h-extra.b", "wb").write(vec(req * 2) + b"\x00")
open("h-longer.b", "wb").write(struct.pack(">H", 0x4000 | 519) + req * 2)
open("h-cut.b", "wb").write(vec(req + req[:-1]))
open("h-type1.b", "wb").write(vec(req + b"\x00\x01\x07" + b"\x33" * 49))
open("h-nonminimal.b", "wb").write(struct.pack(">I", 0x80000000 | 259) + req)
open("h-big.b", "wb").write(b"\x00" * 20000)
bad = bytearray(req); bad[2] ^= 0xff
open("h-keyid.b", "wb").write(vec(req + bytes(bad)))
over = bytearray(req); over[3:] = b"\xff" * 256  # blinded_msg >= n
open("h-range.b", "wb").write(vec(req * 29 + bytes(over)))
PY
for c in "empty:count 0:422" "trunc:truncated:422" "extra:one byte more:422" "longer:a length prefix past the end:422" \
    "cut:an element cut short:422" "type1:a type 0x0001 element:422" "nonminimal:a non-minimal length prefix:422" \
    "keyid:an element for a key the issuer does not have:422" "31:31 requests:413" "big:20000 bytes:413"; do
    IFS=: read -r f what want <<<"$c"
    s=$(post "h-$f.b" -H "Authorization: Bearer $g30")
    check "$what: $want ($s)" [ "$s" = "$want" ]
done
s=$(post h-range.b -H "Authorization: Bearer $g30")
check "a blinded message out of range in place 30: 422 ($s)" [ "$s" = 422 ]
check "... refused before anything is counted, not at its signature" bash -c "! grep -q 'blind signature' issuer.log"
s=$(post a.b)
check "no grant: 401 ($s)" [ "$s" = 401 ]
s=$(post a.b -H "Authorization: Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
check "an unknown grant: 401 ($s)" [ "$s" = 401 ]
s=$(post a.b -H "Authorization: Bearer $g25")
check "a spent grant: 429 ($s)" [ "$s" = 429 ]
enrol 17
g17=$grant
batch w.b a16.1.req t.1.req
s=$(post w.b -H "Authorization: Bearer $g17")
check "a class-16 grant asking for a class-18 token among others: 403 ($s)" [ "$s" = 403 ]
reqs y pub16.der 30 || exit 2
batch y.b $(for i in $(seq 1 30); do echo y.$i.req; done)
s=$(post y.b -H "Authorization: Bearer $g17")
check "... which took nothing: 30 class-16 tokens come at once ($s)" [ "$s" = 200 ]
check "... and verify" finish_all y pub16.der 30
reqs z pub16.der 5 || exit 2
batch z.b $(for i in $(seq 1 5); do echo z.$i.req; done)
s=$(post z.b -H "Authorization: Bearer $g17")
check "... and 5 more, the whole grant of 35: the 2 refused went back ($s)" [ "$s" = 200 ]
s=$(post t1.b -H "Authorization: Bearer $g17")
check "... then none: 429 ($s)" [ "$s" = 429 ]
s=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @a.b -H 'Content-Type: application/octet-stream' -H "Authorization: Bearer $g30" "$base/token-request")
check "another content type: 415 ($s)" [ "$s" = 415 ]
s=$(curl -s -o /dev/null -w '%{http_code}' "$base/.well-known/private-token-issuer-directory")
check "the service still serves ($s)" [ "$s" = 200 ]

curl -s "$base/metrics" >metrics.txt
# 2 + 2 + 30 + 1 + 30 + 5 = 70 tokens issued, 36 of them class 16
check "metrics: each token of each batch counted (70)" bash -c "[ \$(grep '^agepass_issuer_tokens_issued_total' metrics.txt | awk '{s+=\$2} END {print s}') = 70 ]"
check "metrics: class 16 counted apart (36)" bash -c "[ \$(grep '^agepass_issuer_tokens_issued_total{age=\"16\"' metrics.txt | awk '{s+=\$2} END {print s}') = 36 ]"
check "metrics: the 11 malformed batches counted" grep -q 'token_requests_refused_total{reason="malformed"} 11$' metrics.txt
check "the log names no grant" bash -c "! grep -qF '$g25' issuer.log && ! grep -qF '$g30' issuer.log"
# the client: `agepass fetch --count N` asks in batches of up to 30
export AGEPASS_WALLET="$work/home/wallet.json"
check "the client enrols" "$agepass" enroll --issuer "$base" --dev-age 30
check "fetch --count 31: two round trips, 30 then 1" bash -c "'$agepass' fetch --issuer '$base' --count 31 | grep -q 'fetched 31 of 31'"
check "... the wallet holds 31 tokens" bash -c "'$agepass' wallet | grep -q 'over 18: 31 tokens'"
# the grant had 35: 4 left, so a batch of 5 is refused whole (one by one would give 4)
"$agepass" fetch --issuer "$base" --count 5 >fetch5.out 2>fetch5.err
check "fetch --count 5 with 4 left: exit 1, nothing fetched (all or nothing)" bash -c "[ $? -eq 1 ] && grep -q 'fetched 0 of 5' fetch5.out && grep -q 'HTTP 429' fetch5.err"
check "fetch --count 4 then takes the 4 in one batch" bash -c "'$agepass' fetch --issuer '$base' --count 4 | grep -q 'fetched 4 of 4'"
python3 - <<'PY' || not_ok "wallet tokens"
import base64, json, os, subprocess, sys
w = json.load(open(os.environ["AGEPASS_WALLET"]))
toks = [t["token"] for e in w["issuers"].values() for t in e["tokens"]]
assert len(toks) == 35, len(toks)
assert len(set(toks)) == 35, "every token its own nonce"
for i, t in enumerate(toks):
    raw = base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))
    open(f"w{i}.tok", "wb").write(raw)
PY
"$agepass" token challenge --issuer-name issuer.example --out wch
check "every fetched token verifies against the issuer's key" bash -c "for i in \$(seq 0 34); do '$agepass' token verify --pub pub18.der --challenge wch --in w\$i.tok >/dev/null || exit 1; done"
# an issuer that does not take batches (a proxy answering 415 to them):
# fetch falls back to one request per token
pport=$(free_port)
python3 - "$port" "$pport" 2>proxy.log <<'PY' &
import http.client, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
up, me = int(sys.argv[1]), int(sys.argv[2])
class H(BaseHTTPRequestHandler):
    def relay(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n) if n else None
        if self.headers.get("Content-Type", "").startswith("application/private-token-arbitrary-batch"):
            self.send_response(415)
            self.send_header("Content-Length", "0")
            self.end_headers()
            with open("proxy.batches", "a") as f:
                f.write("batch\n")
            return
        c = http.client.HTTPConnection("127.0.0.1", up)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "authorization", "accept")}
        c.request(self.command, self.path, body=body, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k in ("Content-Type",):
            if r.getheader(k):
                self.send_header(k, r.getheader(k))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        with open("proxy.singles", "a") as f:
            f.write(self.path + "\n")
    do_GET = do_POST = relay
    def log_message(self, *a):
        pass
ThreadingHTTPServer(("127.0.0.1", me), H).serve_forever()
PY
pids+=($!)
wait_port "$pport" || exit 2
export AGEPASS_WALLET="$work/home3/wallet.json"
"$agepass" enroll --issuer "http://127.0.0.1:$pport" --dev-age 30 >/dev/null
check "fetch from an issuer that refuses batches (415): one by one instead" bash -c "'$agepass' fetch --issuer 'http://127.0.0.1:$pport' --count 3 | grep -q 'fetched 3 of 3'"
check "... after one batch was tried" bash -c "[ \$(wc -l <proxy.batches) = 1 ] && [ \$(grep -c '^/token-request' proxy.singles) = 3 ]"
finish
