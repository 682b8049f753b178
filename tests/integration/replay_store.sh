#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The verifier's replay store and key lifetimes, tried as an attacker would
# (issue 10 items 2-4, issue 13 items 2-3), on loopback:
#  1. clock moved on (faketime, LD_PRELOAD): a spent cross-origin token of a
#     file key stays spent after 100 days (it came back after 90), and the
#     key is refused from its expires= day on; a directory key likewise,
#     120 days after its not-before;
#  2. a directory (served by python3 -m http.server) with two current keys
#     for one class is refused and counted; the keys trusted before stay;
#  3. two verifiers on one Redis: a second one with its own --state secret
#     is refused at start; with the shared secret, the same cross-origin
#     token raced at both is accepted exactly once;
#  4. Redis: without persistence, or without CONFIG, the verifier refuses to
#     start (unless --allow-volatile-replay-store); a restart of a persistent
#     Redis keeps a spent token spent;
#  5. what is stored: every expiry in the embedded replay file and in a
#     Redis dump (RDB) is a key's end or a challenge window's end, and the
#     order of tags in them is not the order of spends.
# Usage: replay_store.sh AGEPASS
here=$(cd "$(dirname "$0")" && pwd)
agepass=$(realpath "${1:?usage: replay_store.sh AGEPASS}")
. "$here/lib.sh"
cd "$work" || exit 2
# libfaketime (Debian's faketime package), preloaded into the verifier itself
# (the faketime program would fork it, and kill would not reach it)
libfaketime=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1)
[ -n "$libfaketime" ] || { echo "replay_store: libfaketime is needed (scripts/setup)"; exit 2; }

day=86400
now=$(date +%s)
expires_day=$(date -u -d "@$((now + 200 * day))" +%F)
key_end=$(date -u -d "$expires_day" +%s) # 00:00 UTC of that day
"$agepass" keygen --out iss >/dev/null || exit 2
"$agepass" keygen --out dk1 >/dev/null || exit 2
"$agepass" keygen --out dk2 >/dev/null || exit 2
file_trust="iss/issuer-public.der,name=issuer.example,expires=$expires_day"
# AGP_OLD_CODE=1: without expires= (the code before it), to see this test fail there
[ -n "${AGP_OLD_CODE:-}" ] && file_trust="iss/issuer-public.der,name=issuer.example"

# libfaketime hangs in an AddressSanitizer build (its clock_gettime is called
# again while it starts, and ASan's own start-up reads the clock): there the
# clock-moved checks are skipped, said so; the normal build runs them.
clock_moves() {
    if nm "$agepass" 2>/dev/null | grep -q ' __asan_init'; then
        echo "# SKIP the clock-moved checks: libfaketime does not run under AddressSanitizer"
        return 1
    fi
}
# serve NAME PORT [args...]: a verifier (with FAKE=+Nd, under faketime)
serve() {
    local name=$1 port=$2
    shift 2
    if [ -n "${FAKE:-}" ]; then
        LD_PRELOAD=$libfaketime FAKETIME=$FAKE "$agepass" verifier serve --state "$name" \
            --listen "127.0.0.1:$port" --cross-origin "$@" 2>>"$name.log" &
    else
        "$agepass" verifier serve --state "$name" --listen "127.0.0.1:$port" --cross-origin "$@" \
            2>>"$name.log" &
    fi
    pids+=($!)
    last_pid=$!
    wait_port "$port"
}
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# mint N KEYDIR OUTDIR [CHALLENGE_FILE]: N Authorization values of KEYDIR's
# key, for a cross-origin challenge (or the given one)
mint() {
    local n=$1 k=$2 d=$3 ch=${4:-} i
    mkdir -p "$d"
    if [ -z "$ch" ]; then
        "$agepass" token challenge --issuer-name issuer.example --context empty --out "$d/ch" || return 1
        ch=$d/ch
    fi
    for ((i = 0; i < n; i++)); do
        "$agepass" token request --pub "$k/issuer-public.der" --challenge "$ch" --state "$d/st" --out "$d/req" &&
            "$agepass" token issue --key "$k/issuer-private.pem" --in "$d/req" --out "$d/resp" &&
            "$agepass" token finalize --state "$d/st" --in "$d/resp" --out "$d/tok" &&
            "$agepass" token header-token --in "$d/tok" >"$d/$i" || return 1
    done
}
code() { # code PORT AUTHZ_FILE
    curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $(cat "$2")" "http://127.0.0.1:$1/auth"
}
metric() { # metric PORT NAME_WITH_LABELS
    curl -s "http://127.0.0.1:$1/metrics" | grep -F "$2 " | awk '{ print $2 }'
}

