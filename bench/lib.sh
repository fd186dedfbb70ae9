# Shared helpers of the bench scripts (sourced, not run). Expects `set -euo pipefail` and the repository root as cwd.
#
#   BUILD_DIR   Maven output folder to use (default: target). Build another one with
#               mvn -q -B -Dbuild.dir=target-bench -DskipTests package, then BUILD_DIR=target-bench bench/run-all.sh
#   BENCH_TMP   where the throwaway state dirs go (default: $TMPDIR or /tmp). Keep it on a real disk: the daemon
#               fsyncs every write, and tmpfs would hide that cost.

BUILD_DIR=${BUILD_DIR:-target}
BUILD_DIR=${BUILD_DIR%/}
BENCH_TMP=${BENCH_TMP:-${TMPDIR:-/tmp}}

bench_log() { printf '%s\n' "$*" >&2; }
bench_die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# The file system a directory is on, and for ext4 whether it has its journal (/proc/fs/jbd2 lists journals). Without
# one, ext4 scans the inodes deleted in the last 30 s for every new file: storms of files run several times slower.
file_system_of() { # dir
    local src type
    read -r src type < <(df --output=source,fstype "$1" | tail -n 1)
    if [[ $type != ext4 ]]; then
        printf '%s on %s\n' "$type" "$src"
    elif compgen -G "/proc/fs/jbd2/${src##*/}-*" > /dev/null; then
        printf '%s on %s, with a journal\n' "$type" "$src"
    else
        printf '%s on %s, WITHOUT a journal\n' "$type" "$src"
    fi
}

# Microseconds since the epoch into the named variable, without forking (bash 5 EPOCHREALTIME).
now_us_into() {
    local __now=${EPOCHREALTIME/,/.}
    printf -v "$1" '%s' "${__now%.*}${__now#*.}"
}

# Bounds the whole script: after $1 seconds the script gets SIGTERM, whose trap cleans up and exits 124.
# Waiting on `sleep` inside the subshell keeps the watchdog itself killable from the cleanup.
BENCH_WATCHDOG_PID=
start_watchdog() {
    local seconds=$1 main=$$
    (
        trap - EXIT INT   # a subshell keeps the script's EXIT trap; the watchdog must not run the cleanup itself
        trap 'kill "$sp" 2>/dev/null; exit 0' TERM
        sleep "$seconds" & sp=$!
        wait "$sp"
        printf 'bench: total timeout of %s s reached; stopping\n' "$seconds" >&2
        kill -TERM "$main" 2>/dev/null
    ) &
    BENCH_WATCHDOG_PID=$!
}
stop_watchdog() {
    if [[ -n ${BENCH_WATCHDOG_PID:-} ]]; then
        kill -TERM "$BENCH_WATCHDOG_PID" 2>/dev/null || true
        wait "$BENCH_WATCHDOG_PID" 2>/dev/null || true
        BENCH_WATCHDOG_PID=
    fi
}

