#!/usr/bin/env bash
# DUT plugin: BIRD 2 (the harness's duts/bird.sh) in a namespace that holds the same kind
# of pod egress masquerade as kube-bgp installs by default: `table inet kube-bgp` with a
# nat postrouting chain masquerading pod CIDRs towards everything outside the pod CIDRs
# and node addresses (kube-router's MASQUERADE rule). A nat chain makes the kernel track
# every connection in the namespace, BGP sessions included, so this compares with
# kube-bgp.sh like for like (and bird.sh with kube-bgp-noegress.sh), e.g.
#   bench.py rr --duts kube-bgp=$PWD/tests/bench/kube-bgp.sh,bird-egress=$PWD/tests/bench/bird-egress.sh,bird ...
# The table is loaded with the `nft` tool (benchmark only: kube-bgp writes it over
# netlink itself) before BIRD starts; it goes with the namespace.
#   rr:     pod CIDRs = 10.244.0.0/24 (the DUT's, as kube-bgp.sh gives its Node) and every
#           CIDR of $RR_CLIENTS_FILE; node addresses = $DUT_IP and every client address.
#   ingest: pod CIDRs = 10.244.0.0/24; node addresses = $DUT_IPS and the injectors.
# Environment: BIRD_PLUGIN (default: duts/bird.sh of the harness, from $BENCH_DIR), NFT
# (default: nft); everything else is bird.sh's.
set -euo pipefail
PLUGIN=${BIRD_PLUGIN:-${BENCH_DIR:?BENCH_DIR (the harness directory) is not set}/duts/bird.sh}
NFT=${NFT:-nft}

ruleset() {
  local cidrs=10.244.0.0/24 ips=""
  if [ "${BENCH_MODE:-ingest}" = rr ]; then
    ips=$DUT_IP
    while read -r ip rest; do
      [ -n "$ip" ] || continue
      ips+=",$ip"
      for c in $rest; do cidrs+=",$c"; done
    done <"$RR_CLIENTS_FILE"
  else
    for ip in ${DUT_IPS:-$DUT_IP}; do ips+="${ips:+,}$ip"; done
    for p in $PEERS; do ips+=",${p%%:*}"; done
  fi
  cat <<EOF
table inet kube-bgp {
  set pod-cidrs-v4 { type ipv4_addr; flags interval; auto-merge; elements = { $cidrs } }
  set node-ips-v4 { type ipv4_addr; elements = { $ips } }
  chain pod-egress {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr @pod-cidrs-v4 ip daddr != @pod-cidrs-v4 ip daddr != @node-ips-v4 masquerade fully-random
  }
}
EOF
}

case "${1:-}" in
info)
  "$PLUGIN" info
  echo "egress=nat masquerade (table inet kube-bgp)"
  ;;
start)
  ruleset >"$RUNDIR/egress.nft"
  ip netns exec "$NS" "$NFT" -f "$RUNDIR/egress.nft"
  exec "$PLUGIN" start
  ;;
*) exec "$PLUGIN" "$@" ;;
esac
