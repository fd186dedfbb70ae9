#!/usr/bin/env bash
# Runs every bench in turn and prints their figures: drop→served latency (bench/drop-latency.sh), then assembly +
# validation time for 100 / 1,000 / 5,000 fragments (bench/assembly.sh). `make bench` calls this after `make build`.
# Same environment as the two scripts (BUILD_DIR, BENCH_TMP, KEEP, ...); BENCH_ALL_TIMEOUT bounds the whole run.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

BENCH_ALL_TIMEOUT=${BENCH_ALL_TIMEOUT:-2700}
CHILD=
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $CHILD ]] && kill -0 "$CHILD" 2>/dev/null; then
        kill -TERM "$CHILD" 2>/dev/null || true   # its own trap stops what it started and removes its temp dir
        wait "$CHILD" 2>/dev/null || true
    fi
    stop_watchdog
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 124' TERM
start_watchdog "$BENCH_ALL_TIMEOUT"

run() { # in the background, so that a timeout or Ctrl-C reaches the running bench at once
    "$@" &
    CHILD=$!
    wait "$CHILD"
    CHILD=
}

echo "haproxy-lb bench, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git describe --always --dirty 2>/dev/null || echo '?')," \
    "$(nproc) CPU(s), load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'), build $BUILD_DIR"
run bench/drop-latency.sh
echo
run bench/assembly.sh
