# SPDX-License-Identifier: Apache-2.0
# tests/integration/lib.sh: shared helpers for the integration scripts.
# Source it; it sets $work (a temp dir removed on exit) and counts checks.
set -u
work=$(mktemp -d "${TMPDIR:-/tmp}/agp-it.XXXXXX")
pids=()
pass=0
fail=0
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    [ -n "${AGP_KEEP_WORK:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

ok() {
    pass=$((pass + 1))
    echo "ok - $*"
}
not_ok() {
    fail=$((fail + 1))
    echo "not ok - $*"
}
# check DESCRIPTION COMMAND...: the command must succeed
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}
# one_of VALUE A B...: VALUE is one of A B...
one_of() {
    local v=$1 x
    shift
    for x in "$@"; do [ "$v" = "$x" ] && return 0; done
    return 1
}
finish() {
    echo "$(basename "$0" .sh): $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}

# A free TCP port on loopback.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_port PORT: until something listens there (5 s at most).
wait_port() {
    local i
    for i in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "nothing listens on port $1" >&2
    return 1
}

# start_redis PORT [ARGS...]: a private Redis server on loopback, persisting
# as a deployment must (AOF, fsync every second: the verifier refuses a Redis
# that forgets); its files stay in $work/redis-PORT across restarts. ARGS
# override (e.g. --appendonly no).
start_redis() {
    local port=$1
    shift
    mkdir -p "$work/redis-$port"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync everysec \
        --dir "$work/redis-$port" --daemonize no "$@" >>"$work/redis-$port/log" 2>&1 &
    pids+=($!)
    redis_pid=$!
    wait_port "$port"
}

# start_nginx VERIFIER_PORT NGINX_PORT: Debian's nginx on loopback serving
# $work/site, with the shipped snippets protecting /adult/ (files served
# with try_files, see agepass-protect.conf). Needs $repo.
start_nginx() {
    mkdir -p "$work/nginx"
    sed "s/127.0.0.1:8081/127.0.0.1:$1/" "$repo/deploy/nginx/agepass-upstream.conf" >"$work/nginx/agepass-upstream.conf"
    cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    include $work/nginx/agepass-upstream.conf;
    server {
        listen 127.0.0.1:$2;
        root $work/site;
        include $repo/deploy/nginx/agepass.conf;
        location /adult/ {
            include $repo/deploy/nginx/agepass-protect.conf;
            try_files \$uri \$uri/index.html =404;
        }
    }
}
CONF
    chmod 755 "$work" # nginx workers run as an unprivileged user
    nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" 2>"$work/nginx/stderr" &
    pids+=($!)
    wait_port "$2" || { cat "$work/nginx/stderr"; return 1; }
}

# metric_sum FILE NAME [REGEX]: the sum of the series named NAME in FILE (a
# /metrics page), whatever their labels, or only those whose name-and-labels
# match REGEX (e.g. 'source="dev"').
metric_sum() {
    awk -v n="$2" -v re="${3:-}" '!/^#/ { split($1, a, "{"); if (a[1] == n && $1 ~ re) s += $2 } END { print s + 0 }' "$1"
}
