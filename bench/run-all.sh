#!/usr/bin/env bash
# Runs the benches in turn and prints their figures (`make bench` calls this after `make build`): first
# drop→served latency (bench/drop-latency.sh) and assembly + validation time for 100 / 1,000 / 5,000 fragments
# (bench/assembly.sh), then every other bench/*.sh script in name order. Each script bounds its own run time; a
# failing one does not stop the others, and the exit status says whether all passed.
# Environment: what the scripts take (BUILD_DIR, BENCH_TMP, KEEP, ...); BENCHES="drop-latency assembly" to run only
# those (names without .sh); BENCH_ALL_TIMEOUT (seconds, default 7200) bounds the whole run.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

BENCH_ALL_TIMEOUT=${BENCH_ALL_TIMEOUT:-7200}
if [[ -z ${BENCHES:-} ]]; then
    BENCHES="drop-latency assembly"
    for f in bench/*.sh; do
        b=$(basename "$f" .sh)
        [[ $b == lib || $b == run-all || " $BENCHES " == *" $b "* ]] || BENCHES+=" $b"
    done
fi
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

FAILED=()
run() { # in the background, so that a timeout or Ctrl-C reaches the running bench at once
    local rc=0
    "$@" &
    CHILD=$!
    wait "$CHILD" || rc=$?
    CHILD=
    if (( rc != 0 )); then
        FAILED+=("$1 (exit $rc)")
        bench_log "run-all: $1 failed with exit status $rc"
    fi
}

echo "haproxy-lb bench, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git describe --always --dirty 2>/dev/null || echo '?')," \
    "$(nproc) CPU(s), load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'), build $BUILD_DIR"
echo "benches: $BENCHES"
for b in $BENCHES; do
    [[ -x bench/$b.sh ]] || bench_die "no bench/$b.sh"
    echo
    echo "######## bench/$b.sh ########"
    run "bench/$b.sh"
done
echo
if (( ${#FAILED[@]} > 0 )); then
    echo "run-all: failed: ${FAILED[*]}"
    exit 1
fi
echo "run-all: all benches passed"
