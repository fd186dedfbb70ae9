#!/usr/bin/env bash
# Certificates at scale (issue 11 item 4): the coverage check over 1,000 and 10,000 mapped domains with 250 to
# 10,000 certificate files in the crt directory (self-signed, made once with BouncyCastle and cached), timed in
# process, with the number of status.json writes per check. Times: wall ms (CPU ms of the whole process / of the
# thread that ran the check). No haproxy, no CA: ACME off, so the check lists the
# store, groups, decides, publishes and archives. Runs bench/CoverageBench.java with the project's classpath.
# See bench/README.md ("Certificates at scale").
#
# Environment (all optional):
#   BUILD_DIR=target     build whose classes/ to use (classpath as in bench/certificates.sh)
#   BEFORE_BUILD_DIR     a build of an earlier commit (its classes/; classpath.txt or lib/, else this build's), e.g.
#                        git archive COMMIT | tar -x -C DIR && (cd DIR && mvn -q -B -o -DskipTests compile), DIR/target:
#                        run first with the same sizes, its lines labelled "before"
#   SIZES="1000:250 1000:1000 10000:2500 10000:10000"   DOMAINS:CERTIFICATES per run
#   CHECKS=3             checks with nothing changed after the first, per size
#   CHECK_TIMEOUT=120    seconds one check may take before it is stopped ("> 120 s")
#   CERT_CACHE           where the generated certificates are kept between runs
#                        (default $BENCH_TMP/haproxy-lb-coverage-certs)
#   BENCH_TIMEOUT=1800   total seconds for the whole script
#   JAVA_OPTS            extra JVM options
#   KEEP=1               keep the scratch folder (state dirs, status.json)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

BENCH_TIMEOUT=${BENCH_TIMEOUT:-1800}
command -v java >/dev/null || bench_die "java is not installed"
[[ -d $BUILD_DIR/classes/haproxylb ]] || bench_die "no compiled classes in $BUILD_DIR/classes: run 'make build'," \
    "or 'mvn -q -B -Dbuild.dir=$BUILD_DIR -DskipTests package' and pass BUILD_DIR=$BUILD_DIR"

WORK=$(mktemp -d "$BENCH_TMP/haproxy-lb-coverage.XXXXXX")
CERT_CACHE=${CERT_CACHE:-$BENCH_TMP/haproxy-lb-coverage-certs}
mkdir -p "$CERT_CACHE"
JAVA_PID=
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $JAVA_PID ]] && kill -0 "$JAVA_PID" 2>/dev/null; then
        kill -TERM "$JAVA_PID" 2>/dev/null || true
        wait "$JAVA_PID" 2>/dev/null || true
    fi
    stop_watchdog
    if [[ ${KEEP:-0} == 1 ]]; then bench_log "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 124' TERM
start_watchdog "$BENCH_TIMEOUT"

cp_file=$BUILD_DIR/classpath.txt
if [[ (! -s $cp_file || pom.xml -nt $cp_file) ]] && command -v mvn >/dev/null; then
    mvn -q -B -o -Dbuild.dir="$BUILD_DIR" dependency:build-classpath -Dmdep.includeScope=runtime \
        -Dmdep.outputFile="$PWD/$cp_file" >"$WORK/mvn.log" 2>&1 || { cat "$WORK/mvn.log" >&2; rm -f "$cp_file"; }
fi
if [[ -s $cp_file ]]; then
    classpath=$BUILD_DIR/classes:$(cat "$cp_file")
else
    [[ -d $BUILD_DIR/lib ]] || bench_die "no $cp_file and no $BUILD_DIR/lib"
    classpath="$BUILD_DIR/classes:$BUILD_DIR/lib/*"
fi

classpath_of() {
    local dir=$1
    if [[ -s $dir/classpath.txt ]]; then
        echo "$dir/classes:$(cat "$dir/classpath.txt")"
    elif [[ -d $dir/lib ]]; then
        echo "$dir/classes:$dir/lib/*"
    else
        # same dependencies as this build's
        echo "$dir/classes:${classpath#*:}"
    fi
}
builds=()
[[ -z ${BEFORE_BUILD_DIR:-} ]] || builds+=("before=$(classpath_of "$BEFORE_BUILD_DIR")")
builds+=("after=$classpath")

bench_log "load average before: $(cat /proc/loadavg)"
printf "%-14s %-8s %-6s %-6s %-9s %-26s %-11s %-50s %s\n" "build phase" "domains" "certs" "names" "start ms" \
    "start+1st ms (cpu ms)" "1st writes" "next checks ms (cpu ms)" "next writes"
for build in "${builds[@]}"; do
    for phase in start restart; do
        # In the background so that the watchdog's SIGTERM is handled at once (a trap waits for a foreground child).
        # shellcheck disable=SC2086
        java ${JAVA_OPTS:-} -Dorg.slf4j.simpleLogger.logFile="$WORK/bench-${build%%=*}-$phase.log" \
            -cp "${build#*=}" bench/CoverageBench.java "$WORK" "$CERT_CACHE" "${build%%=*}" "$phase" &
        JAVA_PID=$!
        wait "$JAVA_PID"
        JAVA_PID=
    done
done
bench_log "load average after: $(cat /proc/loadavg)"
