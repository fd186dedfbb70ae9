#!/usr/bin/env bash
# Where the routing spread over many hosts costs, on haproxy alone (no daemon), with the edge's own haproxy.cfg:
# conf/haproxy.cfg.template rendered as the daemon renders it (supervise mode, access log to stdout, which a reader
# drains as the daemon would), the host routing rules of lb.routing.match = exact, and HOSTS hosts over BACKENDS
# backends answering by themselves (http-request return). haproxy runs on CPU HP_CPU with nbthread 1 and the client
# (wrk -t1, and the log reader) on CLIENT_CPU, so the two do not take each other's core. Cells, in one haproxy:
#   one      1 host                                  the baseline
#   paths    1 host, HOSTS distinct paths            the client's (and haproxy's) working set of distinct requests
#   spread1  HOSTS hosts -> 1 backend                plus the map lookup with a different key each time
#   spreadN  HOSTS hosts -> BACKENDS backends        plus the backends' cold state
#   one/tcp, spreadN/tcp: the same over plain HTTP on the same frontend (the TLS layer's share)
# For each cell: req/s, haproxy's CPU per request (utime+stime from /proc/PID/stat over the requests wrk counted) and
# the client's CPU as % of its core (near 100 % = the client is the limit, and req/s says little). VARIANTS are
# changes of the generated config (or of how haproxy is started), each measured against "assembled" in the same
# round: assembled, nolog, minimal, byid, thp, sortedmap, sorted, noforwardfor, nocapture, control (see variant_*
# below). ROUNDS rounds, variants interleaved in each; medians at the end (req/s and CPU ratios to "one").
#   HOSTS (10000) BACKENDS (HOSTS/2) ROUNDS (3) DURATION (10 s a cell) CONNS (16) HP_CPU (1) CLIENT_CPU (0)
#   VARIANTS ("assembled byid thp nolog minimal") CELLS ("one paths spread1 spreadN one/tcp spreadN/tcp")
# Three other modes, each instead of the rounds:
#   ALTERNATE=1  every variant's haproxy started at once; SLICES (15) slices, each cell run once per variant in
#                each slice, the variants' order rotated: on a loaded machine the variants see the same load.
#   PERF=1       a perf profile (cpu-clock) of haproxy in the cells one and spreadN of each variant (TOP symbols).
#   CALLGRIND=1  haproxy under valgrind's callgrind: instructions and simulated cache misses per request in each of
#                CALLGRIND_CELLS, by function. It does not depend on the machine's load, which the others do.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
HOSTS=${HOSTS:-10000} ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-10} CONNS=${CONNS:-16}
BACKENDS=${BACKENDS:-$((HOSTS / 2))} HP_CPU=${HP_CPU:-1} CLIENT_CPU=${CLIENT_CPU:-0}
VARIANTS=${VARIANTS:-assembled byid thp nolog minimal}
CELLS=${CELLS:-one paths spread1 spreadN one/tcp spreadN/tcp}
for tool in haproxy wrk curl openssl taskset; do command -v $tool >/dev/null || bench_die "$tool is not installed (make bench-deps)"; done
[[ -z ${PERF:-} ]] || command -v perf >/dev/null || bench_die "perf is not installed"
scratch=$(mktemp -d "${BENCH_TMP:-/tmp}/routing-rules.XXXXXX")
hp= reader=
declare -A hps=() readers=() ports=() tcp_ports=() http_ports=() # ALTERNATE mode: one haproxy per variant
cleanup() {
    stop_watchdog
    for pid in $hp $reader "${hps[@]}" "${readers[@]}"; do kill "$pid" 2>/dev/null || true; done
    [[ -n ${KEEP:-} ]] || rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 124' TERM INT
start_watchdog 7200
port=$(free_port) tcp_port=$(free_port) http_port=$(free_port)
mkdir -p "$scratch/certs"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=routing.test \
    -keyout "$scratch/k.pem" -out "$scratch/c.pem" 2>/dev/null
cat "$scratch/c.pem" "$scratch/k.pem" > "$scratch/certs/fallback.pem"

# Map: hI -> be_ceil(I*BACKENDS/HOSTS) (the spread), oI -> be_1 (the spread over one backend). Request lists: "host path".
awk -v h="$HOSTS" -v b="$BACKENDS" -v d="$scratch" 'BEGIN {
    for (i = 1; i <= h; i++) {
        be = int((i - 1) * b / h) + 1
        printf "h%d.routing.test be_%d\no%d.routing.test be_1\n", i, be, i > d "/backend.map"
        printf "h%d.routing.test /\n", i > d "/spreadN.txt"
        printf "o%d.routing.test /\n", i > d "/spread1.txt"
        printf "h1.routing.test /p%d\n", i > d "/paths.txt"
    }
    for (i = 1; i <= b; i++)
        printf "backend be_%d\n    http-request return status 200 content-type text/plain string %d\n", i, i > d "/backends.cfg"
    print "h1.routing.test /" > d "/one.txt"
}'
sed 's/ be_\([0-9]*\)$/ #\1000/' "$scratch/backend.map" > "$scratch/backend-id.map"
LC_ALL=C sort -k1,1 "$scratch/backend.map" > "$scratch/backend-sorted.map"

