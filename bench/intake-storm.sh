#!/usr/bin/env bash
# Intake throughput in a storm: PAIRS (default 2000) fragment pairs through the intake bean, each write fsynced on
# its own (before) against one grouped fsync per inbox poll (now). On the file system of BENCH_TMP (default /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS=${PAIRS:-2000}
mvn -B -q -DskipTests compile
cp_file=target/bench-classpath.txt
mvn -B -q dependency:build-classpath -Dmdep.includeScope=runtime -Dmdep.outputFile="$PWD/$cp_file" >/dev/null
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
java -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "target/classes:$(cat "$cp_file")" bench/IntakeBench.java \
    "$PAIRS" "${BENCH_TMP:-/tmp}"
