#!/usr/bin/env bash
# drop→served latency of the real daemon, idle: how long after a fragment is handed over its domain answers through
# HTTPS. Starts bin/haproxy-lb in supervise mode (it runs haproxy itself) with a fresh state dir on free loopback
# ports and hands it fragments one at a time, in three ways taken in turn (every mode gets DROPS samples):
#   rename   NAME.cfg and NAME.map written complete outside the inbox (same file system), then each `mv`ed in;
#            the clock starts when the second mv returns
#   apply    `haproxy-config apply NAME CFG MAP` (the operator's verb: it writes both atomically and waits for the
#            outcome); the clock starts before the command, "returned" is when it exits 0
#   apply-nocds  the same without haproxy-config's class-data archive (LB_CLI_ARCHIVE pointed at nothing), as before
#            bin/haproxy-config-cds; not in the default MODES
#   ansible  as Ansible's copy module does it, one file after the other: a hidden temp file in the inbox
#            (.ansible_tmpXXXXNAME.cfg), written, then renamed over NAME.cfg; same for NAME.map
# and polls `curl -sk --resolve DOMAIN:PORT:127.0.0.1 https://DOMAIN:PORT/` every ~10 ms until it returns that
# fragment's own string. Does this for two builds with each one's own default settings, in the same run:
#   before   the commit before the inotify intake (BEFORE_COMMIT, default ee4b85b: Camel readLock=changed, poll 500 /
#            settle 1000 / batch 300), exported with git archive into $BENCH_TMP and built there once (cached)
#   now      the working tree's build ($BUILD_DIR) with conf/application.properties
# The settings alone cannot reproduce "before": the read lock (routes/intake.camel.yaml) changed too.
#
# Environment (all optional):
#   BUILD_DIR=target        build to run as "now" (uses $BUILD_DIR/dist, or assembles one from $BUILD_DIR/lib)
#   VARIANTS="before now"   which builds to run, in this order
#   MODES="rename apply ansible"   hand-over modes, taken in turn
#   BEFORE_COMMIT=ee4b85b   the "before" commit; BEFORE_DIR (default $BENCH_TMP/haproxy-lb-before-COMMIT) its build
#   DROPS=20                measured drops per mode and build (plus WARMUP unmeasured rounds first)
#   WARMUP=1                rounds (one drop per mode) before measuring: the first ones pay for JIT and class loading
#   MIN_INTERVAL=250        lb.reload.min-interval (ms); drops are spaced further apart, so each one is "the first
#                           change after a quiet period" (the default 60 s would make that a minute per drop)
#   PACE=250                extra ms between "previous drop served" and the next drop, on top of MIN_INTERVAL
#   BENCH_TIMEOUT=1500      total seconds for the whole script (the first run also builds "before": ~2-5 min)
#   DROP_TIMEOUT=30         seconds one drop may take before the run fails
#   READY_TIMEOUT=120       seconds the daemon may take to serve HTTPS after launch
#   KEEP=1                  keep the temp dir (state dirs and daemon logs) instead of deleting it
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

VARIANTS=${VARIANTS:-before now}
MODES=${MODES:-rename apply ansible}
BEFORE_COMMIT=${BEFORE_COMMIT:-ee4b85b}
BEFORE_DIR=${BEFORE_DIR:-$BENCH_TMP/haproxy-lb-before-$BEFORE_COMMIT}
DROPS=${DROPS:-20}
WARMUP=${WARMUP:-1}
MIN_INTERVAL=${MIN_INTERVAL:-250}
PACE=${PACE:-250}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-1500}
DROP_TIMEOUT=${DROP_TIMEOUT:-30}
READY_TIMEOUT=${READY_TIMEOUT:-120}

for tool in curl haproxy java openssl ss awk git mvn; do
    command -v "$tool" >/dev/null || bench_die "$tool is not installed (make deps installs haproxy)"
done
read -r -a MODE_LIST <<<"$MODES"

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

