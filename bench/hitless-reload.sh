#!/usr/bin/env bash
# Hitless reloads: what keep-alive clients see while haproxy-lb reloads haproxy because fragments change.
#
# Starts the real daemon (bin/haproxy-lb, supervise mode, fresh state dir, free loopback ports, a low
# lb.reload.min-interval so that every drop gets a reload of its own), a tiny loopback HTTP server as the application
# (a second, separate haproxy answering 200 "ok"), and one fragment routing hitless.bench.test to it. Then, with wrk
# over HTTPS (keep-alive, CONNS connections, each pausing DELAY_MS between requests: a bounded load of a few thousand
# requests per second):
#   1. DURATION s without any change (the "quiet" figures);
#   2. DURATION s during which DROPS new fragments are dropped into the inbox, spread evenly over the run; each one
#      is assembled, validated and reloaded (checked afterwards: status.json `reloads` and the master's `show proc`).
# Prints requests, non-2xx responses, socket errors (connect/read/write/timeout) and p50/p99/max latency of both runs.
#
# Environment (all optional):
#   BUILD_DIR=target     build to run (uses $BUILD_DIR/dist, or assembles one from $BUILD_DIR/lib, see bench/lib.sh)
#   TEMPLATE=conf/haproxy.cfg.template   base haproxy config to run with (lb.haproxy.template); pass an older copy to
#                        compare, e.g. git show <commit>:conf/haproxy.cfg.template > /tmp/old.template
#   DURATION=30          seconds per wrk run
#   DROPS=20             fragment drops (= reloads) during the second run
#   CONNS=20             wrk connections (one wrk thread)
#   DELAY_MS=5           pause of each connection between a response and its next request
#   MIN_INTERVAL=500     lb.reload.min-interval (ms); must stay under the spacing of the drops
#   BENCH_TIMEOUT=300    total seconds for the whole script
#   KEEP=1               keep the temp dir (state dir, daemon and haproxy logs)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

TEMPLATE=${TEMPLATE:-conf/haproxy.cfg.template}
DURATION=${DURATION:-30}
DROPS=${DROPS:-20}
CONNS=${CONNS:-20}
DELAY_MS=${DELAY_MS:-5}
MIN_INTERVAL=${MIN_INTERVAL:-500}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-300}
READY_TIMEOUT=${READY_TIMEOUT:-120}

for tool in wrk curl haproxy java socat ss awk; do
    command -v "$tool" >/dev/null || bench_die "$tool is not installed"
done
[[ -f $TEMPLATE ]] || bench_die "no template $TEMPLATE"
TEMPLATE=$(cd "$(dirname "$TEMPLATE")" && pwd)/$(basename "$TEMPLATE")
(( DROPS >= 2 && DURATION >= 10 )) || bench_die "need DROPS >= 2 and DURATION >= 10"
SPACING_MS=$(( (DURATION - 4) * 1000 / (DROPS - 1) ))
(( SPACING_MS > MIN_INTERVAL + 400 )) || bench_die "drops every $SPACING_MS ms would coalesce with" \
    "MIN_INTERVAL=$MIN_INTERVAL: lower DROPS or MIN_INTERVAL"

WORK=$(mktemp -d "$BENCH_TMP/haproxy-lb-hitless.XXXXXX")
STATE=$WORK/state
DAEMON_LOG=$WORK/daemon.log
DAEMON_PID=
APP_PID=
WRK_PID=

stop_pid() { # pid, seconds to wait after SIGTERM before SIGKILL
    local pid=$1 i
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 $(( $2 * 10 ))); do
        kill -0 "$pid" 2>/dev/null || break
        [[ $(ps -o stat= -p "$pid" 2>/dev/null) == Z* ]] && break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? hp
    trap - EXIT INT TERM
    if [[ $rc -ne 0 && -f $DAEMON_LOG ]]; then
        bench_log "---- last lines of the daemon log ($DAEMON_LOG) ----"
        tail -n 25 "$DAEMON_LOG" >&2 || true
    fi
    stop_pid "$WRK_PID" 2
    stop_pid "$DAEMON_PID" 30   # Camel stops the haproxy it supervises
    stop_pid "$APP_PID" 5
    hp=$(pgrep -f -- "-f $STATE/haproxy/haproxy.cfg" || true)
    if [[ -n $hp ]]; then
        bench_log "haproxy still running on $STATE after the daemon stopped (pids: $(echo $hp)); killing them"
        kill -KILL $hp 2>/dev/null || true
    fi
    stop_watchdog
    if [[ ${KEEP:-0} == 1 ]]; then bench_log "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 124' TERM
start_watchdog "$BENCH_TIMEOUT"
find_dist "$WORK"

HTTP_PORT=$(free_port); HTTPS_PORT=$(free_port); ACME_PORT=$(free_port); APP_PORT=$(free_port); MGMT_PORT=$(free_port)
HOST=hitless.bench.test

