#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Caddy recipe of deploy/caddy (forward_auth to the verifier) with
# Debian's caddy, the verifier and Redis, all on loopback; the same checks as
# the nginx recipe. Usage: verifier_caddy.sh AGEPASS
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
agepass=$(realpath "${1:?usage: verifier_caddy.sh AGEPASS}")
. "$here/lib.sh"
. "$here/forward_auth.sh"
command -v caddy >/dev/null || { echo "caddy is not installed: run scripts/setup"; exit 1; }

fa_setup
# The shipped snippets, pointed at this verifier; the shipped Caddyfile's
# site, on loopback and this test's folders.
mkdir -p "$work/caddy"
sed "s/127.0.0.1:8081/127.0.0.1:$verifier_port/" "$repo/deploy/caddy/agepass.caddy" >"$work/caddy/agepass.caddy"
sed -e "s#/etc/caddy/agepass.caddy#$work/caddy/agepass.caddy#" \
    -e "s#^shop.example {#http://127.0.0.1:$proxy_port {\n\tbind 127.0.0.1#" \
    -e "s#/var/www/shop#$work/site#" "$repo/deploy/caddy/Caddyfile" >"$work/caddy/Caddyfile"
printf '{\n\tadmin off\n\tauto_https off\n}\n' | cat - "$work/caddy/Caddyfile" >"$work/caddy/Caddyfile.test"
check "the shipped Caddyfile and snippets are valid" \
    env HOME="$work/caddy" XDG_DATA_HOME="$work/caddy" XDG_CONFIG_HOME="$work/caddy" \
    caddy validate --adapter caddyfile --config "$work/caddy/Caddyfile.test" >"$work/caddy/validate.log" 2>&1
# The README's Caddyfile, pasted as it is (with this test's snippets), is valid too.
awk '/^```caddy/{f=1;next} f&&/^```/{exit} f' "$repo/README.md" |
    sed "s#/etc/caddy/agepass.caddy#$work/caddy/agepass.caddy#" >"$work/caddy/Caddyfile.readme"
check "the README's Caddyfile is valid" bash -c "[ -s '$work/caddy/Caddyfile.readme' ] &&
    HOME='$work/caddy' XDG_DATA_HOME='$work/caddy' XDG_CONFIG_HOME='$work/caddy' \
    caddy validate --adapter caddyfile --config '$work/caddy/Caddyfile.readme' >'$work/caddy/validate-readme.log' 2>&1"
HOME="$work/caddy" XDG_DATA_HOME="$work/caddy" XDG_CONFIG_HOME="$work/caddy" \
    caddy run --adapter caddyfile --config "$work/caddy/Caddyfile.test" >"$work/caddy/log" 2>&1 &
caddy_pid=$!
pids+=($caddy_pid)
# Up when it says so (another program may hold a port free_port gave).
for i in $(seq 1 100); do
    grep -q '"serving initial configuration"' "$work/caddy/log" && break
    kill -0 "$caddy_pid" 2>/dev/null || break
    sleep 0.05
done
grep -q '"serving initial configuration"' "$work/caddy/log" || { tail -5 "$work/caddy/log"; exit 2; }
fa_start_verifier
fa_checks "http://127.0.0.1:$proxy_port"
[ "$fail" -eq 0 ] || { echo "--- caddy log"; tail -5 "$work/caddy/log"; echo "--- verifier log"; tail -5 "$work/verifier.log"; }
finish
