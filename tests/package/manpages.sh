#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The man pages made from docs/man/*.scd hold every option that a command's
# --help names, so that they cannot drift from the program: prints each
# option missing from its page. Usage: manpages.sh AGEPASS MAN_DIR
here=$(cd "$(dirname "$0")/../integration" && pwd)
agepass=${1:?usage: manpages.sh AGEPASS MAN_DIR}
mandir=${2:?usage: manpages.sh AGEPASS MAN_DIR}
. "$here/lib.sh"

# options TEXT: each --long option and single-letter -X option, once a line
options() {
    grep -oE '(^|[^A-Za-z0-9_-])--?[A-Za-z][A-Za-z0-9-]*' <<<"$1" | sed -E 's/^[^-]+//' |
        grep -vE '^-[A-Za-z][A-Za-z0-9]' | sort -u
}
# words PAGE: the page's roff source without font changes and escaped dashes
words() { sed -E 's/\\f[BIRP]//g; s/\\-/-/g' "$1"; }

# page COMMAND...: the --help of each command against one page
page() {
    local name=$1 text="" missing="" opt cmd
    shift
    local file="$mandir/$name"
    if [ ! -s "$file" ]; then
        not_ok "$name was not made (is scdoc installed? run scripts/setup)"
        return
    fi
    for cmd in "$@"; do
        # shellcheck disable=SC2086 # a command is several words
        text+=$("$agepass" $cmd 2>&1)$'\n'
    done
    local body
    body=$(words "$file")
    local n=0
    while read -r opt; do
        [ -n "$opt" ] || continue
        n=$((n + 1))
        grep -qE -- "(^|[^A-Za-z0-9_-])$opt([^A-Za-z0-9_-]|\$)" <<<"$body" || missing+=" $opt"
    done < <(options "$text")
    if [ -z "$missing" ]; then
        ok "$name holds all $n options of: $*"
    else
        not_ok "$name lacks:$missing"
    fi
    check "$name opens with man -l" bash -c "MANWIDTH=80 man -l '$file' 2>&1 >/dev/null | grep -q . && exit 1; MANWIDTH=80 man -l '$file' | grep -q NAME"
}

page agepass.1 "--help" "keygen --help" "token --help" "demo --help" "enroll --help" \
    "fetch --help" "get --help" "wallet --help" "report --help"
page agepass-issuer.8 "issuer --help" "issuer init --help" "issuer serve --help" \
    "issuer rotate --help"
page agepass-verifier.8 "verifier --help" "verifier serve --help"
# the check itself can fail: a page without one option is caught, and named
mkdir -p "$work/m"
sed -E 's/--session-idle/--session-idl/g' "$mandir/agepass-verifier.8" >"$work/m/agepass-verifier.8"
out=$(mandir=$work/m page agepass-verifier.8 "verifier serve --help")
check "a page without --session-idle is caught and named" grep -qE 'agepass-verifier.8 lacks:( --[a-z-]+)* --session-idle( |$)' <<<"$out"
finish
