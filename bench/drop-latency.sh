#!/usr/bin/env bash
# drop→served latency of the real daemon, idle: how long after a fragment lands in the inbox its domain answers
# through HTTPS. Starts bin/haproxy-lb in supervise mode (it runs haproxy itself) with a fresh state dir on free
# loopback ports, drops DROPS fragments one at a time (each NAME.cfg + NAME.map written as a dot-file, then
# renamed into the inbox with mv), and polls `curl -sk --resolve DOMAIN:PORT:127.0.0.1 https://DOMAIN:PORT/` every
# ~10 ms until it returns that fragment's own string. Does this once with the intake/assembly settings of
# conf/application.properties and once with lower ones, and prints every sample, p50, p95 and max.
#
# Environment (all optional):
#   BUILD_DIR=target        build to run (uses $BUILD_DIR/dist, or assembles one from $BUILD_DIR/lib)
#   DROPS=20                measured drops per run (plus WARMUP unmeasured ones first)
#   WARMUP=1                drops made before measuring (the first one after start-up pays for JIT and class loading)
#   MIN_INTERVAL=250        lb.reload.min-interval (ms) for both runs; drops are spaced further apart than this
#   PACE=250                extra ms between "previous drop served" and the next drop, on top of MIN_INTERVAL
#   LOW_POLL=100 LOW_SETTLE=200 LOW_BATCH=50   the second run's lb.intake.poll / lb.intake.settle / lb.assembly.batch
#   BENCH_TIMEOUT=600       total seconds for the whole script
#   DROP_TIMEOUT=30         seconds one drop may take before the run fails
#   READY_TIMEOUT=120       seconds the daemon may take to serve HTTPS after launch
#   KEEP=1                  keep the temp dir (state dirs and daemon logs) instead of deleting it
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

DROPS=${DROPS:-20}
WARMUP=${WARMUP:-1}
MIN_INTERVAL=${MIN_INTERVAL:-250}
PACE=${PACE:-250}
LOW_POLL=${LOW_POLL:-100}
LOW_SETTLE=${LOW_SETTLE:-200}
LOW_BATCH=${LOW_BATCH:-50}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-600}
DROP_TIMEOUT=${DROP_TIMEOUT:-30}
READY_TIMEOUT=${READY_TIMEOUT:-120}

for tool in curl haproxy java openssl ss awk; do
    command -v "$tool" >/dev/null || bench_die "$tool is not installed (make deps installs haproxy)"
done

WORK=$(mktemp -d "$BENCH_TMP/haproxy-lb-bench.XXXXXX")
DAEMON_PID=
STATE=
DAEMON_LOG=

# Stops the daemon with SIGTERM (Camel shuts down and stops the haproxy it supervises) and waits for it, bounded.
# Anything left afterwards is killed and counted: the daemon itself after 30 s, and a haproxy master or worker still
# running on this run's config (found by its unique state path), which would be a daemon bug.
LEFTOVER_HAPROXY=0
STOP_TIMEOUTS=0
stop_daemon() {
    local pid=$DAEMON_PID i hp
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 300); do
            kill -0 "$pid" 2>/dev/null || break
            [[ $(ps -o stat= -p "$pid" 2>/dev/null) == Z* ]] && break   # exited, not reaped yet
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null && [[ $(ps -o stat= -p "$pid" 2>/dev/null) != Z* ]]; then
            bench_log "daemon (pid $pid) did not stop within 30 s of SIGTERM; killing it. Its busy threads:"
            STOP_TIMEOUTS=$((STOP_TIMEOUTS + 1))
            if command -v jstack >/dev/null; then   # evidence for a bug report: where the shutdown hangs
                timeout 20 jstack "$pid" 2>/dev/null | awk '/^"/ { keep = ($0 ~ /main"|Shutdown|Hangup|Aggregator|reload/) }
                    keep' | head -n 80 >&2 || true
            fi
            [[ -n $DAEMON_LOG ]] && { bench_log "---- daemon log, last lines ----"; tail -n 15 "$DAEMON_LOG" >&2; }
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    fi
    DAEMON_PID=
    [[ -n $STATE ]] || return 0
    for i in $(seq 1 50); do   # haproxy workers may need a moment after their master is gone
        hp=$(pgrep -f -- "-f $STATE/haproxy/haproxy.cfg" || true)
        [[ -z $hp ]] && return 0
        sleep 0.1
    done
    bench_log "haproxy still running on $STATE after the daemon stopped (pids: $(echo $hp)); killing them"
    LEFTOVER_HAPROXY=$((LEFTOVER_HAPROXY + $(wc -w <<<"$hp")))
    kill -KILL $hp 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ $rc -ne 0 && -n $DAEMON_LOG && -f $DAEMON_LOG ]]; then
        bench_log "---- last lines of the daemon log ($DAEMON_LOG) ----"
        tail -n 25 "$DAEMON_LOG" >&2 || true
        [[ -f $STATE/run/haproxy.log ]] && { bench_log "---- haproxy log ----"; tail -n 10 "$STATE/run/haproxy.log" >&2 || true; }
    fi
    stop_daemon
    stop_watchdog
    if [[ ${KEEP:-0} == 1 ]]; then
        bench_log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 124' TERM
