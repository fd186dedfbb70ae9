#!/usr/bin/env bash
# Intake throughput in a storm: PAIRS (default 2000) fragment pairs through the intake bean in polls of POLL files
# (default 500, lb.intake.max-per-poll's default), each write fsynced on its own ("per file") against each poll taken
# as one batch ("grouped", what the route does). Prints pairs/s and the CPU time the JVM spent. On the file system of
# BENCH_TMP (default /tmp). MODES: both (default), grouped or per-file.
# BEFORE=<commit>: that commit's intake as well, built in a temporary git worktree, run in turn with this one ROUNDS
# (default 3) times, so both see the same load; the figures are printed side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS=${PAIRS:-2000}
export WARMUP=${WARMUP:-0}
MODES=${MODES:-both}
ROUNDS=${ROUNDS:-3}
POLL=${POLL:-500}
mvn -B -q -o -DskipTests compile
cp_file=target/bench-classpath.txt
mvn -B -q -o dependency:build-classpath -Dmdep.includeScope=runtime -Dmdep.outputFile="$PWD/$cp_file" >/dev/null
before_dir=
cleanup() { if [[ -n $before_dir ]]; then git worktree remove --force "$before_dir" >/dev/null 2>&1 || true; fi; }
trap cleanup EXIT
if [[ -n ${BEFORE:-} ]]; then
    before_dir=$(mktemp -d "${TMPDIR:-/tmp}/intake-storm-before.XXXXXX")
    git worktree add --detach --force "$before_dir" "$BEFORE" >/dev/null
    (cd "$before_dir" && mvn -B -q -o -DskipTests compile)
fi
run() { # label classes-dir
    java -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$2:$(cat "$cp_file")" bench/IntakeBench.java \
        "$PAIRS" "${BENCH_TMP:-/tmp}" "$MODES" "$POLL" | sed "s/^/$1  /"
}
now=$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo "+changes")
rounds=1
[[ -z $before_dir ]] || rounds=$ROUNDS
for ((round = 1; round <= rounds; round++)); do
    echo "round $round, load: $(cut -d' ' -f1-3 /proc/loadavg)"
    if [[ -n $before_dir ]]; then
        run "before $(git rev-parse --short "$BEFORE")" "$before_dir/target/classes"
    fi
    run "now $now" target/classes
done
