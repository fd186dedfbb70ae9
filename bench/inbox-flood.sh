#!/usr/bin/env bash
# Issue 8, item 4: FILES (default 100,000) files dropped into the inbox at once, on the real daemon (supervise mode,
# loopback). For PROBE_SECONDS (default 60) the health endpoint is asked every 0.2 s with a 1 s limit; prints the
# probes' p50/p99/max and failures, how many files the intake took, and the daemon's resident memory (VmRSS, VmHWM)
# before and during the flood. The files are .cfg halves without partners: each is read and staged (a write and
# fsyncs), the costly path. BUILD_DIR (default target), MAX_PER_POLL (default: conf's lb.intake.max-per-poll).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
FILES=${FILES:-100000}
PROBE_SECONDS=${PROBE_SECONDS:-60}
MAX_PER_POLL=${MAX_PER_POLL:-$(conf_value lb.intake.max-per-poll)}
scratch=$(mktemp -d "${BENCH_TMP:-/tmp}/inbox-flood.XXXXXX")
daemon_pid=
cleanup() {
    stop_watchdog
    if [[ -n $daemon_pid ]]; then kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
    [[ -n ${KEEP:-} ]] || rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 124' TERM INT
start_watchdog $(( PROBE_SECONDS + 600 ))
find_dist "$scratch"

state=$scratch/state
mkdir -p "$state/inbox"
mgmt=$(free_port)
start_loopback_daemon "$state" "$scratch/daemon.log" LB_INTAKE_POLL=100 LB_INTAKE_SETTLE=300 \
    LB_INTAKE_MAX_PER_POLL="$MAX_PER_POLL" LB_MANAGEMENT_PORT="$mgmt"
daemon_pid=$DAEMON_PID
health="http://127.0.0.1:$mgmt/observe/health"
for _ in $(seq 1 600); do curl -s -o /dev/null --max-time 1 "$health" && break; sleep 0.1; done
curl -s -o /dev/null --max-time 1 "$health" || bench_die "health never answered (log: $scratch/daemon.log)"
rss() { awk -v k="$1:" '$1 == k { print int($2 / 1024) }' "/proc/$daemon_pid/status"; }
rss_before=$(rss VmRSS)

# Made in a hidden directory of the same file system and renamed in one by one: as many senders would.
mkdir -p "$state/inbox/.make"
now_us_into t0
for ((i = 0; i < FILES; i++)); do printf 'backend be_flood_%d\n' "$i" > "$state/inbox/.make/flood-$i.cfg"; done
(cd "$state/inbox/.make" && find . -name 'flood-*.cfg' -exec mv -t .. {} +)
now_us_into t1
bench_log "dropped $FILES files in $(( (t1 - t0) / 1000 )) ms; probing health for $PROBE_SECONDS s"

samples=$scratch/probes.txt failures=0
end=$(( t1 + PROBE_SECONDS * 1000000 ))
while :; do
    now_us_into a
    (( a < end )) || break
    if ! curl -s -o /dev/null --max-time 1 "$health"; then failures=$((failures + 1)); fi
    now_us_into b
    echo $(( (b - a) / 1000 )) >> "$samples"
    sleep 0.2
done
left=$(find "$state/inbox" -maxdepth 1 -name 'flood-*.cfg' | wc -l)
staged=$(find "$state/staging" -maxdepth 1 -name 'flood-*.cfg' | wc -l)
taken=$(( FILES - left ))
printf 'inbox-flood: %d files, max-per-poll %s; in %d s the intake took %d (%d staged, %.1f files/s)\n' \
    "$FILES" "$MAX_PER_POLL" "$PROBE_SECONDS" "$taken" "$staged" "$(echo "$taken / $PROBE_SECONDS" | bc -l)"
printf 'inbox-flood: health probes %d, p50 %s ms, p99 %s ms, max %s ms, failures (no answer within 1 s) %d\n' \
    "$(wc -l < "$samples")" "$(percentile 50 < "$samples")" "$(percentile 99 < "$samples")" \
    "$(percentile 100 < "$samples")" "$failures"
printf 'inbox-flood: daemon RSS before %s MB, at the end %s MB, peak %s MB\n' "$rss_before" "$(rss VmRSS)" "$(rss VmHWM)"
