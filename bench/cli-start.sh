#!/usr/bin/env bash
# haproxy-config's own start-up, with and without its class-data archive (bin/haproxy-config-cds, made by make build
# and by the Debian package): the part of `haproxy-config apply`'s drop→served time that is the CLI's JVM starting,
# reading the settings, checking the fragment and handing both files over (`apply --no-wait`), `list`, and `status`
# (which reads status.json, as apply does while it waits). The two variants alternate, ROUNDS times each, against a
# throwaway state dir (no daemon needed; its status.json is a fixed one with one live fragment).
#
# Environment (all optional):
#   ROUNDS=20    runs of each verb per variant
#   BUILD_DIR    build to use (see bench/lib.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
ROUNDS=${ROUNDS:-20}
command -v java >/dev/null || bench_die "java is not installed"

WORK=$(mktemp -d "$BENCH_TMP/haproxy-lb-cli.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
find_dist "$WORK"
mkdir -p "$WORK/conf" "$WORK/state/inbox" "$WORK/state/fragments"
printf 'backend be_cli\n    http-request return status 200 content-type text/plain string ok\n' >"$WORK/f.cfg"
printf 'cli.bench.test be_cli\n' >"$WORK/f.map"
cat >"$WORK/state/status.json" <<'JSON'
{ "updatedAt" : "2026-11-30T00:00:00Z", "configGeneration" : 2, "liveGeneration" : 2, "reloadPending" : false,
  "nextReloadAt" : null, "reloads" : 1, "reloadsCoalesced" : 0,
  "lastReload" : { "at" : "2026-11-30T00:00:00Z", "ok" : true, "generation" : 2, "message" : "reloaded" },
  "fragments" : { "hello" : { "state" : "live", "id" : "a8c978d88c463c7f", "generation" : 2, "error" : null,
                              "updatedAt" : "2026-11-30T00:00:00Z" } },
  "certificates" : { "hello.example.test" : { "state" : "not-covered", "backoffStep" : 0, "reason" : "ACME is off" } },
  "oldWorkers" : { "workers" : 0, "connections" : 0 } }
JSON

# A fresh archive for this JVM and these jars (the dist's own may be older than its jars).
now_us_into t0
"$DIST/bin/haproxy-config-cds" "$WORK/cli.jsa"
now_us_into t1
echo "archive: $(( $(stat -c %s "$WORK/cli.jsa") / 1024 )) KiB, made in $(( (t1 - t0) / 1000 )) ms; java $(java -version 2>&1 | head -n 1)"
used=$(LB_HOME=$DIST LB_CLI_ARCHIVE=$WORK/cli.jsa LB_STATE_DIR=$WORK/state LB_CONF_DIR=$WORK/conf \
    JAVA_OPTS=-Xlog:class+load=info "$DIST/bin/haproxy-config" status 2>&1 | grep -c 'source: shared objects file (top)' || true)
echo "classes the CLI takes from the archive in one 'status': $used"
(( used > 0 )) || bench_die "the archive was not used"

declare -A samples
run() { # variant verb args...
    local variant=$1 verb=$2 archive=$WORK/none a b
    shift 2
    [[ $variant == archive ]] && archive=$WORK/cli.jsa
    now_us_into a
    LB_HOME=$DIST LB_CLI_ARCHIVE=$archive LB_STATE_DIR=$WORK/state LB_CONF_DIR=$WORK/conf \
        "$DIST/bin/haproxy-config" "$@" >/dev/null 2>&1 || bench_die "haproxy-config $* failed ($variant)"
    now_us_into b
    samples[$variant/$verb]+="$(( (b - a) / 1000 )) "
}
for i in $(seq 1 "$ROUNDS"); do
    for variant in none archive; do
        run "$variant" apply apply "f$i" "$WORK/f.cfg" "$WORK/f.map" --no-wait
        run "$variant" list list
        run "$variant" status status
    done
    rm -f "$WORK"/state/inbox/*
done

echo
echo "== haproxy-config start-up, ms ($ROUNDS runs each, alternating; load $(cut -d' ' -f1-3 /proc/loadavg)) =="
printf '%-22s %-10s %6s %6s %6s\n' verb archive p50 p95 max
for verb in apply list status; do
    for variant in none archive; do
        read -r -a s <<<"${samples[$variant/$verb]}"
        printf '%-22s %-10s %6s %6s %6s\n' "$([[ $verb == apply ]] && echo 'apply --no-wait' || echo "$verb")" \
            "$([[ $variant == none ]] && echo without || echo with)" \
            "$(printf '%s\n' "${s[@]}" | percentile 50)" "$(printf '%s\n' "${s[@]}" | percentile 95)" \
            "$(printf '%s\n' "${s[@]}" | percentile 100)"
    done
done
echo "apply --no-wait: JVM start, settings, the fragment checked as the daemon's intake checks it, both files written"
echo "atomically into the inbox. The rest of an apply (the daemon's intake, assembly, reload) is bench/drop-latency.sh."
