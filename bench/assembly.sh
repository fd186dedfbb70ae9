#!/usr/bin/env bash
# Assembly + validation time for 100, 1,000 and 5,000 fragments: runs bench/AssemblyBench.java (a single-file Java
# program) against the real AssemblyService, ConfigAssembler and `haproxy -c`, with the project's classpath.
#
# Environment (all optional):
#   BUILD_DIR=target     build whose classes/ to use; its classpath.txt is made with mvn dependency:build-classpath
#                        the first time (or $BUILD_DIR/lib/* is used when Maven is not available)
#   SIZES="100 1000 5000"  fragment counts
#   REPS=3               repetitions of (b), (c) and haproxy -c per size (median reported)
#   BENCH_TIMEOUT=1800   total seconds for the whole script
#   JAVA_OPTS            extra JVM options (default: none, i.e. the JVM's default heap and GC)
#   KEEP=1               keep the scratch folder (with the bench's own log) instead of deleting it
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh

SIZES=${SIZES:-100 1000 5000}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-1800}
for tool in java haproxy openssl; do
    command -v "$tool" >/dev/null || bench_die "$tool is not installed (make deps installs haproxy)"
done
[[ -d $BUILD_DIR/classes/haproxylb ]] || bench_die "no compiled classes in $BUILD_DIR/classes: run 'make build'," \
    "or 'mvn -q -B -Dbuild.dir=$BUILD_DIR -DskipTests package' and pass BUILD_DIR=$BUILD_DIR"

WORK=$(mktemp -d "$BENCH_TMP/haproxy-lb-assembly.XXXXXX")
JAVA_PID=
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $JAVA_PID ]] && kill -0 "$JAVA_PID" 2>/dev/null; then
        kill -TERM "$JAVA_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$JAVA_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$JAVA_PID" 2>/dev/null || true
        wait "$JAVA_PID" 2>/dev/null || true
    fi
    if [[ $rc -ne 0 && -f $WORK/bench.log ]]; then
        bench_log "---- last lines of the bench's log ($WORK/bench.log) ----"
        tail -n 20 "$WORK/bench.log" >&2 || true
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
java ${JAVA_OPTS:-} -Dorg.slf4j.simpleLogger.logFile="$WORK/bench.log" -cp "$classpath" \
    bench/AssemblyBench.java "$WORK" $SIZES &
JAVA_PID=$!
wait "$JAVA_PID"
JAVA_PID=
