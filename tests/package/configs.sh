#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The example configuration files of the package (deploy/config/) name every
# option of their service, and `--config` takes them as shipped and with every
# example line (`#name value`) switched on. Usage: configs.sh AGEPASS REPO
here=$(cd "$(dirname "$0")/../integration" && pwd)
agepass=${1:?usage: configs.sh AGEPASS REPO}
repo=${2:?usage: configs.sh AGEPASS REPO}
. "$here/lib.sh"

# conf SERVICE HELP_CMD NOT_IN_FILE...
conf() {
    local svc=$1 help=$2 file="$repo/deploy/config/$1.conf" opt missing=""
    shift 2
    # shellcheck disable=SC2086 # a command is several words
    for opt in $("$agepass" $help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
        one_of "$opt" --config --help "$@" && continue
        grep -qE "^#?${opt#--}( |\$)" "$file" || missing+=" ${opt#--}"
    done
    check "$svc.conf names every option of '$help' (missing:${missing:- none})" [ -z "$missing" ]
    # --listen on the command line wins and is wrong: the file was read whole
    # when that is the complaint.
    # As shipped, the verifier still needs a `trust` line: it asks for that.
    "$agepass" "$svc" serve --config "$file" --listen nowhere 2>"$work/$svc.err"
    check "$svc.conf as shipped is read" grep -qE -- '--listen takes HOST:PORT|option --trust is required' "$work/$svc.err"
    sed -E 's/^#([a-z])/\1/' "$file" >"$work/$svc-all.conf"
    "$agepass" "$svc" serve --config "$work/$svc-all.conf" --listen nowhere 2>"$work/$svc-all.err"
    check "$svc.conf with every example on is read" grep -q -- '--listen takes HOST:PORT' "$work/$svc-all.err" ||
        cat "$work/$svc-all.err"
    printf 'no-such-option 1\n' >>"$work/$svc-all.conf"
    "$agepass" "$svc" serve --config "$work/$svc-all.conf" --listen nowhere 2>"$work/$svc-bad.err"
    check "... and a wrong line in it is refused" grep -q "unknown option" "$work/$svc-bad.err"
}
conf verifier "verifier serve --help"
conf issuer "issuer --help" --name --age-classes --epoch-days --now --min-epoch-days --force
finish