# --- 1. the clock moved on: file key ----------------------------------------------
pc=$(free_port)
serve vc "$pc" --trust "$file_trust"
mint 12 iss cross || { not_ok "minting"; finish; exit 1; }
c=$(code "$pc" cross/0)
check "file key: a cross-origin token is accepted ($c)" [ "$c" = 200 ]
for i in $(seq 1 11); do code "$pc" "cross/$i" >/dev/null; done # for part 5
# origin-bound tokens too, for part 5's stored times
www=$(curl -s -D - -o /dev/null "http://127.0.0.1:$pc/auth" | grep -i '^WWW-Authenticate:' | cut -d' ' -f2- | tr -d '\r')
# the origin-bound challenge of the header (the one with a redemption context)
python3 - "$www" <<'EOF'
import base64, re, sys
for c in re.findall(r'challenge="([^"]+)"', sys.argv[1]):
    b = base64.urlsafe_b64decode(c + '=' * (-len(c) % 4))
    if len(b) > 40:
        open('ob.ch', 'wb').write(b)
EOF
mint 3 iss ob ob.ch && for i in 0 1 2; do code "$pc" "ob/$i" >/dev/null; done
cp vc/replay.log replay-run.log # what the store holds after the run (part 5)
stop "$last_pid"
if clock_moves; then
FAKE=+100d serve vc "$pc" --trust "$file_trust"
c=$(code "$pc" cross/0)
check "file key, clock +100 days: the spent token is still refused ($c)" [ "$c" = 401 ]
check "  ... as a replay" [ "$(metric "$pc" 'agepass_verifier_tokens_refused_total{reason="replay"}')" = 1 ]
stop "$last_pid"
FAKE=+201d serve vc "$pc" --trust "$file_trust"
mint 1 iss late || exit 1
c=$(code "$pc" late/0)
check "file key, clock +201 days (past expires=): a fresh token is refused ($c)" one_of "$c" 401 503
check "  ... as expired_key" [ "$(metric "$pc" 'agepass_verifier_tokens_refused_total{reason="expired_key"}')" = 1 ]
stop "$last_pid"
fi
timeout 10 "$agepass" verifier serve --state vx --listen "127.0.0.1:$(free_port)" \
    --trust "iss/issuer-public.der,name=issuer.example" 2>vx.log
check "a key file without expires= is refused at start ($?)" grep -q 'expires=' vx.log

# --- 2. directory keys: lifetime and key partition ----------------------------------
mkdir -p www
directory() { # directory KEY:NOT_BEFORE...
    local args=() kv
    for kv in "$@"; do args+=(--pub "${kv%%:*}/issuer-public.der,age=18,not-before=${kv##*:}"); done
    "$agepass" token directory --request-uri "http://127.0.0.1:1/token-request" "${args[@]}" --out www/d.tmp &&
        mv www/d.tmp www/dir.json
}
directory "dk1:$((now - day))" || exit 2
ph=$(free_port)
(cd www && exec python3 -m http.server "$ph" --bind 127.0.0.1) >http.log 2>&1 &
pids+=($!)
wait_port "$ph"
pd=$(free_port)
dtrust="http://127.0.0.1:$ph/dir.json,name=issuer.example"
serve vd "$pd" --trust "$dtrust" --refresh 5
mint 2 dk1 dcross || exit 1
c=$(code "$pd" dcross/0)
check "directory key: a cross-origin token is accepted ($c)" [ "$c" = 200 ]
# a key for one person: a second current key of class 18
directory "dk1:$((now - day))" "dk2:$((now - day))" || exit 2
for i in $(seq 1 40); do
    [ "$(metric "$pd" 'agepass_verifier_directory_refused_total{reason="key_partition"}')" = 0 ] || break
    sleep 0.25
