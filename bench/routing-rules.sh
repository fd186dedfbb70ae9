#!/usr/bin/env bash
# Host routing rules of the HTTPS frontend (lb.routing.match = exact), before and now, on haproxy alone (no
# daemon): the cost of one host against HOSTS hosts, split into the map lookup (HOSTS hosts -> one backend) and
# the backends' cold state (HOSTS hosts -> HOSTS backends). Prints wrk's req/s and haproxy's own CPU time per
# request (utime+stime of the process over the requests wrk counted), which holds up better than req/s when other
# work shares the cores. HOSTS (5000), ROUNDS (3), DURATION (8 s a cell), CONNS (32).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
HOSTS=${HOSTS:-5000} ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-8} CONNS=${CONNS:-32}
for tool in haproxy wrk curl openssl; do command -v $tool >/dev/null || bench_die "$tool is not installed (make bench-deps)"; done
scratch=$(mktemp -d "${BENCH_TMP:-/tmp}/routing-rules.XXXXXX")
hp=
cleanup() { stop_watchdog; [[ -z $hp ]] || kill "$hp" 2>/dev/null || true; [[ -n ${KEEP:-} ]] || rm -rf "$scratch"; }
trap cleanup EXIT
trap 'exit 124' TERM INT
start_watchdog 1800
port=$(free_port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=routing.test \
    -keyout "$scratch/k.pem" -out "$scratch/c.pem" 2>/dev/null
cat "$scratch/c.pem" "$scratch/k.pem" > "$scratch/edge.pem"

# hosts hI.routing.test; "many" maps each to its own backend, "one" maps all to be_1; h1 is the one-host cell.
: > "$scratch/many.map"; : > "$scratch/one.map"; : > "$scratch/hosts.txt"; : > "$scratch/backends.cfg"
for i in $(seq 1 "$HOSTS"); do
    echo "h$i.routing.test be_$i" >> "$scratch/many.map"
    echo "h$i.routing.test be_1" >> "$scratch/one.map"
    echo "h$i.routing.test" >> "$scratch/hosts.txt"
    printf 'backend be_%d\n    http-request return status 200 content-type text/plain string %d\n' "$i" "$i" >> "$scratch/backends.cfg"
done
echo h1.routing.test > "$scratch/host1.txt"

rules_before() { # map: what HostRouting generated before (two lookups of each key, the regex on every request)
    cat <<R
    http-request set-var(txn.lb_host) req.hdr(host),lower,word(1,:)
    http-request set-var(txn.lb_wildcard) var(txn.lb_host),regsub(^[^.]*,*)
    use_backend %[var(txn.lb_host),map($1)] if { var(txn.lb_host),map($1) -m found }
    use_backend %[var(txn.lb_wildcard),map($1)] if { var(txn.lb_wildcard),map($1) -m found }
R
}
rules_now() { # map: HostRouting now (one lookup for a mapped host; the regex and the wildcard lookup on a miss)
    cat <<R
    http-request set-var(txn.lb_host) req.hdr(host),lower,word(1,:)
    http-request set-var(txn.lb_backend) var(txn.lb_host),map($1)
    http-request set-var(txn.lb_backend) var(txn.lb_host),regsub(^[^.]*,*),map($1) unless { var(txn.lb_backend) -m found }
    use_backend %[var(txn.lb_backend)] if { var(txn.lb_backend) -m found }
R
}
config() { # rules map
    cat <<C
global
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 50s
    timeout server 50s
frontend https
    bind 127.0.0.1:$port ssl crt $scratch/edge.pem
$("rules_$1" "$2")
    default_backend lb_unknown_host
backend lb_unknown_host
    http-request return status 404
C
    cat "$scratch/backends.cfg"
}

cat > "$scratch/hosts.lua" <<'LUA'
local reqs = {}
for l in io.lines(os.getenv("HOSTS")) do reqs[#reqs + 1] = wrk.format("GET", "/", { Host = l }) end
local n = #reqs
math.randomseed(os.time())
request = function() return reqs[math.random(n)] end
LUA
tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
cell() { # hosts-file -> "req/s us-cpu/req"
    local c0 c1 out
    c0=$(cpu_ticks "$hp")
    out=$(HOSTS=$1 wrk -t1 -c"$CONNS" -d"${DURATION}s" -s "$scratch/hosts.lua" "https://127.0.0.1:$port/" 2>&1)
    c1=$(cpu_ticks "$hp")
    grep -q 'Non-2xx' <<<"$out" && bench_die "non-2xx answers: $out"
    awk -v c=$((c1 - c0)) -v t="$tck" '/requests in/ { n = $1 } /Requests\/sec/ { r = $2 }
        END { printf "%.0f %.1f", r, 1e6 * c / t / n }' <<<"$out"
}
run() { # rules map -> starts haproxy on that config
    config "$1" "$2" > "$scratch/haproxy.cfg"
    haproxy -c -q -f "$scratch/haproxy.cfg" || bench_die "haproxy -c refused the $1 config"
    haproxy -db -f "$scratch/haproxy.cfg" > "$scratch/haproxy.log" 2>&1 &
    hp=$!
    until [[ $(curl -sk --max-time 1 --resolve "h$HOSTS.routing.test:$port:127.0.0.1" "https://h$HOSTS.routing.test:$port/" 2>/dev/null) =~ ^[0-9]+$ ]]; do
        kill -0 "$hp" 2>/dev/null || bench_die "haproxy exited: $(tail -n 3 "$scratch/haproxy.log")"
        sleep 0.05
    done
}
stop() { kill "$hp"; wait "$hp" 2>/dev/null || true; hp=; }

printf 'haproxy %s, %s hosts, %s s a cell, wrk -c%s; req/s and haproxy CPU us per request\n' \
    "$(haproxy -v | awk 'NR==1 { print $3 }')" "$HOSTS" "$DURATION" "$CONNS"
printf '%-5s %-6s %-6s %22s %22s %22s\n' round rules load "1 host" "$HOSTS hosts -> 1 be" "$HOSTS hosts -> $HOSTS be"
for round in $(seq 1 "$ROUNDS"); do
    for rules in before now; do
        load=$(cut -d' ' -f1 /proc/loadavg)
        run "$rules" "$scratch/one.map"; one=$(cell "$scratch/host1.txt"); spread_one=$(cell "$scratch/hosts.txt"); stop
        run "$rules" "$scratch/many.map"; spread_many=$(cell "$scratch/hosts.txt"); stop
        pct() { awk -v a="${one%% *}" -v b="${1%% *}" 'BEGIN { printf "%3.0f%%", 100 * b / a }'; }
        printf '%-5s %-6s %-6s %22s %22s %22s\n' "$round" "$rules" "$load" "$one" \
            "$spread_one ($(pct "$spread_one"))" "$spread_many ($(pct "$spread_many"))"
    done
done
