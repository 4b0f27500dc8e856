#!/usr/bin/env bash
# DUT plugin: kube-bgp without pod egress masquerade (--enable-pod-egress=false). With it
# (kube-router's default, and kube-bgp.sh's), the NAT chain of `table inet kube-bgp` makes
# the kernel track every connection in the DUT's namespace, BGP sessions included: about
# 1.7 µs of kernel time per packet on this harness's machine, which the anchors (BIRD,
# FRR, GoBGP: no netfilter) do not pay. Run it beside kube-bgp.sh to see the routing
# daemon's own figure, e.g.
#   bench.py rr --duts kube-bgp=$PWD/tests/bench/kube-bgp.sh,kube-bgp-noegress=$PWD/tests/bench/kube-bgp-noegress.sh,bird ...
# Everything else is kube-bgp.sh's (same environment overrides).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KUBE_BGP_EXTRA="--enable-pod-egress=false ${KUBE_BGP_EXTRA:-}" exec "$HERE/kube-bgp.sh" "$@"
