#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A file-size limit and a full disk (issue 10 item 7): the issuer (SQLite
# store) and the verifier (embedded replay log) keep running, refuse with
# 503 what they cannot record, log it, serve what needs no write, and
# recover by themselves once writes work again.
#  - the limit: `prlimit --fsize=0` on the running service (SIGXFSZ, which
#    used to kill the issuer, is ignored; the write fails with EFBIG);
#  - the full disk: the state folder on a small tmpfs (in a private mount
#    namespace, so nothing outlives the test), filled up, then emptied.
# Usage: security_disk.sh AGEPASS
here=$(cd "$(dirname "$0")" && pwd)
agepass=$(realpath "${1:?usage: security_disk.sh AGEPASS}")
. "$here/lib.sh"
cd "$work" || exit 2

enrol() { # enrol PORT: the HTTP status of a dev enrolment (grant in enrol.json)
    curl -s -m 10 -o enrol.json -w '%{http_code}' -H 'Content-Type: application/json' \
        -d '{"age": 25}' "http://127.0.0.1:$1/enroll/dev"
}
alive() { kill -0 "$1" 2>/dev/null; }

# mint PORT: an Authorization value answering the verifier's challenge, in tok.authz
mint() {
    local www
    www=$(curl -s -D - -o /dev/null "http://127.0.0.1:$1/auth" | grep -i '^WWW-Authenticate:' | cut -d' ' -f2- | tr -d '\r')
    "$agepass" token parse-header --www-authenticate "$www" --out-challenge m.ch &&
        "$agepass" token request --pub key/issuer-public.der --challenge m.ch --state m.st --out m.req &&
        "$agepass" token issue --key key/issuer-private.pem --in m.req --out m.resp &&
        "$agepass" token finalize --state m.st --in m.resp --out m.tok &&
        "$agepass" token header-token --in m.tok >tok.authz
}
redeem() {
    curl -s -m 10 -o /dev/null -w '%{http_code}' -H "Authorization: $(cat tok.authz)" "http://127.0.0.1:$1/auth"
}

# 1. the issuer at a file-size limit
"$agepass" issuer init --state ist --name issuer.example >/dev/null || exit 2
iport=$(free_port)
"$agepass" issuer serve --state ist --listen "127.0.0.1:$iport" --insecure-dev-attester 2>issuer.log &
ipid=$!
pids+=($ipid)
wait_port "$iport" || exit 2
s=$(enrol "$iport")
check "issuer: enrols before the limit ($s)" [ "$s" = 200 ]
prlimit --pid "$ipid" --fsize=0:
s=$(enrol "$iport")
check "issuer: at a file-size limit of 0, an enrolment is refused: 503 ($s)" [ "$s" = 503 ]
check "issuer: ... and the issuer lives (no SIGXFSZ death)" alive "$ipid"
s=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$iport/.well-known/private-token-issuer-directory")
check "issuer: ... and still serves its directory ($s)" [ "$s" = 200 ]
prlimit --pid "$ipid" --fsize=unlimited:
s=$(enrol "$iport")
check "issuer: once the limit is lifted, it enrols again ($s)" [ "$s" = 200 ]

# 2. the verifier at a file-size limit
"$agepass" keygen --out key >/dev/null || exit 2
vport=$(free_port)
"$agepass" verifier serve --state v --listen "127.0.0.1:$vport" --sync-ms 0 \
    --trust key/issuer-public.der,name=issuer.example 2>verifier.log &
vpid=$!
pids+=($vpid)
wait_port "$vport" || exit 2
prlimit --pid "$vpid" --fsize=0:
mint "$vport" || exit 2
s=$(redeem "$vport")
check "verifier: at a file-size limit of 0, a token is refused: 503 ($s)" [ "$s" = 503 ]
check "verifier: ... and the verifier lives" alive "$vpid"
prlimit --pid "$vpid" --fsize=unlimited:
mint "$vport" || exit 2
s=$(redeem "$vport")
check "verifier: once the limit is lifted, a fresh token is accepted ($s)" [ "$s" = 200 ]
s=$(redeem "$vport")
check "verifier: ... once ($s)" [ "$s" = 401 ]

# 3. a full disk, in a mount namespace of our own (root only)
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
    mkdir -p full
    cat >full.sh <<SH
set -u
mount -t tmpfs -o size=2m tmpfs full || exit 3
cp -a ist full/ist
rm -f full/ist/store.sqlite*
port=$(free_port)
"$agepass" issuer serve --state full/ist --listen "127.0.0.1:\$port" --insecure-dev-attester 2>full-issuer.log &
pid=\$!
for i in \$(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/\$port") 2>/dev/null && break; sleep 0.05; done
e() { curl -s -m 10 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{"age": 25}' "http://127.0.0.1:\$port/enroll/dev"; }
echo "before=\$(e)"
dd if=/dev/zero of=full/filler bs=64k 2>/dev/null
a=""; for i in 1 2 3 4 5 6 7 8 9 10; do a="\$a\$(e),"; done
echo "full=\$a"
kill -0 \$pid && echo "alive=yes"
rm -f full/filler
echo "after=\$(e)"
kill \$pid; wait \$pid
umount full
SH
    out=$(timeout 60 unshare -m bash full.sh 2>&1)
    echo "$out" | sed 's/^/# /'
    check "full disk: the issuer enrols before the disk fills" grep -qx 'before=200' <<<"$out"
    check "full disk: enrolments are refused with 503 once it is full" bash -c "grep '^full=' <<<'$out' | grep -q 503 && ! grep '^full=' <<<'$out' | grep -qv -e '^full=\(\(200\|503\),\)*$'"
    check "full disk: the issuer lives" grep -qx 'alive=yes' <<<"$out"
    check "full disk: it enrols again once space returns" grep -qx 'after=200' <<<"$out"
else
    echo "# full disk: skipped (needs root and mount namespaces)"
fi
finish
