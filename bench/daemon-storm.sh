#!/usr/bin/env bash
# Issue 11 item 3 on the real daemon: a storm of PAIRS (default 5,000) fragment pairs renamed into the inbox at once,
# with the default settings (supervise mode, loopback). The bean-only bench (bench/intake-storm.sh) leaves out
# Camel's file consumer (listing, read lock, delete-on-commit) and the assembly that runs beside the intake; this one
# has both. Prints, from the first rename:
#   taken   every pair durable and acknowledged: no storm file left in inbox/ or in the claim directory
#   mapped    every storm domain in the assembled backend.map (checked with haproxy -c, written)
#   served    haproxy answers the storm's first and last domains (a0.LABEL.test, bN.LABEL.test) over HTTPS: the
#             reload is done. It goes at once for the first change after a quiet period, otherwise at
#             lb.reload.min-interval's turn (a minute by default), so a storm soon after another waits for it.
#   recorded  the assembly done: its fragments promoted and status.json written, no fragment pending. The next storm
#             starts once both: an earlier version of this bench began it at "mapped", and the previous storm's
#             promotion (seconds at 10,000 fragments) ran beside it.
# with pairs/s for each, and the CPU the daemon's JVM spent between the first rename and "taken".
# The daemon is long-running, so a storm meets a warm JVM: a warm-up storm of WARMUP pairs (default 3,000) goes
# first and is waited for until recorded. ROUNDS (default 2) storms follow, each of new names.
# THREADS=1: the JVM's CPU by thread; SYSCALLS=1: the daemon's system calls per pair by kind (needs perf), and with
# SYSCALLS_PER_THREAD=1 by thread too. PROFILE=1: where the intake route's thread spends its CPU (perf's cpu-clock
# samples, kernel and user; Java frames are named from the JVM's perf map, so the JVM runs with -XX:+DumpPerfMapAtExit).
# The state directory is made under BENCH_TMP (default /tmp); the file system it is on is printed first.
# BUILD_DIR (default target) or LB_DIST: the build to run. BEFORE_DIST: a dist of an earlier commit (as made by
# 'make build': bin/, lib/; conf/ and routes/ are taken from it if it has them), run first with the same storms.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BUILD_DIR=${BUILD_DIR:-target}
PAIRS=${PAIRS:-5000}
WARMUP=${WARMUP:-3000}
ROUNDS=${ROUNDS:-2}
LIVE_TIMEOUT=${LIVE_TIMEOUT:-300}
if [[ -n ${PROFILE:-} ]]; then
    command -v perf >/dev/null || bench_die "perf is not installed"
    export JAVA_OPTS="${JAVA_OPTS:-} -XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit -XX:+PreserveFramePointer"
