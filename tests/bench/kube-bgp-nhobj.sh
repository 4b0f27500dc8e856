#!/usr/bin/env bash
# DUT plugin: kube-bgp installing kernel routes through nexthop objects
# (--kernel-nexthop-objects=true), to run beside kube-bgp.sh (plain routes, the default)
# in the same bench.py run, e.g.
#   bench.py run --duts kube-bgp=$PWD/tests/bench/kube-bgp.sh,kube-bgp-nhobj=$PWD/tests/bench/kube-bgp-nhobj.sh ...
# Everything else is kube-bgp.sh's (same environment overrides).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KUBE_BGP_EXTRA="--kernel-nexthop-objects=true ${KUBE_BGP_EXTRA:-}" exec "$HERE/kube-bgp.sh" "$@"
