#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/readme.sh: runs README's "Try it by hand" commands as a
# reader would paste them, with the program under test first in PATH, its
# /tmp paths moved into a temp folder and ports 8080/8081 moved to free
# ones, then checks what they printed. Usage: readme.sh AGEPASS README
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
agepass=$1
readme=$2

p1=$(free_port)
p2=$(free_port)
awk '/### Try it by hand/{f=1} f&&/^```sh/{g=1;next} g&&/^```/{exit} g' "$readme" |
    sed -e "s#/tmp/#$work/#g" -e "s/8080/$p1/g" -e "s/8081/$p2/g" \
        -e "s#^export PATH=.*#export PATH=$(dirname "$agepass"):\$PATH#" >"$work/try.sh"
check "README has the by-hand block, with its final kill" grep -q '^kill %1 %2; wait$' "$work/try.sh"
(cd "$work" && timeout 60 bash -e try.sh) >"$work/out" 2>&1
check "the block runs to the end" [ $? -eq 0 ]
check "the age check passes" grep -q '^age check passed$' "$work/out"
check "the wallet holds 29 tokens after spending one" grep -q 'over 18: 29 tokens' "$work/out"
check "the issuer counted 1 enrolment and 30 tokens" bash -c \
    "grep -q '^agepass_issuer_enrolments_accepted_total{source=\"dev\"} 1$' '$work/out' &&
     grep -q '^agepass_issuer_tokens_issued_total{.*} 30$' '$work/out'"
check "the verifier counted 1 token and 1 session" bash -c \
    "grep -q '^agepass_verifier_tokens_accepted_total{.*} 1$' '$work/out' &&
     grep -q '^agepass_verifier_sessions_opened_total 1$' '$work/out'"
[ "$fail" -eq 0 ] || cat "$work/out"
finish
