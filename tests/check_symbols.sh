#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every symbol libagepass exports starts with agp_ (STYLE.md, "Names").
# Usage: check_symbols.sh path/to/libagepass.a
set -u
lib=${1:?usage: check_symbols.sh LIBRARY}
syms=$(nm --defined-only --extern-only "$lib" | awk 'NF == 3 { print $3 }')
[ -n "$syms" ] || { echo "no symbols found in $lib"; exit 1; }
bad=$(printf '%s\n' "$syms" | grep -v '^agp_' || true)
count=$(printf '%s\n' "$syms" | wc -l)
if [ -n "$bad" ]; then
    echo "exported symbols without the agp_ prefix:"
    printf '%s\n' "$bad"
    exit 1
fi
echo "check_symbols: $count exported symbols, all agp_"
