#!/usr/bin/env bash
# HTTP/2 against HTTP/1.1 on the HTTPS edge, at one host and spread over 10,000 hosts, and where the spread costs.
#
# One real daemon (supervise mode, loopback, default settings: lb.edge.alpn = h2,http/1.1, the access log on) with
# the scale layout of bench/scale.sh (FRAGMENTS fragments, one backend and two domains each: 10,000 hosts over 5,000
# backends) plus one fragment "one" whose single backend has as many hosts again (c1..c10000.one.test). Then, in
# the same run, ROUNDS times, DURATION seconds per cell (keep-alive, the request answered by haproxy itself):
#   h2load  -c4 -m8        HTTP/2, one host                       (h2load sends one :authority only)
#   h2load --h1 -c32       HTTP/1.1, one host
#   wrk -c32               HTTP/1.1: one host | 10,000 hosts -> 5,000 backends | 10,000 hosts -> ONE backend |
#                          one host, 10,000 distinct paths (the client's working set without the routing spread)
#   h2hosts -c4 -m8        HTTP/2, the same four cells (bench/h2hosts: Go's HTTP/2 client, :authority per request)
# The spread costs in the map lookup if "10,000 hosts -> one backend" falls as far as "→ 5,000 backends"; in the
# backends' cold state if it stays with "one host".
#
# Each cell also prints haproxy's CPU per request (utime+stime of its processes over the cell, divided by the
# requests served), which holds up better than req/s when other work shares the cores. PIN=1 pins haproxy (all its
# threads) to CPU HP_CPU and the clients to CPU CLIENT_CPU (the daemon's JVM is left to the scheduler); PIN=threads
# pins each haproxy thread to a CPU of its own (as cpu-map would), the rest left to the scheduler.
#
# SLICES=N instead of the rounds: N pairs of (1 host, 10,000 hosts -> 5,000 backends) per client, back to back in
# alternating order, and the median of the per-pair ratios (the load moves less within a pair than across a round).
# Environment: BUILD_DIR (default target), FRAGMENTS (5000), DURATION (10 s), ROUNDS (2), H1_CONNS (32),
# H2_CONNS (4), H2_STREAMS (8), PIN, HP_CPU (1), CLIENT_CPU (0), KEEP=1, BENCH_TIMEOUT (1200 s). Extra LB_* settings
# are passed to the daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BUILD_DIR=${BUILD_DIR:-target}
FRAGMENTS=${FRAGMENTS:-5000}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
H1_CONNS=${H1_CONNS:-32}
H2_CONNS=${H2_CONNS:-4}
H2_STREAMS=${H2_STREAMS:-8}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-1200}
HP_CPU=${HP_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
for tool in wrk h2load go curl haproxy java; do
    command -v "$tool" >/dev/null || bench_die "$tool is not installed (make bench-deps installs the bench tools)"
done
scratch=$(mktemp -d "${BENCH_TMP:-/tmp}/h2.XXXXXX")
daemon_pid=
cleanup() {
    stop_watchdog
    if [[ -n $daemon_pid ]]; then kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
    [[ -n ${KEEP:-} ]] || rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 124' TERM INT
start_watchdog "$BENCH_TIMEOUT"
find_dist "$scratch"

# The HTTP/2 client that can spread :authority (standard library only, built offline into the scratch dir).
(cd bench/h2hosts && GOPATH=$scratch/gopath GOCACHE=$scratch/gocache GO111MODULE=off GOFLAGS= \
    go build -o "$scratch/h2hosts" main.go) || bench_die "building bench/h2hosts failed"

state=$scratch/state
: > "$scratch/hosts.txt"
write_scale_fragments "$state" "$FRAGMENTS" "$scratch/hosts.txt"
domains=$(wc -l < "$scratch/hosts.txt")
printf 'backend be_one\n    http-request return status 200 content-type text/plain string one\n' \
    > "$state/fragments/one.cfg"
seq 1 "$domains" | awk '{ printf "c%d.one.test be_one\n", $1 }' > "$state/fragments/one.map"
seq 1 "$domains" | awk '{ printf "c%d.one.test\n", $1 }' > "$scratch/one-hosts.txt"
seq 1 "$domains" | awk '{ printf "/p%d\n", $1 }' > "$scratch/paths.txt"
echo a1.scale.test > "$scratch/host1.txt"
echo / > "$scratch/root.txt"

extra=()
while IFS='=' read -r k _; do extra+=("$k=${!k}"); done < <(env | grep '^LB_' | grep -v '^LB_DIST=' || true)
now_us_into t0
start_loopback_daemon "$state" "$scratch/daemon.log" LB_RELOAD_MIN_INTERVAL=1000 "${extra[@]}"
daemon_pid=$DAEMON_PID https=$HTTPS_PORT
body() { curl -sk --max-time 5 --resolve "$1:$https:127.0.0.1" "https://$1:$https/" 2>/dev/null || true; }
until [[ $(body "b$FRAGMENTS.scale.test") == "$FRAGMENTS" && $(body "c$domains.one.test") == one ]]; do
    kill -0 "$daemon_pid" 2>/dev/null || bench_die "the daemon exited during start-up: $(tail -n 5 "$scratch/daemon.log")"
    sleep 0.1
done
now_us_into t1
alpn=$(curl -sk --http2 -o /dev/null -w '%{http_version}' --resolve "a1.scale.test:$https:127.0.0.1" \
    "https://a1.scale.test:$https/")
[[ $alpn == 2 ]] || bench_die "the HTTPS edge did not negotiate HTTP/2 (curl got HTTP/$alpn): is lb.edge.alpn set?"

# haproxy's processes (master and worker) are the ones started on this state dir's config.
haproxy_pids() { pgrep -f -- "$state/haproxy/haproxy.cfg" || true; }
[[ -n $(haproxy_pids) ]] || bench_die "no haproxy process found for $state/haproxy/haproxy.cfg"
client=()
if [[ ${PIN:-} == threads ]]; then
    # What haproxy's cpu-map would do: each thread of each haproxy process on a CPU of its own, the rest unpinned.
    command -v taskset >/dev/null || bench_die "taskset is not installed"
    for pid in $(haproxy_pids); do
        i=0
        for tid in $(ls "/proc/$pid/task"); do taskset -p -c $((i % $(nproc))) "$tid" > /dev/null; i=$((i + 1)); done
    done
elif [[ -n ${PIN:-} ]]; then
    command -v taskset >/dev/null || bench_die "taskset is not installed"
    for pid in $(haproxy_pids); do taskset -a -p -c "$HP_CPU" "$pid" > /dev/null; done
    client=(taskset -c "$CLIENT_CPU")
fi
tck=$(getconf CLK_TCK)
haproxy_ticks() { local pid t=0; for pid in $(haproxy_pids); do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
# CPU µs per request over a cell of DURATION s: ticks requests/s printf-format ("-" when nothing was served).
us_per_request() {
    awk -v c="$1" -v t="$tck" -v r="$2" -v d="$DURATION" -v f="$3" 'BEGIN { if (r > 0) printf f, 1e6 * c / t / (r * d); else printf "-" }'
}
# Access log lines haproxy dropped so far (show info DroppedLogs of the current worker; needs socat, else "-").
dropped_logs() {
    command -v socat >/dev/null || { echo -; return; }
    echo 'show info' | socat - "UNIX-CONNECT:$state/run/admin.sock" 2>/dev/null | awk -F': ' '/^DroppedLogs/ { print $2 }'
}
# The daemon's JVM (bin/haproxy-lb execs java): in supervise mode it reads every access log line haproxy writes.
daemon_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$daemon_pid/stat" 2>/dev/null || echo 0; }

cat > "$scratch/hosts.lua" <<'LUA'
local hosts, paths, reqs = {}, {}, {}
for l in io.lines(os.getenv("HOSTS")) do hosts[#hosts + 1] = l end
for l in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = l end
for i = 1, math.max(#hosts, #paths) do
    reqs[i] = wrk.format("GET", paths[(i - 1) % #paths + 1], { Host = hosts[(i - 1) % #hosts + 1] })
end
local n = #reqs
math.randomseed(os.time())
request = function() return reqs[math.random(n)] end
LUA

# Each runner prints: req/s, latency, non-2xx + errors.
run_wrk() { # hosts-file paths-file
    HOSTS=$1 PATHS=$2 "${client[@]}" wrk -t1 -c"$H1_CONNS" -d"${DURATION}s" --latency -s "$scratch/hosts.lua" "https://127.0.0.1:$https/" 2>&1 \
        | awk '/Requests\/sec/ { rps = $2 } / 50%/ { p50 = $2 } / 99%/ { p99 = $2 } /Non-2xx/ { bad = $4 }
               /Socket errors/ { err = $4 + $6 + $8 + $10 }
               END { printf "%.0f|p50 %s p99 %s|%d|%d\n", rps, p50, p99, bad, err }'
}
run_h2hosts() { # hosts-file paths-file
    "${client[@]}" "$scratch/h2hosts" -url "https://127.0.0.1:$https" -hosts "$1" -paths "$2" -d "${DURATION}s" -c "$H2_CONNS" \
        -m "$H2_STREAMS" 2>&1 | awk '/^RESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
            printf "%s|p50 %.2fms p99 %.2fms|%d|%d\n", v["rps"], v["p50_us"] / 1000, v["p99_us"] / 1000, v["non2xx"], v["errors"] }
            !/^RESULT/ { print "error: " $0 > "/dev/stderr" }'
}
run_h2load() { # extra h2load options...
    "${client[@]}" h2load -t1 -D "$DURATION" -H ":authority: a1.scale.test" "$@" "https://127.0.0.1:$https/" 2>&1 \
        | awk '/^finished in/ { rps = $4 } /^status codes:/ { ok = $3 } /^requests:/ { total = $2; failed = $10; errored = $12 }
               /^time for request:/ { mean = $5 }
               END { printf "%.0f|mean %s|%d|%d\n", rps, mean, total - ok - failed, failed }'
}

declare -A RESULT US
cells=(h2load-h2 h2load-h1 wrk-one wrk-spread wrk-spread-one-be wrk-paths h2-one h2-spread h2-spread-one-be h2-paths)
describe() {
    case $1 in
        h2load-h2) echo "h2load      HTTP/2   -c$H2_CONNS -m$H2_STREAMS  1 host                        " ;;
        h2load-h1) echo "h2load --h1 HTTP/1.1 -c$H1_CONNS     1 host                        " ;;
        wrk-one) echo "wrk         HTTP/1.1 -c$H1_CONNS     1 host                        " ;;
        wrk-spread) echo "wrk         HTTP/1.1 -c$H1_CONNS     $domains hosts -> $FRAGMENTS backends" ;;
        wrk-spread-one-be) echo "wrk         HTTP/1.1 -c$H1_CONNS     $domains hosts -> 1 backend   " ;;
        wrk-paths) echo "wrk         HTTP/1.1 -c$H1_CONNS     1 host, $domains paths       " ;;
        h2-one) echo "h2hosts     HTTP/2   -c$H2_CONNS -m$H2_STREAMS  1 host                        " ;;
        h2-spread) echo "h2hosts     HTTP/2   -c$H2_CONNS -m$H2_STREAMS  $domains hosts -> $FRAGMENTS backends" ;;
        h2-spread-one-be) echo "h2hosts     HTTP/2   -c$H2_CONNS -m$H2_STREAMS  $domains hosts -> 1 backend   " ;;
        h2-paths) echo "h2hosts     HTTP/2   -c$H2_CONNS -m$H2_STREAMS  1 host, $domains paths       " ;;
    esac
}
run_cell() {
    case $1 in
        h2load-h2) run_h2load -c"$H2_CONNS" -m"$H2_STREAMS" ;;
        h2load-h1) run_h2load --h1 -c"$H1_CONNS" ;;
        wrk-one) run_wrk "$scratch/host1.txt" "$scratch/root.txt" ;;
        wrk-spread) run_wrk "$scratch/hosts.txt" "$scratch/root.txt" ;;
        wrk-spread-one-be) run_wrk "$scratch/one-hosts.txt" "$scratch/root.txt" ;;
        wrk-paths) run_wrk "$scratch/host1.txt" "$scratch/paths.txt" ;;
        h2-one) run_h2hosts "$scratch/host1.txt" "$scratch/root.txt" ;;
        h2-spread) run_h2hosts "$scratch/hosts.txt" "$scratch/root.txt" ;;
        h2-spread-one-be) run_h2hosts "$scratch/one-hosts.txt" "$scratch/root.txt" ;;
        h2-paths) run_h2hosts "$scratch/host1.txt" "$scratch/paths.txt" ;;
    esac
}