# The host routing rules HostRouting writes for lb.routing.match = exact, with the map's path.
routing_rules() {
    # A rule may be two Java literals joined by '+' across lines ("... map(..)" + " unless { ... }"): join them first
    # (before 8th session's fix this read only the first part, and ran the wildcard lookup on every request); '\\'
    # in the Java source is one backslash in haproxy's config.
    sed -n '/case "exact"/,/use_backend/p' src/main/java/haproxylb/assembly/HostRouting.java | tr '\n' ' ' \
        | sed 's/"[[:space:]]*+[[:space:]]*"//g' | grep -o '"    [^"]*"' | tr -d '"' | sed 's/\\\\/\\/g' \
        | sed "s|{{backend-map}}|$scratch/backend.map|g"
    # A plain HTTP listener on the same frontend, for the cells over TCP (bench only).
    echo "    bind 127.0.0.1:$tcp_port"
}
# conf/haproxy.cfg.template as the daemon renders it in supervise mode with the default settings.
render() {
    local rules
    rules=$(routing_rules)
    [[ $(grep -c set-var <<<"$rules") -ge 2 ]] || bench_die "could not read the exact rules from HostRouting.java"
    awk -v rules="$rules" -v s="$scratch" -v sock="$scratch/admin.$tag.sock" -v p="$port" -v hp="$http_port" '
        /^[ \t]*#/ { print; next }
        {
            gsub(/\{\{stats-socket\}\}/, sock); gsub(/\{\{stats-socket-options\}\}/, "mode 600")
            gsub(/\{\{maxconn\}\}/, "4096"); gsub(/\{\{hard-stop-after\}\}/, "5m"); gsub(/\{\{max-old-reloads\}\}/, "10")
            gsub(/\{\{timeout-connect\}\}/, "5s"); gsub(/\{\{timeout-client\}\}/, "50s"); gsub(/\{\{timeout-server\}\}/, "2m")
            gsub(/\{\{http-bind\}\}/, "127.0.0.1:" hp); gsub(/\{\{https-bind\}\}/, "127.0.0.1:" p)
            gsub(/\{\{https-port-suffix\}\}/, ":" p); gsub(/\{\{cert-dir\}\}/, s "/certs")
            gsub(/\{\{https-alpn\}\}/, " alpn h2,http/1.1"); gsub(/\{\{acme-responder\}\}/, "127.0.0.1:9")
            gsub(/\{\{process-user\}\}/, "    # workers keep the user haproxy was started as")
            gsub(/\{\{log-target\}\}/, "    log stdout format raw local0")
            gsub(/\{\{host-routing\}\}/, rules)
            print
        }' conf/haproxy.cfg.template
    cat "$scratch/backends.cfg"
}