# The "before" build: the commit's tree exported (git archive: no worktree to clean up) and built offline once;
# a dist like `make build` makes, with that commit's launchers. Sets DIST_before, CONF_before, ROUTES_before.
prepare_before() {
    local dir=$BEFORE_DIR
    if [[ ! -f $dir/.built ]]; then
        bench_log "building $BEFORE_COMMIT into $dir (once; reused by later runs)"
        rm -rf "$dir" && mkdir -p "$dir"
        git archive "$BEFORE_COMMIT" | tar -x -C "$dir"
        (cd "$dir" && mvn -B -q -o -DskipTests package) >"$dir/build.log" 2>&1 \
            || (cd "$dir" && mvn -B -q -DskipTests package) >"$dir/build.log" 2>&1 \
            || bench_die "building $BEFORE_COMMIT failed, see $dir/build.log"
        mkdir -p "$dir/dist/lib" "$dir/dist/bin"
        cp "$dir"/target/lib/*.jar "$dir"/target/haproxy-lb-*.jar "$dir/dist/lib/"
        cp "$dir"/src/main/sh/* "$dir/dist/bin/"
        touch "$dir/.built"
    fi
    DIST_before=$dir/dist CONF_before=$dir/conf ROUTES_before=$dir/routes
}
prepare_now() {
    find_dist "$WORK"
    DIST_now=$DIST CONF_now=$CONF_DIR ROUTES_now=$ROUTES_DIR
}

# One value from a conf dir's application.properties.
conf_value_in() {
    sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*//p" "$1/application.properties" | tail -n 1 | tr -d '[:space:]'
}

fragment_cfg() { printf 'backend be_%s\n    http-request return status 200 content-type text/plain string "%s"\n' "$1" "$2"; }
fragment_map() { printf '# bench fragment\n%s be_%s\n' "$2" "$1"; }

# Hands fragment $name over in mode $mode. Sets DROP_T0 (µs, when the clock starts) and RETURNED_US ("-"); apply runs
# haproxy-config in the background (APPLY_PID), and the caller sets RETURNED_US once it has finished.
hand_over() {
    local mode=$1 name=$2 domain=$3 answer=$4 inbox=$STATE/inbox out=$WORK/out ext tmp
    mkdir -p "$out"
    RETURNED_US=-
    case $mode in
        rename)
            fragment_cfg "$name" "$answer" >"$out/$name.cfg"
            fragment_map "$name" "$domain" >"$out/$name.map"
            mv "$out/$name.cfg" "$inbox/$name.cfg"
            mv "$out/$name.map" "$inbox/$name.map"
            now_us_into DROP_T0
            ;;
        apply|apply-nocds)
            fragment_cfg "$name" "$answer" >"$out/$name.cfg"
            fragment_map "$name" "$domain" >"$out/$name.map"
            now_us_into DROP_T0
            # In the background, so that "served" is measured on its own; the command notes when it returned.
            rm -f "$WORK/apply.done"
            (
                rc=0
                [[ $mode == apply ]] || export LB_CLI_ARCHIVE=$WORK/no-archive
                LB_CONF_DIR=$CONF LB_STATE_DIR=$STATE "$DIST/bin/haproxy-config" apply "$name" "$out/$name.cfg" \
                    "$out/$name.map" >"$WORK/apply.out" 2>&1 || rc=$?
                now_us_into t
                echo "$rc $t" >"$WORK/apply.done"
            ) &
            APPLY_PID=$!
            ;;
        ansible)
            for ext in cfg map; do
                tmp=$inbox/.ansible_tmp$RANDOM$RANDOM$name.$ext
                if [[ $ext == cfg ]]; then fragment_cfg "$name" "$answer" >"$tmp"; else fragment_map "$name" "$domain" >"$tmp"; fi
                [[ $ext == map ]] || now_us_into DROP_T0   # from the first byte the tool wrote into the inbox
                mv "$tmp" "$inbox/$name.$ext"
            done
            ;;
        *) bench_die "unknown mode $mode" ;;
    esac
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

ms() { [[ $1 == - ]] && { printf -- -; return; }; awk -v us="$1" 'BEGIN { printf "%.0f", us / 1000 }'; }
median_of() { printf '%s\n' "$@" | grep -v '^-$' | percentile 50 || echo "-"; }
stats_ms() { # µs samples → "p50 p95 max" in ms
    printf '%s %s %s' "$(ms "$(printf '%s\n' "$@" | percentile 50)")" "$(ms "$(printf '%s\n' "$@" | percentile 95)")" \
        "$(ms "$(printf '%s\n' "$@" | percentile 100)")"
}

