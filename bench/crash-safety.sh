#!/usr/bin/env bash
# Crash safety with 50 SIGKILLs: runs src/test/java/haproxylb/it/CrashSafetyTest with more cycles than the test
# suite does (its default is 10 cycles, 12 kills). Each cycle starts the daemon as a JVM of its own on a shared state
# dir, drops a batch of changes (new fragments, new versions, a removal, a broken fragment), kills the daemon and its
# haproxy with SIGKILL at a random moment during intake, assembly or reload (every 4th cycle also once during start-up),
# and checks the state the kill left and the state after the restart (see the test's class comment). Prints one line
# per kill, saying where the batch was when the kill came, and the total.
#
# Environment (all optional):
#   BUILD_DIR=target     Maven output folder (mvn -Dbuild.dir=...): the test is compiled and run there
#   CYCLES=40            cycles; kills = CYCLES + CYCLES/4 (40 cycles: 50 kills, ~5 min here)
#   SEED=<n>             repeat a run (the seed is printed first)
#   BENCH_TIMEOUT=1200   total seconds for the whole script
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

CYCLES=${CYCLES:-40}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-1200}
for tool in mvn java haproxy; do
    command -v "$tool" >/dev/null || bench_die "$tool is not installed"
done

MVN_PID=
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $MVN_PID ]] && kill -0 "$MVN_PID" 2>/dev/null; then
        kill -TERM "$MVN_PID" 2>/dev/null || true
        wait "$MVN_PID" 2>/dev/null || true
    fi
    stop_watchdog
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 124' TERM
start_watchdog "$BENCH_TIMEOUT"

args="-Dhaproxylb.crash.cycles=$CYCLES"
[[ -n ${SEED:-} ]] && args+=" -Dhaproxylb.crash.seed=$SEED"
out=$BUILD_DIR/surefire-reports/haproxylb.it.CrashSafetyTest-output.txt
rm -f "$out"
echo "haproxy-lb crash safety: $CYCLES cycles, $(nproc) CPU(s), $(haproxy -v | head -n 1 | awk '{ print $1, $3 }')," \
    "load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
t0=$SECONDS
set +e
mvn -q -B -Dbuild.dir="$BUILD_DIR" -Dtest=CrashSafetyTest -Dsurefire.failIfNoSpecifiedTests=false \
    -DargLine="$args" test >"$BENCH_TMP/haproxy-lb-crash-mvn.log" 2>&1 &
MVN_PID=$!
wait "$MVN_PID"
rc=$?
MVN_PID=
set -e
[[ -f $out ]] && grep -h '^CrashSafetyTest:' "$out" | sed 's/^CrashSafetyTest: //'
if (( rc != 0 )); then
    grep -E 'AssertionFailedError|AssertionError|FAIL' "$BENCH_TMP/haproxy-lb-crash-mvn.log" | head -n 5 >&2 || true
    bench_die "the crash-safety run failed after $((SECONDS - t0)) s (Maven log: $BENCH_TMP/haproxy-lb-crash-mvn.log;" \
        "daemon logs: the haproxylb-crash-<seed> folder named in the failure)"
fi
kills=$(grep -c '^CrashSafetyTest: cycle' "$out" || true)
echo "crash safety: $kills SIGKILLs, every check passed, $((SECONDS - t0)) s in all (Maven included)"