fi
scratch=$(mktemp -d "${BENCH_TMP:-/tmp}/daemon-storm.XXXXXX")
echo "state directory on: $(file_system_of "$scratch") (BENCH_TMP chooses where)"
daemon_pid=
stop_daemon() {
    if [[ -n $daemon_pid ]]; then kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
    daemon_pid=
}
cleanup() {
    stop_watchdog
    stop_daemon
    [[ -n ${KEEP:-} ]] || rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 124' TERM INT
start_watchdog $(( (ROUNDS + 1) * 2 * LIVE_TIMEOUT + 120 ))

jvm_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$daemon_pid/stat"; }
# THREADS=1: which of the JVM's threads spent the CPU of a storm (JIT compiler, GC, Camel's consumers, fsync pool).
# A thread's name may have spaces, so its stat is read after the name's closing parenthesis (utime is then $12).
thread_ticks() { # file: tid, name, ticks (user+system, system) of every live thread, the whole JVM's as tid 0
    local t
    { printf '0\tjvm\t%s\t0\n' "$(jvm_cpu_ticks)"
      for t in /proc/"$daemon_pid"/task/*; do
          printf '%s\t%s\t%s\n' "${t##*/}" "$(tr -d '\n' < "$t/comm" 2>/dev/null | tr ' ' _ | sed 's/[0-9]\+$/N/')" \
              "$(sed 's/.*) //' "$t/stat" 2>/dev/null | awk '{ print $12 + $13 "\t" $13 }')"
      done; } > "$1"
}
thread_report() { # before after: CPU per thread name; threads gone by the end count as "(ended threads)"
    # The kernel keeps 15 characters of a name ("Camel (camel-1)"); the JVM's thread dump has the whole name.
    jcmd "$daemon_pid" Thread.print 2>/dev/null | sed -n 's/^"\([^"]*\)".* nid=\(0x[0-9a-f]*\).*/\2\t\1/p' \
        | while IFS=$'\t' read -r nid name; do printf '%d\t%s\n' "$nid" "$name"; done \
        | sed 's|#[0-9]\+|#N|; s|file://.*/state/|file:|' > "$1.names"
    awk -F'\t' -v tck="$(getconf CLK_TCK)" '
        FILENAME ~ /names$/ { full[$1] = $2; next }
        NR == FNR { before[$1] = $3; sys[$1] = $4; next }
        $1 == 0 { total = $3 - before[0]; next }
        { d = $3 - before[$1]; k = ($1 in full) ? full[$1] : $2; by[k] += d; kern[k] += $4 - sys[$1]; seen += d }
        END { by["(ended_threads)"] = total - seen
              for (k in by) if (by[k] > 0) printf "    %6.2f s  (%5.2f s in the kernel)  %s\n", by[k] / tck, kern[k] / tck, k }' \
        "$1" "$1.names" "$2" | sort -rn
}

# Made in a hidden directory of the same file system, then renamed in: complete drops, as Ansible's copy or
# haproxy-config apply make them. Each pair: one backend, two domains.
make_storm() { # dir label count
    local dir=$1 label=$2 n=$3 i
    mkdir -p "$dir"
    for ((i = 0; i < n; i++)); do
        printf 'backend be_%s_%d\n    http-request return status 200 content-type text/plain string %d\n' \
            "$label" "$i" "$i" > "$dir/$label-$i.cfg"
        printf 'a%d.%s.test be_%s_%d\nb%d.%s.test be_%s_%d\n' "$i" "$label" "$label" "$i" "$i" "$label" \
            "$label" "$i" > "$dir/$label-$i.map"
    done
}

left_in_intake() { # label
    { find "$state/inbox" "$state/claimed" -maxdepth 1 -name "$1-*" 2>/dev/null || true; } | wc -l
}

unrecorded() { # label count: storm fragments status.json does not show decided (it is rewritten atomically)
    local named pending
    named=$({ grep -c "^    \"$1-[0-9]*\" : {" "$state/status.json" 2>/dev/null || true; } | head -n 1)
    pending=$({ grep -c '"state" : "pending"' "$state/status.json" 2>/dev/null || true; } | head -n 1)
    echo $(( $2 - named + pending ))
}

served() { # label count: haproxy answers the storm's first and last domains with their own strings
    local last=$(( $2 - 1 ))
    [[ $(curl -sk --max-time 2 --resolve "a0.$1.test:$HTTPS_PORT:127.0.0.1" "https://a0.$1.test:$HTTPS_PORT/" \
        2>/dev/null) == 0 ]] || return 1
    [[ $(curl -sk --max-time 2 --resolve "b$last.$1.test:$HTTPS_PORT:127.0.0.1" "https://b$last.$1.test:$HTTPS_PORT/" \
        2>/dev/null) == "$last" ]]
}

live_domains() { # label
    { grep -c "\.$1\.test " "$state/haproxy/backend.map" 2>/dev/null || true; } | head -n 1
}

