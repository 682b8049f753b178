#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian package as an operator meets it, on this machine (as root; it
# installs and purges the package): build it from a copy of the tree with
# dpkg-buildpackage, lintian (no error), `apt-get install ./agepass_*.deb`,
# `agepass demo` from /usr/bin/agepass, `man` on each page, systemd-analyze
# verify and security (each unit at most 2.0) on the installed units, then
# `apt-get purge` and nothing of it left but the system user, which Debian
# keeps. CI runs it (.ci/run). Usage: check.sh [DEB]  (DEB: skip the build)
here=$(cd "$(dirname "$0")/../integration" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "check.sh installs a package: run it as root"; exit 2; }
if dpkg-query -W -f='${Status}' agepass 2>/dev/null | grep -q installed; then
    echo "agepass is installed already: apt-get purge agepass first"
    exit 2
fi
export DEBIAN_FRONTEND=noninteractive

deb=${1:-}
if [ -z "$deb" ]; then
    # A copy of the tree as git sees it, so that the build leaves the checkout alone.
    mkdir -p "$work/src/agepass"
    (cd "$repo" && git ls-files -co --exclude-standard | tar -cf - -T -) | tar -xf - -C "$work/src/agepass"
    (cd "$work/src/agepass" && DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
        >"$work/build.log" 2>&1
    rc=$?
    check "dpkg-buildpackage -us -uc -b builds the package" [ $rc -eq 0 ]
    [ $rc -eq 0 ] || { tail -30 "$work/build.log"; finish; exit; }
    deb=$(ls "$work"/src/agepass_*_"$(dpkg --print-architecture)".deb)
fi
deb=$(realpath "$deb")
echo "package: $(basename "$deb")"

lintian "$deb" 2>&1 | grep -v 'running with root privileges' >"$work/lintian.txt"
sed 's/^/  lintian: /' "$work/lintian.txt"
check "lintian reports no error" bash -c "! grep -q '^E:' '$work/lintian.txt'"

chmod 755 "$work" "$(dirname "$deb")" # apt reads the file as _apt
apt-get install -y -qq "$deb" >"$work/install.log" 2>&1
rc=$?
check "apt-get install ./agepass_*.deb" [ $rc -eq 0 ]
[ $rc -eq 0 ] || cat "$work/install.log"
dpkg -L agepass | sort >"$work/files.txt"
check "/usr/bin/agepass --version: $(/usr/bin/agepass --version | head -1)" /usr/bin/agepass --version
(cd "$work" && timeout 120 /usr/bin/agepass demo >"$work/demo.log" 2>&1)
rc=$?
check "agepass demo from /usr/bin/agepass (exit $rc)" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tail -20 "$work/demo.log"
for page in agepass.1 agepass-issuer.8 agepass-verifier.8; do
    f=$(grep "/$page.gz\$" "$work/files.txt")
    check "man -l $f" bash -c "MANWIDTH=80 man -l '$f' | grep -q '^NAME'"
    check "man ${page%.*} finds it" bash -c "MANWIDTH=80 man '${page%.*}' 2>/dev/null | grep -q '^NAME'"
done
check "the system user agepass exists" bash -c "getent passwd agepass >/dev/null"
for f in /etc/agepass/issuer.conf /etc/agepass/verifier.conf /etc/nginx/snippets/agepass/agepass.conf \
    /etc/nginx/snippets/agepass/agepass-protect.conf /etc/nginx/snippets/agepass/agepass-upstream.conf; do
    check "conffile $f" grep -qx " *$f [0-9a-f]*" <(dpkg-query -W -f='${Conffiles}\n' agepass)
done
# The template unit through an instance of it, as a file of that name.
mkdir -p "$work/units"
cp /lib/systemd/system/agepass-verifier@.service "$work/units/agepass-verifier@shop.service"
for unit in /lib/systemd/system/agepass-issuer.service /lib/systemd/system/agepass-verifier.service \
    "$work/units/agepass-verifier@shop.service"; do
    out=$(systemd-analyze verify "$unit" 2>&1)
    check "systemd-analyze verify $unit${out:+: $out}" [ -z "$out" ]
    score=$(systemd-analyze security --offline=yes "$unit" 2>&1 |
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    echo "systemd-analyze security $(basename "$unit"): ${score:-none}"
    check "$(basename "$unit") exposure ${score:-none} is at most 2.0" awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }'
done
check "the services are not enabled before they are configured" \
    bash -c '! ls /etc/systemd/system/multi-user.target.wants/agepass-* 2>/dev/null'

# No systemd runs here (a container): the services' user, state folders (as
# StateDirectory= makes them) and shipped configuration files, by hand.
for svc in issuer verifier; do
    install -d -o agepass -g agepass -m 0700 "/var/lib/agepass-$svc"
done
runuser -u agepass -- /usr/bin/agepass issuer init --state /var/lib/agepass-issuer --name issuer.example >/dev/null
check "issuer init as the agepass user, in the service's state folder" [ $? -eq 0 ]
port=$(free_port)
runuser -u agepass -- /usr/bin/agepass issuer serve --config /etc/agepass/issuer.conf \
    --listen "127.0.0.1:$port" 2>"$work/issuer.log" &
pids+=($!)
wait_port "$port"
check "the issuer serves with /etc/agepass/issuer.conf as the agepass user" \
    bash -c "curl -sf 'http://127.0.0.1:$port/.well-known/private-token-issuer-directory' | grep -q token-keys"
wport=$(free_port)
runuser -u agepass -- /usr/bin/agepass issuer serve --config /etc/agepass/issuer.conf \
    --listen "127.0.0.1:$wport" --wallet-dir /usr/share/agepass/wallet 2>"$work/issuer-wallet.log" &
pids+=($!)
wait_port "$wport"
check "the packaged web wallet: issuer serve --wallet-dir /usr/share/agepass/wallet serves it at /wallet/" \
    bash -c "curl -sf 'http://127.0.0.1:$wport/wallet/' | grep -q 'src=\"wallet.js\" integrity=\"sha384-' &&
        curl -sf 'http://127.0.0.1:$wport/wallet/wallet.js' | grep -q '^// core/wallet.js' &&
        curl -sf 'http://127.0.0.1:$wport/wallet/sw.js' | grep -q 'wallet.js' &&
        curl -sf 'http://127.0.0.1:$wport/wallet/config.json' | grep -qx '{\"provider\":\"\",\"enrol\":\[\"oidc\",\"mdoc\"\]}'"
vport=$(free_port)
runuser -u agepass -- /usr/bin/agepass verifier serve --config /etc/agepass/verifier.conf \
    --listen "127.0.0.1:$vport" --trust "http://127.0.0.1:$port/.well-known/private-token-issuer-directory" \
    2>"$work/verifier.log" &
pids+=($!)
wait_port "$vport"
check "the verifier serves with /etc/agepass/verifier.conf as the agepass user: 401 and a challenge" \
    bash -c "curl -s -D - -o /dev/null 'http://127.0.0.1:$vport/auth' | grep -q '^WWW-Authenticate: PrivateToken'"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
pids=()

apt-get purge -y -qq agepass >"$work/purge.log" 2>&1
rc=$?
check "apt-get purge -y agepass" [ $rc -eq 0 ]
[ $rc -eq 0 ] || cat "$work/purge.log"
check "dpkg knows no agepass any more" bash -c "! dpkg-query -W -f='\${Status}' agepass 2>/dev/null | grep -q ."
left=""
while read -r f; do
    [ -e "$f" ] && [ "$f" != /. ] || continue
    [ -d "$f" ] && [ -n "$(dpkg -S "$f" 2>/dev/null)" ] && continue # a folder other packages own
    left+=" $f"
done <"$work/files.txt"
for f in /etc/agepass /etc/nginx/snippets/agepass /var/lib/agepass-issuer /var/lib/agepass-verifier; do
    [ -e "$f" ] && left+=" $f"
done
check "nothing of the package is left${left:+:$left}" [ -z "$left" ]
check "the system user stays, as Debian policy keeps it" bash -c "getent passwd agepass >/dev/null"
finish
