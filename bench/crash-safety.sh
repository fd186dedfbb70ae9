#!/usr/bin/env bash
# Crash safety with many SIGKILLs over several random seeds (issue 13): runs src/test/java/haproxylb/it/CrashSafetyTest
# once per seed. Each cycle starts the daemon as a JVM of its own on a shared state dir, drops a batch of changes (new
# fragments, new versions, a removal, a broken fragment), kills the daemon and its haproxy with SIGKILL at a random
# moment during intake, assembly or reload (every 4th cycle from the 2nd also once during start-up), and checks the
# state the kill left and the state after the restart: nothing acknowledged lost, no config mixing two versions of a
# fragment, and status.json agreeing with what is on disk and served (see the test's class comment). A seed whose run
# fails is counted by the kind of failure and the next seed runs; every seed is printed, so any run can be repeated
# alone.
# Prints one line per kill (where the batch was on disk, and where the kill landed by the daemon's last log line)
# and a summary.
#
# Environment (all optional):
#   BUILD_DIR=target      Maven output folder (mvn -Dbuild.dir=...): the test is compiled and run there
#   KILLS=500             SIGKILLs in all (rounded up to whole seeds)
#   CYCLES=40             cycles per seed; kills per seed = CYCLES + (CYCLES+2)/4 (40 cycles: 50 kills, ~5 min here)
#   SEEDS="<n> <n> ..."   repeat given seeds instead of random ones (KILLS is then ignored)
#   BENCH_TIMEOUT=7200    total seconds for the whole script
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

KILLS=${KILLS:-500}
CYCLES=${CYCLES:-40}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-7200}
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
# The total timeout ends the seed in progress (its kills are not counted) but still prints the summary of the others.
STOPPED=
trap 'STOPPED=1; [[ -n $MVN_PID ]] && kill -TERM "$MVN_PID" 2>/dev/null' TERM
start_watchdog "$BENCH_TIMEOUT"

per_seed=$(( CYCLES + (CYCLES + 2) / 4 ))
if [[ -n ${SEEDS:-} ]]; then
    read -r -a seeds <<< "$SEEDS"
else
    seeds=()
    for (( i = 0; i < (KILLS + per_seed - 1) / per_seed; i++ )); do
        seeds+=("$(( (RANDOM << 30) | (RANDOM << 15) | RANDOM ))")
    done
fi
echo "haproxy-lb crash safety: ${#seeds[@]} seed(s) x $CYCLES cycles ($per_seed kills each), $(nproc) CPU(s)," \
    "$(haproxy -v | head -n 1 | awk '{ print $1, $3 }'), load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
echo "seeds: ${seeds[*]}"

out=$BUILD_DIR/surefire-reports/haproxylb.it.CrashSafetyTest-output.txt
all=$BENCH_TMP/haproxy-lb-crash-kills.txt
: > "$all"
kills=0 ran=0 failed=0 losses=0 mixed=0 disagreements=0 other=0
t0=$SECONDS
for seed in "${seeds[@]}"; do
    rm -f "$out"
    log=$BENCH_TMP/haproxy-lb-crash-mvn-$seed.log
    echo "seed $seed: $CYCLES cycles"
    set +e
    mvn -q -B -Dbuild.dir="$BUILD_DIR" -Dtest=CrashSafetyTest -Dsurefire.failIfNoSpecifiedTests=false \
        -Dhaproxylb.crash.cycles="$CYCLES" -Dhaproxylb.crash.seed="$seed" test >"$log" 2>&1 &
    MVN_PID=$!
    wait "$MVN_PID"
    rc=$?
    while [[ -n $STOPPED ]] && kill -0 "$MVN_PID" 2>/dev/null; do
        wait "$MVN_PID" 2>/dev/null
    done
    MVN_PID=
    set -e
    if [[ -n $STOPPED ]]; then
        # The test's own clean-up did not run: its daemon (found by this build's class path) and that daemon's haproxy.
        classes=$(cd "$BUILD_DIR" && pwd)/test-classes
        for pid in $(pgrep -f "$classes.* haproxylb.app.HaproxyLb" || true); do
            state=$(tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | sed -n 's/^-Dlb.state-dir=//p')
            kill -KILL "$pid" 2>/dev/null || true
            [[ -n $state ]] && for h in $(pgrep -f -- "-S $state/run/master.sock" || true); do kill -KILL "$h" 2>/dev/null || true; done
        done
        echo "  seed $seed: interrupted by BENCH_TIMEOUT=$BENCH_TIMEOUT s; its kills are not counted"
        break
    fi
    ran=$(( ran + 1 ))
    if [[ -f $out ]]; then
        grep -h '^CrashSafetyTest: cycle' "$out" | sed "s/^CrashSafetyTest: /  seed $seed /" | tee -a "$all"
        kills=$(( kills + $(grep -c '^CrashSafetyTest: cycle' "$out" || true) ))
    fi
    if (( rc != 0 )); then
        failed=$(( failed + 1 ))
        why=$(grep -m 1 -A 1 -E 'AssertionFailedError|AssertionError' "$log" | tr '\n' ' ' || true)
        [[ -n $why ]] || why=$(grep -m 1 -E 'ERROR|FAIL' "$log" || echo "exit $rc")
        echo "  seed $seed FAILED: $why" | cut -c1-400
        echo "  (Maven log: $log; daemon logs: ${TMPDIR:-/tmp}/haproxylb-crash-$seed/)"
        case $why in
            *"disagrees with what is on disk"*) disagreements=$(( disagreements + 1 )) ;;
            *"no version that was sent"*|*"twice in"*|*"was never sent"*|*"defined "*" times"*) mixed=$(( mixed + 1 )) ;;
            *"not settled"*|*"not live"*|*"not removed"*|*"not rejected"*|*"went back"*|*"vanished"*|*"is live in its last version"*|*"exactly the applied"*) losses=$(( losses + 1 )) ;;
            *) other=$(( other + 1 )) ;;
        esac
    fi
done
echo
echo "where the kills landed (stage of the daemon's last log line before the kill):"
sed -n 's/.*\[landed: \([a-z-]*\);.*/\1/p' "$all" | sort | uniq -c | sort -rn | sed 's/^/  /'
echo "crash safety: $kills SIGKILLs over $ran seed(s) in $((SECONDS - t0)) s (Maven included);" \
    "failed seeds $failed: losses $losses, mixed configs $mixed, status disagreements $disagreements, other $other"
[[ -z $STOPPED ]] || echo "stopped by BENCH_TIMEOUT before all seeds ran: $kills of $KILLS kills done"
(( failed == 0 )) || bench_die "$failed seed(s) failed (see above)"