done
check "a directory with two current keys of one class is refused and counted" \
    [ "$(metric "$pd" 'agepass_verifier_directory_refused_total{reason="key_partition"}')" -ge 1 ]
check "  ... and the log says why" grep -q "key_partition" vd.log
mint 1 dk2 dk2cross || exit 1
c=$(code "$pd" dk2cross/0)
check "  ... the partition key's token is refused ($c)" [ "$c" = 401 ]
c=$(code "$pd" dcross/1)
check "  ... the key trusted before still is ($c)" [ "$c" = 200 ]
directory "dk1:$((now - day))" || exit 2
stop "$last_pid"
if clock_moves; then
FAKE=+100d serve vd "$pd" --trust "$dtrust" --refresh 5
c=$(code "$pd" dcross/0)
check "directory key, clock +100 days: the spent token is still refused ($c)" [ "$c" = 401 ]
stop "$last_pid"
FAKE=+120d serve vd "$pd" --trust "$dtrust" --refresh 5
mint 1 dk1 dlate || exit 1
c=$(code "$pd" dlate/0)
check "directory key, 120 days after its not-before: refused ($c)" one_of "$c" 401 503
check "  ... as expired_key" [ "$(metric "$pd" 'agepass_verifier_tokens_refused_total{reason="expired_key"}')" = 1 ]
stop "$last_pid"
fi

# --- 3. two verifiers, one Redis ----------------------------------------------------
rp=$(free_port)
start_redis "$rp" || exit 2
rurl="redis://127.0.0.1:$rp"
pa=$(free_port)
pb=$(free_port)
serve va "$pa" --trust "$file_trust" --redis "$rurl"
mint 20 iss shared || exit 1
c=$(code "$pa" shared/0)
check "verifier A on Redis accepts a token ($c)" [ "$c" = 200 ]
"$agepass" verifier serve --state vb --listen "127.0.0.1:$pb" --cross-origin --trust "$file_trust" \
    --redis "$rurl" 2>>vb.log &
vb_pid=$!
pids+=($vb_pid)
for i in $(seq 1 40); do kill -0 "$vb_pid" 2>/dev/null || break; sleep 0.1; done
c=$(code "$pb" shared/0)
check "verifier B with its own secret is refused at start (the token: $c)" \
    bash -c "! kill -0 $vb_pid 2>/dev/null && [ '$c' != 200 ]"
check "  ... and says what to do" grep -q "verifier-secret" vb.log
cp va/verifier-secret vb/verifier-secret
serve vb "$pb" --trust "$file_trust" --redis "$rurl"
c=$(code "$pb" shared/0)
check "with the shared secret, B refuses A's spent token ($c)" [ "$c" = 401 ]
wrong=0
for i in $(seq 1 19); do
    code "$pa" "shared/$i" >"shared/$i.a" &
    ca=$!
    code "$pb" "shared/$i" >"shared/$i.b" &
    cb=$!
    wait "$ca" "$cb"
    [ "$(cat "shared/$i.a" "shared/$i.b" | grep -c 200)" = 1 ] || wrong=$((wrong + 1))
done
check "the same cross-origin token raced at A and B: accepted exactly once, 19 tokens ($wrong wrong)" [ "$wrong" = 0 ]

