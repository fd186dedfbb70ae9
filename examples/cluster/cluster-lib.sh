# A local haproxy-lb cluster on one machine (sourced by examples/cluster/demo.sh and bench/cluster.sh): Debian's
# ZooKeeper server on a loopback port, and nodes on 127.0.0.2, 127.0.0.3, ... with the same HTTP/HTTPS ports, each
# with its own state directory and its own haproxy. Expects DIST (bin/haproxy-lb + lib/) and the repository as cwd.

CLUSTER_PIDS=()
ZOOKEEPER_PID=

# cluster_start_zookeeper DIR PORT: a standalone server with its data in DIR; waits until it answers ruok.
cluster_start_zookeeper() {
    local dir=$1 port=$2 i
    [[ -e /usr/share/java/zookeeper.jar ]] || { echo "ZooKeeper missing: apt-get install zookeeper" >&2; return 1; }
    mkdir -p "$dir/data"
    printf 'tickTime=500\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n4lw.commands.whitelist=ruok\n' \
        "$dir/data" "$port" > "$dir/zoo.cfg"
    java -Xmx128m -XX:+UseSerialGC -cp /etc/zookeeper/conf:/usr/share/java/zookeeper.jar \
        org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" > "$dir/zookeeper.log" 2>&1 &
    ZOOKEEPER_PID=$!
    for i in $(seq 1 300); do
        [[ $( (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf ruok >&3 && cat <&3) 2>/dev/null) == imok ]] && return 0
        sleep 0.1
    done
    echo "ZooKeeper did not answer on 127.0.0.1:$port (log: $dir/zookeeper.log)" >&2
    return 1
}

# cluster_start_node I DIR ZOOKEEPER HTTP HTTPS MGMT [VAR=value...]: node I on 127.0.0.(I+1), state in DIR/nodeI/state,
# log in DIR/nodeI.log, management (health, metrics) on 127.0.0.1:MGMT. Sets NODE_PID.
cluster_start_node() {
    local i=$1 dir=$2 zk=$3 http=$4 https=$5 mgmt=$6 addr
    shift 6
    addr=127.0.0.$((i + 1))
    mkdir -p "$dir/node$i/state"
    env LB_STATE_DIR="$dir/node$i/state" LB_CONF_DIR=conf LB_ROUTES_DIR=routes LB_RELOAD_MODE=supervise \
        LB_EDGE_HTTP_BIND="$addr:$http" LB_EDGE_HTTPS_BIND="$addr:$https" LB_EDGE_HTTPS_PUBLIC_PORT="$https" \
        LB_MANAGEMENT_PORT="$mgmt" LB_ACME_RESPONDER="$addr:$((mgmt + 1000))" \
        LB_CLUSTER_ZOOKEEPER="$zk" LB_CLUSTER_NODE_NAME="node$i" LB_CLUSTER_HEARTBEAT=300 \
        LB_CLUSTER_SESSION_TIMEOUT=5000 "$@" "$DIST/bin/haproxy-lb" > "$dir/node$i.log" 2>&1 &
    NODE_PID=$!
    CLUSTER_PIDS+=("$NODE_PID")
}

# cluster_await_up I HTTP: until node I's haproxy answers on its address.
cluster_await_up() {
    local addr=127.0.0.$(($1 + 1)) k
    for k in $(seq 1 600); do
        curl -s -o /dev/null --max-time 1 "http://$addr:$2/" && return 0
        sleep 0.1
    done
    echo "node $1 did not come up on $addr:$2" >&2
    return 1
}

# cluster_serves I HTTPS HOST BODY: true when node I answers HOST over HTTPS with exactly BODY.
cluster_serves() {
    local addr=127.0.0.$(($1 + 1))
    [[ $(curl -sk --max-time 2 --resolve "$3:$2:$addr" "https://$3:$2/") == "$4" ]]
}

# Stops the nodes (SIGTERM: each stops its haproxy) and ZooKeeper.
cluster_stop_all() {
    local p
    for p in "${CLUSTER_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${CLUSTER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    CLUSTER_PIDS=()
    if [[ -n $ZOOKEEPER_PID ]]; then
        kill -TERM "$ZOOKEEPER_PID" 2>/dev/null || true
        wait "$ZOOKEEPER_PID" 2>/dev/null || true
        ZOOKEEPER_PID=
    fi
}
