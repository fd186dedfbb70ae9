#!/usr/bin/env bash
# Three nodes, one truth (issue 10): Debian's ZooKeeper and three haproxy-lb nodes on 127.0.0.2-4 (same ports).
#   1. apply on node 1 -> served by all three: p50/p95 over DROPS (default 20) new fragments, one at a time
#   2. the cost of publishing: ZooKeeper writes node 1 sent per fragment (haproxylb_cluster_zookeeper_writes_total)
#   2b. haproxy-config apply on node 1 until it exits 0 (it waits until every member runs the fragment): p50/p95 over
#      APPLIES (default 10), the CLI's JVM start included; nodes 2 and 3 must serve it when it returns
#   3. convergence after a ZooKeeper outage: 5 fragments dropped on node 1 while ZooKeeper is down; time from
#      ZooKeeper's restart until nodes 2 and 3 serve all of them
#   4. leader fail-over: the leader SIGKILLed; time until the other nodes name a new one
#      (bounded by lb.cluster.session-timeout, 5000 ms here)
# lb.reload.min-interval is 500 ms here (default 60000): with the default, each drop after the first waits for the
# rate limit, which this bench would measure instead of the cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
source examples/cluster/cluster-lib.sh
DROPS=${DROPS:-20}
SCRATCH=$(mktemp -d "$BENCH_TMP/cluster-bench.XXXXXX")
find_dist "$SCRATCH"
cleanup() { cluster_stop_all; stop_watchdog; rm -rf "$SCRATCH"; }
trap cleanup EXIT
trap 'exit 124' TERM
start_watchdog 900

ZK_PORT=$(free_port) HTTP=$(free_port) HTTPS=$(free_port)
MGMT=($(free_port) $(free_port) $(free_port))
cluster_start_zookeeper "$SCRATCH/zookeeper" "$ZK_PORT"
NODE_PIDS=()
for i in 1 2 3; do
    cluster_start_node "$i" "$SCRATCH" "127.0.0.1:$ZK_PORT" "$HTTP" "$HTTPS" "${MGMT[$((i - 1))]}" \
        LB_RELOAD_MIN_INTERVAL=500 LB_RELOAD_TICK=100 LB_ASSEMBLY_BATCH=50
    NODE_PIDS+=("$NODE_PID")
done
for i in 1 2 3; do cluster_await_up "$i" "$HTTP"; done

drop() { # drop NODE NAME: backend answering NAME, domain NAME.bench.test
    local inbox=$SCRATCH/node$1/state/inbox
    printf 'backend be_%s\n    http-request return status 200 content-type text/plain string %s\n' "$2" "$2" \
        > "$inbox/.$2.cfg.tmp"
    printf '%s.bench.test be_%s\n' "$2" "$2" > "$inbox/.$2.map.tmp"
    mv "$inbox/.$2.cfg.tmp" "$inbox/$2.cfg" && mv "$inbox/.$2.map.tmp" "$inbox/$2.map"
}
writes() { curl -s "http://127.0.0.1:${MGMT[0]}/observe/metrics" | awk '/^haproxylb_cluster_zookeeper_writes_total/ { print int($2) }'; }
leader_seen_by() { sed -n 's/^  "leader" : "\(.*\)",$/\1/p' "$SCRATCH/node$1/state/cluster.json" 2>/dev/null; }

# Warm-up: one fragment through the whole path before measuring.
drop 1 warmup
until cluster_serves 3 "$HTTPS" warmup.bench.test warmup; do sleep 0.05; done

w0=$(writes)
: > "$SCRATCH/latencies"
: > "$SCRATCH/latencies-node1"
for k in $(seq 1 "$DROPS"); do
    now_us_into t0
    drop 1 "f$k"
    until cluster_serves 1 "$HTTPS" "f$k.bench.test" "f$k"; do sleep 0.02; done
    now_us_into t1
    for i in 2 3; do
        until cluster_serves "$i" "$HTTPS" "f$k.bench.test" "f$k"; do sleep 0.02; done
    done
    now_us_into t2
    echo $(( (t1 - t0) / 1000 )) >> "$SCRATCH/latencies-node1"
    echo $(( (t2 - t0) / 1000 )) >> "$SCRATCH/latencies"
