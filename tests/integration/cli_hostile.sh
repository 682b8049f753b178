#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Hostile inputs to `agepass token verify` and `agepass token issue`: every
# byte flipped, every truncation, one byte more, swapped files. Each must be
# refused with exit status 1 (a crash or a sanitizer report is another
# status). Usage: cli_hostile.sh PATH/TO/agepass
set -u
agepass=$(realpath "${1:?usage: cli_hostile.sh AGEPASS}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 2
pass=0
fail=0

expect_status() { # want description command...
    local want=$1 what=$2 got
    shift 2
    "$@" >/dev/null 2>err.txt
    got=$?
    if [ "$got" -eq "$want" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "not ok - $what: exit $got, expected $want: $(head -c 300 err.txt)"
    fi
}

# mutate IN OUT OFFSET: OUT is IN with the byte at OFFSET inverted
mutate() {
    cp "$1" "$2"
    printf "$(printf '\\%03o' $((0x$(od -An -tx1 -j "$3" -N1 "$1" | tr -d ' ') ^ 0xff)))" |
        dd of="$2" bs=1 seek="$3" conv=notrunc status=none
}

"$agepass" keygen --out k >/dev/null || exit 2
"$agepass" keygen --out k2 >/dev/null || exit 2
"$agepass" token challenge --issuer-name issuer.example --origin-info origin.example --context random --out ch.bin || exit 2
"$agepass" token challenge --issuer-name issuer.example --origin-info other.example --out ch2.bin || exit 2
"$agepass" token request --pub k/issuer-public.der --challenge ch.bin --state st.bin --out req.bin || exit 2
"$agepass" token issue --key k/issuer-private.pem --in req.bin --out resp.bin || exit 2
"$agepass" token finalize --state st.bin --in resp.bin --out tok.bin || exit 2

expect_status 0 "the genuine token verifies" "$agepass" token verify --pub k/issuer-public.der --challenge ch.bin --in tok.bin

# verify: every byte flipped, every truncation, one byte more
len=$(stat -c %s tok.bin)
for ((i = 0; i < len; i++)); do
    mutate tok.bin bad.bin "$i"
    expect_status 1 "verify, byte $i flipped" "$agepass" token verify --pub k/issuer-public.der --challenge ch.bin --in bad.bin
done
for ((i = 0; i < len; i++)); do
    head -c "$i" tok.bin >bad.bin
    expect_status 1 "verify, truncated to $i" "$agepass" token verify --pub k/issuer-public.der --challenge ch.bin --in bad.bin
done
{ cat tok.bin; printf 'x'; } >bad.bin
expect_status 1 "verify, one byte more" "$agepass" token verify --pub k/issuer-public.der --challenge ch.bin --in bad.bin
# swapped: another challenge, another key, the request or response in place of the token
expect_status 1 "verify, another challenge" "$agepass" token verify --pub k/issuer-public.der --challenge ch2.bin --in tok.bin
expect_status 1 "verify, another key" "$agepass" token verify --pub k2/issuer-public.der --challenge ch.bin --in tok.bin
expect_status 1 "verify, request as token" "$agepass" token verify --pub k/issuer-public.der --challenge ch.bin --in req.bin
expect_status 1 "verify, token as challenge" "$agepass" token verify --pub k/issuer-public.der --challenge tok.bin --in tok.bin
expect_status 1 "verify, token as key" "$agepass" token verify --pub tok.bin --challenge ch.bin --in tok.bin
expect_status 1 "verify, private key as public" "$agepass" token verify --pub k/issuer-private.pem --challenge ch.bin --in tok.bin
expect_status 1 "verify, missing file" "$agepass" token verify --pub k/issuer-public.der --challenge ch.bin --in nothing.bin
expect_status 2 "verify, no arguments" "$agepass" token verify

# issue: header bytes flipped, every truncation, one byte more, swapped
for i in 0 1 2; do
    mutate req.bin bad.bin "$i"
    expect_status 1 "issue, header byte $i flipped" "$agepass" token issue --key k/issuer-private.pem --in bad.bin --out out.bin
done
len=$(stat -c %s req.bin)
for ((i = 0; i < len; i++)); do
    head -c "$i" req.bin >bad.bin
    expect_status 1 "issue, truncated to $i" "$agepass" token issue --key k/issuer-private.pem --in bad.bin --out out.bin
done
{ cat req.bin; printf 'x'; } >bad.bin
expect_status 1 "issue, one byte more" "$agepass" token issue --key k/issuer-private.pem --in bad.bin --out out.bin
{ head -c 3 req.bin; head -c 256 /dev/zero | tr '\0' '\377'; } >bad.bin
expect_status 1 "issue, blinded message above the modulus" "$agepass" token issue --key k/issuer-private.pem --in bad.bin --out out.bin
expect_status 1 "issue, another key" "$agepass" token issue --key k2/issuer-private.pem --in req.bin --out out.bin
expect_status 1 "issue, public key as private" "$agepass" token issue --key k/issuer-public.der --in req.bin --out out.bin
expect_status 1 "issue, token as request" "$agepass" token issue --key k/issuer-private.pem --in tok.bin --out out.bin
# finalize: a response flipped, truncated, or for another request
mutate resp.bin bad.bin 17
expect_status 1 "finalize, flipped response" "$agepass" token finalize --state st.bin --in bad.bin --out out.bin
head -c 255 resp.bin >bad.bin
expect_status 1 "finalize, truncated response" "$agepass" token finalize --state st.bin --in bad.bin --out out.bin
mutate st.bin bad.bin 200
expect_status 1 "finalize, corrupted state" "$agepass" token finalize --state bad.bin --in resp.bin --out out.bin
# request: a challenge that is not one, a key that is not one
head -c 10 ch.bin >bad.bin
expect_status 1 "request, truncated challenge" "$agepass" token request --pub k/issuer-public.der --challenge bad.bin --state s.bin --out o.bin
expect_status 1 "request, token as key" "$agepass" token request --pub tok.bin --challenge ch.bin --state s.bin --out o.bin

echo "cli_hostile: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
