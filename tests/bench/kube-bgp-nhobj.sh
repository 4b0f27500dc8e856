#!/usr/bin/env bash
# DUT plugin: kube-bgp installing kernel routes through nexthop objects
# (--kernel-nexthop-objects=true). Objects are the default now, so this is kube-bgp.sh
# with the flag spelled out; kept so that command lines of earlier runs still work.
# The opt-out is kube-bgp-plain.sh.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KUBE_BGP_EXTRA="--kernel-nexthop-objects=true ${KUBE_BGP_EXTRA:-}" exec "$HERE/kube-bgp.sh" "$@"
