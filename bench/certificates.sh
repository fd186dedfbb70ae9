#!/usr/bin/env bash
# Certificates: the time the real daemon takes to cover 100 new domains with certificates from a real Pebble
# (PEBBLE_VA_NOSLEEP=1, real HTTP-01 through haproxy), as 100 one-domain fragments (100 orders) and as one fragment of
# 100 domains (one order), and the time haproxy takes to serve a new certificate through the runtime API versus by a
# reload. Starts pebble-challtestsrv (mock DNS: every name is 127.0.0.1) and Pebble on free loopback ports with a
# listener certificate made here, then runs bench/CertificatesBench.java (a single-file Java program, the daemon
# in-process) with the project's classpath. See bench/README.md.
#
# Environment (all optional):
#   BUILD_DIR=target     build whose classes/ to use (classpath as in bench/assembly.sh)
#   DOMAINS=100          new domains per coverage run
#   REPS=10              certificates per pick-up method (runtime API, reload)
#   POLL=100             lb.acme.poll (ms) of the daemon: how often a pending authorization or order is polled
#   BENCH_TIMEOUT=1200   total seconds for the whole script
#   JAVA_OPTS            extra JVM options
#   KEEP=1               keep the scratch folder (daemon state, logs of the daemon, Pebble and the DNS server)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

BENCH_TIMEOUT=${BENCH_TIMEOUT:-1200}
for tool in java haproxy openssl curl pebble pebble-challtestsrv; do
    command -v "$tool" >/dev/null || bench_die "$tool is not installed (make deps installs haproxy and pebble)"
done
[[ -d $BUILD_DIR/classes/haproxylb ]] || bench_die "no compiled classes in $BUILD_DIR/classes: run 'make build'," \
    "or 'mvn -q -B -Dbuild.dir=$BUILD_DIR -DskipTests package' and pass BUILD_DIR=$BUILD_DIR"

WORK=$(mktemp -d "$BENCH_TMP/haproxy-lb-certificates.XXXXXX")
JAVA_PID= PEBBLE_PID= DNS_PID=
stop_pid() { # pid: SIGTERM, up to 10 s, then SIGKILL
    local pid=$1
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$JAVA_PID"     # the daemon stops the haproxy it started
    stop_pid "$PEBBLE_PID"
    stop_pid "$DNS_PID"
    if [[ $rc -ne 0 ]]; then
        for log in bench.log pebble.log dns.log; do
            [[ -f $WORK/$log ]] || continue
            bench_log "---- last lines of $WORK/$log ----"
            tail -n 15 "$WORK/$log" >&2 || true
        done
    fi
    stop_watchdog
    if [[ ${KEEP:-0} == 1 ]]; then bench_log "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 124' TERM
start_watchdog "$BENCH_TIMEOUT"

HTTP_PORT=$(free_port); HTTPS_PORT=$(free_port); RESPONDER_PORT=$(free_port); MANAGEMENT_PORT=$(free_port)
PEBBLE_PORT=$(free_port); PEBBLE_MGMT_PORT=$(free_port); PEBBLE_TLS_PORT=$(free_port)
DNS_PORT=$(free_port); DNS_MGMT_PORT=$(free_port)

# Pebble's TLS listener: a CA of our own and a certificate for 127.0.0.1 (Debian's package ships none).
(
    cd "$WORK"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench listener CA" \
        -keyout ca.key -out ca.pem -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" -keyout key.pem -out srv.csr
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >ext.cnf
    openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -out cert.pem
) >"$WORK/openssl.log" 2>&1 || { cat "$WORK/openssl.log" >&2; bench_die "openssl failed"; }
cat >"$WORK/pebble-config.json" <<JSON
{ "pebble": {
    "listenAddress": "127.0.0.1:$PEBBLE_PORT", "managementListenAddress": "127.0.0.1:$PEBBLE_MGMT_PORT",
    "certificate": "$WORK/cert.pem", "privateKey": "$WORK/key.pem",
    "httpPort": $HTTP_PORT, "tlsPort": $PEBBLE_TLS_PORT,
    "ocspResponderURL": "", "externalAccountBindingRequired": false } }
JSON

# Mock DNS for Pebble's VA and for the daemon's reachability check: every A query is 127.0.0.1, no AAAA.
pebble-challtestsrv -defaultIPv4 127.0.0.1 -defaultIPv6 "" -dns01 "127.0.0.1:$DNS_PORT" \
    -http01 "" -https01 "" -tlsalpn01 "" -management "127.0.0.1:$DNS_MGMT_PORT" >"$WORK/dns.log" 2>&1 &
DNS_PID=$!
PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
    pebble -config "$WORK/pebble-config.json" -dnsserver "127.0.0.1:$DNS_PORT" >"$WORK/pebble.log" 2>&1 &
PEBBLE_PID=$!
for i in $(seq 1 300); do
    curl -s --cacert "$WORK/ca.pem" "https://127.0.0.1:$PEBBLE_PORT/dir" 2>/dev/null | grep -q newAccount && break
    kill -0 "$PEBBLE_PID" 2>/dev/null || bench_die "pebble exited during start-up"
    (( i < 300 )) || bench_die "pebble did not answer within 30 s"
    sleep 0.1
done

cp_file=$BUILD_DIR/classpath.txt
if [[ (! -s $cp_file || pom.xml -nt $cp_file) ]] && command -v mvn >/dev/null; then
    mvn -q -B -Dbuild.dir="$BUILD_DIR" dependency:build-classpath -Dmdep.includeScope=runtime \
        -Dmdep.outputFile="$PWD/$cp_file" >"$WORK/mvn.log" 2>&1 || { cat "$WORK/mvn.log" >&2; rm -f "$cp_file"; }
fi
if [[ -s $cp_file ]]; then
    classpath=$BUILD_DIR/classes:$(cat "$cp_file")
else
    [[ -d $BUILD_DIR/lib ]] || bench_die "no $cp_file and no $BUILD_DIR/lib"
    classpath="$BUILD_DIR/classes:$BUILD_DIR/lib/*"
fi

# In the background so that the watchdog's SIGTERM is handled at once (a trap waits for a foreground child).
# shellcheck disable=SC2086
MANAGEMENT_PORT=$MANAGEMENT_PORT java ${JAVA_OPTS:-} -Dorg.slf4j.simpleLogger.logFile="$WORK/bench.log" \
    -Dorg.slf4j.simpleLogger.showDateTime=true -Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS \
    -cp "$classpath" bench/CertificatesBench.java "$WORK" "$HTTP_PORT" "$HTTPS_PORT" "$RESPONDER_PORT" \
    "https://127.0.0.1:$PEBBLE_PORT/dir" "$WORK/ca.pem" "127.0.0.1:$DNS_PORT" &
JAVA_PID=$!
wait "$JAVA_PID"
JAVA_PID=