# ---- the application: a separate haproxy that answers every request itself ----
cat >"$WORK/app.cfg" <<EOF
global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend app
    bind 127.0.0.1:$APP_PORT
    http-request return status 200 content-type text/plain string "ok"
EOF
haproxy -db -f "$WORK/app.cfg" >"$WORK/app.log" 2>&1 &
APP_PID=$!

# ---- the daemon ----
mkdir -p "$STATE"
# The management server (health, metrics) gets a free port too; -D because Camel reads no env variable for it.
JAVA_OPTS="${JAVA_OPTS:-} -Dcamel.management.host=127.0.0.1 -Dcamel.management.port=$MGMT_PORT" \
LB_HOME=$DIST LB_CONF_DIR=conf LB_ROUTES_DIR=routes LB_HAPROXY_TEMPLATE=$TEMPLATE \
LB_STATE_DIR=$STATE LB_RELOAD_MODE=supervise \
LB_EDGE_HTTP_BIND=127.0.0.1:$HTTP_PORT LB_EDGE_HTTPS_BIND=127.0.0.1:$HTTPS_PORT LB_EDGE_HTTPS_PUBLIC_PORT=$HTTPS_PORT \
LB_ACME_RESPONDER=127.0.0.1:$ACME_PORT \
LB_RELOAD_MIN_INTERVAL=$MIN_INTERVAL LB_RELOAD_TICK=100 LB_INTAKE_POLL=100 LB_INTAKE_SETTLE=200 LB_ASSEMBLY_BATCH=50 \
    "$DIST/bin/haproxy-lb" >"$DAEMON_LOG" 2>&1 &
DAEMON_PID=$!

https_code() { # host → HTTP status ("000" on failure)
    curl -sk -o /dev/null -w '%{http_code}' --max-time 2 --resolve "$1:$HTTPS_PORT:127.0.0.1" \
        "https://$1:$HTTPS_PORT/" 2>/dev/null || true
}
await() { # description, seconds, command...
    local what=$1 limit=$2 t0 now
    shift 2
    now_us_into t0
    until "$@"; do
        kill -0 "$DAEMON_PID" 2>/dev/null || bench_die "the daemon exited while waiting for $what"
        now_us_into now
        (( now - t0 < limit * 1000000 )) || bench_die "timed out after $limit s waiting for $what"
        sleep 0.05
    done
}
status_reloads() { sed -n 's/^ *"reloads" *: *\([0-9]*\).*/\1/p' "$STATE/status.json" | head -n 1; }
master_cmd() { echo "$1" | socat -t5 - "UNIX-CONNECT:$STATE/run/master.sock"; }
master_reloads() { master_cmd "show proc" | awk '$2 == "master" { print $3; exit }'; }
old_workers() { master_cmd "show proc" | awk '/^# old workers/ { o = 1; next } /^#/ { o = 0 } o && $2 == "worker" { n++ } END { print n + 0 }'; }
fragment_state() { # name → state in status.json
    awk -v n="\"$1\"" '$1 == n && $2 == ":" { f = 1 } f && $1 == "\"state\"" { gsub(/[",]/, "", $3); print $3; exit }' \
        "$STATE/status.json"
}
drop() { # name, cfg text, map text: written as dot-files, renamed into the inbox
    printf '%s' "$2" >"$STATE/inbox/.$1.cfg.tmp"
    printf '%s' "$3" >"$STATE/inbox/.$1.map.tmp"
    mv "$STATE/inbox/.$1.cfg.tmp" "$STATE/inbox/$1.cfg"
    mv "$STATE/inbox/.$1.map.tmp" "$STATE/inbox/$1.map"
}

unknown_is_404() { [[ $(https_code probe.bench.test) == 404 ]]; }
await "the daemon to serve HTTPS" "$READY_TIMEOUT" unknown_is_404
drop target "backend be_target
    server app 127.0.0.1:$APP_PORT
" "$HOST be_target
"
target_is_200() { [[ $(https_code "$HOST") == 200 ]]; }
await "$HOST to be served" 30 target_is_200
target_live() { [[ $(fragment_state target) == live ]]; }
await "fragment 'target' to be live" 30 target_live

# ---- wrk: keep-alive over HTTPS, bounded by a pause per connection; counts non-2xx itself ----
cat >"$WORK/load.lua" <<EOF
wrk.headers["Host"] = "$HOST"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) non2xx = 0 end
function delay() return $DELAY_MS end
function response(status, headers, body)
    if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
    local n = 0
    for _, t in ipairs(threads) do n = n + t:get("non2xx") end
    local e = summary.errors
    io.write(string.format("RESULT requests=%d non2xx=%d connect=%d read=%d write=%d timeout=%d status=%d " ..
        "p50_us=%d p99_us=%d max_us=%d duration_us=%d\n", summary.requests, n, e.connect, e.read, e.write,
        e.timeout, e.status, latency:percentile(50), latency:percentile(99), latency.max, summary.duration))
