#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The C library functions STYLE.md bans (unbounded or locale-dependent
# parsing and copying) appear nowhere in the project's C sources.
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
echo "check_style: no banned functions"