storm() { # who label count
    local who=$1 label=$2 n=$3 t0 t_taken t_live t_served= t_done= cpu0 cpu1 deadline now live left
    make_storm "$state/inbox/.make" "$label" "$n"
    cpu0=$(jvm_cpu_ticks)
    [[ -z ${THREADS:-} ]] || thread_ticks "$scratch/threads0"
    [[ -z ${SYSCALLS:-} ]] || syscalls_start "$label"
    [[ -z ${PROFILE:-} ]] || profile_start "$label"
    now_us_into t0
    # mv has been seen to fail on a file the daemon had already taken from the inbox (inotify wakes it at the
    # rename): what counts is that nothing stays behind in .make
    (cd "$state/inbox/.make" && find . -maxdepth 1 -name "$label-*" -exec mv -t .. {} + 2>/dev/null) || true
    [[ -z $(find "$state/inbox/.make" -maxdepth 1 -name "$label-*" -print -quit) ]] \
        || bench_die "$who: could not rename every file of $label into the inbox"
    deadline=$(( t0 + LIVE_TIMEOUT * 1000000 ))
    # Listing 10,000 files costs this script ~12 ms of CPU, which it would take from the daemon it measures: while
    # many are left it looks every 200 ms, near the end every 20 ms.
    while left=$(left_in_intake "$label"); (( left > 0 )); do
        now_us_into now
        (( now < deadline )) || bench_die "$who: the intake did not take $label in $LIVE_TIMEOUT s (log: $scratch)"
        if (( left > 500 )); then sleep 0.2; else sleep 0.02; fi
    done
    now_us_into t_taken
    cpu1=$(jvm_cpu_ticks)
    [[ -z ${THREADS:-} ]] || thread_ticks "$scratch/threads1"
    [[ -z ${SYSCALLS:-} ]] || syscalls_stop "$label" "$n"
    [[ -z ${PROFILE:-} ]] || profile_stop
    while live=$(live_domains "$label"); (( live < 2 * n )); do
        now_us_into now
        (( now < deadline )) || bench_die "$who: $live of $((2 * n)) domains of $label live in $LIVE_TIMEOUT s"
        sleep 0.05
    done
    now_us_into t_live
    while [[ -z $t_served || -z $t_done ]]; do
        now_us_into now
        (( now < deadline )) || bench_die "$who: $label not served and recorded in $LIVE_TIMEOUT s"
        if [[ -z $t_served ]] && served "$label" "$n"; then now_us_into t_served; fi
        if [[ -z $t_done ]] && (( $(unrecorded "$label" "$n") == 0 )); then now_us_into t_done; fi
        sleep 0.05
    done
    printf '%-16s %-8s %6d pairs: taken in %6.2f s (%5.0f pairs/s, JVM CPU %5.2f s = %.2f ms/pair), mapped in %6.2f s (%5.0f pairs/s), served in %6.2f s, recorded in %6.2f s; load %s\n' \
        "$who" "$label" "$n" "$(bc -l <<< "($t_taken - $t0) / 1000000")" \
        "$(bc -l <<< "$n * 1000000 / ($t_taken - $t0)")" "$(bc -l <<< "($cpu1 - $cpu0) / $(getconf CLK_TCK)")" \
        "$(bc -l <<< "($cpu1 - $cpu0) * 1000 / $(getconf CLK_TCK) / $n")" \
        "$(bc -l <<< "($t_live - $t0) / 1000000")" "$(bc -l <<< "$n * 1000000 / ($t_live - $t0)")" \
        "$(bc -l <<< "($t_served - $t0) / 1000000")" "$(bc -l <<< "($t_done - $t0) / 1000000")" \
        "$(cut -d' ' -f1 /proc/loadavg)"
    [[ -z ${THREADS:-} ]] || thread_report "$scratch/threads0" "$scratch/threads1"
}