end
EOF

run_wrk() { # label → RESULT line into $WORK/label.out
    wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 5s -s "$WORK/load.lua" "https://127.0.0.1:$HTTPS_PORT/" \
        >"$WORK/$1.out" 2>&1 &
    WRK_PID=$!
}
field() { sed -n "s/.*[ ]$2=\([0-9]*\).*/\1/p" "$WORK/$1.out" | head -n 1; }

echo "haproxy-lb hitless reloads: $(nproc) CPU(s), $(haproxy -v | head -n 1 | awk '{ print $1, $3 }'), build $BUILD_DIR"
echo "template: $TEMPLATE"
echo "load:     wrk -t1 -c$CONNS over HTTPS keep-alive, ${DELAY_MS} ms pause per connection between requests," \
    "$DURATION s per run; application: haproxy on 127.0.0.1:$APP_PORT answering 200"
echo "reloads:  $DROPS fragment drops in the second run, one every $SPACING_MS ms from 2 s on" \
    "(lb.reload.min-interval=$MIN_INTERVAL ms)"
echo "machine:  $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?') (1/5/15-min load average before the runs)"

# Run 1: quiet.
r0=$(status_reloads); m0=$(master_reloads)
run_wrk quiet
wait "$WRK_PID" || bench_die "wrk failed: $(cat "$WORK/quiet.out")"
WRK_PID=
grep -q '^RESULT' "$WORK/quiet.out" || bench_die "wrk printed no result: $(cat "$WORK/quiet.out")"
(( $(status_reloads) == r0 )) || bench_die "a reload happened during the quiet run"

# Run 2: DROPS reloads spread over the run.
r1=$(status_reloads); m1=$(master_reloads)
now_us_into t0
run_wrk reloads
for i in $(seq 1 "$DROPS"); do
    due=$(( t0 + 2000000 + (i - 1) * SPACING_MS * 1000 ))
    now_us_into now
    (( due <= now )) || sleep "$(awk -v u=$(( due - now )) 'BEGIN { printf "%.3f", u / 1e6 }')"
    name=$(printf 'r%02d' "$i")
    drop "$name" "backend be_$name
    http-request return status 200 content-type text/plain string \"$name\"
" "$name.bench.test be_$name
"
done
wait "$WRK_PID" || bench_die "wrk failed: $(cat "$WORK/reloads.out")"
WRK_PID=
grep -q '^RESULT' "$WORK/reloads.out" || bench_die "wrk printed no result: $(cat "$WORK/reloads.out")"
all_live() {
    local i
    for i in $(seq 1 "$DROPS"); do [[ $(fragment_state "$(printf 'r%02d' "$i")") == live ]] || return 1; done
}
await "all $DROPS dropped fragments to be live" 30 all_live
r2=$(status_reloads); m2=$(master_reloads)
drained() { (( $(old_workers) == 0 )); }
now_us_into t1
drain="0 after"
until drained; do
    now_us_into now
    (( now - t1 < 15000000 )) || { drain="still $(old_workers) after"; break; }
    sleep 0.1
done
now_us_into t2

ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
row() { # label
    local req dur
    req=$(field "$1" requests); dur=$(field "$1" duration_us)
    printf '%-16s %9s %8s %7s %7s %7s %7s %7s %9s %9s %9s\n' "$1" "$req" \
        "$(awk -v r="$req" -v d="$dur" 'BEGIN { printf "%.0f", r / (d / 1e6) }')" "$(field "$1" non2xx)" \
        "$(field "$1" connect)" "$(field "$1" read)" "$(field "$1" write)" "$(field "$1" timeout)" \
        "$(ms "$(field "$1" p50_us)")" "$(ms "$(field "$1" p99_us)")" "$(ms "$(field "$1" max_us)")"
}
echo
printf '%-16s %9s %8s %7s %7s %7s %7s %7s %9s %9s %9s\n' run requests req/s non-2xx connect read write timeout \
    "p50 ms" "p99 ms" "max ms"
row quiet
row reloads
echo
echo "reloads during the second run: $((r2 - r1)) (status.json), $((m2 - m1)) (master 'show proc');" \
    "during the quiet run: $((r1 - r0))"
echo "old haproxy workers still draining once the run ended: $drain $(ms $((t2 - t1))) ms"
errors=$(( $(field reloads non2xx) + $(field reloads connect) + $(field reloads read) + $(field reloads write) \
    + $(field reloads timeout) ))
echo "failed requests + socket errors across $((m2 - m1)) reloads: $errors"
(( m2 - m1 == DROPS )) || echo "NOTE: expected $DROPS reloads (some drops coalesced or a reload failed)"