start_watchdog "$BENCH_TIMEOUT"

find_dist "$WORK"

# Atomic drop as an operator's tool would do it: dot-files (never picked up) first, then rename into place.
# Sets DROP_T0 (µs) to the moment the second rename returned, i.e. when the pair is complete in the inbox.
drop_fragment() {
    local name=$1 domain=$2 answer=$3 inbox=$STATE/inbox
    printf 'backend be_%s\n    http-request return status 200 content-type text/plain string "%s"\n' \
        "$name" "$answer" >"$inbox/.$name.cfg.tmp"
    printf '# bench fragment\n%s be_%s\n' "$domain" "$name" >"$inbox/.$name.map.tmp"
    mv "$inbox/.$name.cfg.tmp" "$inbox/$name.cfg"
    mv "$inbox/.$name.map.tmp" "$inbox/$name.map"
    now_us_into DROP_T0
}

https_get() { # domain → body (empty on any error)
    curl -sk --max-time 2 --resolve "$1:$HTTPS_PORT:127.0.0.1" "https://$1:$HTTPS_PORT/" 2>/dev/null || true
}

# Polls (every ~10 ms) until the domain serves the fragment's answer. Sets SERVED_US (µs after DROP_T0).
wait_served() {
    local name=$1 domain=$2 answer=$3 t deadline=$((DROP_T0 + DROP_TIMEOUT * 1000000))
    while :; do
        if [[ $(https_get "$domain") == "$answer" ]]; then
            now_us_into t
            SERVED_US=$((t - DROP_T0))
            return 0
        fi
        now_us_into t
        [[ ! -e $STATE/rejected/$name.error ]] \
            || bench_die "fragment $name was rejected: $(cat "$STATE/rejected/$name.error")"
        kill -0 "$DAEMON_PID" 2>/dev/null || bench_die "the daemon exited while waiting for $name"
        (( t < deadline )) || bench_die "fragment $name was not served within $DROP_TIMEOUT s"
        sleep 0.01
    done
}

