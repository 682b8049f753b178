#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/fuzz/run.sh: runs every libFuzzer target for a while.
#
#   bash tests/fuzz/run.sh SECONDS BUILD_DIR [NAME...]
#
# BUILD_DIR was configured with -DCMAKE_C_COMPILER=clang -DAGP_FUZZ=ON
# -DAGP_SANITIZE=ON. Each fuzz_<name> runs for SECONDS on a copy of
# tests/fuzz/corpus/<name> in a temporary folder: the committed corpus is
# never written to. Logs and any crashing input go to
# BUILD_DIR/fuzz-out/<name>/; add a crash to the corpus by hand, named
# crash-<what>, once it is understood. Prints one line per target and exits
# non-zero if a target crashed, found a leak, failed an oracle or is missing.
set -u

usage() {
    echo "usage: $0 SECONDS BUILD_DIR [NAME...]" >&2
    exit 2
}

[ $# -ge 2 ] || usage
secs=$1
build=$2
shift 2
case $secs in '' | *[!0-9]*) usage ;; esac
[ -d "$build" ] || { echo "run.sh: no build directory $build" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$build" && pwd)
if [ $# -gt 0 ]; then
    names=("$@")
else
    # every target there is (tests/fuzz/fuzz_NAME.c): none can be forgotten
    names=()
    for f in "$here"/fuzz_*.c; do
        f=${f##*/fuzz_}
        names+=("${f%.c}")
    done
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/agp-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# The binary, wherever this build tree put it.
find_target() {
    local d
    for d in "$build/tests/fuzz" "$build/fuzz" "$build"; do
        if [ -x "$d/fuzz_$1" ] && [ -f "$d/fuzz_$1" ]; then
            echo "$d/fuzz_$1"
            return 0
        fi
    done
    return 1
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=0
for name in "${names[@]}"; do
    out="$build/fuzz-out/$name"
    log="$out/fuzz.log"
    if ! bin=$(find_target "$name"); then
        printf '%-17s MISSING: no fuzz_%s in %s (configure with -DAGP_FUZZ=ON)\n' \
            "$name" "$name" "$build"
        failed=1
        continue
    fi
    if [ ! -d "$here/corpus/$name" ]; then
        printf '%-17s MISSING: no corpus %s\n' "$name" "$here/corpus/$name"
        failed=1
        continue
    fi
    mkdir -p "$out" "$tmp/$name"
    cp -R -p "$here/corpus/$name"/. "$tmp/$name/"
    seeds=$(find "$tmp/$name" -type f | wc -l)

    "$bin" -max_total_time="$secs" -max_len=20000 -print_final_stats=1 \
        -artifact_prefix="$out/" "$tmp/$name" >"$log" 2>&1
    rc=$?

    runs=$(sed -n 's/^Done \([0-9][0-9]*\) runs in .*/\1/p' "$log" | tail -n 1)
    corpus=$(find "$tmp/$name" -type f | wc -l)
    if [ $rc -eq 0 ] && [ -n "$runs" ]; then
        printf '%-17s ok     %10s runs in %ss, corpus %d -> %d\n' \
            "$name" "$runs" "$secs" "$seeds" "$corpus"
    else
        why=$(grep -m 1 -E 'oracle failed|^SUMMARY: |ERROR: libFuzzer|ERROR: LeakSanitizer' "$log")
        art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        printf '%-17s FAILED (exit %d): %s; input: %s; log: %s\n' \
            "$name" "$rc" "${why:-see log}" "${art:-none}" "$log"
        failed=1
    fi
done
exit $failed