# Variants: each a filter of the rendered config, one change at a time.
variant_assembled() { cat; }
variant_nolog() { sed 's|^    log stdout format raw local0|    # no log|'; }
# Only what routing needs: no log, no captures or set-header, defaults with mode and timeouts only.
variant_minimal() {
    sed -e '/^    log /d' -e '/^    option /d' -e '/^    retries /d' -e '/capture req.hdr/d' -e '/set-header X-Forwarded/d' \
        -e '/timeout client-fin/d'
}
# Map values "#ID" instead of backend names, each backend with a fixed id: haproxy finds "#ID" in its tree of ids
# (integer keys in the node) instead of its tree of names (each level a pointer to the name, one more cache line).
variant_byid() {
    sed -e "s|$scratch/backend.map|$scratch/backend-id.map|g" -e 's/^backend be_\([0-9]*\)$/&\n    id \1000/'
}
# The same config, haproxy started with glibc's malloc asking for transparent huge pages (THP "madvise", Debian's
# default): the proxies and map entries a lookup walks through then sit on fewer pages (fewer TLB misses).
variant_thp() { cat; }
# The same config as assembled in a haproxy of its own: with ALTERNATE, the spread of two identical processes (A/A).
variant_control() { cat; }
variant_env() { [[ $1 != thp* ]] || echo GLIBC_TUNABLES=glibc.malloc.hugetlb=1; }
# byid with huge pages (what the daemon starts by default, lb.haproxy.huge-pages = true): byid against thp
variant_thpbyid() { variant_byid; }
# The map in byte order of its keys (sort, C locale), as haproxy's tree orders them: the nodes a lookup walks
# through near its leaf belong to keys that sort near it, so loaded in that order they sit next to each other in
# memory (fewer cache lines and pages per lookup). sorted: the backend sections in name order too.
variant_sortedmap() { sed "s|$scratch/backend.map|$scratch/backend-sorted.map|g"; }
variant_sorted() {
    variant_sortedmap > "$scratch/sorted.tmp"
    sed '/^backend be_/,$d' "$scratch/sorted.tmp"
    sed -n '/^backend be_/,$p' "$scratch/sorted.tmp" \
        | awk '/^backend / { if (b != "") print b; b = $0; next } { b = b "\001" $0 } END { print b }' | LC_ALL=C sort | tr '\001' '\n'
}
variant_noforwardfor() { sed '/^    option forwardfor/d'; }
variant_nocapture() { sed '/^frontend https/,/^backend/{/capture req.hdr/d}'; }

launcher=() # what haproxy runs under (callgrind in CALLGRIND mode)
start_haproxy() { # variant[.N] (thp.2: a second haproxy of variant thp); its files (config, socket, log) are named
    # after it, so that ALTERNATE can run them all at once
    local kind=${1%%.*}
    declare -F "variant_$kind" >/dev/null || bench_die "unknown variant $kind"
    tag=$1
    local cfg=$scratch/haproxy.$1.cfg out=$scratch/out.$1
    { render | "variant_$kind"; } > "$cfg"
    sed -i '/^global/a\    nbthread 1' "$cfg"
    grep -v '^ *#' "$cfg" | grep -q '{{' && bench_die "unfilled placeholder: $(grep -v '^ *#' "$cfg" | grep -m1 '{{')"
    haproxy -c -q -f "$cfg" || bench_die "haproxy -c refused the $1 config"
    rm -f "$out"; mkfifo "$out"
    taskset -c "$CLIENT_CPU" cat "$out" > /dev/null &
    reader=$!
    env $(variant_env "$kind") taskset -c "$HP_CPU" "${launcher[@]}" haproxy -db -f "$cfg" > "$out" 2> "$scratch/haproxy.$1.log" &
    hp=$!
    until [[ $(curl -sk --max-time 5 --resolve "h$HOSTS.routing.test:$port:127.0.0.1" "https://h$HOSTS.routing.test:$port/" 2>/dev/null) =~ ^[0-9]+$ ]]; do
        kill -0 "$hp" 2>/dev/null || bench_die "haproxy exited: $(tail -n 3 "$scratch/haproxy.$1.log")"
        sleep 0.05
    done
    huge_kb=$(awk '/AnonHugePages/ { print $2 }' "/proc/$hp/smaps_rollup")
}
stop_haproxy() { kill "$hp"; wait "$hp" 2>/dev/null || true; hp=; wait "$reader" 2>/dev/null || true; reader=; }