# --- 4. Redis persistence -------------------------------------------------------------
stop "$redis_pid"
start_redis "$rp" || exit 2
c=$(code "$pa" shared/0)
check "Redis restarted (AOF): the spent token stays spent ($c)" [ "$c" = 401 ]
vp=$(free_port)
start_redis "$vp" --appendonly no || exit 2
volatile_pid=$redis_pid
pv=$(free_port)
mkdir -m 700 vv && cp va/verifier-secret vv/
if timeout 10 "$agepass" verifier serve --state vv --listen "127.0.0.1:$pv" --trust "$file_trust" \
    --redis "redis://127.0.0.1:$vp" 2>vv.log; then
    not_ok "a Redis without persistence is refused at start (it served)"
else
    check "a Redis without persistence is refused at start" grep -q "does not persist" vv.log
fi
serve vv "$pv" --trust "$file_trust" --redis "redis://127.0.0.1:$vp" --allow-volatile-replay-store
c=$(code "$pv" shared/0)
check "  ... unless --allow-volatile-replay-store (a fresh store: the token is new to it: $c)" [ "$c" = 200 ]
stop "$last_pid"
stop "$volatile_pid"
np=$(free_port)
start_redis "$np" --rename-command CONFIG '' || exit 2
if timeout 10 "$agepass" verifier serve --state vv --listen "127.0.0.1:$pv" --trust "$file_trust" \
    --redis "redis://127.0.0.1:$np" 2>vn.log; then
    not_ok "a Redis that hides CONFIG is refused at start (it served)"
else
    check "a Redis that hides CONFIG is refused at start" grep -q "does not persist" vn.log
fi

# --- 5. what is stored: coarse times, no order ------------------------------------------
redis-cli -p "$rp" save >/dev/null
ls cross/[0-9]* | sort -t/ -k2 -n >spent.txt # the order in which they were spent
python3 - replay-run.log vc/verifier-secret spent.txt "$key_end" 300 file >file.out <<'EOF'
import base64, hashlib, hmac, sys
path, secret_path, spent, key_end, window, kind = sys.argv[1:7]
secret = open(secret_path, 'rb').read()
def tag(authz):
    b = authz.split('token=', 1)[1].strip().strip('"')
    tok = base64.urlsafe_b64decode(b + '=' * (-len(b) % 4))
    nonce, key_id = tok[2:34], tok[66:98]
    return hmac.new(secret, b'agepass-replay' + key_id + nonce, hashlib.sha256).digest()[:16]
tags = [tag(open(p.strip()).read()) for p in open(spent) if p.strip()]
data = open(path, 'rb').read()
body = data[16:]
recs = [body[i:i + 20] for i in range(0, len(body) - len(body) % 20, 20)]
exp = [int.from_bytes(r[16:], 'big') for r in recs if r != bytes(20)]
odd = [e for e in exp if e != int(key_end) and e % int(window) != 0]
pos = [next((i for i, r in enumerate(recs) if r[:16] == t), -1) for t in tags]
inversions = sum(1 for i in range(len(pos)) for j in range(i + 1, len(pos)) if pos[i] > pos[j])
print(len(exp), len(odd), min(pos), inversions)
EOF
read -r n odd found inv <file.out
check "replay file: $n entries, every expiry a key's or a window's end ($odd others)" test "$n" = 15 -a "$odd" = 0
check "replay file: the tags spent are there, not in the order of spends ($inv inversions in 12)" test "$found" -ge 0 -a "$inv" -gt 0
python3 - "$work/redis-$rp/dump.rdb" va/verifier-secret "$key_end" <<'EOF' >rdb.out
import struct, sys
data = open(sys.argv[1], 'rb').read()
key_end = int(sys.argv[3])
# RDB: 0xFC then the key's expiry, ms, 8 bytes little-endian; keep plausible ones
ms = [struct.unpack('<Q', data[i + 1:i + 9])[0] for i in range(len(data) - 9) if data[i] == 0xFC]
ms = [m for m in ms if 1.5e12 < m < 5e12]
odd = [m for m in ms if m % 1000 != 0 or m // 1000 != key_end]
print(len(ms), len(odd))
EOF
read -r n odd <rdb.out
check "Redis dump: $n expiries, each the key's end to the second ($odd others)" test "$n" -ge 19 -a "$odd" = 0
finish
