#!/usr/bin/env bash
# DUT plugin: kube-bgp for the shared BGP benchmark harness (bench.py, see its README,
# "Adding a DUT"). Use it from anywhere with an absolute path, as root, e.g.
#   bench.py run --duts kube-bgp=$PWD/tests/bench/kube-bgp.sh,bird,gobgp,frr --sizes 10000 ...
#
# kube-bgp learns everything from the Kubernetes API, so `start` first runs the project's
# test API server (tests/apiserver/fake_apiserver.py) inside the DUT namespace on its
# loopback, creates the Node objects, then starts kube-bgp. Only kube-bgp's pid goes to
# $RUNDIR/pids (the API server's CPU and memory are not the DUT's); `stop` ends the API
# server (the harness SIGKILLs kube-bgp itself).
#
#   ingest: one Node "dut" (InternalIP $DUT_IP, pod CIDR 10.244.0.0/24, away from the
#           injected 16.0.0.0/8), the injectors as global peers
#           (--peer-router-ips/--peer-router-asns), --cluster-asn=$DUT_AS,
#           --bgp-max-prefixes=0 (full tables).
#   rr:     Node "dut" with kube-router.io/rr.server=$RR_CLUSTER_ID, and one Node per line
#           of $RR_CLIENTS_FILE ("sim-<i>", InternalIP = client address,
#           kube-router.io/rr.client=$RR_CLUSTER_ID, spec.podCIDR = its pod CIDR and the
#           kube-router.io/pod-cidrs annotation listing all the CIDRs it may announce, so
#           D5 import safety accepts them); --cluster-asn=$DUT_AS (64512), --bgp-holdtime.
#
# Environment overrides: KUBE_BGP_BIN (default: ../../target/release/kube-bgp from this
# script), FAKE_APISERVER (default: ../apiserver/fake_apiserver.py from this script),
# KUBE_BGP_EXTRA (extra daemon flags, e.g. "-v 1").
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=${KUBE_BGP_BIN:-$HERE/../../target/release/kube-bgp}
API=${FAKE_APISERVER:-$HERE/../apiserver/fake_apiserver.py}
SOCK=${RUNDIR:-.}/kube-bgp.sock
ST=${RUNDIR:-.}/api
NODE=dut

api_call() { # METHOD PATH (JSON body on stdin)
  ip netns exec "$NS" python3 "$API" call --state-dir "$ST" --method "$1" --data - "$2" >/dev/null
}

start_api() {
  ip netns exec "$NS" python3 "$API" serve --state-dir "$ST" --listen 127.0.0.1 \
    >"$RUNDIR/api.log" 2>&1 </dev/null &
  echo $! >"$RUNDIR/api.pid"
  for _ in $(seq 300); do
    [ -s "$ST/port" ] && grep -q LISTENING "$RUNDIR/api.log" && return 0
    kill -0 "$(cat "$RUNDIR/api.pid")" 2>/dev/null || break
    sleep 0.1
  done
  echo "fake API server did not start: $(tail -3 "$RUNDIR/api.log")" >&2
  return 1
}

# Node objects as one /__test/load request body.
nodes_json() {
  python3 - "$@" <<'EOF'
import json, os, sys
mode = os.environ.get("BENCH_MODE", "ingest")
def node(name, ip, cidrs, ann):
    a = dict(ann)
    a["kube-router.io/pod-cidrs"] = ",".join(cidrs)
    return {"metadata": {"name": name, "annotations": a},
            "spec": {"podCIDR": cidrs[0], "podCIDRs": [cidrs[0]]},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}]}}
objs = []
if mode == "rr":
    cid = os.environ["RR_CLUSTER_ID"]
    objs.append(node("dut", os.environ["DUT_IP"], ["10.244.0.0/24"], {"kube-router.io/rr.server": cid}))
    with open(os.environ["RR_CLIENTS_FILE"]) as f:
        for i, line in enumerate(f, 1):
            cols = line.split()
            if len(cols) >= 2:
                objs.append(node("sim-%d" % i, cols[0], cols[1:], {"kube-router.io/rr.client": cid}))
else:
    objs.append(node("dut", os.environ["DUT_IP"], ["10.244.0.0/24"], {}))
json.dump({"resource": "nodes", "objects": objs}, sys.stdout)
EOF
}

case "$1" in
info)
  echo "kernel=1"
  echo "modes=ingest,rr"
  rev=$(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || true)
  echo "version=$("$BIN" --version 2>&1 | head -1)${rev:+ (git $rev)}"
  ;;
start)
  start_api
  nodes_json | api_call POST /__test/load
  flags=(--kubeconfig "$ST/kubeconfig-token" --hostname-override "$NODE"
    --ctl-socket "$SOCK" --health-port 0 --metrics-port 0 --bgp-port 179
    --enable-overlay=false --cni-conf-path "$RUNDIR/10-kuberouter.conflist")
  # The CNI configuration goes into the run directory, never the host's /etc/cni.
  # Overlay off: every next hop here is on the link, and the overlay's policy rule
  # (from <pod CIDR> lookup 77) would make the kernel split its local and main FIB
  # tries, which moves the 5 local prefixes out of the "Main" count that the harness
  # reads from fib_triestat (FIB stuck at N-5).
  if [ "${BENCH_MODE:-ingest}" = rr ]; then
    flags+=(--cluster-asn="$DUT_AS" --bgp-holdtime="${HOLD:-90}s")
  else
    ips="" asns=""
    for p in $PEERS; do
      ips+="${ips:+,}${p%%:*}"
      asns+="${asns:+,}${p##*:}"
    done
    # receiver only: nothing of ours to the injectors; the injectors send full
    # tables, so no prefix limit (the default, 10000, would end their sessions)
    flags+=(--cluster-asn="$DUT_AS" --peer-router-ips="$ips" --peer-router-asns="$asns"
      --advertise-pod-cidr=false --bgp-max-prefixes=0)
  fi
  # shellcheck disable=SC2086
  ip netns exec "$NS" "$BIN" "${flags[@]}" ${KUBE_BGP_EXTRA:-} \
    >"$RUNDIR/kube-bgp.log" 2>&1 </dev/null &
  echo $! >"$RUNDIR/pids"
  ;;
ready)
  ip netns exec "$NS" ss -Hltn 'sport = :179' | grep -q .
  ;;
count)
  "$BIN" neighbor -o json --ctl-socket "$SOCK" 2>/dev/null |
    grep -o '"accepted": *[0-9]*' | awk -F: '{s+=$2} END{print s+0}'
  ;;
stop)
  if [ -s "$RUNDIR/api.pid" ]; then
    pid=$(cat "$RUNDIR/api.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  ;;
*) exit 3 ;;
esac