cat > "$scratch/requests.lua" <<'LUA'
local reqs = {}
for l in io.lines(os.getenv("REQUESTS")) do
    local host, path = l:match("^(%S+) (%S+)$")
    reqs[#reqs + 1] = wrk.format("GET", path, { Host = host })
end
local n = #reqs
math.randomseed(os.time())
request = function() return reqs[math.random(n)] end
LUA
tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
wrk_run() { # cell seconds -> wrk's output, then a line "CLIENT user sys"
    local list=${1%/tcp} url="https://127.0.0.1:$port/"
    [[ $1 == */tcp ]] && url="http://127.0.0.1:$tcp_port/"
    REQUESTS=$scratch/$list.txt /usr/bin/time -f 'CLIENT %U %S' taskset -c "$CLIENT_CPU" \
        wrk -t1 -c"$CONNS" -d"$2s" -s "$scratch/requests.lua" "$url" 2>&1
}
cell() { # cell -> "req/s us-cpu/req client%"
    local c0 c1 out
    c0=$(cpu_ticks "$hp")
    out=$(wrk_run "$1" "$DURATION")
    c1=$(cpu_ticks "$hp")
    grep -q 'Non-2xx' <<<"$out" && bench_die "non-2xx answers in cell $1: $out"
    awk -v c=$((c1 - c0)) -v t="$tck" -v d="$DURATION" '/requests in/ { n = $1 } /Requests\/sec/ { r = $2 }
        /^CLIENT/ { u = $2 + $3 } END { printf "%.0f %.2f %.0f", r, 1e6 * c / t / n, 100 * u / d }' <<<"$out"
}

# What the spread adds, by function: est per request in cell $3 minus est per request in cell $2 (callgrind files).
spread_by_function() { # variant base-cell cell
    local a=$scratch/annotate.$1.$2 b=$scratch/annotate.$1.$3
    [[ -s $a && -s $b ]] || return 0
    printf '\n%s: %s minus %s, per request, by function (est; LL misses)\n' "$1" "$3" "$2"
    awk -v na="$(cat "$a.requests")" -v nb="$(cat "$b.requests")" -v top="${TOP:-12}" '
        FNR == 1 { side++ }
        { line = $0; gsub(/\( *[0-9.]+%\)/, "", line); k = split(line, f, " ") }
        k >= 10 && f[1] ~ /^[0-9,]+$/ {
            for (i = 1; i <= 9; i++) { x = f[i]; gsub(",", "", x); e[i] = (x == ".") ? 0 : x + 0 }
            name = f[10]; for (i = 11; i <= k; i++) name = name " " f[i]
            sub(/^[^:]*:/, "", name); sub(/ \[.*\/([^\/]*)\]$/, "", name)
            est = e[1] + 10 * (e[5] + e[6]) + 100 * (e[8] + e[9]); ll = e[8] + e[9]
            n = side == 1 ? na : nb; sign = side == 1 ? -1 : 1
            d[name] += sign * est / n; dl[name] += sign * ll / n
        }
        END {
            for (name in d) if (name !~ /PROGRAM TOTALS/) { rest += d[name]; restl += dl[name] }
            printf "    %+7.0f  LL %+5.1f  all functions\n", rest, restl
            for (j = 1; j <= top; j++) { b = ""
                for (name in d) if (!(name in done) && name !~ /PROGRAM TOTALS/ && (b == "" || d[name] > d[b])) b = name
                if (b == "") break
                done[b] = 1
                printf "    %+7.0f  LL %+5.1f  %s\n", d[b], dl[b], substr(b, 1, 60) }
        }' "$a" "$b"
}

if [[ -n ${CALLGRIND:-} ]]; then
    # Load-independent: haproxy under callgrind (instructions, and cache misses in valgrind's simulated caches, with
    # the last level set to one core's L2, 2 MB), counted only while the cell's requests run (after a warm-up).
    for tool in valgrind callgrind_control callgrind_annotate; do command -v $tool >/dev/null || bench_die "$tool is not installed"; done
    launcher=(valgrind --tool=callgrind --instr-atstart=no --cache-sim=yes --LL=2097152,16,64
        --callgrind-out-file="$scratch/cg.out")
    printf 'callgrind, per request (counted from the 3rd second of a cell, after the connections and their TLS\n'
    printf 'handshakes; requests from haproxy'"'"'s CumReq): Ir instructions, D1 data misses (L1), LL data misses (last\n'
    printf 'level, set to one core'"'"'s 2 MB L2), est = Ir + 10 D1 + 100 LL; then the functions with the highest est per request\n'
    cum_req() { echo "show info" | socat -t 10 - "UNIX-CONNECT:$scratch/admin.$tag.sock" | awk -F': ' '$1 == "CumReq" { print $2 }'; }
    for variant in $VARIANTS; do
        start_haproxy "$variant"
        for c in ${CALLGRIND_CELLS:-one paths spread1 spreadN one/tcp spreadN/tcp}; do
            wrk_run "$c" $((DURATION + 6)) > /dev/null &
            client=$!
            sleep 3
            callgrind_control -z "$hp" > /dev/null
            n0=$(cum_req)
            callgrind_control -i on "$hp" > /dev/null
            sleep "$DURATION"
            callgrind_control -i off "$hp" > /dev/null
            n=$(( $(cum_req) - n0 ))
            callgrind_control --dump="$c" "$hp" > /dev/null
            wait "$client"
            file=$(ls -t "$scratch"/cg.out.* | head -n 1)
            annotated=$scratch/annotate.$variant.${c//\//-}
            callgrind_annotate --inclusive=no --threshold=100 "$file" 2>/dev/null > "$annotated" || true
            echo "$n" > "$annotated.requests"
            awk -v n="$n" -v v="$variant" -v c="$c" -v top="${TOP:-12}" '
                { line = $0; gsub(/\( *[0-9.]+%\)/, "", line); k = split(line, f, " ") }
                k >= 10 && f[1] ~ /^[0-9,]+$/ {
                    for (i = 1; i <= 9; i++) { x = f[i]; gsub(",", "", x); e[i] = (x == ".") ? 0 : x + 0 }
                    name = f[10]; for (i = 11; i <= k; i++) name = name " " f[i]
                    sub(/^[^:]*:/, "", name); sub(/ \[.*\/([^\/]*)\]$/, "", name)
                    est = e[1] + 10 * (e[5] + e[6]) + 100 * (e[8] + e[9])
                    if (name ~ /PROGRAM TOTALS/) { tot_ir = e[1]; tot_d1 = e[5] + e[6]; tot_ll = e[8] + e[9]; tot = est; next }
                    fn[++m] = name; ir[m] = e[1]; d1[m] = e[5] + e[6]; ll[m] = e[8] + e[9]; es[m] = est
                }
                END {
                    printf "\n%-10s %-8s %5d requests: Ir %7.0f  D1 %5.0f  LL %4.1f  est %7.0f\n", v, c, n,
                        tot_ir / n, tot_d1 / n, tot_ll / n, tot / n
                    for (j = 1; j <= top && j <= m; j++) { b = 0
                        for (i = 1; i <= m; i++) if (!(i in done) && (b == 0 || es[i] > es[b])) b = i
                        done[b] = 1
                        printf "    est %6.0f  Ir %6.0f  D1 %4.0f  LL %4.1f  %s\n", es[b] / n, ir[b] / n, d1[b] / n, ll[b] / n, substr(fn[b], 1, 60) }
                }' "$annotated"
        done
        spread_by_function "$variant" one spreadN
        stop_haproxy
    done
    exit 0
fi

if [[ -n ${PERF:-} ]]; then
    for variant in $VARIANTS; do
        start_haproxy "$variant"
        printf '\n%s: haproxy has %s kB on huge pages\n' "$variant" "$huge_kb"
        for c in one spreadN; do
            wrk_run "$c" 2 > /dev/null
            wrk_run "$c" $((DURATION + 2)) > /dev/null &
            client=$!
            sleep 1
            perf record -q -e cpu-clock -F 2000 -g -p "$hp" -o "$scratch/perf.$c" -- sleep "$DURATION" 2>/dev/null
            wait "$client"
            printf '\n== %s, cell %s: haproxy self time by shared object, then by symbol (top %s)\n' "$variant" "$c" "${TOP:-40}"
            perf report -i "$scratch/perf.$c" --no-children --sort dso --stdio 2>/dev/null > "$scratch/report"
            grep -E '^ +[0-9.]+%' "$scratch/report" | head -n 6
            perf report -i "$scratch/perf.$c" --no-children --sort dso,sym --stdio 2>/dev/null > "$scratch/report"
            grep -E '^ +[0-9.]+%' "$scratch/report" | head -n "${TOP:-40}"
        done
        stop_haproxy
    done
    exit 0
fi

rows=$scratch/rows.tsv
printf 'haproxy %s (nbthread 1, CPU %s), wrk -t1 -c%s (CPU %s), %s hosts over %s backends, %s s a cell, commit %s\n' \
    "$(haproxy -v | awk 'NR==1 { print $3 }')" "$HP_CPU" "$CONNS" "$CLIENT_CPU" "$HOSTS" "$BACKENDS" "$DURATION" \
    "${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo "?")}"
printf 'each cell: req/s · haproxy CPU us/request · client CPU %% of its core\n'
if [[ -n ${ALTERNATE:-} ]]; then
    # Every variant's haproxy runs at once (all on HP_CPU; only the one under load works), and the cells alternate
    # between them in short slices, the order rotated each slice: a change of the machine's load hits every variant
    # alike, and each slice is a round of the medians below.
    declare -A huge=()
    for variant in $VARIANTS; do
        port=$(free_port) tcp_port=$(free_port) http_port=$(free_port)
        start_haproxy "$variant"
        hps[$variant]=$hp readers[$variant]=$reader ports[$variant]=$port tcp_ports[$variant]=$tcp_port huge[$variant]=$huge_kb
        hp= reader=
    done
    use_variant() { hp=${hps[$1]} port=${ports[$1]} tcp_port=${tcp_ports[$1]}; }
    vs=($VARIANTS)
    for variant in "${vs[@]}"; do
        use_variant "$variant"
        wrk_run spreadN 2 > /dev/null # warm-up: every backend and map entry touched once
        printf '%s: %s kB on huge pages\n' "$variant" "${huge[$variant]}"
    done
    for round in $(seq 1 "${SLICES:-15}"); do
        load=$(cut -d' ' -f1 /proc/loadavg)
        line=$(printf 's%s load %-5s' "$round" "$load")
        for c in $CELLS; do
            for k in "${!vs[@]}"; do
                variant=${vs[$(( (k + round) % ${#vs[@]} ))]}
                use_variant "$variant"
                r=$(cell "$c")
                printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$variant" "$load" "$c" "$r" >> "$rows"
                line+=$(printf ' | %s %s %s' "$variant" "$c" "$r")
            done
        done
        printf '%s\n' "$line"
    done
else
    for round in $(seq 1 "$ROUNDS"); do
        for variant in $VARIANTS; do
            start_haproxy "$variant"
            wrk_run spreadN 2 > /dev/null # warm-up: every backend and map entry touched once
            load=$(cut -d' ' -f1 /proc/loadavg)
            line=$(printf 'r%s %-12s load %-5s huge %6s kB' "$round" "$variant" "$load" "$huge_kb")
            for c in $CELLS; do
                r=$(cell "$c")
                printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$variant" "$load" "$c" "$r" >> "$rows"
                line+=$(printf ' | %s %s' "$c" "$r")
            done
            stop_haproxy
            printf '%s\n' "$line"
        done
    done
fi

# Medians over the rounds: req/s ratio to "one" of the same round and variant, haproxy us/request, client CPU.
printf '\nmedians over %s rounds (ratio, cpu ratio: req/s of the cell / of "one", us/req of "one" / of the cell, same variant, same round; tcp cells: of "one/tcp")\n' "$([[ -n ${ALTERNATE:-} ]] && echo "${SLICES:-15}" || echo "$ROUNDS")"
awk -F'\t' '
    { split($5, f, " "); key = $2 SUBSEP $4; rps[$1, key] = f[1]; usr[$1, key] = f[2]; us[key] = us[key] " " f[2]; cl[key] = cl[key] " " f[3]
      if (!(($2) in seenv)) { seenv[$2] = 1; vs[++nv] = $2 } if (!(($4) in seenc)) { seenc[$4] = 1; cs[++nc] = $4 }
      rounds[$1] = 1 }
    function median(s,   a, n, i, j, t) { n = split(s, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
        if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    END {
        printf "%-12s %-12s %9s %8s %10s %9s %8s\n", "variant", "cell", "req/s", "ratio", "us/req", "cpu ratio", "client%"
        for (v = 1; v <= nv; v++) for (c = 1; c <= nc; c++) {
            key = vs[v] SUBSEP cs[c]; base = (cs[c] ~ /\/tcp$/) ? "one/tcp" : "one"; r = ""; q = ""; u = ""
            for (k in rounds) { r = r " " rps[k, key]; if (rps[k, vs[v] SUBSEP base] > 0) q = q " " rps[k, key] / rps[k, vs[v] SUBSEP base]
                if (usr[k, key] > 0) u = u " " usr[k, vs[v] SUBSEP base] / usr[k, key] }
            printf "%-12s %-12s %9.0f %7.0f%% %10.2f %8.0f%% %7.0f%%\n", vs[v], cs[c], median(r), 100 * median(q), median(us[key]), 100 * median(u), median(cl[key])
        }
    }' "$rows"

# Each variant against the first, paired by round: its haproxy CPU per request / the first's in the same round and cell.
first=${VARIANTS%% *}
printf '\nagainst %s, paired by round: median of (us/req of the variant / us/req of %s), rounds where the variant was cheaper\n' "$first" "$first"
awk -F'\t' -v first="$first" '
    { split($5, f, " "); us[$1, $2, $4] = f[2]; if (!(($2) in seenv)) { seenv[$2] = 1; vs[++nv] = $2 }
      if (!(($4) in seenc)) { seenc[$4] = 1; cs[++nc] = $4 } rounds[$1] = 1 }
    function median(s,   a, n, i, j, t) { n = split(s, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
        if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    END {
        for (v = 1; v <= nv; v++) if (vs[v] != first) for (c = 1; c <= nc; c++) {
            q = ""; w = 0; t = 0
            for (k in rounds) if (us[k, vs[v], cs[c]] > 0 && us[k, first, cs[c]] > 0) {
                q = q " " us[k, vs[v], cs[c]] / us[k, first, cs[c]]; t++; if (us[k, vs[v], cs[c]] < us[k, first, cs[c]]) w++ }
            if (t) printf "%-12s %-12s %6.3f   cheaper in %d of %d\n", vs[v], cs[c], median(q), w, t
        }
    }' "$rows"
