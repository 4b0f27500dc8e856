#!/usr/bin/env bash
# DUT plugin: kube-bgp with plain kernel routes (--kernel-nexthop-objects=false, the form
# kube-router installs), to run beside kube-bgp.sh (nexthop objects, the default) in the
# same bench.py run, e.g.
#   bench.py run --duts kube-bgp=$PWD/tests/bench/kube-bgp.sh,kube-bgp-plain=$PWD/tests/bench/kube-bgp-plain.sh ...
# Everything else is kube-bgp.sh's (same environment overrides).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KUBE_BGP_EXTRA="--kernel-nexthop-objects=false ${KUBE_BGP_EXTRA:-}" exec "$HERE/kube-bgp.sh" "$@"
