#!/bin/sh
# Push a fragment with plain scp: scp writes the files in place, slowly; haproxy-lb reads a file only after it
# has stopped changing for lb.intake.settle ms, and a .cfg waits for its .map, so this is safe as is.
#   examples/scp/push-fragment.sh lb1.example.com shop shop.cfg shop.map
set -eu
host=$1 name=$2 cfg=$3 map=$4
inbox=${INBOX:-/var/lib/haproxy-lb/inbox}
scp "$cfg" "$host:$inbox/$name.cfg"
scp "$map" "$host:$inbox/$name.map"
# The outcome, as the daemon saw it (exit 1 if rejected):
ssh "$host" "for i in \$(seq 1 75); do s=\$(haproxy-config status | awk -v n=$name '\$1==n {print \$2}');
  case \$s in live) echo live; exit 0;; rejected) cat $inbox/../rejected/$name.error; exit 1;; esac; sleep 2; done; exit 3"
