#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The HAProxy recipe of deploy/haproxy (a Lua action asking the verifier)
# with Debian's haproxy, the verifier, Redis and a static site behind, all
# on loopback; the same checks as the nginx recipe. Usage: verifier_haproxy.sh AGEPASS
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
agepass=$(realpath "${1:?usage: verifier_haproxy.sh AGEPASS}")
. "$here/lib.sh"
. "$here/forward_auth.sh"
command -v haproxy >/dev/null || { echo "haproxy is not installed: run scripts/setup"; exit 1; }

fa_setup
site_port=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$work/site" "$site_port" >"$work/site.log" 2>&1 &
pids+=($!)
wait_port "$site_port" || exit 2
# The shipped configuration, on this test's ports and files.
mkdir -p "$work/haproxy"
cp "$repo/deploy/haproxy/agepass.lua" "$repo/deploy/haproxy/agepass-required.html" "$work/haproxy/"
sed -e "s#/etc/haproxy/#$work/haproxy/#g" -e "s#127.0.0.1:8080#127.0.0.1:$proxy_port#" \
    -e "s#127.0.0.1:8081#127.0.0.1:$verifier_port#g" \
    -e "s#127.0.0.1:8000#127.0.0.1:$site_port#" "$repo/deploy/haproxy/haproxy.cfg" >"$work/haproxy/haproxy.cfg"
check "the shipped haproxy.cfg is valid" haproxy -c -q -f "$work/haproxy/haproxy.cfg"
# The README's lines for the frontend are those of the shipped file.
missing=$(awk '/^```haproxy/{f=1;next} f&&/^```/{exit} f' "$repo/README.md" | while read -r line; do
    grep -qF -- "$line" "$repo/deploy/haproxy/haproxy.cfg" || echo "$line"
done)
check "the README's HAProxy lines are in deploy/haproxy/haproxy.cfg${missing:+ (not: $missing)}" [ -z "$missing" ]
haproxy -db -f "$work/haproxy/haproxy.cfg" >"$work/haproxy/log" 2>&1 &
haproxy_pid=$!
pids+=($haproxy_pid)
wait_port "$proxy_port" && kill -0 "$haproxy_pid" 2>/dev/null || { tail -5 "$work/haproxy/log"; exit 2; }
fa_start_verifier
fa_checks "http://127.0.0.1:$proxy_port"
[ "$fail" -eq 0 ] || { echo "--- haproxy log"; tail -5 "$work/haproxy/log"; echo "--- verifier log"; tail -5 "$work/verifier.log"; }
finish
