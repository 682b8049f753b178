#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `agepass --version` and `-V`: the version of CMake's project(VERSION), the
# one place it is written, and the OpenSSL library actually loaded; the Debian
# package carries the same version. Usage: version.sh AGEPASS VERSION REPO
here=$(cd "$(dirname "$0")/../integration" && pwd)
agepass=${1:?usage: version.sh AGEPASS VERSION REPO}
version=${2:?}
repo=${3:?}
. "$here/lib.sh"

for flag in --version -V; do
    out=$("$agepass" "$flag")
    check "$flag exits 0" [ $? -eq 0 ]
    check "$flag: first line 'agepass $version' ($(head -1 <<<"$out"))" [ "$(head -1 <<<"$out")" = "agepass $version" ]
    # `openssl version` prints "OpenSSL X (Library: OpenSSL Y)" when the two differ.
    lib=$(openssl version | sed -n 's/.*(Library: \(.*\))$/\1/p')
    [ -n "$lib" ] || lib=$(openssl version)
    check "$flag: second line the OpenSSL in use ($lib)" [ "$(sed -n 2p <<<"$out")" = "$lib" ]
done
deb=$(sed -n '1s/^agepass (\([^)-]*\).*/\1/p' "$repo/debian/changelog")
check "debian/changelog's upstream version is $version ($deb)" [ "$deb" = "$version" ]
"$agepass" --versions >/dev/null 2>&1
check "a near-miss (--versions) is a usage error" [ $? -eq 2 ]
finish
