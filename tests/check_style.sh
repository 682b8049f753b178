#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The C library functions STYLE.md bans (unbounded or locale-dependent
# parsing and copying) appear nowhere in the project's C sources, and every
# source, script and config file carries the licence's SPDX line near its top.
# Usage: check_style.sh REPO_DIR
set -u
cd "${1:?usage: check_style.sh REPO_DIR}" || exit 2
hits=$(grep -nE '\b(atoi|atol|strtol|strtoul|strtoll|strtoull|sscanf|strcpy|strcat|sprintf|vsprintf|strtok|gets)\s*\(' \
    $(git ls-files '*.c' '*.h' 2>/dev/null || find lib src include tests bench -name '*.[ch]') || true)
if [ -n "$hits" ]; then
    echo "banned functions used:"
    echo "$hits"
    exit 1
fi
# The licence line: within the first three lines (after a #! line).
unlicensed=$(git ls-files -co --exclude-standard '*.c' '*.h' '*.sh' '*.mjs' '*.js' '*.py' '*.lua' '*.conf' \
        'CMakeLists.txt' 'scripts/*' '.ci/*' 2>/dev/null | grep -v -e '/corpus/' -e 'node_modules/' |
    while read -r f; do
        [ -f "$f" ] && ! head -3 "$f" | grep -q 'SPDX-License-Identifier: Apache-2.0' && echo "$f"
    done)
if [ -n "$unlicensed" ]; then
    echo "no SPDX-License-Identifier line in the first three lines of:"
    echo "$unlicensed"
    exit 1
fi
echo "check_style: no banned functions; every source file names its licence"