# When (ms after DROP_T0) the daemon logged the first line containing $1, from the log's HH:mm:ss.SSS UTC time
# stamps; "-" when there is no such line. With $2 set, $1 ends in a number that must not continue ("gen 2" ≠ "gen 21").
log_ms() {
    awk -v needle="$1" -v numeric="${2:-}" -v t0="$DROP_T0" '
        BEGIN { day = 86400000; t0d = int(t0 / 1000) % day }
        (p = index($0, needle)) && !(numeric && substr($0, p + length(needle), 1) ~ /[0-9]/) \
            && $1 ~ /^[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\.[0-9][0-9][0-9]$/ {
            split($1, a, /[:.]/); t = ((a[1] * 60 + a[2]) * 60 + a[3]) * 1000 + a[4]
            print (t - t0d + day) % day; found = 1; exit
        }
        END { if (!found) print "-" }' "$DAEMON_LOG"
}

ms() { awk -v us="$1" 'BEGIN { printf "%.0f", us / 1000 }'; }
median_of() { printf '%s\n' "$@" | grep -v '^-$' | percentile 50 || echo "-"; }

# run_series LABEL POLL SETTLE BATCH: one daemon, WARMUP + DROPS drops; appends a line to SUMMARY.
SUMMARY=()
run_series() {
    local label=$1 poll=$2 settle=$3 batch=$4 i name domain answer t now ready_us last_served=0 wait_us
    local queued accepted reloaded gen row
    local -a samples=() q_ms=() a_ms=() r_ms=()
    STATE=$WORK/$label/state
    DAEMON_LOG=$WORK/$label/daemon.log
    mkdir -p "$STATE"
    HTTP_PORT=$(free_port); HTTPS_PORT=$(free_port); ACME_PORT=$(free_port); MGMT_PORT=$(free_port)

    echo
    echo "== drop→served latency, run '$label' =="
    echo "settings: lb.intake.poll=$poll ms  lb.intake.settle=$settle ms  lb.assembly.batch=$batch ms" \
        " lb.reload.min-interval=$MIN_INTERVAL ms"
    echo "daemon:   $DIST/bin/haproxy-lb, supervise mode, https 127.0.0.1:$HTTPS_PORT, http 127.0.0.1:$HTTP_PORT," \
        "management 127.0.0.1:$MGMT_PORT"
    echo "pacing:   each drop starts >= $((MIN_INTERVAL + PACE)) ms after the previous one was served, so each" \
        "is the first change after a quiet period (reloaded at once, never coalesced)"
    echo "load:     $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?') (1/5/15-min load average before start)"

    # Time-stamped log lines (UTC) give the phases.
    now_us_into t
    # The management server (health, metrics) gets a free port too; -D because Camel reads no env variable for it.
    TZ=UTC JAVA_OPTS="${JAVA_OPTS:-} -Dorg.slf4j.simpleLogger.showDateTime=true
        -Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS
        -Dcamel.management.host=127.0.0.1 -Dcamel.management.port=$MGMT_PORT" \
    LB_HOME=$DIST LB_CONF_DIR=conf LB_ROUTES_DIR=routes \
    LB_STATE_DIR=$STATE LB_RELOAD_MODE=supervise \
    LB_EDGE_HTTP_BIND=127.0.0.1:$HTTP_PORT LB_EDGE_HTTPS_BIND=127.0.0.1:$HTTPS_PORT \
    LB_ACME_RESPONDER=127.0.0.1:$ACME_PORT LB_EDGE_HTTPS_PUBLIC_PORT=$HTTPS_PORT \
    LB_RELOAD_MIN_INTERVAL=$MIN_INTERVAL LB_INTAKE_POLL=$poll LB_INTAKE_SETTLE=$settle LB_ASSEMBLY_BATCH=$batch \
        "$DIST/bin/haproxy-lb" >"$DAEMON_LOG" 2>&1 &
    DAEMON_PID=$!

    # Ready: the HTTPS edge answers an unknown host with the base template's 404 page.
    local code deadline=$((t + READY_TIMEOUT * 1000000))
    while :; do
        code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 2 \
            --resolve "probe.bench.test:$HTTPS_PORT:127.0.0.1" "https://probe.bench.test:$HTTPS_PORT/" 2>/dev/null || true)
        [[ $code == 404 ]] && break
        kill -0 "$DAEMON_PID" 2>/dev/null || bench_die "the daemon exited during start-up"
        now_us_into now
        (( now < deadline )) || bench_die "the daemon did not serve HTTPS within $READY_TIMEOUT s"
        sleep 0.05
    done
    now_us_into now
    ready_us=$((now - t))
    echo "daemon ready (HTTPS answers 404 for an unknown host) $(ms "$ready_us") ms after launch"
    echo
    echo "ms after the pair was renamed into the inbox; queued/accepted/reloaded: time stamps of the daemon's log lines"
    printf '%6s  %-7s %9s %9s %9s %9s\n' drop name queued accepted reloaded served
    printf '%6s  %-7s %9s %9s %9s %9s\n' "" "" "(intake)" "(assembly)" "(logged)" "(HTTPS)"

    for i in $(seq 1 $((WARMUP + DROPS))); do
        name=$(printf 'lat%02d' "$i")
        domain=$name.bench.test
        answer="bench $label drop $i ($name)"
        [[ $(https_get "$domain") != "$answer" ]] || bench_die "$domain answers before its drop"
        if (( last_served > 0 )); then   # pacing, so that every drop meets a quiet reload gate
            now_us_into now
            wait_us=$((last_served + (MIN_INTERVAL + PACE) * 1000 - now))
            (( wait_us <= 0 )) || sleep "$(awk -v u="$wait_us" 'BEGIN { printf "%.3f", u / 1e6 }')"
        fi
        drop_fragment "$name" "$domain" "$answer"
        wait_served "$name" "$domain" "$answer"
        last_served=$((DROP_T0 + SERVED_US))
        queued=$(log_ms "Fragment '$name' (")
        accepted=$(log_ms "Fragment '$name' accepted")
        gen=$(sed -n "s/.*Fragment '$name' accepted into config generation \([0-9]*\).*/\1/p" "$DAEMON_LOG" | head -n 1)
        reloaded=-
        if [[ -n $gen ]]; then   # the daemon logs the reload once it has confirmed it: that can come after "served"
            now_us_into t
            while ! grep -Eq "haproxy reloaded with config generation $gen\$" "$DAEMON_LOG"; do
                now_us_into now
                (( now - t < 5000000 )) || break
                sleep 0.02
            done
            reloaded=$(log_ms "haproxy reloaded with config generation $gen" numeric)
        fi
        row=$(printf '%9s %9s %9s %9s' "$queued" "$accepted" "$reloaded" "$(ms "$SERVED_US")")
        if (( i <= WARMUP )); then
            printf '%6s  %-7s %s  (warm-up, not counted)\n' "w$i" "$name" "$row"
        else
            printf '%6s  %-7s %s\n' "$((i - WARMUP))" "$name" "$row"
            samples+=("$SERVED_US"); q_ms+=("$queued"); a_ms+=("$accepted"); r_ms+=("$reloaded")
        fi
    done

    # What one probe costs (a curl process + TLS handshake); each sample includes one, at its end.
    local -a probe=()
    for i in $(seq 1 10); do
        now_us_into t
        https_get "$domain" >/dev/null
        now_us_into now
        probe+=($((now - t)))
    done

    local p50 p95 max min q50 a50 r50 probe50 reloads coalesced
    p50=$(printf '%s\n' "${samples[@]}" | percentile 50)
    p95=$(printf '%s\n' "${samples[@]}" | percentile 95)
    max=$(printf '%s\n' "${samples[@]}" | percentile 100)
    min=$(printf '%s\n' "${samples[@]}" | percentile 0)
    q50=$(median_of "${q_ms[@]}"); a50=$(median_of "${a_ms[@]}"); r50=$(median_of "${r_ms[@]}")
    probe50=$(printf '%s\n' "${probe[@]}" | percentile 50)
    reloads=$(grep -c 'haproxy reloaded with config generation' "$DAEMON_LOG" || true)
    coalesced=$(sed -n 's/.*"reloadsCoalesced" *: *\([0-9]*\).*/\1/p' "$STATE/status.json" | head -n 1)

    echo
    echo "sorted (ms): $(printf '%s\n' "${samples[@]}" | sort -g | awk '{ printf "%s%.0f", (NR > 1 ? " " : ""), $1 / 1000 }')"
    echo "drop→served over $DROPS drops: p50 $(ms "$p50") ms, p95 $(ms "$p95") ms, max $(ms "$max") ms" \
        "(min $(ms "$min") ms)"
    echo "phase medians: queued $q50 ms, accepted $a50 ms, reloaded $r50 ms, served $(ms "$p50") ms"
    echo "each sample ends with one probe: curl + TLS handshake ≈ $(ms "$probe50") ms (median of 10);" \
        "the poll step adds up to ~10 ms more"
    echo "reloads: $reloads for $((WARMUP + DROPS)) drops (status.json reloadsCoalesced=${coalesced:-?})"
    (( reloads == WARMUP + DROPS )) || echo "NOTE: expected exactly one immediate reload per drop"

    local t_stop
    now_us_into t
    stop_daemon
    now_us_into t_stop
    echo "daemon stopped $(ms $((t_stop - t))) ms after SIGTERM; haproxy processes it left behind: $LEFTOVER_HAPROXY"
    SUMMARY+=("$(printf '%-9s %5s %7s %6s %9s %7s %9s %9s %7s %7s %7s' "$label" "$poll" "$settle" "$batch" \
        "$MIN_INTERVAL" "$q50" "$a50" "$r50" "$(ms "$p50")" "$(ms "$p95")" "$(ms "$max")")")
}

