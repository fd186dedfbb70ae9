#!/usr/bin/env bash
# drop→served for a change of map lines only (goes live through haproxy's runtime API, no reload) against a
# change that needs a reload (a new backend), on the real daemon (supervise mode, loopback, low intake settings).
# Prints every sample and p50/p95/max of both. BUILD_DIR (default target), DROPS (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BUILD_DIR=${BUILD_DIR:-target}
DROPS=${DROPS:-10}
POLL=${LB_INTAKE_POLL:-100} SETTLE=${LB_INTAKE_SETTLE:-200} BATCH=${LB_ASSEMBLY_BATCH:-50}
scratch=$(mktemp -d "${BENCH_TMP:-/tmp}/map-only.XXXXXX")
daemon_pid=
cleanup() {
    stop_watchdog
    if [[ -n $daemon_pid ]]; then kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
    [[ -n ${KEEP:-} ]] || rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 124' TERM INT
start_watchdog 300
find_dist "$scratch"

state=$scratch/state
mkdir -p "$state/inbox"
start_loopback_daemon "$state" "$scratch/daemon.log" LB_INTAKE_POLL="$POLL" LB_INTAKE_SETTLE="$SETTLE" \
    LB_ASSEMBLY_BATCH="$BATCH" LB_RELOAD_MIN_INTERVAL=250
daemon_pid=$DAEMON_PID https=$HTTPS_PORT

served() { # host expected-body
    [[ $(curl -sk --max-time 2 --resolve "$1:$https:127.0.0.1" "https://$1:$https/" 2>/dev/null) == "$2" ]]
}
drop() { # name cfg map
    printf '%s' "$2" > "$state/inbox/.$1.cfg"; printf '%s' "$3" > "$state/inbox/.$1.map"
    mv "$state/inbox/.$1.cfg" "$state/inbox/$1.cfg"; mv "$state/inbox/.$1.map" "$state/inbox/$1.map"
}
wait_served() { # host body -> elapsed ms since $t0 into ms
    local now
    until served "$1" "$2"; do sleep 0.01; done
    now_us_into now; ms=$(( (now - t0) / 1000 ))
}

cfg=$'backend be_one\n    http-request return status 200 content-type text/plain string one\nbackend be_two\n    http-request return status 200 content-type text/plain string two\n'
map="warm.bench.test be_one"$'\n'
now_us_into t0; drop site "$cfg" "$map"
wait_served warm.bench.test one
sleep 1
map_samples=() reload_samples=()
for i in $(seq 1 "$DROPS"); do
    map+="m$i.bench.test be_two"$'\n'
    now_us_into t0; drop site "$cfg" "$map"; wait_served "m$i.bench.test" two
    map_samples+=("$ms"); bench_log "map-only drop $i: $ms ms"
    sleep 0.5
    now_us_into t0
    drop "new$i" $'backend be_new'$i$'\n    http-request return status 200 content-type text/plain string new'$i$'\n' \
        "new$i.bench.test be_new$i"$'\n'
    wait_served "new$i.bench.test" "new$i"
    reload_samples+=("$ms"); bench_log "reload drop $i: $ms ms"
    sleep 0.5
done
reloads=$(grep -c "haproxy reloaded with config generation" "$scratch/daemon.log" || true)
runtime=$(grep -c "applied through the runtime API, no reload" "$scratch/daemon.log" || true)
stats() { printf '%s\n' "$@" | percentile 50; printf '%s\n' "$@" | percentile 95; printf '%s\n' "$@" | percentile 100; }
read -r -d '' m50 m95 mmax < <(stats "${map_samples[@]}"; printf '\0') || true
read -r -d '' r50 r95 rmax < <(stats "${reload_samples[@]}"; printf '\0') || true
echo "drop→served, $DROPS drops each (lb.intake.poll=$POLL settle=$SETTLE lb.assembly.batch=$BATCH, ms):"
echo "  map lines only (runtime API): p50 $m50  p95 $m95  max $mmax   samples: ${map_samples[*]}"
echo "  new backend (reload):         p50 $r50  p95 $r95  max $rmax   samples: ${reload_samples[*]}"
echo "  daemon log: $runtime changes applied through the runtime API, $reloads reloads"