echo "h2: HTTPS edge, $FRAGMENTS fragments + 1, $domains hosts over $FRAGMENTS backends and $domains more on one backend;" \
    "$(nproc) CPU(s), $(haproxy -v | head -n 1 | awk '{ print $1, $3 }'), $DIST (bench/h2.sh)"
echo "daemon start → all served: $(( (t1 - t0) / 1000 )) ms; ALPN h2 negotiated; settings: defaults, lb.reload.min-interval=1000${extra[*]:+, ${extra[*]}};" \
    "lb.haproxy.log=$(conf_value lb.haproxy.log) (access log through the daemon)"
echo "each cell: $DURATION s keep-alive, one client thread; the answer is made by haproxy itself (no server hop);" \
    "$([[ ${PIN:-} == threads ]] && echo "haproxy's threads pinned one per CPU; " || echo "${PIN:+haproxy pinned to CPU $HP_CPU, clients to CPU $CLIENT_CPU; }")µs: haproxy CPU per request; jvm µs: the daemon's"
if [[ -n ${SLICES:-} ]]; then
    # Paired slices: "1 host" and "10,000 hosts -> 5,000 backends" of each client back to back, SLICES times, the
    # order flipped every slice, so that both cells of a pair see the same load; the ratio is taken per pair.
    echo
    echo "paired slices: $SLICES × (1 host, $domains hosts over $FRAGMENTS backends) per client, $DURATION s a cell"
    pairs=$scratch/pairs.tsv
    : > "$pairs"
    for slice in $(seq 1 "$SLICES"); do
        for who in wrk h2; do
            order=("$who-one" "$who-spread")
            (( slice % 2 )) || order=("$who-spread" "$who-one")
            declare -A rps_of=() us_of=()
            for c in "${order[@]}"; do
                t0=$(haproxy_ticks)
                r=$(run_cell "$c")
                t1=$(haproxy_ticks)
                IFS='|' read -r rps _ bad err <<<"$r"
                [[ $bad == 0 && $err == 0 ]] || bench_die "cell $c: $bad non-2xx, $err errors"
                rps_of[$c]=$rps
                us_of[$c]=$(us_per_request $((t1 - t0)) "$rps" %.2f)
            done
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$slice" "$who" "${rps_of[$who-one]}" "${rps_of[$who-spread]}" \
                "${us_of[$who-one]}" "${us_of[$who-spread]}" | tee -a "$pairs" \
                | awk -F'\t' -v h="$domains" '{ printf "  slice %s %-4s 1 host %6d req/s %5.1f µs | %s hosts %6d req/s %5.1f µs | %3.0f %% (cpu %3.0f %%)\n",
                    $1, $2, $3, $5, h, $4, $6, 100 * $4 / $3, 100 * $5 / $6 }'
        done
    done
    echo
    echo "median over $SLICES pairs of ($domains hosts / 1 host), and the pairs at or above 90 %:"
    for who in wrk h2; do
        awk -F'\t' -v c="$who" '$2 == c { n++; r[n] = $4 / $3; u[n] = $5 / $6; if ($4 / $3 >= 0.9) hi++ }
            function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
            END { printf "  %-4s req/s %3.0f %% (%d of %d pairs ≥ 90 %%), haproxy CPU %3.0f %%\n", c == "wrk" ? "wrk" : "h2hosts", 100 * median(r, n), hi, n, 100 * median(u, n) }' "$pairs"
    done
    echo
    echo "access log lines haproxy dropped in all (show info DroppedLogs, this worker): $(dropped_logs)"
    exit 0
