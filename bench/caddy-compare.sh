#!/usr/bin/env bash
# Side by side with Caddy (Debian's caddy): add one site to a server that already has N sites, time from the file
# change to the new site served over HTTPS, for N in SIZES, with both servers in the same run and the samples
# interleaved (caddy, haproxy-lb, caddy, ...), printed as ratios haproxy-lb / caddy (below 1: haproxy-lb is faster).
#
#   caddy       `caddy run --watch` (CADDY_MODE=watch, default) on its own Caddyfile in a temp dir, admin API and
#               storage there too, listening on a loopback high port: N blocks `https://sI.caddy.test:PORT { tls
#               CERT KEY; respond "sI" }` (one self-signed *.caddy.test certificate; automatic HTTPS off, as loopback
#               cannot get a public certificate). One more site: the Caddyfile rewritten with one more block (a temp
#               file renamed over it, as an editor or a config tool does); with CADDY_MODE=reload, followed by
#               `caddy reload` (the clock includes that command).
#   haproxy-lb  the real daemon (supervise mode, loopback, default settings except lb.reload.min-interval=250 ms so
#               that every added site is the first change after a quiet period: the default 60 s would make the
#               bench a minute per sample) with N fragments of one backend and one domain sI.lb.test already live
#               (put in fragments/ as a previous run leaves them). One more site: NAME.cfg and NAME.map written
#               outside the inbox and renamed into it; the clock starts when the second rename returns.
# "Served": `curl -sk --resolve` (polled every ~10 ms) returns the new site's own answer. Both are HTTPS with SNI.
#
# Environment: BUILD_DIR (default target), LB_DIST (a pinned dist), SIZES ("1 1000 5000"), REPS (3 sites added per
# size and server; REPS_LARGE = 2 from 5,000 sites on, where one Caddy reload takes minutes on a loaded machine;
# haproxy-lb gets one warm-up site first, not counted: it pays for JIT), CADDY_MODE (watch | reload), PACE (500 ms
# between samples), KEEP=1, BENCH_TIMEOUT (3600 s), ADD_TIMEOUT (600 s for one added site).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BUILD_DIR=${BUILD_DIR:-target}
SIZES=${SIZES:-1 1000 5000}
REPS=${REPS:-3}
CADDY_MODE=${CADDY_MODE:-watch}
PACE=${PACE:-500}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-3600}
ADD_TIMEOUT=${ADD_TIMEOUT:-600}
REPS_LARGE=${REPS_LARGE:-2}
for tool in caddy curl haproxy java openssl; do
    command -v "$tool" >/dev/null || bench_die "$tool is not installed (make bench-deps installs caddy)"