# A TCP port on 127.0.0.1 that nothing listens on right now (random high port, checked with ss). Ports already
# handed out by this script are skipped too.
BENCH_PORTS_TAKEN=" "
free_port() {
    local p i
    for i in $(seq 1 200); do
        p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
        [[ $BENCH_PORTS_TAKEN == *" $p "* ]] && continue
        if command -v ss >/dev/null; then
            [[ -n $(ss -Htan "( sport = :$p )" 2>/dev/null) ]] && continue
        elif (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            continue
        fi
        BENCH_PORTS_TAKEN+="$p "
        printf '%s' "$p"
        return 0
    done
    bench_die "no free port found"
}

# The daemon distribution to run (bin/haproxy-lb + lib/), into DIST: LB_DIST if set, else $BUILD_DIR/dist (what
# `make build` makes from target/), else one put together in $1 from $BUILD_DIR the way `make build` does it.
# CONF_DIR and ROUTES_DIR: LB_DIST's conf/ and routes/ when it has them (a build pinned to another commit), else the
# working tree's.
find_dist() {
    local scratch=$1 jar abs
    if [[ -n ${LB_DIST:-} ]]; then
        DIST=$LB_DIST
    elif [[ -x $BUILD_DIR/dist/bin/haproxy-lb ]]; then
        DIST=$BUILD_DIR/dist
        jar=$(ls "$BUILD_DIR"/haproxy-lb-*.jar 2>/dev/null | head -n 1 || true)
        if [[ -n $jar && $jar -nt $DIST/lib/$(basename "$jar") ]]; then
            bench_log "warning: $jar is newer than $DIST; run 'make build' to refresh the dist"
        fi
    else
        jar=$(ls "$BUILD_DIR"/haproxy-lb-*.jar 2>/dev/null | head -n 1 || true)
        [[ -n $jar && -d $BUILD_DIR/lib ]] || bench_die "no build in $BUILD_DIR/: run 'make build', or" \
            "'mvn -q -B -Dbuild.dir=$BUILD_DIR -DskipTests package' and pass BUILD_DIR=$BUILD_DIR"
        DIST=$scratch/dist
        mkdir -p "$DIST/lib" "$DIST/bin"
        abs=$(cd "$BUILD_DIR" && pwd)
        ln -s "$abs"/lib/*.jar "$abs/$(basename "$jar")" "$DIST/lib/"
        cp src/main/sh/* "$DIST/bin/"
    fi
    [[ -x $DIST/bin/haproxy-lb ]] || bench_die "$DIST/bin/haproxy-lb is missing"
    # A dist made for another commit brings its own settings and routes (they must match its classes).
    CONF_DIR=conf ROUTES_DIR=routes
    if [[ -n ${LB_DIST:-} && -d $DIST/conf && -d $DIST/routes ]]; then CONF_DIR=$DIST/conf ROUTES_DIR=$DIST/routes; fi
}

# One value from the run's application.properties (the defaults the daemon starts with).
conf_value() {
    local v
    v=$(sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "${CONF_DIR:-conf}/application.properties" | tail -n 1)
    [[ -n $v ]] || bench_die "setting $1 not found in conf/application.properties"
    printf '%s' "${v%"${v##*[![:space:]]}"}"
}

# Percentile by nearest rank over numbers on stdin: percentile 50 → the ceil(0.5·n)-th smallest.
percentile() {
    sort -g | awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) exit 1; r = int((p / 100) * NR); if (r < (p / 100) * NR) r++; if (r < 1) r = 1; print v[r] }'
}

# Starts $DIST/bin/haproxy-lb (supervise mode) with state dir $1 and log file $2 on free loopback ports; more
# VAR=value settings may follow (they win). Sets HTTP_PORT, HTTPS_PORT and DAEMON_PID.
start_loopback_daemon() {
    local state=$1 log=$2 mgmt responder
    shift 2
    HTTP_PORT=$(free_port) HTTPS_PORT=$(free_port) mgmt=$(free_port) responder=$(free_port)
    env LB_STATE_DIR="$state" LB_CONF_DIR="${CONF_DIR:-conf}" LB_ROUTES_DIR="${ROUTES_DIR:-routes}" LB_RELOAD_MODE=supervise \
        LB_EDGE_HTTP_BIND="127.0.0.1:$HTTP_PORT" LB_EDGE_HTTPS_BIND="127.0.0.1:$HTTPS_PORT" \
        LB_EDGE_HTTPS_PUBLIC_PORT="$HTTPS_PORT" LB_MANAGEMENT_PORT="$mgmt" LB_ACME_RESPONDER="127.0.0.1:$responder" \
        "$@" "$DIST/bin/haproxy-lb" > "$log" 2>&1 &
    DAEMON_PID=$!
}

# The scale layout (bench/scale.sh, bench/h2.sh): N fragments fI put in $1/fragments as a previous run would have
# left them, each one backend be_I answering "I" by itself and two domains aI.scale.test and bI.scale.test; the
# 2·N domains are appended to $3, one per line. Start-up assembles them all.
write_scale_fragments() {
    local state=$1 n=$2 hosts=$3 i
    mkdir -p "$state/fragments" "$state/inbox"
    for i in $(seq 1 "$n"); do
        printf 'backend be_%d\n    http-request return status 200 content-type text/plain string %d\n' "$i" "$i" \
            > "$state/fragments/f$i.cfg"
        printf 'a%d.scale.test be_%d\nb%d.scale.test be_%d\n' "$i" "$i" "$i" "$i" > "$state/fragments/f$i.map"
        printf 'a%d.scale.test\nb%d.scale.test\n' "$i" "$i" >> "$hosts"
    done
}