fi
for round in $(seq 1 "$ROUNDS"); do
    echo
    echo "round $round, load $(cut -d' ' -f1-3 /proc/loadavg)"
    printf '  %-60s %9s %7s %7s  %-24s %s\n' cell "req/s" "µs" "jvm µs" latency "non-2xx errors log-dropped"
    for c in "${cells[@]}"; do
        t0=$(haproxy_ticks) j0=$(daemon_ticks) d0=$(dropped_logs)
        r=$(run_cell "$c")
        t1=$(haproxy_ticks) j1=$(daemon_ticks) d1=$(dropped_logs)
        IFS='|' read -r rps lat bad err <<<"$r"
        us=$(us_per_request $((t1 - t0)) "$rps" %.1f)
        jus=$(us_per_request $((j1 - j0)) "$rps" %.1f)
        RESULT[$c]+=" $rps"
        US[$c]+=" $us"
        printf '  %-60s %9s %7s %7s  %-24s %s %s %s\n' "$(describe "$c")" "$rps" "$us" "$jus" "$lat" "$bad" "$err" \
            "$([[ $d0 == - || -z $d0 || -z $d1 ]] && echo - || echo $((d1 - d0)))"
    done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf (b > 0 ? "%3.0f %%" : "-"), 100 * a / b }'; }