done
[[ $CADDY_MODE == watch || $CADDY_MODE == reload ]] || bench_die "CADDY_MODE is watch or reload"
scratch=$(mktemp -d "${BENCH_TMP:-/tmp}/caddy-compare.XXXXXX")
daemon_pid= caddy_pid=
stop_pid() { # pid: SIGTERM, then SIGKILL after 30 s
    local pid=$1 i
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
stop_servers() { stop_pid "$caddy_pid"; caddy_pid=; stop_pid "$daemon_pid"; daemon_pid=; }
cleanup() {
    stop_watchdog
    stop_servers
    [[ -n ${KEEP:-} ]] || rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 124' TERM INT
start_watchdog "$BENCH_TIMEOUT"
find_dist "$scratch"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=caddy.test \
    -addext "subjectAltName=DNS:*.caddy.test" -keyout "$scratch/key.pem" -out "$scratch/cert.pem" 2>/dev/null
chmod 600 "$scratch/key.pem"

body() { # host port
    curl -sk --max-time 2 --resolve "$1:$2:127.0.0.1" "https://$1:$2/" 2>/dev/null || true
}
# Polls until host:port answers $3; SERVED_MS = ms since T0.
wait_body() {
    local host=$1 port=$2 want=$3 what=$4 now
    while [[ $(body "$host" "$port") != "$want" ]]; do
        now_us_into now
        (( now - T0 < ADD_TIMEOUT * 1000000 )) || bench_die "$what: $host not served within $ADD_TIMEOUT s"
        sleep 0.01
    done
    now_us_into now
    SERVED_MS=$(( (now - T0) / 1000 ))
}

caddy_site() { printf 'https://s%d.caddy.test:%d {\n\ttls %s %s\n\trespond "s%d"\n}\n' "$1" "$2" "$scratch/cert.pem" "$scratch/key.pem" "$1"; }
caddy_file() { # dir sites port admin
    local i
    {
        # Loopback only, TCP only (no HTTP/3 listener on UDP), the admin API on its own port.
        printf '{\n\tadmin 127.0.0.1:%d\n\tauto_https off\n\tdefault_bind 127.0.0.1\n\tservers {\n\t\tprotocols h1 h2\n\t}\n\tstorage file_system %s\n}\n' \
            "$4" "$1/storage"
        for i in $(seq 1 "$2"); do caddy_site "$i" "$3"; done
    } > "$1/Caddyfile.tmp"
    mv "$1/Caddyfile.tmp" "$1/Caddyfile"
}
lb_site() { # dir name → NAME.cfg/.map in dir
    printf 'backend be_%s\n    http-request return status 200 content-type text/plain string %s\n' "$2" "$2" > "$1/$2.cfg"
    printf '%s.lb.test be_%s\n' "$2" "$2" > "$1/$2.map"
}

declare -a TABLE=()
echo "caddy-compare: add one site at N sites, file change → served over HTTPS; $REPS sites per size and server" \
    "($REPS_LARGE from 5,000 on);" \
    "$(caddy version | awk '{ print "caddy", $1 }') ($CADDY_MODE), $(haproxy -v | head -n 1 | awk '{ print $1, $3 }')," \
    "haproxy-lb $DIST; $(nproc) CPU(s)"
for n in $SIZES; do
    dir=$scratch/n$n
    mkdir -p "$dir/caddy" "$dir/out" "$dir/state/fragments"
    echo
    echo "== N = $n sites (load $(cut -d' ' -f1-3 /proc/loadavg)) =="
    # Caddy.
    cport=$(free_port) cadmin=$(free_port)
    caddy_file "$dir/caddy" "$n" "$cport" "$cadmin"
    watch=(); [[ $CADDY_MODE == watch ]] && watch=(--watch)
    now_us_into T0
    HOME=$dir/caddy XDG_DATA_HOME=$dir/caddy/data XDG_CONFIG_HOME=$dir/caddy/config \
        caddy run --config "$dir/caddy/Caddyfile" --adapter caddyfile "${watch[@]}" > "$dir/caddy/caddy.log" 2>&1 &
    caddy_pid=$!
    wait_body "s$n.caddy.test" "$cport" "s$n" "caddy start"
    echo "caddy:      start → s$n served in $SERVED_MS ms"
    # haproxy-lb.
    for i in $(seq 1 "$n"); do lb_site "$dir/state/fragments" "s$i"; done
    now_us_into T0
    start_loopback_daemon "$dir/state" "$dir/daemon.log" LB_RELOAD_MIN_INTERVAL=250
    daemon_pid=$DAEMON_PID lport=$HTTPS_PORT
    wait_body "s$n.lb.test" "$lport" "s$n" "haproxy-lb start"
    echo "haproxy-lb: start → s$n served in $SERVED_MS ms"
    sleep 1   # a quiet period for haproxy-lb's reload gate

    printf '%4s  %12s %12s %8s\n' site "caddy ms" "haproxy-lb" ratio
    cs=() ls=()
    reps=$REPS; (( n < 5000 )) || reps=$REPS_LARGE
    for r in $(seq 0 "$reps"); do   # round 0 warms haproxy-lb up (JIT), not counted; Caddy needs none
        k=$((n + r + 1))
        c=-
        if (( r > 0 )); then
            # Caddy: the Caddyfile with one more site.
            { cat "$dir/caddy/Caddyfile"; caddy_site "$k" "$cport"; } > "$dir/caddy/Caddyfile.new"
            mv "$dir/caddy/Caddyfile.new" "$dir/caddy/Caddyfile"
            now_us_into T0
            if [[ $CADDY_MODE == reload ]]; then
                HOME=$dir/caddy caddy reload --config "$dir/caddy/Caddyfile" --adapter caddyfile \
                    --address "127.0.0.1:$cadmin" > "$dir/caddy/reload.log" 2>&1 \
                    || bench_die "caddy reload failed: $(cat "$dir/caddy/reload.log")"
            fi
            wait_body "s$k.caddy.test" "$cport" "s$k" "caddy"
            c=$SERVED_MS
            sleep "$(awk -v p="$PACE" 'BEGIN { print p / 1000 }')"
        fi
        # haproxy-lb: one more fragment renamed into the inbox.
        lb_site "$dir/out" "s$k"
        mv "$dir/out/s$k.cfg" "$dir/state/inbox/s$k.cfg"
        mv "$dir/out/s$k.map" "$dir/state/inbox/s$k.map"
        now_us_into T0
        wait_body "s$k.lb.test" "$lport" "s$k" "haproxy-lb"
        l=$SERVED_MS
        sleep "$(awk -v p="$PACE" 'BEGIN { print p / 1000 }')"
        if (( r == 0 )); then
            printf '%4s  %12s %12s %8s  (haproxy-lb warm-up, not counted)\n' "s$k" - "$l" -
        else
            cs+=("$c") ls+=("$l")
            printf '%4s  %12s %12s %8s\n' "s$k" "$c" "$l" "$(awk -v a="$l" -v b="$c" 'BEGIN { printf "%.2f", a / b }')"
        fi
    done
    cm=$(printf '%s\n' "${cs[@]}" | percentile 50) lm=$(printf '%s\n' "${ls[@]}" | percentile 50)
    TABLE+=("$(printf '%6s  %10s %12s %8s   caddy %s | haproxy-lb %s' "$n" "$cm" "$lm" \
        "$(awk -v a="$lm" -v b="$cm" 'BEGIN { printf "%.2f", a / b }')" "${cs[*]}" "${ls[*]}")")
    stop_servers
done
echo
echo "== summary: add one site at N sites, file change → served over HTTPS, ms (median of $REPS; $REPS_LARGE from 5,000 on) =="
printf '%6s  %10s %12s %8s   %s\n' N "caddy" "haproxy-lb" "lb/caddy" "samples"
printf '%s\n' "${TABLE[@]}"
echo "caddy: $CADDY_MODE (--watch checks the Caddyfile once a second, then loads the whole config again);" \
    "haproxy-lb: rename into the inbox, default intake settings, lb.reload.min-interval=250 ms"
