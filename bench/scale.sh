#!/usr/bin/env bash
# Scale: 10,000 domains over 5,000 fragments on the real daemon (supervise mode, loopback). Prints the start-up
# assembly + validation time, the daemon's and haproxy's resident memory, drop→served for one more fragment (a
# reload of the 5,000-backend config), and HTTPS routing throughput with the Host spread over all 10,000 domains
# against one domain (wrk, keep-alive, 10 s each). BUILD_DIR (default target), FRAGMENTS (default 5000).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BUILD_DIR=${BUILD_DIR:-target}
FRAGMENTS=${FRAGMENTS:-5000}
scratch=$(mktemp -d "${BENCH_TMP:-/tmp}/scale.XXXXXX")
daemon_pid=
cleanup() {
    stop_watchdog
    if [[ -n $daemon_pid ]]; then kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
    [[ -n ${KEEP:-} ]] || rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 124' TERM INT
start_watchdog 600
find_dist "$scratch"
command -v wrk >/dev/null || bench_die "wrk is missing (apt-get install -y wrk)"

state=$scratch/state
# The fragments are put where a previous run left them (fragments/): start-up re-assembles them all.
: > "$scratch/hosts.txt"
write_scale_fragments "$state" "$FRAGMENTS" "$scratch/hosts.txt"
domains=$(wc -l < "$scratch/hosts.txt")

now_us_into t0
start_loopback_daemon "$state" "$scratch/daemon.log" LB_INTAKE_POLL=100 LB_INTAKE_SETTLE=200 LB_ASSEMBLY_BATCH=50 \
    LB_RELOAD_MIN_INTERVAL=1000
daemon_pid=$DAEMON_PID https=$HTTPS_PORT
served() { [[ $(curl -sk --max-time 5 --resolve "$1:$https:127.0.0.1" "https://$1:$https/" 2>/dev/null) == "$2" ]]; }
until served "b$FRAGMENTS.scale.test" "$FRAGMENTS"; do sleep 0.05; done
now_us_into t1
start_ms=$(( (t1 - t0) / 1000 ))

rss_kb() { ps -o rss= -p "$1" | tr -d ' '; }
java_rss=$(rss_kb "$daemon_pid")
master=$(cat "$state/run/haproxy.pid")
worker=$(pgrep -P "$master" haproxy | head -n 1)
haproxy_rss=$(( $(rss_kb "$master") + $(rss_kb "$worker") ))

# One more fragment: haproxy -c and a reload of the whole config.
now_us_into t0
printf 'backend be_extra\n    http-request return status 200 content-type text/plain string extra\n' > "$state/inbox/.extra.cfg"
printf 'extra.scale.test be_extra\n' > "$state/inbox/.extra.map"
mv "$state/inbox/.extra.cfg" "$state/inbox/extra.cfg"; mv "$state/inbox/.extra.map" "$state/inbox/extra.map"
until served extra.scale.test extra; do sleep 0.01; done
now_us_into t1
drop_ms=$(( (t1 - t0) / 1000 ))

cat > "$scratch/hosts.lua" <<LUA
local reqs = {}
for l in io.lines("$scratch/hosts.txt") do reqs[#reqs + 1] = wrk.format("GET", "/", { Host = l }) end
if os.getenv("ONE_HOST") then reqs = { reqs[#reqs] } end
local n = #reqs
math.randomseed(os.time())
request = function() return reqs[math.random(n)] end
LUA
run_wrk() {
    wrk -t1 -c32 -d10s --latency -s "$scratch/hosts.lua" "https://127.0.0.1:$https/" 2>&1 \
        | awk '/Requests\/sec/ {rps=$2} / 99%/ {p99=$2} /Non-2xx/ {bad=$4} /Socket errors/ {err=$0}
               END {printf "%s req/s, p99 %s, non-2xx %s%s\n", rps, p99, (bad == "" ? 0 : bad), (err == "" ? "" : ", " err)}'
}
spread=$(run_wrk)
one=$(ONE_HOST=1 run_wrk)

echo "scale: $FRAGMENTS fragments, $domains domains (bench/scale.sh)"
echo "  daemon start → last domain served over HTTPS (assembly, haproxy -c, haproxy start): $start_ms ms"
echo "  resident memory: daemon JVM $(( java_rss / 1024 )) MB, haproxy master + worker $(( haproxy_rss / 1024 )) MB"
echo "  one more fragment, drop → served (intake, haproxy -c, reload of the whole config): $drop_ms ms"
echo "  HTTPS routing, wrk -t1 -c32 10 s keep-alive, Host over all $domains domains: $spread"
echo "  HTTPS routing, same, one Host:                                      $one"