# SYSCALLS=1: the daemon's system calls from the first rename until "taken", per pair, by kind (perf's syscall
# tracepoints, counted in the kernel: no ptrace, so the storm runs at its own speed).
SYSCALL_EVENTS=openat,read,write,pread64,pwrite64,close,renameat,renameat2,rename,unlinkat,unlink,fsync,fdatasync,\
getdents64,newfstatat,statx,fstat,lstat,stat,mkdirat,fchmod,fchmodat,fchown,lseek,ftruncate,futex,epoll_wait,\
inotify_add_watch,ioctl,mmap,munmap,madvise,sched_yield,access,faccessat,faccessat2,readlinkat,flock,fcntl
syscalls_start() { # label
    local e events=
    for e in ${SYSCALL_EVENTS//,/ }; do
        perf list "syscalls:sys_enter_$e" 2>/dev/null | grep -q "sys_enter_$e " && events+="${events:+,}syscalls:sys_enter_$e"
    done
    perf stat -x, ${SYSCALLS_PER_THREAD:+--per-thread} -e "$events" -p "$daemon_pid" -o "$scratch/syscalls.$1" &
    perf_pid=$!
    sleep 0.5 # perf attaches before the storm starts
}
syscalls_stop() { # label pairs
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
    if [[ -n ${SYSCALLS_PER_THREAD:-} ]]; then
        # "comm-tid,count,,event,...": per thread name (numbers folded), the calls of at least 0.1 per pair
        awk -F, -v n="$2" '$4 ~ /sys_enter_/ && $2 > 0 { sub(/.*sys_enter_/, "", $4); c = $1; sub(/-[0-9]+$/, "", c)
                gsub(/[0-9]+/, "N", c); k[c "\t" $4] += $2 }
            END { for (x in k) if (k[x] / n >= 0.1) { split(x, p, "\t"); printf "    %-28s %-14s %7.2f per pair\n", p[1], p[2], k[x] / n } }' \
            "$scratch/syscalls.$1" | sort -k1,1 -k3,3rn
        return
    fi
    awk -F, -v n="$2" '$3 ~ /sys_enter_/ && $1 > 0 { sub(/.*sys_enter_/, "", $3); t += $1
            printf "    %-18s %10d  %7.2f per pair\n", $3, $1, $1 / n }
        END { printf "    %-18s %10d  %7.2f per pair\n", "(all counted)", t, t / n }' "$scratch/syscalls.$1" | sort -k2 -rn
}

profile_start() { # label
    perf record -q -e cpu-clock -F 999 -g -p "$daemon_pid" -o "$scratch/perf.$1" 2>/dev/null &
    perf_pid=$!
    profiled+=("$1")
    sleep 0.5
}
profile_stop() {
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" 2>/dev/null || true
}
profile_report() { # after the daemon stopped (its perf map is written at exit): the intake thread's top symbols
    local label tid
    for label in "${profiled[@]}"; do
        tid=$(perf report -i "$scratch/perf.$label" --stdio --sort pid -g none 2>/dev/null | grep -o '[0-9]*:Camel (camel-1)' \
            | sed -n 1p | cut -d: -f1 || true)
        printf '%s: the busiest Camel thread (%s), by symbol (self)\n' "$label" "${tid:-?}"
        perf report -i "$scratch/perf.$label" --stdio --no-children ${tid:+--tid "$tid"} --sort dso,sym -g none \
            2>/dev/null | grep -v '^#' | grep -v '^$' | head -n "${PROFILE_TOP:-40}"
    done
    profiled=()
}
profiled=()

run_daemon() { # who dist-dir
    local who=$1 health round
    state=$scratch/$who/state
    mkdir -p "$state/inbox"
    LB_DIST=$2 find_dist "$scratch/$who"
    start_loopback_daemon "$state" "$scratch/$who/daemon.log"
    daemon_pid=$DAEMON_PID
    health=$(grep -o 'LB_MANAGEMENT_PORT=[0-9]*' /proc/$daemon_pid/environ 2>/dev/null | tr -d '\0' | cut -d= -f2 || true)
    for _ in $(seq 1 600); do
        [[ -s $state/haproxy/haproxy.cfg ]] && curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$health/observe/health" && break
        sleep 0.1
    done
    if (( WARMUP > 0 )); then storm "$who" warm "$WARMUP" > /dev/null; fi
    for ((round = 1; round <= ROUNDS; round++)); do
        storm "$who" "s$round" "$PAIRS"
    done
    stop_daemon
    [[ -z ${PROFILE:-} ]] || profile_report
}

for tool in curl bc haproxy java; do command -v "$tool" >/dev/null || bench_die "$tool is not installed"; done
if [[ -n ${BEFORE_DIST:-} ]]; then
    run_daemon before "$BEFORE_DIST"
fi
find_dist "$scratch"
run_daemon "now-$(git rev-parse --short HEAD)" "$DIST"