echo
echo "summary: req/s per round, and the ratio to '1 host' of the same client in the same round"
printf '  %-60s %s\n' cell "req/s (ratio) per round"
for c in "${cells[@]}"; do
    base=
    case $c in
        wrk-*) base=wrk-one ;;
        h2-*) base=h2-one ;;
        h2load-h1) base=h2load-h2 ;;
    esac
    read -r -a mine <<<"${RESULT[$c]}"
    line=
    if [[ -n $base ]]; then
        read -r -a theirs <<<"${RESULT[$base]}"
        for i in "${!mine[@]}"; do line+="${mine[$i]} ($(ratio "${mine[$i]}" "${theirs[$i]}"))  "; done
    else
        line="${mine[*]}"
    fi
    printf '  %-60s %s\n' "$(describe "$c")" "$line"
done
echo "  (h2load --h1's ratio is to h2load HTTP/2, one host)"
echo
echo "haproxy CPU µs per request per round, and the ratio '1 host' / this cell of the same client (in CPU terms)"
for c in "${cells[@]}"; do
    base=
    case $c in
        wrk-*) base=wrk-one ;;
        h2-*) base=h2-one ;;
    esac
    read -r -a mine <<<"${US[$c]}"
    line=
    if [[ -n $base && $base != "$c" ]]; then
        read -r -a theirs <<<"${US[$base]}"
        for i in "${!mine[@]}"; do line+="${mine[$i]} ($(ratio "${theirs[$i]}" "${mine[$i]}"))  "; done
    else
        line="${mine[*]}"
    fi
    printf '  %-60s %s\n' "$(describe "$c")" "$line"
done
# Lines haproxy could not write to its log: the pipe to the daemon was full (haproxy writes non-blocking), or two of
# its threads wrote at once and one gave up.
echo
echo "access log lines haproxy dropped in all (show info DroppedLogs, this worker): $(dropped_logs)"
