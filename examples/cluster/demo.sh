#!/usr/bin/env bash
# make cluster-demo: Debian's ZooKeeper on 127.0.0.1:12181 and three haproxy-lb nodes on 127.0.0.2, .3 and .4 (HTTP
# 18080, HTTPS 18443 on each; health and metrics on 127.0.0.1:18091, 18092, 18093), state under run/cluster/. The example
# fragment is dropped on node 1 only; the demo waits until all three serve it, prints how to look, and runs until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/../.."
source examples/cluster/cluster-lib.sh
DIST=${LB_DIST:-target/dist}
[[ -x $DIST/bin/haproxy-lb ]] || { echo "run 'make build' first" >&2; exit 1; }
DIR=${CLUSTER_DIR:-run/cluster}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
trap 'cluster_stop_all; exit 0' INT TERM
trap cluster_stop_all EXIT

cluster_start_zookeeper "$DIR/zookeeper" 12181
for i in 1 2 3; do
    cluster_start_node "$i" "$DIR" 127.0.0.1:12181 18080 18443 $((18090 + i))
done
for i in 1 2 3; do cluster_await_up "$i" 18080; done
cp conf/examples/hello.cfg conf/examples/hello.map "$DIR/node1/state/inbox/"
for i in 1 2 3; do
    until cluster_serves "$i" 18443 hello.example.test "Hello from haproxy-lb"; do sleep 0.2; done
    echo "node $i (127.0.0.$((i + 1))) serves hello.example.test"
done
cat <<MSG

Three nodes, one truth. The fragment was dropped on node 1 only; try:
  curl -k --resolve hello.example.test:18443:127.0.0.3 https://hello.example.test:18443/
  LB_CONF_DIR=conf LB_STATE_DIR=$DIR/node2/state $DIST/bin/haproxy-config status
  curl -s 'http://127.0.0.1:18093/observe/health?exposureLevel=full'
  curl -s http://127.0.0.1:18092/observe/metrics | grep ^haproxylb_cluster
Drop fragments into $DIR/node*/state/inbox/ of any node. Logs: $DIR/node*.log. Ctrl-C stops everything.
MSG
while true; do sleep 3600 & wait $!; done
