#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/integration/replay_redis.sh: runs test_replay_redis (or test_istore,
# for its Redis backend: any program given the URL as its argument) against a
# redis-server of its own, on a free loopback port in a temporary directory,
# persisting as a deployment must (AOF, appendfsync everysec: the replay
# store refuses a Redis that forgets); the server is killed when the script
# exits, however it exits. The test program stops, restarts, pauses and queries the server
# through this same script ("hook" below, found in $AGP_REDIS_HOOK).
#
# usage: replay_redis.sh path/to/test_replay_redis|path/to/test_istore
set -u

redis_server=/usr/bin/redis-server
[ -x "$redis_server" ] || redis_server=$(command -v redis-server || true)
redis_cli=/usr/bin/redis-cli
[ -x "$redis_cli" ] || redis_cli=$(command -v redis-cli || true)

# Starts the server on $AGP_REDIS_PORT and waits until it answers PING.
start_redis() {
    local pid i
    "$redis_server" --port "$AGP_REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly yes \
        --appendfsync everysec \
        --daemonize no --dir "$AGP_REDIS_DIR" >"$AGP_REDIS_DIR/redis.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$AGP_REDIS_DIR/redis.pid"
    for i in $(seq 100); do
        [ "$("$redis_cli" -p "$AGP_REDIS_PORT" ping 2>/dev/null)" = PONG ] && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# Stops the server and waits until it is gone.
stop_redis() {
    local pid i
    pid=$(cat "$AGP_REDIS_DIR/redis.pid" 2>/dev/null) || return 0
    kill -CONT "$pid" 2>/dev/null
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null
    rm -f "$AGP_REDIS_DIR/redis.pid"
    return 0
}

if [ "${1:-}" = hook ]; then
    case "${2:-}" in
    start) start_redis ;;
    start-empty) rm -rf "$AGP_REDIS_DIR/appendonlydir" "$AGP_REDIS_DIR/dump.rdb"; start_redis ;;
    stop) stop_redis ;;
    pause) kill -STOP "$(cat "$AGP_REDIS_DIR/redis.pid")" ;;
    resume) kill -CONT "$(cat "$AGP_REDIS_DIR/redis.pid")" ;;
    pttl) "$redis_cli" -p "$AGP_REDIS_PORT" pttl "${3:?key}" ;;
    cli) shift 2; "$redis_cli" -p "$AGP_REDIS_PORT" "$@" ;;
    *) echo "hook: unknown verb ${2:-}" >&2; exit 2 ;;
    esac
    exit
fi

bin=${1:?usage: replay_redis.sh path/to/test_replay_redis}
if [ -z "$redis_server" ] || [ -z "$redis_cli" ]; then
    echo "replay_redis: redis-server and redis-cli are needed (scripts/setup installs them)" >&2
    exit 1
fi

AGP_REDIS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/agp-redis-XXXXXX") || exit 1
AGP_REDIS_HOOK=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
export AGP_REDIS_DIR AGP_REDIS_HOOK AGP_REDIS_PORT
trap 'stop_redis; rm -rf "$AGP_REDIS_DIR"' EXIT

started=0
for try in $(seq 20); do
    AGP_REDIS_PORT=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    # taken if something accepts a connection there
    if (exec 3<>"/dev/tcp/127.0.0.1/$AGP_REDIS_PORT") 2>/dev/null; then continue; fi
    if start_redis; then
        started=1
        break
    fi
    stop_redis
done
if [ "$started" != 1 ]; then
    echo "replay_redis: could not start redis-server" >&2
    cat "$AGP_REDIS_DIR/redis.log" >&2 2>/dev/null
    exit 1
fi
echo "replay_redis: redis-server on 127.0.0.1:$AGP_REDIS_PORT (try $try)"

"$bin" "redis://127.0.0.1:$AGP_REDIS_PORT"