echo "haproxy-lb drop→served latency: $DROPS drops per run (after $WARMUP warm-up), idle, $(nproc) CPU(s)," \
    "$(haproxy -v | head -n 1 | awk '{ print $1, $3 }'), build $BUILD_DIR"
run_series defaults "$(conf_value lb.intake.poll)" "$(conf_value lb.intake.settle)" "$(conf_value lb.assembly.batch)"
run_series low "$LOW_POLL" "$LOW_SETTLE" "$LOW_BATCH"

echo
echo "== drop→served summary: ms, $DROPS drops per run; queued/accepted/reload = medians of those phases =="
printf '%-9s %5s %7s %6s %9s %7s %9s %9s %7s %7s %7s\n' run poll settle batch min-intvl queued accepted reload \
    p50 p95 max
printf '%s\n' "${SUMMARY[@]}"
echo "queued: intake done (the next inbox poll, then the file must stay unchanged for lb.intake.settle, checked every"
echo "lb.intake.poll). accepted: + the lb.assembly.batch window + assembly (haproxy -c, atomic writes, promotion)."
echo "reload: the daemon logged 'haproxy reloaded' (after SIGUSR2 and its own check that the new worker runs; it can"
echo "land after 'served'). served: the first curl that got the fragment's answer returned (includes that probe)."
(( STOP_TIMEOUTS == 0 && LEFTOVER_HAPROXY == 0 )) || echo "WARNING: daemon stop problems (see above)"
