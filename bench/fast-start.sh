#!/usr/bin/env bash
# Start-up: from exec of bin/haproxy-lb to the last good config served over HTTPS, with haproxy started before the
# daemon boots (lb.haproxy.start-early=true, the default) and after it (false, the previous behaviour), at 1 and at
# FRAGMENTS (default 5000) fragments on disk. RUNS (default 5) starts of each; prints p50 and max per case.
# BUILD_DIR (default target). BEFORE_DIST: a dist of an earlier commit (bin/ and lib/, as `make build` makes it),
# started with start-early=true as a third case, interleaved run by run with the others.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BUILD_DIR=${BUILD_DIR:-target}
FRAGMENTS=${FRAGMENTS:-5000}
RUNS=${RUNS:-5}
scratch=$(mktemp -d "${BENCH_TMP:-/tmp}/fast-start.XXXXXX")
daemon_pid=
stop_daemon() {
    if [[ -n $daemon_pid ]]; then
        kill "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
        daemon_pid=
    fi
    # Each start is measured from nothing running: the daemon stops its haproxy, wait until it has gone.
    for _ in $(seq 1 200); do pgrep -f "$scratch/state-.*/run/master.sock" >/dev/null || return 0; sleep 0.05; done
    bench_die "haproxy still runs 10 s after the daemon stopped: $(pgrep -af "$scratch/state-" | head -3)"
}
cleanup() {
    stop_watchdog
    stop_daemon
    [[ -n ${KEEP:-} ]] || rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 124' TERM INT
start_watchdog 1800
find_dist "$scratch"
command -v curl >/dev/null || bench_die "curl is missing (apt-get install -y curl)"

# Fixed ports: the config on disk names them, and an early haproxy binds what the config on disk says.
HTTP_PORT=$(free_port) HTTPS_PORT=$(free_port) MGMT=$(free_port) RESPONDER=$(free_port)
launch() { # state, log, start-early[, dist]
    env LB_STATE_DIR="$1" LB_CONF_DIR=conf LB_ROUTES_DIR=routes LB_RELOAD_MODE=supervise \
        LB_EDGE_HTTP_BIND="127.0.0.1:$HTTP_PORT" LB_EDGE_HTTPS_BIND="127.0.0.1:$HTTPS_PORT" \
        LB_EDGE_HTTPS_PUBLIC_PORT="$HTTPS_PORT" LB_MANAGEMENT_PORT="$MGMT" LB_ACME_RESPONDER="127.0.0.1:$RESPONDER" \
        LB_HAPROXY_START_EARLY="$3" "${4:-$DIST}/bin/haproxy-lb" > "$2" 2>&1 &
    daemon_pid=$!
}
served() { [[ $(curl -sk --max-time 2 --resolve "a1.start.test:$HTTPS_PORT:127.0.0.1" "https://a1.start.test:$HTTPS_PORT/" 2>/dev/null) == "1" ]]; }
ms_since() { local now; now_us_into now; echo $(( (now - $1) / 1000 )); }

printf '%-12s %-12s %8s %8s   (ms from exec of bin/haproxy-lb to HTTPS served; %s runs; load: %s)\n' \
    fragments start-early p50 max "$RUNS" "$(cut -d' ' -f1-3 /proc/loadavg)"
for n in 1 "$FRAGMENTS"; do
    state=$scratch/state-$n
    rm -rf "$state"; mkdir -p "$state/fragments" "$state/inbox"
    for i in $(seq 1 "$n"); do
        printf 'backend be_%d\n    http-request return status 200 content-type text/plain string %d\n' "$i" "$i" \
            > "$state/fragments/f$i.cfg"
        printf 'a%d.start.test be_%d\n' "$i" "$i" > "$state/fragments/f$i.map"
    done
    # A first run assembles the config and makes the fallback certificate: what a restart finds on disk.
    launch "$state" "$scratch/first-$n.log" true
    for _ in $(seq 1 1200); do served && break; sleep 0.1; done
    served || bench_die "the first run with $n fragments never served (log: $scratch/first-$n.log)"
    stop_daemon
    cases=(false true)
    [[ -z ${BEFORE_DIST:-} ]] || cases+=(before)
    declare -A times=()
    for run in $(seq 1 "$RUNS"); do
        for c in "${cases[@]}"; do
            now_us_into t0
            if [[ $c == before ]]; then
                launch "$state" "$scratch/run-$n-$c-$run.log" true "$BEFORE_DIST"
            else
                launch "$state" "$scratch/run-$n-$c-$run.log" "$c"
            fi
            until served; do
                kill -0 "$daemon_pid" 2>/dev/null || bench_die "the daemon exited (log: $scratch/run-$n-$c-$run.log)"
                sleep 0.01
            done
            times[$c]="${times[$c]:-} $(ms_since "$t0")"
            stop_daemon
        done
    done
    for c in "${cases[@]}"; do
        p50=$(printf '%s\n' ${times[$c]} | percentile 50)
        max=$(printf '%s\n' ${times[$c]} | percentile 100)
        label=$c
        [[ $c != before ]] || label="true ($(basename "$(dirname "$BEFORE_DIST")"))"
        printf '%-12s %-12s %8s %8s   (%s)\n' "$n" "$label" "$p50" "$max" "${times[$c]# }"
    done
    unset times
done