done
w1=$(writes)
printf 'apply on node 1 -> served by node 1 (%d drops): p50 %s ms, p95 %s ms\n' "$DROPS" \
    "$(percentile 50 < "$SCRATCH/latencies-node1")" "$(percentile 95 < "$SCRATCH/latencies-node1")"
printf 'apply on node 1 -> served by all three (%d drops): p50 %s ms, p95 %s ms, max %s ms\n' "$DROPS" \
    "$(percentile 50 < "$SCRATCH/latencies")" "$(percentile 95 < "$SCRATCH/latencies")" \
    "$(sort -g "$SCRATCH/latencies" | tail -n 1)"
awk -v w=$((w1 - w0)) -v n="$DROPS" 'BEGIN { printf "ZooKeeper writes to publish a fragment: %.1f per fragment (%d writes for %d)\n", w / n, w, n }'

: > "$SCRATCH/applies"
for k in $(seq 1 "${APPLIES:-10}"); do
    printf 'backend be_a%s\n    http-request return status 200 content-type text/plain string a%s\n' "$k" "$k" \
        > "$SCRATCH/a$k.cfg"
    printf 'a%s.bench.test be_a%s\n' "$k" "$k" > "$SCRATCH/a$k.map"
    now_us_into t0
    LB_CONF_DIR=$CONF_DIR LB_STATE_DIR=$SCRATCH/node1/state "$DIST/bin/haproxy-config" apply "a$k" "$SCRATCH/a$k.cfg" \
        "$SCRATCH/a$k.map" --timeout 60 > /dev/null || bench_die "haproxy-config apply a$k failed"
    now_us_into t1
    for i in 2 3; do
        cluster_serves "$i" "$HTTPS" "a$k.bench.test" "a$k" || bench_die "apply returned before node $i served a$k"
    done
    echo $(( (t1 - t0) / 1000 )) >> "$SCRATCH/applies"
done
printf 'haproxy-config apply on node 1 -> exit 0, live on all three (%d applies, CLI JVM start included): p50 %s ms, p95 %s ms\n' \
    "${APPLIES:-10}" "$(percentile 50 < "$SCRATCH/applies")" "$(percentile 95 < "$SCRATCH/applies")"

kill -TERM "$ZOOKEEPER_PID"; wait "$ZOOKEEPER_PID" 2>/dev/null || true
for k in 1 2 3 4 5; do drop 1 "o$k"; done
until cluster_serves 1 "$HTTPS" o5.bench.test o5; do sleep 0.05; done
now_us_into t0
java -Xmx128m -XX:+UseSerialGC -cp /etc/zookeeper/conf:/usr/share/java/zookeeper.jar \
    org.apache.zookeeper.server.ZooKeeperServerMain "$SCRATCH/zookeeper/zoo.cfg" >> "$SCRATCH/zookeeper/zookeeper.log" 2>&1 &
ZOOKEEPER_PID=$!
for i in 2 3; do for k in 1 2 3 4 5; do
    until cluster_serves "$i" "$HTTPS" "o$k.bench.test" "o$k"; do sleep 0.05; done
done; done
now_us_into t1
printf 'converged after a ZooKeeper outage (5 fragments dropped on node 1 meanwhile): %d ms from the restart of ZooKeeper\n' \
    $(( (t1 - t0) / 1000 ))

for k in $(seq 1 600); do
    [[ -n $(leader_seen_by 1) && $(leader_seen_by 1) == "$(leader_seen_by 2)" ]] && break
    sleep 0.1
done
[[ -n $(leader_seen_by 1) ]] || bench_die "no leader named 60 s after the outage"
old=$(leader_seen_by 1)
i=${old#node}
kill -KILL "${NODE_PIDS[$((i - 1))]}"
pkill -TERM -F "$SCRATCH/node$i/state/run/haproxy.pid" 2>/dev/null || kill "$(cat "$SCRATCH/node$i/state/run/haproxy.pid")" 2>/dev/null || true
now_us_into t0
other=$(( i % 3 + 1 ))
for k in $(seq 1 1200); do
    [[ -n $(leader_seen_by "$other") && $(leader_seen_by "$other") != "$old" ]] && break
    sleep 0.05
done
now_us_into t1
printf 'leader fail-over (%s SIGKILLed, session timeout 5000 ms): %s named by node%d after %d ms\n' "$old" \
    "$(leader_seen_by "$other")" "$other" $(( (t1 - t0) / 1000 ))