# run_series VARIANT: one daemon of that build with its own default settings, WARMUP rounds + DROPS rounds of
# MODES; appends one line per mode to SUMMARY.
SUMMARY=()
run_series() {
    local variant=$1 i r m mode name domain answer t now ready_us last_served=0 wait_us
    local queued accepted reloaded gen row poll settle batch rc
    local -A served=() returned=() q_ms=() a_ms=() r_ms=()
    local dv=DIST_$variant cv=CONF_$variant rv=ROUTES_$variant
    DIST=${!dv} CONF=${!cv} ROUTES=${!rv}
    poll=$(conf_value_in "$CONF" lb.intake.poll) settle=$(conf_value_in "$CONF" lb.intake.settle)
    batch=$(conf_value_in "$CONF" lb.assembly.batch)
    STATE=$WORK/$variant/state
    DAEMON_LOG=$WORK/$variant/daemon.log
    mkdir -p "$STATE"
    HTTP_PORT=$(free_port); HTTPS_PORT=$(free_port); ACME_PORT=$(free_port); MGMT_PORT=$(free_port)

    echo
    echo "== drop→served latency, build '$variant' ($DIST) =="
    echo "settings: its defaults: lb.intake.poll=$poll ms  lb.intake.settle=$settle ms  lb.assembly.batch=$batch ms;" \
        "lb.reload.min-interval=$MIN_INTERVAL ms"
    echo "intake:   $(grep -Eo 'readLock: changed|exclusiveReadLockStrategy: "[^"]*"' "$ROUTES/intake.camel.yaml" | head -n 1)" \
        "(routes/intake.camel.yaml)"
    echo "pacing:   each drop starts >= $((MIN_INTERVAL + PACE)) ms after the previous one was served, so each" \
        "is the first change after a quiet period (reloaded at once, never coalesced)"
    echo "load:     $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?') (1/5/15-min load average before start)"

    now_us_into t
    # Time-stamped log lines (UTC) give the phases. The management server gets a free port too (-D: Camel reads no
    # env variable for it in the older build).
    TZ=UTC JAVA_OPTS="${JAVA_OPTS:-} -Dorg.slf4j.simpleLogger.showDateTime=true
        -Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS
        -Dcamel.management.host=127.0.0.1 -Dcamel.management.port=$MGMT_PORT" \
    LB_HOME=$DIST LB_CONF_DIR=$CONF LB_ROUTES_DIR=$ROUTES \
    LB_STATE_DIR=$STATE LB_RELOAD_MODE=supervise LB_MANAGEMENT_PORT=$MGMT_PORT \
    LB_EDGE_HTTP_BIND=127.0.0.1:$HTTP_PORT LB_EDGE_HTTPS_BIND=127.0.0.1:$HTTPS_PORT \
    LB_ACME_RESPONDER=127.0.0.1:$ACME_PORT LB_EDGE_HTTPS_PUBLIC_PORT=$HTTPS_PORT \
    LB_RELOAD_MIN_INTERVAL=$MIN_INTERVAL \
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
    echo "ms after the hand-over started; queued/accepted/reloaded: time stamps of the daemon's log lines"
    printf '%6s  %-11s %-7s %9s %9s %9s %9s %9s\n' drop mode name queued accepted reloaded returned served
    printf '%6s  %-11s %-7s %9s %9s %9s %9s %9s\n' "" "" "" "(intake)" "(assembly)" "(logged)" "(apply)" "(HTTPS)"

    i=0
    for r in $(seq 1 $((WARMUP + DROPS))); do
        for mode in "${MODE_LIST[@]}"; do
            i=$((i + 1))
            name=$(printf 'lat%03d' "$i")
            domain=$name.bench.test
            answer="bench $variant $mode drop $i ($name)"
            [[ $(https_get "$domain") != "$answer" ]] || bench_die "$domain answers before its drop"
            if (( last_served > 0 )); then   # pacing, so that every drop meets a quiet reload gate
                now_us_into now
                wait_us=$((last_served + (MIN_INTERVAL + PACE) * 1000 - now))
                (( wait_us <= 0 )) || sleep "$(awk -v u="$wait_us" 'BEGIN { printf "%.3f", u / 1e6 }')"
            fi
            hand_over "$mode" "$name" "$domain" "$answer"
            wait_served "$name" "$domain" "$answer"
            if [[ $mode == apply* ]]; then
                wait "$APPLY_PID" || true
                read -r rc t <"$WORK/apply.done" || bench_die "haproxy-config apply $name did not finish"
                (( rc == 0 )) || bench_die "haproxy-config apply $name exited $rc: $(cat "$WORK/apply.out")"
                RETURNED_US=$((t - DROP_T0))
            fi
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
            row=$(printf '%9s %9s %9s %9s %9s' "$queued" "$accepted" "$reloaded" "$(ms "$RETURNED_US")" "$(ms "$SERVED_US")")
            if (( r <= WARMUP )); then
                printf '%6s  %-11s %-7s %s  (warm-up, not counted)\n' "w$i" "$mode" "$name" "$row"
            else
                printf '%6s  %-11s %-7s %s\n' "$i" "$mode" "$name" "$row"
                served[$mode]+=" $SERVED_US"; returned[$mode]+=" $RETURNED_US"
                q_ms[$mode]+=" $queued"; a_ms[$mode]+=" $accepted"; r_ms[$mode]+=" $reloaded"
            fi
        done
    done

    # What one probe costs (a curl process + TLS handshake); each sample includes one, at its end.
    local -a probe=()
    for i in $(seq 1 10); do
        now_us_into t
        https_get "$domain" >/dev/null
        now_us_into now
        probe+=($((now - t)))
    done
    local probe50 reloads coalesced total=$(( (WARMUP + DROPS) * ${#MODE_LIST[@]} ))
    probe50=$(printf '%s\n' "${probe[@]}" | percentile 50)
    reloads=$(grep -c 'haproxy reloaded with config generation' "$DAEMON_LOG" || true)
    coalesced=$(sed -n 's/.*"reloadsCoalesced" *: *\([0-9]*\).*/\1/p' "$STATE/status.json" | head -n 1)

    echo
    for mode in "${MODE_LIST[@]}"; do
        # shellcheck disable=SC2086
        echo "$mode sorted (ms): $(printf '%s\n' ${served[$mode]} | sort -g | awk '{ printf "%s%.0f", (NR > 1 ? " " : ""), $1 / 1000 }')"
        local ret="-" a
        # shellcheck disable=SC2086
        [[ $mode != apply* ]] || ret=$(stats_ms ${returned[$mode]})
        # shellcheck disable=SC2086
        a=$(stats_ms ${served[$mode]})
        # shellcheck disable=SC2086
        SUMMARY+=("$(printf '%-7s %-11s %5s %7s %6s %7s %9s %9s %-17s %s' "$variant" "$mode" "$poll" "$settle" "$batch" \
            "$(median_of ${q_ms[$mode]})" "$(median_of ${a_ms[$mode]})" "$(median_of ${r_ms[$mode]})" "$ret" "$a")")
    done
    echo "each sample ends with one probe: curl + TLS handshake ≈ $(ms "$probe50") ms (median of 10);" \
        "the poll step adds up to ~10 ms more"
    echo "reloads: $reloads for $total drops (status.json reloadsCoalesced=${coalesced:-?})"
    (( reloads == total )) || echo "NOTE: expected exactly one immediate reload per drop"

    local t_stop
    now_us_into t
    stop_daemon
    now_us_into t_stop
    echo "daemon stopped $(ms $((t_stop - t))) ms after SIGTERM; haproxy processes it left behind: $LEFTOVER_HAPROXY"
}

for v in $VARIANTS; do
    case $v in
        before) prepare_before ;;
        now) prepare_now ;;
        *) bench_die "unknown variant $v (before, now)" ;;
    esac
done
echo "haproxy-lb drop→served latency: $DROPS drops per mode and build (after $WARMUP warm-up round), idle," \
    "$(nproc) CPU(s), $(haproxy -v | head -n 1 | awk '{ print $1, $3 }'), now = $BUILD_DIR," \
    "before = $BEFORE_COMMIT"
for v in $VARIANTS; do run_series "$v"; done

echo
echo "== drop→served summary: ms, $DROPS drops per mode and build; queued/accepted/reload = medians of those phases =="
printf '%-7s %-11s %5s %7s %6s %7s %9s %9s %-17s %s\n' build mode poll settle batch queued accepted reload \
    "apply returned" "served p50 p95 max"
printf '%-7s %-11s %5s %7s %6s %7s %9s %9s %-17s %s\n' "" "" "" "" "" "" "" "" "p50 p95 max" ""
printf '%s\n' "${SUMMARY[@]}"
echo "queued: intake done. accepted: + the lb.assembly.batch window + assembly (haproxy -c, atomic writes, promotion)."
echo "reload: the daemon logged 'haproxy reloaded' (after SIGUSR2 and its own check that the new worker runs; it can"
echo "land after 'served'). served: the first curl that got the fragment's answer returned (includes that probe)."
echo "apply returned: haproxy-config apply exited (it starts a JVM, writes both files and waits for the outcome)."
(( STOP_TIMEOUTS == 0 && LEFTOVER_HAPROXY == 0 )) || echo "WARNING: daemon stop problems (see above)"
